"""NequIP (Batzner et al., Nat. Commun. 13, 2453 (2022), arXiv 2101.03164) for molecular properties.

Species one-hot -> linear embedding to scalars, then ``num_layers`` interaction blocks::

    h <- h + Gate( Conv(h) + SelfConnection(h, species) )      (residual when the irreps agree)

``Conv`` is :class:`workbench.nn.EquivariantConvolution` (uvu tensor product of neighbour features with the edge's
spherical harmonics up to ``lmax``, weighted by a radial MLP on a Bessel basis with a polynomial cutoff); the
self-connection is an element-dependent linear map (a fully connected tensor product with the species one-hot,
as in NequIP). Hidden features are ``channels x (0e + 1o + 2e + ...)`` up to ``lmax`` (natural parity). Every
output is O(3) equivariant (reflections included).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from workbench.groups import o3
from workbench.models.base import QM9_ELEMENTS, MolecularModel, split_scalars_vectors
from workbench.nn.activation import Gate
from workbench.nn.convolution import EquivariantConvolution
from workbench.nn.linear import Linear
from workbench.nn.tensor_product import FullyConnectedTensorProduct

__all__ = ["NequIP"]


class _Interaction(torch.nn.Module):
    def __init__(self, irreps_in, irreps_hidden, num_elements, lmax, r_max, num_basis, radial_hidden,
                 avg_num_neighbors):
        super().__init__()
        self.gate = Gate.from_irreps(irreps_hidden)  # SiLU scalars, sigmoid gates, normalize2mom (as e3nn/NequIP)
        pre = self.gate.irreps_in
        # NequIP divides the message sum by sqrt(avg_num_neighbors) (MACE divides by avg_num_neighbors)
        self.conv = EquivariantConvolution(irreps_in, pre, lmax=lmax, r_max=r_max, num_basis=num_basis,
                                           radial_hidden=radial_hidden, avg_num_neighbors=avg_num_neighbors**0.5)
        self.self_connection = FullyConnectedTensorProduct(irreps_in, f"{num_elements}x0e", pre)
        self.residual = o3.Irreps(irreps_in) == o3.Irreps(self.gate.irreps_out)
        self.irreps_out = self.gate.irreps_out

    def forward(self, h, onehot, pos, edge_index, shifts=None):
        out = self.gate(self.conv(h, pos, edge_index, shifts) + self.self_connection(h, onehot))
        return h + out if self.residual else out


class NequIP(MolecularModel):
    """NequIP with ``num_layers`` interaction blocks (arguments of the base class pass through).

    Args:
        channels: multiplicity of every irrep of the hidden features.
        lmax: highest degree of the hidden features and of the edge spherical harmonics.
        num_layers: interaction blocks.
        num_basis: Bessel functions of the radial embedding.
        radial_hidden: hidden widths of the radial MLP.
        avg_num_neighbors: messages are summed and divided by its square root (QM9, 5 Å: about 16).
    """

    def __init__(self, channels: int = 32, lmax: int = 2, num_layers: int = 3, num_basis: int = 8,
                 radial_hidden: Sequence[int] = (64,), avg_num_neighbors: float = 16.0,
                 elements: Sequence[int] = QM9_ELEMENTS, r_max: float = 5.0, output: str = "scalar",
                 reduce: str = "sum") -> None:
        super().__init__(elements, r_max, output, reduce)
        if int(lmax) < 1 or int(num_layers) < 1 or int(channels) < 1:
            raise ValueError(f"need lmax >= 1, num_layers >= 1, channels >= 1; got {lmax}, {num_layers}, {channels}")
        self.irreps_hidden = o3.Irreps.natural(int(channels), int(lmax))
        self.embedding = Linear(f"{self.num_elements}x0e", f"{channels}x0e")
        irreps, blocks = o3.Irreps(f"{channels}x0e"), []
        for _ in range(int(num_layers)):
            block = _Interaction(irreps, self.irreps_hidden, self.num_elements, int(lmax), self.r_max, num_basis,
                                 radial_hidden, avg_num_neighbors)
            blocks.append(block)
            irreps = o3.Irreps(block.irreps_out)
        self.blocks = torch.nn.ModuleList(blocks)
        self.irreps_out = irreps
        self.readout = Linear(irreps, f"{channels}x0e+{channels}x1o")
        self._init_head(channels, channels)

    def node_features(self, species, pos, edge_index, shifts=None):
        onehot = self.one_hot(species, pos.dtype)
        h = self.embedding(onehot)
        for block in self.blocks:
            h = block(h, onehot, pos, edge_index, shifts)
        return split_scalars_vectors(self.readout(h), self.readout.irreps_out)

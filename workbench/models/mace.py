"""MACE (Batatia et al., NeurIPS 2022, arXiv 2206.07697) for molecular properties.

Per layer ``t`` (species one-hot ``y_i``, hidden features ``h_i``)::

    A_i = Linear( sum_j R(r_ij) Y(r_ij) (x) Linear(h)_j / avg_num_neighbors )      # atomic basis, C x (0e+1o+...)
    B_i = SymmetricContraction(A_i; y_i)                                          # many-body product, order nu
    h_i <- Linear(B_i) + SelfConnection(h_i, y_i)                                 # element-dependent skip

Each layer is :class:`workbench.models.blocks.MACELayer`: ``A`` is :class:`workbench.nn.EquivariantConvolution` up
to ``sh_lmax``; the product is
:class:`workbench.nn.SymmetricContraction` with ``correlation`` (body order ``correlation + 1``) and weights per
element. Hidden features are ``channels x (0e + 1o + ...)`` up to ``lmax`` (MACE's ``L``). As in MACE, every layer
is read out: the head sees the scalars of all layers side by side (one MLP on their concatenation instead of
MACE's sum of per-layer linear readouts plus a final MLP).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from workbench.groups import o3
from workbench.models.base import QM9_ELEMENTS, MolecularModel, NodeFeatures, split_scalars_vectors
from workbench.models.blocks import MACELayer
from workbench.nn.convolution import EquivariantConvolution
from workbench.nn.linear import Linear

__all__ = ["MACE"]


class MACE(MolecularModel):
    """MACE with ``num_layers`` layers (arguments of the base class pass through).

    Args:
        channels: multiplicity of every irrep (MACE's ``128x0e+128x1o`` is ``channels=128, lmax=1``).
        lmax: highest degree of the hidden features (MACE's ``L``).
        sh_lmax: highest degree of the edge spherical harmonics and of the atomic basis ``A``.
        correlation: order of the symmetric contraction (MACE: 3, i.e. 4-body messages).
        num_layers: number of layers (MACE: 2).
        num_basis, radial_hidden, avg_num_neighbors: radial embedding and message normalization.

    Examples:
        >>> import torch
        >>> from workbench.groups import o3
        >>> from workbench.models import MACE
        >>> _ = torch.manual_seed(0)
        >>> model = MACE(channels=8, lmax=1, sh_lmax=2, correlation=3).double()
        >>> z = torch.tensor([8, 1, 1])                                    # water
        >>> pos = torch.tensor([[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]], dtype=torch.float64)
        >>> batch = torch.zeros(3, dtype=torch.long)
        >>> energy = model(z, pos, batch, 1)                                # [B] = [1]
        >>> rotation = o3.rand_matrix(dtype=torch.float64)
        >>> bool(torch.allclose(model(z, pos @ rotation.T, batch, 1), energy, atol=1e-10))   # invariant
        True
    """

    def __init__(self, channels: int = 32, lmax: int = 1, sh_lmax: int = 2, correlation: int = 3,
                 num_layers: int = 2, num_basis: int = 8, radial_hidden: Sequence[int] = (64,),
                 avg_num_neighbors: float = 16.0, elements: Sequence[int] = QM9_ELEMENTS, r_max: float = 5.0,
                 output: str = "scalar", reduce: str = "sum") -> None:
        super().__init__(elements, r_max, output, reduce)
        if int(num_layers) < 1 or int(channels) < 1 or int(lmax) < 0 or int(sh_lmax) < max(int(lmax), 1):
            raise ValueError(f"need num_layers >= 1, channels >= 1, 0 <= lmax <= sh_lmax, sh_lmax >= 1; got "
                             f"{num_layers}, {channels}, {lmax}, {sh_lmax}")
        hidden = o3.Irreps.natural(int(channels), int(lmax))
        self.embedding = Linear(f"{self.num_elements}x0e", f"{channels}x0e")
        irreps_a = o3.Irreps.natural(int(channels), int(sh_lmax))
        convolution = functools.partial(EquivariantConvolution, irreps_out=irreps_a, lmax=int(sh_lmax),
                                        r_max=self.r_max, num_basis=num_basis, radial_hidden=radial_hidden,
                                        avg_num_neighbors=avg_num_neighbors)
        irreps, layers = o3.Irreps(f"{channels}x0e"), []
        for _ in range(int(num_layers)):
            layers.append(MACELayer(irreps_in=irreps, irreps_out=hidden, convolution=convolution,
                                    correlation=int(correlation), num_elements=self.num_elements,
                                    self_connection="element"))
            irreps = hidden
        self.layers = torch.nn.ModuleList(layers)
        self.irreps_hidden = hidden
        self._init_head(channels * (int(num_layers) + 1), channels if int(lmax) >= 1 else 0)

    def node_features(self, species, pos, edge_index, shifts=None):
        onehot = self.one_hot(species, pos.dtype)
        h = self.embedding(onehot)
        scalars = [h]
        for layer in self.layers:
            h = layer(h, onehot, pos, edge_index, shifts=shifts)
            scalars.append(layer.scalars(h))
        last = split_scalars_vectors(h, self.irreps_hidden)
        return NodeFeatures(torch.cat(scalars, dim=1), last.vectors)

"""SchNet (Schütt et al., NeurIPS 2017, arXiv 1706.08566): the invariant baseline, distances only.

Continuous-filter convolutions: ``x_i <- x_i + Dense(ssp(Dense(sum_j W(d_ij) * Dense(x_j))))`` with filters
``W(d) = Dense(ssp(Dense(rbf(d)))) * cos_cutoff(d)`` on Gaussian radial basis functions (``ssp`` = shifted
softplus). Only interatomic distances enter, so every output is O(3) invariant; the dipole head of
:class:`~workbench.models.base.MolecularModel` makes an equivariant dipole from invariant atomic charges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from workbench.models.base import QM9_ELEMENTS, MolecularModel, NodeFeatures
from workbench.nn.graph import edge_vectors, scatter_sum
from workbench.nn.radial import GaussianBasis

__all__ = ["SchNet"]


def shifted_softplus(x: torch.Tensor) -> torch.Tensor:
    """``softplus(x) - log 2`` (zero at zero), SchNet's activation."""
    return torch.nn.functional.softplus(x) - math.log(2.0)


class ShiftedSoftplus(torch.nn.Module):
    """Module form of :func:`shifted_softplus`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return shifted_softplus(x)


class _Interaction(torch.nn.Module):
    def __init__(self, channels: int, num_basis: int, filters: int) -> None:
        super().__init__()
        self.filter = torch.nn.Sequential(torch.nn.Linear(num_basis, filters), ShiftedSoftplus(),
                                          torch.nn.Linear(filters, filters))
        self.in2f = torch.nn.Linear(channels, filters, bias=False)
        self.f2out = torch.nn.Linear(filters, channels)
        self.out = torch.nn.Linear(channels, channels)

    def forward(self, x, rbf, envelope, edge_index):
        src, dst = edge_index
        w = self.filter(rbf) * envelope[:, None]
        m = self.in2f(x).index_select(0, src) * w
        agg = scatter_sum(m, dst, x.shape[0])
        return self.out(shifted_softplus(self.f2out(agg)))


class SchNet(MolecularModel):
    """SchNet with ``num_interactions`` blocks of width ``channels`` (arguments of the base class pass through).

    Args:
        channels: atom feature width (SchNet paper: 64 for QM9 in the original, 128 in SchNetPack).
        num_interactions: number of interaction blocks.
        num_basis: Gaussians between 0 and ``r_max``.
        filters: filter width (default ``channels``).
    """

    def __init__(self, channels: int = 64, num_interactions: int = 3, num_basis: int = 50,
                 filters: int | None = None, elements: Sequence[int] = QM9_ELEMENTS, r_max: float = 5.0,
                 output: str = "scalar", reduce: str = "sum") -> None:
        super().__init__(elements, r_max, output, reduce)
        filters = int(filters or channels)
        self.embedding = torch.nn.Embedding(self.num_elements, channels)
        self.rbf = GaussianBasis(0.0, self.r_max, num_basis)
        self.interactions = torch.nn.ModuleList(
            [_Interaction(channels, num_basis, filters) for _ in range(int(num_interactions))])
        self._init_head(channels)

    def node_features(self, species, pos, edge_index, shifts=None):
        d = torch.linalg.norm(edge_vectors(pos, edge_index, shifts), dim=-1)
        rbf = self.rbf(d)
        envelope = 0.5 * (torch.cos(d * math.pi / self.r_max) + 1.0)
        x = self.embedding(species).to(pos.dtype)
        for block in self.interactions:
            x = x + block(x, rbf, envelope, edge_index)
        return NodeFeatures(x)

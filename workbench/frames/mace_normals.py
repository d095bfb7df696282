"""ShapeMACE with an equivariant vector read-out: the "specialized building blocks" peer for per-point normals.

:class:`ShapeMACENormals` is :class:`workbench.models.ShapeMACE` (same normalization, radius graph, centroid term,
MACE layers) whose hidden features carry ``1o`` vectors (``hidden_lmax = 1``) up to the last layer, read out per
point by an equivariant linear map ``channels x (0e+1o) -> 1x1o``. O(3)-equivariant by construction (tensor
products, Wigner D), where the frames models get equivariance from local frames around an ordinary network.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from workbench.checks import check_tensor
from workbench.groups import o3
from workbench.models.blocks import MACELayer
from workbench.models.shapes import ShapeMACE, normalize_clouds
from workbench.nn.convolution import EquivariantConvolution
from workbench.nn.linear import Linear

__all__ = ["ShapeMACENormals"]


class ShapeMACENormals(ShapeMACE):
    """``points [B, P, 3] -> vectors [B, P, 3]`` (one ``1o`` vector per point), O(3)-equivariant.

    Args: as :class:`~workbench.models.ShapeMACE` (``num_layers >= 1``); the hidden features are
    ``channels x (0e+1o)`` throughout and the classifier head is not built.
    """

    def __init__(self, channels: int = 16, lmax: int = 2, correlation: int = 2, num_layers: int = 2,
                 r_max: float = 0.5, avg_num_neighbors: float = 12.0, num_basis: int = 8,
                 radial_hidden: Sequence[int] = (32,), centroid: bool = True) -> None:
        super().__init__(2, channels=channels, lmax=lmax, correlation=correlation, num_layers=num_layers,
                         hidden_lmax=1, r_max=r_max, avg_num_neighbors=avg_num_neighbors, num_basis=num_basis,
                         radial_hidden=radial_hidden, centroid=centroid)
        convolution = functools.partial(EquivariantConvolution, irreps_out=o3.Irreps.natural(channels, lmax),
                                        lmax=lmax, r_max=self.r_max, num_basis=num_basis,
                                        radial_hidden=tuple(radial_hidden), avg_num_neighbors=float(avg_num_neighbors))
        hidden = o3.Irreps.natural(channels, 1)
        last_in = self.layers[-1].irreps_in
        self.layers[-1] = MACELayer(irreps_in=last_in, irreps_out=hidden, convolution=convolution,
                                    correlation=correlation, num_elements=1, self_connection="linear",
                                    normalize_atomic_basis=True, eps=1e-6)
        del self.head
        self.readout = Linear(hidden, "1x1o")

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """``points [B, P, 3]`` -> ``[B, P, 3]``."""
        check_tensor(points, "points", shape=("B", "P", 3), dtype="float")
        x = normalize_clouds(points)
        b, p, _ = x.shape
        pos, edge_index = self.graph(x)
        onehot = pos.new_ones(b * p, 1)
        h = self.embedding(onehot)
        for t, layer in enumerate(self.layers):
            extra = self.centroid(pos) if t == 0 and self.centroid is not None else None
            h = layer(h, onehot, pos, edge_index, extra_basis=extra)
        return self.readout(h).reshape(b, p, 3)

"""Point-cloud shape classifiers: an O(3)-invariant MACE and a non-equivariant PointNet baseline.

Both map a batch of clouds with the same number of points to class logits::

    model(points [B, P, 3]) -> logits [B, num_classes]

and first *normalize* every cloud: subtract its centroid and divide by its RMS radius
``sqrt(mean_i |x_i - mean|^2)``. The normalization commutes with O(3) and with point permutations and removes
translation and scale, so only the shape is left.

:class:`ShapeMACE` is the O(3) instance of G-equivariant MACE (Batatia et al., arXiv 2206.07697) for point clouds:
every point is the same "element" (``num_elements = 1``), edges join points closer than ``r_max`` (in units of
the RMS radius) within a cloud (:func:`workbench.nn.radius_graph`), and each layer is MACE's

    A_i = Linear( sum_j R(r_ij) Y(r_ij) (x) Linear(h)_j / avg_num_neighbors )      # C x (0e+1o+2e), lmax
          [+ R'(|x_i|) |x_i|^l Y(x_i)  in the first layer: the centroid as one more neighbour]
    A_i <- A_i / rms(A_i)                                                         # one invariant per point
    B_i = SymmetricContraction(A_i)                                               # body order correlation + 1
    h_i <- Linear(B_i) + SelfConnection(h_i)

(:class:`workbench.models.blocks.MACELayer`, the layer of :class:`workbench.models.MACE`, with two additions for
point clouds: the RMS normalization of ``A``, and the centroid term, ``centroid=True``, which lets a local model
see the global shape: on the benchmark of :mod:`workbench.data.shapes` it is the difference between learning
slowly and learning). The ``0e`` scalars of every layer are concatenated, averaged over the points of each cloud,
layer-normalized and fed to an MLP.
Every step is O(3)-equivariant with ``0e`` (not ``0o``) read out, so the logits are invariant under rotations
*and* reflections, translations, scaling and point permutations.

:class:`PointNetClassifier` (Qi et al., CVPR 2017, without its input transform nets) applies a shared MLP to the
raw normalized coordinates of each point, max-pools over points and classifies with an MLP: invariant under
permutations, translation and scale, but not under rotations; it can only recognize shapes in orientations
it was trained on.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from workbench.checks import check_tensor
from workbench.groups import o3
from workbench.models.blocks import MACELayer
from workbench.nn.convolution import EquivariantConvolution
from workbench.nn.graph import radius_graph
from workbench.nn.linear import Linear
from workbench.nn.radial import GaussianBasis
from workbench.nn.spherical_harmonics import SphericalHarmonics

__all__ = ["ShapeMACE", "PointNetClassifier", "normalize_clouds"]


def normalize_clouds(points: torch.Tensor) -> torch.Tensor:
    """Centre every cloud of ``points [B, P, 3]`` at its centroid and scale it to unit RMS radius: ``[B, P, 3]``.

    Commutes with O(3) and point permutations; removes translation and scale. Raises ValueError for bad shapes,
    NaN/inf, or a cloud whose points all coincide (no scale to normalize by).
    """
    check_tensor(points, "points", shape=("B", "P", 3), dtype="float", hint="batch, points, xyz")
    if points.shape[0] < 1 or points.shape[1] < 2:
        raise ValueError(f"points needs at least one cloud of at least 2 points, got shape {tuple(points.shape)}")
    check_tensor(points, "points", finite=True)
    x = points - points.mean(dim=1, keepdim=True)
    rms = x.square().sum(-1).mean(1).sqrt()  # [B]
    # coincident points leave only rounding noise (relative to the coordinates' size) in x
    degenerate = rms <= 100 * torch.finfo(points.dtype).eps * points.abs().amax(dim=(1, 2))
    if bool(degenerate.any()):
        bad = torch.nonzero(degenerate).flatten().tolist()
        raise ValueError(f"clouds {bad} have all their points at (nearly) the same position: cannot normalize")
    return x / rms[:, None, None]


class _CentroidEmbedding(torch.nn.Module):
    """The centroid as one more neighbour of every point: ``x [N, 3]`` (positions relative to the centroid) ->
    ``[N, channels x (0e+1o+...) up to lmax]`` with components ``R_{c,l}(|x|) |x|^l Y_l(x / |x|)``.

    Solid harmonics ``|x|^l Y_l`` are polynomials in ``x`` and the radial functions are an MLP on Gaussians of
    ``|x|``, so the result is smooth everywhere, also for a point at the centroid; it is equivariant because
    ``x`` is (the centroid of a transformed cloud is the transformed centroid).
    """

    def __init__(self, channels: int, lmax: int, num_basis: int, hidden: int) -> None:
        super().__init__()
        self.channels, self.lmax = channels, lmax
        self.sh = SphericalHarmonics(lmax, normalize=False, normalization="component")
        self.basis = GaussianBasis(0.0, 3.0, num_basis)  # clouds are normalized to unit RMS radius
        self.radial = torch.nn.Sequential(torch.nn.Linear(num_basis, hidden), torch.nn.SiLU(),
                                          torch.nn.Linear(hidden, channels * (lmax + 1)))
        self.irreps_out = o3.Irreps.natural(int(channels), int(lmax))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[0], self.channels
        r = torch.sqrt(x.square().sum(-1) + 1e-12)  # smooth at the centroid (the plain norm's gradient is not)
        w = self.radial(self.basis(r)).reshape(n, self.lmax + 1, c)
        sh = self.sh(x).split([2 * l + 1 for l in range(self.lmax + 1)], dim=1)
        return torch.cat([(w[:, l, :, None] * sh[l][:, None, :]).reshape(n, -1) for l in range(self.lmax + 1)], 1)


class ShapeMACE(torch.nn.Module):
    """O(3)-invariant MACE classifier of point clouds (module docstring): ``points [B, P, 3] -> logits [B, C]``.

    Args:
        num_classes: number of output logits ``C`` (>= 2).
        channels: multiplicity of every irrep of the atomic basis and hidden features.
        lmax: degree of the edge spherical harmonics and of the atomic basis ``A = channels x (0e+1o+2e+...)``.
        correlation: order of the symmetric contraction (MACE: 3, i.e. 4-body features).
        num_layers: MACE layers (>= 1).
        hidden_lmax: degree of the hidden features passed between layers, ``channels x (0e+1o+...)`` up to
            ``hidden_lmax <= lmax`` (MACE's ``L``). The default 0 passes invariants only (MACE's ``L=0``); the
            atomic basis and the many-body product are equivariant up to ``lmax`` in any case. The last layer
            always outputs scalars only (they are all that is read out).
        r_max: graph cutoff in units of each cloud's RMS radius (0.7 gives ~8 neighbours at 64 points on a
            surface and ~17 at 128).
        avg_num_neighbors: the message sum is divided by this constant (MACE's normalization).
        num_basis, radial_hidden: Bessel functions and hidden widths of the radial MLP.
        centroid: add the cloud's centroid as one more neighbour of every point in the first layer's atomic
            basis (:class:`_CentroidEmbedding`): a message that does not decay with distance, so that the many-body
            product relates each local patch to the global shape (with the radius graph alone the receptive field
            is ``num_layers * r_max``). Still O(3)-invariant; ``False`` gives the plain local MACE.
        mlp_hidden: width of the classifier MLP on the pooled invariants.
    """

    def __init__(self, num_classes: int, channels: int = 16, lmax: int = 2, correlation: int = 3,
                 num_layers: int = 2, hidden_lmax: int = 0, r_max: float = 0.7, avg_num_neighbors: float = 12.0,
                 num_basis: int = 8, radial_hidden: Sequence[int] = (32,), centroid: bool = True,
                 mlp_hidden: int = 64) -> None:
        super().__init__()
        for name, value, low in (("num_classes", num_classes, 2), ("channels", channels, 1), ("lmax", lmax, 1),
                                 ("correlation", correlation, 1), ("num_layers", num_layers, 1),
                                 ("hidden_lmax", hidden_lmax, 0), ("num_basis", num_basis, 1),
                                 ("mlp_hidden", mlp_hidden, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if hidden_lmax > lmax:
            raise ValueError(f"hidden_lmax must be <= lmax, got hidden_lmax={hidden_lmax}, lmax={lmax}")
        if not (isinstance(r_max, (int, float)) and 0 < r_max < float("inf")):
            raise ValueError(f"r_max must be a positive number (units of the RMS radius), got {r_max!r}")
        if not (isinstance(avg_num_neighbors, (int, float)) and avg_num_neighbors > 0):
            raise ValueError(f"avg_num_neighbors must be positive, got {avg_num_neighbors!r}")
        self.num_classes, self.channels, self.r_max = num_classes, channels, float(r_max)
        self.embedding = Linear("1x0e", f"{channels}x0e")
        # the atomic basis of every point is divided by its RMS over all its components before the many-body
        # product, whose cube would otherwise amplify any change of scale (e.g. of the number of neighbours) by
        # its third power; one norm for all irreps together is invariant and keeps the ratios between the degrees
        # (how anisotropic a neighbourhood is), a per-irrep norm would erase them
        convolution = functools.partial(EquivariantConvolution, irreps_out=o3.Irreps.natural(channels, lmax),
                                        lmax=lmax, r_max=self.r_max, num_basis=num_basis,
                                        radial_hidden=tuple(radial_hidden), avg_num_neighbors=float(avg_num_neighbors))
        irreps, layers = o3.Irreps(f"{channels}x0e"), []
        for t in range(num_layers):
            out = o3.Irreps(f"{channels}x0e") if t == num_layers - 1 else o3.Irreps.natural(channels, hidden_lmax)
            layers.append(MACELayer(irreps_in=irreps, irreps_out=out, convolution=convolution,
                                    correlation=correlation, num_elements=1, self_connection="linear",
                                    normalize_atomic_basis=True, eps=1e-6))
            irreps = out
        self.layers = torch.nn.ModuleList(layers)
        hidden = tuple(radial_hidden)[-1] if len(tuple(radial_hidden)) else 32
        self.centroid = _CentroidEmbedding(channels, lmax, num_basis, hidden) if centroid else None
        width = channels * num_layers
        self.head = torch.nn.Sequential(torch.nn.LayerNorm(width), torch.nn.Linear(width, mlp_hidden), torch.nn.SiLU(),
                                        torch.nn.Linear(mlp_hidden, num_classes))

    def graph(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flattened positions ``[B*P, 3]`` and radius-graph edges ``[2, E]`` (source -> target, within each cloud)
        of normalized clouds ``x [B, P, 3]``."""
        b, p, _ = x.shape
        pos = x.reshape(b * p, 3)
        batch = torch.arange(b, device=x.device).repeat_interleave(p)
        edge_index, _ = radius_graph(pos, self.r_max, batch)
        return pos, edge_index

    def invariants(self, points: torch.Tensor) -> torch.Tensor:
        """Pooled O(3)-invariant features ``[B, channels * num_layers]`` of ``points [B, P, 3]`` (before the MLP)."""
        x = normalize_clouds(points)
        b, p, _ = x.shape
        pos, edge_index = self.graph(x)
        onehot = pos.new_ones(b * p, 1)
        h = self.embedding(onehot)
        scalars = []
        for t, layer in enumerate(self.layers):
            extra = self.centroid(pos) if t == 0 and self.centroid is not None else None
            h = layer(h, onehot, pos, edge_index, extra_basis=extra)
            scalars.append(layer.scalars(h))  # the Cx0e block (o3.Irreps.natural / "Cx0e")
        return torch.cat(scalars, dim=1).reshape(b, p, -1).mean(dim=1)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """``points [B, P, 3]`` -> logits ``[B, num_classes]``."""
        return self.head(self.invariants(points))

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class PointNetClassifier(torch.nn.Module):
    """Non-equivariant baseline: ``points [B, P, 3] -> logits [B, num_classes]``.

    Normalized coordinates (:func:`normalize_clouds`) go through a shared per-point MLP ``3 -> hidden -> hidden
    -> hidden`` (ReLU), are max-pooled over the points and classified by an MLP ``hidden -> hidden -> C``.
    """

    def __init__(self, num_classes: int, hidden: int = 64) -> None:
        super().__init__()
        for name, value, low in (("num_classes", num_classes, 2), ("hidden", hidden, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        self.num_classes = num_classes
        relu = torch.nn.ReLU
        self.point_mlp = torch.nn.Sequential(torch.nn.Linear(3, hidden), relu(), torch.nn.Linear(hidden, hidden),
                                             relu(), torch.nn.Linear(hidden, hidden), relu())
        self.head = torch.nn.Sequential(torch.nn.Linear(hidden, hidden), relu(), torch.nn.Linear(hidden, num_classes))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """``points [B, P, 3]`` -> logits ``[B, num_classes]``."""
        return self.head(self.point_mlp(normalize_clouds(points)).amax(dim=1))

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

"""Group actions on data, parameterized by Lie-algebra coordinates.

A :class:`Action` describes how a connected Lie group acts on one kind of data. Group elements are
written ``g(theta) = exp(sum_i theta_i A_i)`` with ``A_i`` the generators listed in ``generator_names``; the
action is ``act(x, theta) = rho(g(theta)) x``. Because ``rho`` is a homomorphism, the action of
``exp(sum_i theta_i A_i)`` on a linear representation is ``matrix_exp(sum_i theta_i drho(A_i))`` and the Lie
derivative along ``A_i`` is the derivative of ``act(x, t e_i)`` at ``t = 0``.

Provided actions (all differentiable in ``theta`` in forward and reverse mode):

- :class:`MatrixAction`: a linear action on the last axis, ``x -> x @ M(theta)^T`` (irreps features in
  the e3nn basis via :func:`o3_irreps`, point clouds under rotations via :func:`so3_on_points`, 4-momenta under
  the Lorentz group via :func:`lorentz_on_four_vectors`);
- :class:`AffinePointAction`: rotations, translations and scaling of point clouds (``(..., 3)``);
- :class:`ImageAction`: continuous rotations, translations and scaling of images (``(..., H, W)``)
  by bicubic (or bilinear) resampling;
- :class:`TrivialAction`: the identity action (invariant outputs); it accepts any ``theta``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch

from workbench.checks import check_tensor
from workbench.equivariance.resampling import INTERPOLATIONS, resample
from workbench.groups import o3

__all__ = [
    "Action",
    "TrivialAction",
    "MatrixAction",
    "AffinePointAction",
    "ImageAction",
    "so3_generators_vector",
    "lorentz_generators_vector",
    "so3_on_points",
    "o3_irreps",
    "lorentz_on_four_vectors",
    "euclidean_on_points",
    "rigid_on_images",
    "random_rotation_parameters",
]


class Action:
    """A group action on data, parameterized by Lie-algebra coordinates ``theta`` (shape ``(k,)``).

    Subclasses set ``generator_names`` (length ``k``) and implement :meth:`act`.
    """

    generator_names: tuple[str, ...] = ()
    name: str = "representation"

    @property
    def num_generators(self) -> int:
        return len(self.generator_names)

    def act(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """``rho(exp(sum_i theta_i A_i)) x``."""
        raise NotImplementedError

    def check_theta(self, theta: object, x: torch.Tensor) -> torch.Tensor:
        """Validate ``theta`` (shape ``(k,)``) and cast it to ``x``'s dtype and device."""
        if not isinstance(theta, torch.Tensor):
            theta = torch.as_tensor(theta, dtype=torch.float64)
        check_tensor(theta, "theta", shape=(self.num_generators,),
                     hint=f"{self.name} with generators {list(self.generator_names)}")
        return theta.to(dtype=x.dtype, device=x.device)

    def direction(self, generator: int | str | Sequence[float] | torch.Tensor) -> torch.Tensor:
        """The Lie-algebra direction (float64, shape ``(k,)``) of ``generator``: an index, a name or a vector."""
        k = self.num_generators
        if isinstance(generator, bool):
            raise TypeError("generator must be an index, a generator name or a coefficient vector, got a bool")
        if isinstance(generator, numbers.Integral):
            generator = int(generator)
            if not 0 <= generator < k:
                raise ValueError(f"generator index must be in [0, {k}) for {self.name}, got {generator}")
            e = torch.zeros(k, dtype=torch.float64)
            e[generator] = 1.0
            return e
        if isinstance(generator, str):
            if generator not in self.generator_names:
                raise ValueError(
                    f"unknown generator {generator!r} for {self.name}; expected one of {list(self.generator_names)}"
                )
            return self.direction(self.generator_names.index(generator))
        vector = torch.as_tensor(generator, dtype=torch.float64)
        check_tensor(vector, "generator coefficients", shape=(k,), hint=f"one per generator of {self.name}")
        return vector

    def sample_parameters(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` random group elements as Lie-algebra coordinates, float64 ``(n, k)``."""
        raise NotImplementedError(f"{type(self).__name__} does not define random group elements")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, generators={list(self.generator_names)})"


class TrivialAction(Action):
    """The identity action: ``act(x, theta) = x`` for any ``theta`` (use for invariant outputs)."""

    name = "trivial"

    def act(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        return x

    def check_theta(self, theta: object, x: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(theta)


class MatrixAction(Action):
    """A linear action on the last axis: ``x -> x @ matrix_exp(sum_i theta_i G_i)^T``.

    Args:
        generators: ``(k, d, d)`` real generator matrices ``G_i = drho(A_i)`` (stored as float64).
        generator_names: ``k`` names.
        name: a label for messages and tables.
        sampler: optional ``(n, torch.Generator | None) -> (n, k)`` returning random algebra coordinates.
    """

    def __init__(self, generators: torch.Tensor, generator_names: Sequence[str], name: str = "matrix",
                 sampler=None) -> None:
        generators = torch.as_tensor(generators, dtype=torch.float64)
        check_tensor(generators, "generators", shape=("k", "d", "d"))
        if len(generator_names) != generators.shape[0]:
            raise ValueError(
                f"generator_names has {len(generator_names)} names for {generators.shape[0]} generators"
            )
        self.generators = generators
        self.generator_names = tuple(generator_names)
        self.name = name
        self._sampler = sampler

    @property
    def dim(self) -> int:
        return int(self.generators.shape[-1])

    def matrix(self, theta: torch.Tensor) -> torch.Tensor:
        """``rho(g(theta))``: ``(d, d)`` in ``theta``'s dtype."""
        algebra = torch.einsum("k,kij->ij", theta, self.generators.to(dtype=theta.dtype, device=theta.device))
        return torch.linalg.matrix_exp(algebra)

    def act(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", shape=(..., self.dim), dtype="float", hint=self.name)
        theta = self.check_theta(theta, x)
        return x @ self.matrix(theta).transpose(0, 1)

    def sample_parameters(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self._sampler is None:
            return super().sample_parameters(n, generator)
        return self._sampler(n, generator)


class AffinePointAction(Action):
    """Affine motions of point clouds ``(..., d)``: ``x -> x @ L^T + b``, ``[[L, b], [0, 1]] = exp(sum theta_i G_i)``.

    Args:
        generators: ``(k, d+1, d+1)`` generators of the affine group in homogeneous coordinates.
        generator_names: ``k`` names.
        sampler: optional ``(n, torch.Generator | None) -> (n, k)`` random algebra coordinates.
    """

    def __init__(self, generators: torch.Tensor, generator_names: Sequence[str], name: str = "affine",
                 sampler=None) -> None:
        generators = torch.as_tensor(generators, dtype=torch.float64)
        check_tensor(generators, "generators", shape=("k", "d+1", "d+1"), hint="homogeneous coordinates")
        if generators.shape[1] < 2:
            raise ValueError(f"generators must act on at least one coordinate (d >= 1), got {tuple(generators.shape)}")
        if generators[:, -1].abs().max() > 0:
            raise ValueError("affine generators must have a zero last row (homogeneous coordinates)")
        if len(generator_names) != generators.shape[0]:
            raise ValueError(f"generator_names has {len(generator_names)} names for {generators.shape[0]} generators")
        self.generators = generators
        self.generator_names = tuple(generator_names)
        self.name = name
        self._sampler = sampler

    @property
    def dim(self) -> int:
        return int(self.generators.shape[-1]) - 1

    def act(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", shape=(..., self.dim), dtype="float", hint=f"points of {self.name}")
        theta = self.check_theta(theta, x)
        algebra = torch.einsum("k,kij->ij", theta, self.generators.to(dtype=x.dtype, device=x.device))
        m = torch.linalg.matrix_exp(algebra)
        d = self.dim
        return x @ m[:d, :d].transpose(0, 1) + m[:d, d]

    def sample_parameters(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self._sampler is None:
            return super().sample_parameters(n, generator)
        return self._sampler(n, generator)


class ImageAction(Action):
    """Continuous planar motions of images ``(..., H, W)``: ``(g . I)(p) = I(g^{-1} p)``.

    Coordinates ``p = (x, y)`` are in pixels from the image centre, ``x`` to the right and ``y`` upwards, so
    a positive rotation turns the picture counterclockwise on screen. Values between pixels come from
    :func:`workbench.equivariance.resampling.resample` (bicubic by default); outside the image they are 0.

    Args:
        generators: subset of ``("rotation", "translation_x", "translation_y", "scaling")``, in that order of
            coordinates in ``theta``.
        interpolation: ``"bicubic"`` or ``"bilinear"``.
        max_translation: random translations are uniform in ``[-max_translation, max_translation]``.
        pixel_spacing: the length of one pixel in the units of the translations (1: translations in pixels).
            A feature map at half the input resolution has spacing 2 (see :meth:`at_spacing`).
    """

    _ALGEBRA = {
        "rotation": [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        "translation_x": [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        "translation_y": [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]],
        "scaling": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
    }

    def __init__(self, generators: Sequence[str] = ("rotation", "translation_x", "translation_y"),
                 interpolation: str = "bicubic", max_translation: float = 2.0, pixel_spacing: float = 1.0) -> None:
        generators = tuple(generators)
        unknown = [g for g in generators if g not in self._ALGEBRA]
        if unknown or not generators or len(set(generators)) != len(generators):
            raise ValueError(
                f"generators must be distinct names from {list(self._ALGEBRA)}, got {list(generators)}"
            )
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
        if not float(pixel_spacing) > 0:
            raise ValueError(f"pixel_spacing must be > 0, got {pixel_spacing!r}")
        self.pixel_spacing = float(pixel_spacing)
        self.generator_names = generators
        self.interpolation = interpolation
        self.max_translation = float(max_translation)
        self.name = "image " + "+".join(generators)
        self.generators = torch.tensor([self._ALGEBRA[g] for g in generators], dtype=torch.float64)

    def act(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", shape=(..., "H", "W"), dtype="float", hint="images")
        theta = self.check_theta(theta, x)
        height, width = x.shape[-2:]
        inverse = torch.linalg.matrix_exp(
            -torch.einsum("k,kij->ij", theta, self.generators.to(dtype=x.dtype, device=x.device))
        )
        rows = torch.arange(height, dtype=x.dtype, device=x.device)
        cols = torch.arange(width, dtype=x.dtype, device=x.device)
        r, c = torch.meshgrid(rows, cols, indexing="ij")
        spacing = self.pixel_spacing
        px = (c - (width - 1) / 2) * spacing
        py = ((height - 1) / 2 - r) * spacing
        sx = (inverse[0, 0] * px + inverse[0, 1] * py + inverse[0, 2]) / spacing
        sy = (inverse[1, 0] * px + inverse[1, 1] * py + inverse[1, 2]) / spacing
        return resample(x, (height - 1) / 2 - sy, sx + (width - 1) / 2, mode=self.interpolation)

    def at_spacing(self, pixel_spacing: float) -> ImageAction:
        """The same action on a grid whose pixels are ``pixel_spacing`` units long (e.g. a strided feature map)."""
        return ImageAction(self.generator_names, self.interpolation, self.max_translation, pixel_spacing)

    def sample_parameters(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        out = torch.zeros(n, self.num_generators, dtype=torch.float64)
        for i, g in enumerate(self.generator_names):
            u = torch.rand(n, dtype=torch.float64, generator=generator) * 2 - 1
            if g == "rotation":
                out[:, i] = math.pi * u
            elif g == "scaling":
                out[:, i] = 0.2 * u
            else:
                out[:, i] = self.max_translation * u
        return out


def so3_generators_vector() -> torch.Tensor:
    """The so(3) generators ``L_x, L_y, L_z`` on (x, y, z) vectors, float64 ``(3, 3, 3)``: ``(L_i)_jk = -eps_ijk``.

    ``matrix_exp(t L_z)`` is the counterclockwise rotation by ``t`` about z (the e3nn ``1o`` convention).
    """
    eps = torch.zeros(3, 3, 3, dtype=torch.float64)
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        eps[i, j, k], eps[i, k, j] = 1.0, -1.0
    return -eps


def lorentz_generators_vector() -> torch.Tensor:
    """Generators of SO+(1,3) on 4-vectors ``(E, px, py, pz)``, float64 ``(6, 4, 4)``.

    Order: rotations ``J_x, J_y, J_z`` (acting on the spatial part like :func:`so3_generators_vector`), then
    boosts ``K_x, K_y, K_z`` with ``(K_i)_{0i} = (K_i)_{i0} = 1``: ``matrix_exp(eta K_x)`` boosts along x with
    rapidity ``eta``. All preserve the Minkowski metric ``diag(1, -1, -1, -1)``.
    """
    gens = torch.zeros(6, 4, 4, dtype=torch.float64)
    gens[:3, 1:, 1:] = so3_generators_vector()
    for i in range(3):
        gens[3 + i, 0, 1 + i] = gens[3 + i, 1 + i, 0] = 1.0
    return gens


def random_rotation_parameters(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` Haar-random rotations as axis-angle vectors ``theta = angle * axis`` (float64 ``(n, 3)``)."""
    q = torch.randn(n, 4, dtype=torch.float64, generator=generator)
    q = q / q.norm(dim=1, keepdim=True)
    q = q * torch.where(q[:, :1] < 0, -1.0, 1.0)  # w >= 0: angle in [0, pi]
    sin_half = q[:, 1:].norm(dim=1, keepdim=True)
    angle = 2 * torch.atan2(sin_half, q[:, :1])
    axis = q[:, 1:] / sin_half.clamp(min=1e-300)
    return axis * angle


def so3_on_points() -> MatrixAction:
    """Rotations acting on vectors / points ``(..., 3)`` (generators ``rot_x, rot_y, rot_z``)."""
    return MatrixAction(so3_generators_vector(), ("rot_x", "rot_y", "rot_z"), name="SO(3) on R^3",
                                sampler=random_rotation_parameters)


def o3_irreps(irreps: object) -> MatrixAction:
    """Rotations acting on O(3) irreps features ``(..., irreps.dim)`` in the e3nn 0.6 basis (``mul_ir`` layout).

    The generators are block diagonal: ``workbench.groups.o3.so3_generators(l)`` repeated ``mul`` times per
    segment. (Parity is a discrete element and has no Lie derivative.)
    """
    try:
        parsed = o3.Irreps(irreps)
    except (ValueError, TypeError, AssertionError) as exc:
        raise ValueError(f"irreps={irreps!r} is not a valid O(3) irreps specification, e.g. '8x0e+4x1o'") from exc
    blocks = []
    for mul, ir in parsed:
        gens = torch.as_tensor(o3.so3_generators(ir.l), dtype=torch.float64)
        blocks.extend([gens] * int(mul))
    dim = sum(b.shape[-1] for b in blocks)
    full = torch.zeros(3, dim, dim, dtype=torch.float64)
    start = 0
    for b in blocks:
        stop = start + b.shape[-1]
        full[:, start:stop, start:stop] = b
        start = stop
    return MatrixAction(full, ("rot_x", "rot_y", "rot_z"), name=f"SO(3) on {parsed}",
                                sampler=random_rotation_parameters)


def lorentz_on_four_vectors(max_rapidity: float = 1.0) -> MatrixAction:
    """The Lorentz group acting on 4-momenta ``(..., 4)`` = ``(E, px, py, pz)``.

    Random elements: a Haar-random rotation combined with a boost of rapidity uniform in ``[0, max_rapidity]``
    along a uniformly random direction (algebra coordinates of ``exp(rotation + boost)``).
    """

    def sampler(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        rot = random_rotation_parameters(n, generator)
        direction = torch.randn(n, 3, dtype=torch.float64, generator=generator)
        direction = direction / direction.norm(dim=1, keepdim=True)
        rapidity = max_rapidity * torch.rand(n, 1, dtype=torch.float64, generator=generator)
        return torch.cat([rot, rapidity * direction], dim=1)

    names = ("rot_x", "rot_y", "rot_z", "boost_x", "boost_y", "boost_z")
    return MatrixAction(lorentz_generators_vector(), names, name="SO+(1,3) on 4-vectors", sampler=sampler)


def euclidean_on_points(rotations: bool = True, translations: bool = True, scaling: bool = False,
                        max_translation: float = 1.0) -> AffinePointAction:
    """Rotations, translations and/or uniform scaling of point clouds ``(..., 3)``.

    Generators (in this order, those selected): ``rot_x, rot_y, rot_z, trans_x, trans_y, trans_z, scale``.
    """
    gens, names = [], []
    if rotations:
        for i, g in enumerate(so3_generators_vector()):
            h = torch.zeros(4, 4, dtype=torch.float64)
            h[:3, :3] = g
            gens.append(h)
            names.append("rot_" + "xyz"[i])
    if translations:
        for i in range(3):
            h = torch.zeros(4, 4, dtype=torch.float64)
            h[i, 3] = 1.0
            gens.append(h)
            names.append("trans_" + "xyz"[i])
    if scaling:
        h = torch.zeros(4, 4, dtype=torch.float64)
        h[:3, :3] = torch.eye(3, dtype=torch.float64)
        gens.append(h)
        names.append("scale")
    if not gens:
        raise ValueError("euclidean_on_points needs at least one of rotations, translations, scaling")

    def sampler(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        parts = []
        if rotations:
            parts.append(random_rotation_parameters(n, generator))
        if translations:
            parts.append(max_translation * torch.randn(n, 3, dtype=torch.float64, generator=generator))
        if scaling:
            parts.append(0.2 * (2 * torch.rand(n, 1, dtype=torch.float64, generator=generator) - 1))
        return torch.cat(parts, dim=1)

    return AffinePointAction(torch.stack(gens), names, name="E(3) on points", sampler=sampler)


def rigid_on_images(generators: Sequence[str] = ("rotation", "translation_x", "translation_y"),
                    interpolation: str = "bicubic") -> ImageAction:
    """Continuous rotations / translations (/ scaling) of images ``(..., H, W)``; see :class:`ImageAction`."""
    return ImageAction(generators, interpolation=interpolation)

"""Rotations of 3d space in e3nn's conventions.

* Matrices act on column vectors ``(x, y, z)``.
* Euler angles are Y-X-Y: ``R(alpha, beta, gamma) = R_y(alpha) R_x(beta) R_y(gamma)``, ``gamma`` applied first;
  ``alpha, gamma`` in ``[0, 2 pi)``, ``beta`` in ``[0, pi]``. The y axis plays the role of the pole:
  ``R(alpha, beta, gamma) e_y = (sin(alpha) sin(beta), cos(beta), cos(alpha) sin(beta))``.
* ``R_x(t), R_y(t), R_z(t)`` are right-handed rotations by ``t`` around x, y, z.
* Axis-angle ``(n, t)``: rotation by ``t`` around the unit vector ``n`` (right-hand rule).

All functions are batched over leading dimensions and differentiable; dtype defaults to
``torch.get_default_dtype()``.
"""

from __future__ import annotations

import math

import torch

from workbench.checks import check_tensor

__all__ = [
    "angles_to_matrix",
    "angles_to_xyz",
    "axis_angle_to_matrix",
    "matrix_to_angles",
    "matrix_to_axis_angle",
    "matrix_x",
    "matrix_y",
    "matrix_z",
    "rand_angles",
    "rand_axis_angle",
    "rand_matrix",
    "xyz_to_angles",
]


def _as_angle_tensors(*angles: object) -> tuple[torch.Tensor, ...]:
    """Angles as floating tensors sharing one dtype/device (python numbers use the default dtype)."""
    tensors = []
    reference = next((a for a in angles if isinstance(a, torch.Tensor)), None)
    for i, angle in enumerate(angles):
        if not isinstance(angle, torch.Tensor):
            if isinstance(angle, bool) or not isinstance(angle, (int, float)):
                raise TypeError(f"angle #{i} must be a tensor or a real number, got {type(angle).__name__}")
            dtype = reference.dtype if reference is not None and reference.is_floating_point() else None
            device = reference.device if reference is not None else None
            angle = torch.tensor(float(angle), dtype=dtype or torch.get_default_dtype(), device=device)
        if not angle.is_floating_point():
            angle = angle.to(torch.get_default_dtype())
        tensors.append(angle)
    dtype = torch.promote_types(tensors[0].dtype, tensors[0].dtype)
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return tuple(t.to(dtype) for t in tensors)


def _check_matrix(R: object, name: str, allow_improper: bool) -> torch.Tensor:
    """Validate a batch of orthogonal 3x3 matrices ``[..., 3, 3]``."""
    check_tensor(R, name, shape=(..., 3, 3), dtype="float")
    if R.numel() == 0:
        return R
    with torch.no_grad():
        tolerance = 1e-6 if R.dtype == torch.float64 else 1e-3
        eye = torch.eye(3, dtype=R.dtype, device=R.device)
        error = (R @ R.transpose(-1, -2) - eye).abs().amax()
        if not torch.isfinite(error) or error > tolerance:
            raise ValueError(
                f"{name} must be orthogonal matrices [..., 3, 3] (R R^T = I), max deviation {error.item():.3g}"
            )
        if not allow_improper and (torch.det(R) < 0).any():
            raise ValueError(f"{name} must be proper rotations (det = +1); got a matrix with det = -1")
    return R


def matrix_x(angle: torch.Tensor) -> torch.Tensor:
    """Rotation by ``angle`` around the x axis, ``[..., 3, 3]``."""
    (angle,) = _as_angle_tensors(angle)
    c, s = angle.cos(), angle.sin()
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([torch.stack([o, z, z], -1), torch.stack([z, c, -s], -1), torch.stack([z, s, c], -1)], -2)


def matrix_y(angle: torch.Tensor) -> torch.Tensor:
    """Rotation by ``angle`` around the y axis, ``[..., 3, 3]``."""
    (angle,) = _as_angle_tensors(angle)
    c, s = angle.cos(), angle.sin()
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([torch.stack([c, z, s], -1), torch.stack([z, o, z], -1), torch.stack([-s, z, c], -1)], -2)


def matrix_z(angle: torch.Tensor) -> torch.Tensor:
    """Rotation by ``angle`` around the z axis, ``[..., 3, 3]``."""
    (angle,) = _as_angle_tensors(angle)
    c, s = angle.cos(), angle.sin()
    o, z = torch.ones_like(angle), torch.zeros_like(angle)
    return torch.stack([torch.stack([c, -s, z], -1), torch.stack([s, c, z], -1), torch.stack([z, z, o], -1)], -2)


def angles_to_matrix(alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """``R_y(alpha) R_x(beta) R_y(gamma)``, ``[..., 3, 3]`` (angles broadcast together)."""
    alpha, beta, gamma = torch.broadcast_tensors(*_as_angle_tensors(alpha, beta, gamma))
    return matrix_y(alpha) @ matrix_x(beta) @ matrix_y(gamma)


def xyz_to_angles(xyz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Angles ``(alpha, beta)`` of a direction ``[..., 3]`` (any norm) such that
    ``R(alpha, beta, 0) e_y`` points along it. The zero vector maps to ``(0, 0)``."""
    check_tensor(xyz, "xyz", shape=(..., 3))
    norm = xyz.norm(dim=-1, keepdim=True)
    unit = xyz / norm.clamp(min=torch.finfo(xyz.dtype).tiny)
    unit = torch.where(norm > 0, unit, torch.tensor([0.0, 1.0, 0.0], dtype=xyz.dtype, device=xyz.device))
    beta = torch.acos(unit[..., 1].clamp(-1, 1))
    alpha = torch.atan2(unit[..., 0], unit[..., 2])
    return alpha, beta


def angles_to_xyz(alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Unit vector ``R(alpha, beta, 0) e_y = (sin a sin b, cos b, cos a sin b)``, ``[..., 3]``."""
    alpha, beta = torch.broadcast_tensors(*_as_angle_tensors(alpha, beta))
    return torch.stack([alpha.sin() * beta.sin(), beta.cos(), alpha.cos() * beta.sin()], dim=-1)


def matrix_to_angles(R: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Euler angles ``(alpha, beta, gamma)`` (each ``[...]``) of proper rotations ``R`` ``[..., 3, 3]``.

    Inverse of :func:`angles_to_matrix` up to the usual Euler-angle ambiguities (``beta`` in ``[0, pi]``;
    at ``beta = 0`` or ``pi`` only ``alpha +- gamma`` is defined; the returned triple still gives ``R``).
    Raises ValueError for non-orthogonal matrices or ``det R = -1``.
    """
    R = _check_matrix(R, "R", allow_improper=False)
    pole = R[..., :, 1]
    alpha, beta = xyz_to_angles(pole)
    rest = angles_to_matrix(alpha, beta, torch.zeros_like(alpha)).transpose(-1, -2) @ R
    gamma = torch.atan2(rest[..., 0, 2], rest[..., 0, 0])
    return alpha, beta, gamma


def axis_angle_to_matrix(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``[..., 3, 3]`` by ``angle`` ``[...]`` around ``axis`` ``[..., 3]`` (normalized here).

    Rodrigues' formula ``I + sin(t) K + (1 - cos(t)) K^2`` with ``K`` the cross-product matrix of the unit axis.
    A zero axis raises ValueError.
    """
    check_tensor(axis, "axis", shape=(..., 3))
    axis = axis if axis.is_floating_point() else axis.to(torch.get_default_dtype())
    (angle,) = _as_angle_tensors(angle)
    norm = axis.norm(dim=-1, keepdim=True)
    if (norm == 0).any() or not torch.isfinite(norm).all():
        raise ValueError("axis must be finite and non-zero")
    n = axis / norm
    n, angle = torch.broadcast_tensors(n, angle[..., None])
    angle = angle[..., 0]
    zero = torch.zeros_like(n[..., 0])
    k = torch.stack(
        [
            torch.stack([zero, -n[..., 2], n[..., 1]], -1),
            torch.stack([n[..., 2], zero, -n[..., 0]], -1),
            torch.stack([-n[..., 1], n[..., 0], zero], -1),
        ],
        -2,
    )
    eye = torch.eye(3, dtype=n.dtype, device=n.device)
    s = angle.sin()[..., None, None]
    c = angle.cos()[..., None, None]
    return eye + s * k + (1 - c) * (k @ k)


def _matrix_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """Unit quaternions ``(w, x, y, z)`` with ``w >= 0`` of rotation matrices (numerically stable branch choice)."""
    trace = R[..., 0, 0] + R[..., 1, 1] + R[..., 2, 2]
    candidates = torch.stack(
        [
            1 + trace,
            1 + R[..., 0, 0] - R[..., 1, 1] - R[..., 2, 2],
            1 - R[..., 0, 0] + R[..., 1, 1] - R[..., 2, 2],
            1 - R[..., 0, 0] - R[..., 1, 1] + R[..., 2, 2],
        ],
        dim=-1,
    )
    # each row below is 4 q_i q for the branch i (q_i^2 = candidates[i] / 4)
    rows = torch.stack(
        [
            torch.stack([candidates[..., 0], R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0],
                         R[..., 1, 0] - R[..., 0, 1]], -1),
            torch.stack([R[..., 2, 1] - R[..., 1, 2], candidates[..., 1], R[..., 0, 1] + R[..., 1, 0],
                         R[..., 0, 2] + R[..., 2, 0]], -1),
            torch.stack([R[..., 0, 2] - R[..., 2, 0], R[..., 0, 1] + R[..., 1, 0], candidates[..., 2],
                         R[..., 1, 2] + R[..., 2, 1]], -1),
            torch.stack([R[..., 1, 0] - R[..., 0, 1], R[..., 0, 2] + R[..., 2, 0], R[..., 1, 2] + R[..., 2, 1],
                         candidates[..., 3]], -1),
        ],
        dim=-2,
    )
    best = candidates.argmax(dim=-1)
    chosen = torch.gather(rows, -2, best[..., None, None].expand(*best.shape, 1, 4))[..., 0, :]
    q = chosen / chosen.norm(dim=-1, keepdim=True)
    return q * torch.where(q[..., :1] < 0, -1.0, 1.0).to(q.dtype)


def matrix_to_axis_angle(R: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit axis ``[..., 3]`` and angle ``[...]`` in ``[0, pi]`` of proper rotations ``R`` ``[..., 3, 3]``.

    For the identity the axis is arbitrary (``(0, 1, 0)`` is returned) and the angle 0.
    """
    R = _check_matrix(R, "R", allow_improper=False)
    q = _matrix_to_quaternion(R)
    vector = q[..., 1:]
    sin_half = vector.norm(dim=-1)
    angle = 2 * torch.atan2(sin_half, q[..., 0])
    default = torch.tensor([0.0, 1.0, 0.0], dtype=R.dtype, device=R.device)
    axis = torch.where(
        sin_half[..., None] > 0, vector / sin_half.clamp(min=torch.finfo(R.dtype).tiny)[..., None], default
    )
    return axis, angle


def _resolve(dtype: torch.dtype | None) -> torch.dtype:
    dtype = dtype or torch.get_default_dtype()
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating point dtype, got {dtype}")
    return dtype


def _check_shape(shape: tuple) -> tuple[int, ...]:
    for size in shape:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"shape entries must be non-negative ints, got {shape}")
    return tuple(shape)


def rand_matrix(
    *shape: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Haar-random rotation matrices ``[*shape, 3, 3]`` (det = +1), from uniformly random unit quaternions."""
    shape = _check_shape(shape)
    dtype = _resolve(dtype)
    q = torch.randn(*shape, 4, dtype=dtype, device=device, generator=generator)
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            torch.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            torch.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def rand_angles(
    *shape: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Euler angles ``(alpha, beta, gamma)`` (each ``[*shape]``) of Haar-random rotations."""
    shape = _check_shape(shape)
    dtype = _resolve(dtype)
    u = torch.rand(3, *shape, dtype=dtype, device=device, generator=generator)
    alpha = 2 * math.pi * u[0]
    gamma = 2 * math.pi * u[2]
    beta = torch.acos((2 * u[1] - 1).clamp(-1, 1))
    return alpha, beta, gamma


def rand_axis_angle(
    *shape: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Axis ``[*shape, 3]`` and angle ``[*shape]`` of Haar-random rotations."""
    return matrix_to_axis_angle(rand_matrix(*shape, generator=generator, dtype=dtype, device=device))

r"""SO(3) in the real basis of e3nn 0.6: generators, Wigner D matrices and Wigner 3j symbols.

Conventions (all tables are built in float64 and cast on return):

* Complex basis ``|l, m>``, ``m = -l..l``, with the Condon-Shortley phase; spin matrices ``J_x, J_y, J_z``
  act as usual (``J_+ |l m> = sqrt(l(l+1) - m(m+1)) |l m+1>``).
* The complex quantization frame ``(X', Y', Z')`` is the real frame ``(z, x, y)``: e3nn's polar axis is ``y``.
  For ``l = 1`` the real basis ``(m = -1, 0, 1)`` is ``(x, y, z)``.
* Real basis: ``|l, r> = sum_m Q[m, r] |l, m>`` with ``Q = i**l U^T`` where ``U`` is the usual real-from-complex
  matrix of real spherical harmonics (``Y_{l,-|m|} ~ sin``, ``Y_{l,|m|} ~ cos``, Condon-Shortley signs removed).
  The global phase ``i**l`` makes the Clebsch-Gordan coefficients real; it fixes the sign of :func:`wigner_3j`.
* :func:`so3_generators` ``G_a = Q^H (-i J_a') Q`` are real antisymmetric, ordered ``(x, y, z)``; for ``l = 1``
  ``(G_a)_{bc} = -epsilon_{abc}`` so ``expm(t G_a)`` is the rotation by ``t`` around axis ``a``.
* :func:`wigner_D` uses e3nn's Euler angles: ``D(alpha, beta, gamma) = expm(alpha G_y) expm(beta G_x)
  expm(gamma G_y)``; for ``l = 1`` it is the rotation matrix itself.
* :func:`wigner_3j` is the Condon-Shortley Clebsch-Gordan tensor ``<l1 m1 l2 m2 | l3 m3>`` (Racah's formula, exact
  rational arithmetic) mapped to the real basis as ``C[i,j,k] = sum Q1[m1,i] Q2[m2,j] conj(Q3[m3,k]) <..>`` and
  normalized to unit Frobenius norm. It equals e3nn 0.6's ``o3.wigner_3j`` sign included (tested).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import torch

from workbench.groups.o3 import rotations

__all__ = [
    "change_basis_real_to_complex",
    "so3_generators",
    "su2_clebsch_gordan",
    "su2_generators",
    "wigner_3j",
    "wigner_D",
    "wigner_D_from_axis_angle",
    "wigner_D_from_matrix",
]


def _check_l(l: object, name: str = "l") -> int:
    if isinstance(l, bool) or not isinstance(l, int):
        if isinstance(l, float) and l == int(l):
            raise TypeError(f"{name} must be an int, got float {l!r}; use {int(l)}")
        raise TypeError(f"{name} must be a non-negative int, got {type(l).__name__} {l!r}")
    if l < 0:
        raise ValueError(f"{name} must be >= 0, got {name}={l}")
    return l


def _two_j(j: object, name: str) -> int:
    """Twice a spin given as int, half-integer float or Fraction ('1/2' strings are accepted too)."""
    if isinstance(j, str):
        try:
            j = Fraction(j)
        except ValueError:
            raise ValueError(f"{name} must be a non-negative integer or half-integer, got {j!r}") from None
    if isinstance(j, bool) or not isinstance(j, (int, float, Fraction)):
        raise TypeError(f"{name} must be a non-negative integer or half-integer, got {type(j).__name__}")
    twice = 2 * Fraction(j)
    if twice.denominator != 1 or twice < 0:
        raise ValueError(f"{name} must be a non-negative integer or half-integer, got {j!r}")
    return int(twice)


@functools.cache
def _factorials(n: int) -> tuple[int, ...]:
    out = [1]
    for k in range(1, n + 1):
        out.append(out[-1] * k)
    return tuple(out)


def _cg_coefficient(tj1: int, tm1: int, tj2: int, tm2: int, tj3: int, fact: tuple[int, ...]) -> float:
    """<j1 m1 j2 m2 | j3 m1+m2> by Racah's formula; all arguments are twice the physical values."""
    tm3 = tm1 + tm2
    # all the combinations below are even integers (triangle and parity already checked), halve them
    a = (tj1 + tj2 - tj3) // 2
    b = (tj1 - tm1) // 2
    c = (tj2 + tm2) // 2
    d = (tj3 - tj2 + tm1) // 2
    e = (tj3 - tj1 - tm2) // 2
    numerator = (
        (tj3 + 1)
        * fact[(tj3 + tj1 - tj2) // 2]
        * fact[(tj3 - tj1 + tj2) // 2]
        * fact[a]
        * fact[(tj3 + tm3) // 2]
        * fact[(tj3 - tm3) // 2]
        * fact[b]
        * fact[(tj1 + tm1) // 2]
        * fact[(tj2 - tm2) // 2]
        * fact[c]
    )
    denominator = fact[(tj1 + tj2 + tj3) // 2 + 1]
    total = Fraction(0)
    for k in range(max(0, -d, -e), min(a, b, c) + 1):
        term = Fraction(1, fact[k] * fact[a - k] * fact[b - k] * fact[c - k] * fact[d + k] * fact[e + k])
        total += -term if k % 2 else term
    if total == 0:
        return 0.0
    squared = Fraction(numerator, denominator) * total * total
    return math.copysign(math.sqrt(squared), total)


@functools.cache
def _su2_cg_table(tj1: int, tj2: int, tj3: int) -> torch.Tensor:
    out = torch.zeros(tj1 + 1, tj2 + 1, tj3 + 1, dtype=torch.float64)
    if not (abs(tj1 - tj2) <= tj3 <= tj1 + tj2 and (tj1 + tj2 + tj3) % 2 == 0):
        return out
    fact = _factorials((tj1 + tj2 + tj3) // 2 + 1)
    for i1 in range(tj1 + 1):
        tm1 = 2 * i1 - tj1
        for i2 in range(tj2 + 1):
            tm2 = 2 * i2 - tj2
            tm3 = tm1 + tm2
            if abs(tm3) <= tj3:
                out[i1, i2, (tm3 + tj3) // 2] = _cg_coefficient(tj1, tm1, tj2, tm2, tj3, fact)
    return out


def su2_clebsch_gordan(j1: object, j2: object, j3: object) -> torch.Tensor:
    """Clebsch-Gordan coefficients ``<j1 m1 j2 m2 | j3 m3>`` (Condon-Shortley), float64.

    Spins may be integers or half-integers (``0.5``, ``Fraction(3, 2)``, ``"1/2"``). Returns
    ``[2j1+1, 2j2+1, 2j3+1]`` indexed by ``m = -j..j``; all zeros when the triangle rule forbids the coupling.
    Columns are orthonormal: ``sum_{m1 m2} C[m1,m2,m3] C[m1,m2,m3'] = delta``.
    """
    return _su2_cg_table(_two_j(j1, "j1"), _two_j(j2, "j2"), _two_j(j3, "j3")).clone()


def su2_generators(j: object) -> torch.Tensor:
    """Hermitian spin matrices ``(J_x, J_y, J_z)`` in the basis ``|j, m>``, ``m = -j..j``: ``[3, 2j+1, 2j+1]``.

    complex128; ``[J_x, J_y] = i J_z`` (cyclic) and ``J_z = diag(m)``. Half-integer ``j`` is allowed.
    """
    return _spin_matrices(_two_j(j, "j")).clone()


@functools.cache
def _spin_matrices(tj: int) -> torch.Tensor:
    dim = tj + 1
    m = torch.arange(dim, dtype=torch.float64) - tj / 2
    j = tj / 2
    raising = torch.zeros(dim, dim, dtype=torch.float64)
    for i in range(dim - 1):
        raising[i + 1, i] = math.sqrt(j * (j + 1) - m[i].item() * (m[i].item() + 1))
    jx = (raising + raising.T).to(torch.complex128) / 2
    jy = (raising - raising.T).to(torch.complex128) / 2j
    jz = torch.diag(m).to(torch.complex128)
    return torch.stack([jx, jy, jz])


@functools.cache
def _change_basis(l: int) -> torch.Tensor:
    u = torch.zeros(2 * l + 1, 2 * l + 1, dtype=torch.complex128)
    s = 1 / math.sqrt(2)
    u[l, l] = 1
    for m in range(1, l + 1):
        sign = (-1) ** m
        # Y_{l,-m} = i/sqrt2 (Y^{-m} - (-1)^m Y^{m});  Y_{l,m} = 1/sqrt2 (Y^{-m} + (-1)^m Y^{m})
        u[l - m, l - m] = 1j * s
        u[l - m, l + m] = -1j * sign * s
        u[l + m, l - m] = s
        u[l + m, l + m] = sign * s
    return (1j) ** l * u.T


def change_basis_real_to_complex(
    l: int, dtype: torch.dtype = torch.complex128, device: torch.device | str | None = None
) -> torch.Tensor:
    """Unitary ``Q`` ``[2l+1 (complex m), 2l+1 (real index)]`` with ``|l, r> = sum_m Q[m, r] |l, m>``.

    ``Q = i**l U^T`` where ``U`` maps complex (Condon-Shortley) spherical harmonics to the real ones.
    """
    l = _check_l(l)
    return _change_basis(l).to(dtype=dtype, device=device, copy=True)


@functools.cache
def _so3_generators(l: int) -> torch.Tensor:
    q = _change_basis(l)
    jx, jy, jz = _spin_matrices(2 * l)
    # complex frame (X', Y', Z') = real frame (z, x, y): real axes x, y, z are Y', Z', X'
    generators = torch.stack([q.conj().T @ (-1j * jm) @ q for jm in (jy, jz, jx)])
    if generators.imag.abs().max() > 1e-12:  # pragma: no cover - guards the convention above
        raise RuntimeError("internal error: so(3) generators are not real in the chosen basis")
    return generators.real.contiguous()


def so3_generators(
    l: int, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> torch.Tensor:
    """Real antisymmetric generators ``[3, 2l+1, 2l+1]`` of SO(3) in the e3nn basis, ordered ``(x, y, z)``.

    ``[G_x, G_y] = G_z`` (cyclic). For ``l = 1``, ``(G_a)_{bc} = -epsilon_{abc}``, i.e. ``expm(t G_a)`` rotates
    by ``t`` around axis ``a``; :func:`wigner_D` is their exponential. float64 unless ``dtype`` says otherwise.
    """
    l = _check_l(l)
    return _so3_generators(l).to(dtype=dtype, device=device, copy=True)


@functools.cache
def _y_rotation_parts(l: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``|m|`` of each real basis index and ``G_y / |m|`` (zero row for m = 0).

    ``expm(a G_y) = diag(cos(|m| a)) + diag(sin(|m| a)) (G_y / |m|)`` because ``G_y`` only couples the
    indices ``m`` and ``-m`` and squares to ``-m^2`` there.
    """
    generator_y = _so3_generators(l)[1]
    abs_m = torch.arange(-l, l + 1, dtype=torch.float64).abs()
    scaled = generator_y / abs_m.clamp(min=1)[:, None]
    return abs_m, scaled


@functools.cache
def _y_to_x(l: int) -> torch.Tensor:
    """``D`` of the rotation by -pi/2 around z, which maps the y axis onto the x axis."""
    return torch.linalg.matrix_exp(-math.pi / 2 * _so3_generators(l)[2])


def _rotation_y(l: int, angle: torch.Tensor) -> torch.Tensor:
    abs_m, scaled = _y_rotation_parts(l)
    abs_m = abs_m.to(dtype=angle.dtype, device=angle.device)
    scaled = scaled.to(dtype=angle.dtype, device=angle.device)
    phase = angle[..., None] * abs_m
    eye = torch.eye(2 * l + 1, dtype=angle.dtype, device=angle.device)
    return torch.cos(phase)[..., :, None] * eye + torch.sin(phase)[..., :, None] * scaled


def wigner_D(
    l: int,
    alpha: torch.Tensor,
    beta: torch.Tensor | None = None,
    gamma: torch.Tensor | None = None,
) -> torch.Tensor:
    """Wigner D matrix of SO(3) in the e3nn real basis, ``[..., 2l+1, 2l+1]``.

    ``wigner_D(l, alpha, beta, gamma)``: e3nn's Euler angles (Y-X-Y), ``D = D_y(alpha) D_x(beta) D_y(gamma)``
    (``gamma`` applied first); the angles broadcast together. ``wigner_D(l, R)`` with a single tensor of shape
    ``[..., 3, 3]`` takes a rotation matrix instead (see :func:`wigner_D_from_matrix`).
    Properties: ``D(R1 R2) = D(R1) D(R2)``, ``D(R)^T = D(R^-1)``, and ``D = R`` for ``l = 1``.
    Differentiable in the angles; dtype/device follow the angles.
    """
    l = _check_l(l)
    if beta is None and gamma is None:
        return wigner_D_from_matrix(l, alpha)
    if beta is None or gamma is None:
        raise ValueError("wigner_D takes either (l, alpha, beta, gamma) or (l, R); got only two angles")
    alpha, beta, gamma = rotations._as_angle_tensors(alpha, beta, gamma)
    alpha, beta, gamma = torch.broadcast_tensors(alpha, beta, gamma)
    turn = _y_to_x(l).to(dtype=alpha.dtype, device=alpha.device)
    d_x = turn @ _rotation_y(l, beta) @ turn.T
    return _rotation_y(l, alpha) @ d_x @ _rotation_y(l, gamma)


def wigner_D_from_matrix(l: int, R: torch.Tensor) -> torch.Tensor:
    """Wigner D ``[..., 2l+1, 2l+1]`` of proper rotation matrices ``R`` ``[..., 3, 3]`` (``det R = +1``)."""
    l = _check_l(l)
    R = rotations._check_matrix(R, "R", allow_improper=False)
    return wigner_D(l, *rotations.matrix_to_angles(R))


def wigner_D_from_axis_angle(l: int, axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Wigner D ``[..., 2l+1, 2l+1]`` of the rotation by ``angle`` around ``axis`` (``[..., 3]``, any norm)."""
    return wigner_D_from_matrix(l, rotations.axis_angle_to_matrix(axis, angle))


@functools.cache
def _wigner_3j(l1: int, l2: int, l3: int) -> torch.Tensor:
    cg = _su2_cg_table(2 * l1, 2 * l2, 2 * l3).to(torch.complex128)
    q1, q2, q3 = _change_basis(l1), _change_basis(l2), _change_basis(l3)
    # contract one index at a time (cheap, 3 small matmuls instead of a 4-operand einsum)
    c = torch.einsum("abc,ai->ibc", cg, q1)
    c = torch.einsum("ibc,bj->ijc", c, q2)
    c = torch.einsum("ijc,ck->ijk", c, q3.conj())
    if c.imag.abs().max() > 1e-12:  # pragma: no cover - guards the convention above
        raise RuntimeError(f"internal error: wigner_3j({l1},{l2},{l3}) is not real")
    real = c.real.contiguous()
    return real / real.norm()


def wigner_3j(
    l1: int,
    l2: int,
    l3: int,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""Real Wigner 3j tensor ``C`` of shape ``[2l1+1, 2l2+1, 2l3+1]``, equal to e3nn 0.6's ``o3.wigner_3j``.

    Invariant: ``C_{ijk} = C_{abc} D1_{ai}(g) D2_{bj}(g) D3_{ck}(g)`` for every rotation ``g`` (with
    :func:`wigner_D`), and ``sum C_{ijk}^2 = 1``. Requires the triangle rule ``|l1-l2| <= l3 <= l1+l2``
    (ValueError otherwise). Built once in float64 (Racah's formula, exact rationals) and cached; returns a copy
    in ``dtype`` (default ``torch.get_default_dtype()``) on ``device``.
    """
    l1, l2, l3 = _check_l(l1, "l1"), _check_l(l2, "l2"), _check_l(l3, "l3")
    if not abs(l1 - l2) <= l3 <= l1 + l2:
        raise ValueError(
            f"wigner_3j({l1}, {l2}, {l3}) violates the triangle rule |l1-l2| <= l3 <= l1+l2: the coupling is zero"
        )
    dtype = dtype or torch.get_default_dtype()
    return _wigner_3j(l1, l2, l3).to(dtype=dtype, device=device, copy=True)

r"""Real spherical harmonics in the e3nn 0.6 basis, as homogeneous polynomials of ``(x, y, z)``.

Definition (the same as e3nn's, built here from :func:`~workbench.groups.o3.wigner_3j`):

* ``Y^0 = 1``, ``Y^1 = sqrt(3) (x, y, z)``;
* ``Y^{l+1}_i(x) = c_l sum_{jk} C^{(l+1, 1, l)}_{ijk} x_j Y^l_k(x)`` with ``C`` the real Wigner 3j tensor and
  ``c_l > 0`` chosen so that ``|Y^{l+1}(x)|^2 = 2l+3`` on the unit sphere ("component" normalization).

Each ``Y^l`` is a harmonic homogeneous polynomial of degree ``l`` with ``Y^l(R x) = D^l(R) Y^l(x)``. The
recursion is evaluated numerically as one outer product and one small matrix product per degree (the matrices
are built once per ``(lmax, normalization)`` in float64 and cached), so the cost is a handful of vectorized ops
and the gradient is finite everywhere (at ``x = 0`` too when ``normalize=False``).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple, Union

import torch

from workbench.checks import check_tensor
from workbench.groups.o3.irreps import Irrep, Irreps
from workbench.groups.o3.wigner import _wigner_3j

__all__ = ["SphericalHarmonics", "spherical_harmonics"]

_NORMALIZATIONS = ("integral", "component", "norm")


def _output_scale(l: int, normalization: str) -> float:
    """Factor from 'component' normalization (|Y^l|^2 = 2l+1 on the sphere) to the requested one."""
    if normalization == "component":
        return 1.0
    if normalization == "norm":
        return 1.0 / math.sqrt(2 * l + 1)
    return 1.0 / math.sqrt(4 * math.pi)


@functools.cache
def _component_recursion_matrix(l: int) -> torch.Tensor:
    """``M_l`` ``[3 (2l+1), 2l+3]`` with ``Y^{l+1} = (x outer Y^l).flatten() @ M_l`` ('component', float64)."""
    cg = _wigner_3j(l + 1, 1, l)  # [2l+3, 3, 2l+1]
    matrix = cg.permute(1, 2, 0).reshape(3 * (2 * l + 1), 2 * l + 3)
    # fix c_l with any unit vector: evaluate the unscaled recursion at e_y using the exact Y^l there
    y_l = _component_values_at_pole(l)
    point = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    unscaled = (point[:, None] * y_l[None, :]).reshape(-1) @ matrix
    return matrix * (math.sqrt(2 * l + 3) / unscaled.norm())


@functools.cache
def _component_values_at_pole(l: int) -> torch.Tensor:
    """``Y^l(e_y)`` in 'component' normalization (float64), by the same recursion."""
    if l == 0:
        return torch.ones(1, dtype=torch.float64)
    if l == 1:
        return math.sqrt(3) * torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    previous = _component_values_at_pole(l - 1)
    point = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    return (point[:, None] * previous[None, :]).reshape(-1) @ _component_recursion_matrix(l - 1)


@functools.cache
def _scaled_recursion(lmax: int, normalization: str) -> tuple[tuple[float, ...], tuple[torch.Tensor, ...]]:
    """Output scales ``s_l`` and matrices for ``Z^{l+1} = (x outer Z^l) @ (M_l s_{l+1} / s_l)`` with ``Z = s Y``."""
    scales = tuple(_output_scale(l, normalization) for l in range(lmax + 1))
    matrices = tuple(
        _component_recursion_matrix(l) * (scales[l + 1] / scales[l]) for l in range(1, lmax)
    )
    return scales, matrices


_matrix_cache: dict[tuple[int, str, torch.dtype, torch.device], tuple[torch.Tensor, ...]] = {}


def _recursion_matrices(lmax: int, normalization: str, dtype: torch.dtype, device: torch.device):
    key = (lmax, normalization, dtype, device)
    cached = _matrix_cache.get(key)
    if cached is None:
        _, matrices = _scaled_recursion(lmax, normalization)
        cached = tuple(m.to(dtype=dtype, device=device) for m in matrices)
        _matrix_cache[key] = cached
    return cached


def _parse_degrees(l: object) -> tuple[list[int], int]:
    """Requested degrees (in output order) and the input parity (-1 vector, +1 pseudovector)."""
    if isinstance(l, bool):
        raise TypeError("l must be an int, a list of ints, an irreps string or Irreps, got bool")
    if isinstance(l, int):
        if l < 0:
            raise ValueError(f"l must be >= 0, got {l}")
        return [l], -1
    if isinstance(l, (str, Irreps, Irrep)):
        irreps = Irreps(l)
        if len(irreps) == 0:
            raise ValueError("irreps for spherical_harmonics must not be empty")
        input_parity = -1
        for _, ir in irreps:
            if ir.l % 2 == 1 and ir.p == 1:
                input_parity = 1
        degrees = []
        for mul, ir in irreps:
            if ir.p != input_parity**ir.l:
                raise ValueError(
                    f"irreps {irreps} ask for l={ir.l} with parity {ir.p}, inconsistent with an input of parity "
                    f"{input_parity}: spherical harmonics of degree l have parity p**l"
                )
            degrees.extend([ir.l] * mul)
        if not degrees:
            raise ValueError(f"irreps {irreps} contain no irrep (all multiplicities are 0)")
        return degrees, input_parity
    if isinstance(l, (list, tuple)):
        if not l:
            raise ValueError("the list of degrees must not be empty")
        for value in l:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"degrees must be non-negative ints, got {l!r}")
        return list(l), -1
    raise TypeError(f"l must be an int, a list of ints, an irreps string or Irreps, got {type(l).__name__}")


def _is_finite(x: torch.Tensor, summary: torch.Tensor) -> bool:
    """Raise ValueError if ``x`` has NaN/inf; ``summary`` is a cheap reduction of x checked first.

    Returns False when ``summary`` overflowed although ``x`` is finite (huge coordinates), True otherwise.
    """
    if x.numel() == 0 or torch.compiler.is_compiling():
        return True
    if bool(torch.isfinite(summary)):
        return True
    check_tensor(x, "x", finite=True)
    return False


def _reference_evaluate(x: torch.Tensor, lmax: int, normalization: str) -> list[torch.Tensor]:
    """The definition: ``[Z^0, ..., Z^lmax]`` (each ``[..., 2l+1]``) by the dense 3j recursion.

    Used to derive and to verify the sparse recurrence of the fast path; slower (row-major small matmuls).
    """
    scales, _ = _scaled_recursion(lmax, normalization)
    batch = x.shape[:-1]
    outputs = [torch.full((*batch, 1), scales[0], dtype=x.dtype, device=x.device)]
    if lmax == 0:
        return outputs
    current = x * (math.sqrt(3) * scales[1])
    outputs.append(current)
    for matrix in _recursion_matrices(lmax, normalization, x.dtype, x.device):
        current = (x[..., :, None] * current[..., None, :]).reshape(*batch, -1) @ matrix
        outputs.append(current)
    return outputs


class _SparseStep(NamedTuple):
    """Sparse three-term recurrence for degree ``L >= 2`` in 'component' normalization (float64).

    With ``y`` the polar axis of the basis (rotations about y preserve the index ``m``):

    * rows ``|m| <= L-1``: ``Y^L_m = a_m y Y^{L-1}_m + b_m r^2 Y^{L-2}_m`` (``b`` only for ``|m| <= L-2``);
    * rows ``m = -L`` and ``m = L``: ``sum_t c_t v_t Y^{L-1}_{k_t}`` with ``v_t`` in ``{x, z}`` and
      ``k_t`` in ``{-(L-1), L-1}``.
    """

    a: torch.Tensor  # [2L-1]
    b: torch.Tensor  # [2L-3]
    low: tuple[tuple[int, int, float], ...]  # (axis 0|2, source row, coefficient) for m = -L
    high: tuple[tuple[int, int, float], ...]  # same for m = +L


@functools.cache
def _sparse_step(L: int) -> _SparseStep:
    """Derive the sparse recurrence of degree ``L`` from the 3j definition by least squares and verify it."""
    points = torch.randn(64, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(L))
    values = _reference_evaluate(points, L, "component")
    target, previous, before = values[L], values[L - 1], values[L - 2]
    x, y, z = points.unbind(-1)
    r2 = (points * points).sum(-1)

    def solve(columns: list[torch.Tensor], wanted: torch.Tensor) -> list[float]:
        matrix = torch.stack(columns, dim=-1)
        solution = torch.linalg.lstsq(matrix, wanted[:, None], driver="gelsd").solution[:, 0]
        residual = (matrix @ solution - wanted).abs().max() / wanted.abs().max().clamp(min=1e-300)
        if residual > 1e-11:  # pragma: no cover - would mean the basis is not the documented one
            raise RuntimeError(f"internal error: no sparse spherical-harmonics recurrence at l={L} ({residual})")
        return [value if abs(value) > 1e-13 * solution.abs().max().item() else 0.0 for value in solution.tolist()]

    a = torch.zeros(2 * L - 1, dtype=torch.float64)
    b = torch.zeros(max(2 * L - 3, 0), dtype=torch.float64)
    for m in range(-(L - 1), L):
        columns = [y * previous[:, m + L - 1]]
        if abs(m) <= L - 2:
            columns.append(r2 * before[:, m + L - 2])
        coefficients = solve(columns, target[:, m + L])
        a[m + L - 1] = coefficients[0]
        if abs(m) <= L - 2:
            b[m + L - 2] = coefficients[1]

    def edge(row: int) -> tuple[tuple[int, int, float], ...]:
        terms = [(axis, source) for axis in (0, 2) for source in (0, 2 * L - 2)]
        columns = [points[:, axis] * previous[:, source] for axis, source in terms]
        coefficients = solve(columns, target[:, row])
        return tuple((axis, source, c) for (axis, source), c in zip(terms, coefficients) if c != 0.0)

    return _SparseStep(a, b, edge(0), edge(2 * L))


_step_cache: dict[tuple[int, str, torch.dtype, torch.device], tuple] = {}


def _scaled_step(L: int, normalization: str, dtype: torch.dtype, device: torch.device) -> tuple:
    """The sparse step with the output normalization folded in, cast to ``dtype``/``device`` (cached)."""
    key = (L, normalization, dtype, device)
    cached = _step_cache.get(key)
    if cached is None:
        step = _sparse_step(L)
        ratio_1 = _output_scale(L, normalization) / _output_scale(L - 1, normalization)
        ratio_2 = _output_scale(L, normalization) / _output_scale(L - 2, normalization)
        a = (step.a * ratio_1).to(dtype=dtype, device=device)[:, None]
        b = (step.b * ratio_2).to(dtype=dtype, device=device)[:, None]
        low = tuple((axis, source, c * ratio_1) for axis, source, c in step.low)
        high = tuple((axis, source, c * ratio_1) for axis, source, c in step.high)
        cached = (a, b, low, high)
        _step_cache[key] = cached
    return cached


def _edge_row(terms: tuple, axes: tuple[torch.Tensor, ...], previous: torch.Tensor) -> torch.Tensor:
    axis, source, coefficient = terms[0]
    row = axes[axis] * previous[source] * coefficient
    for axis, source, coefficient in terms[1:]:
        row = torch.addcmul(row, axes[axis], previous[source], value=coefficient)
    return row[None]


def _evaluate_rows(
    x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, r2: torch.Tensor | None, lmax: int, normalization: str
) -> list[torch.Tensor]:
    """Fast path: ``[Z^0, ..., Z^lmax]`` component-major (each ``[2l+1, N]``) from contiguous ``x, y, z [N]``.

    ``r2`` is ``x^2 + y^2 + z^2`` or None when the points are on the unit sphere.
    """
    scale_0 = _output_scale(0, normalization)
    outputs = [torch.full((1, x.shape[0]), scale_0, dtype=x.dtype, device=x.device)]
    if lmax == 0:
        return outputs
    scale_1 = math.sqrt(3) * _output_scale(1, normalization)
    outputs.append(torch.stack([x, y, z]) * scale_1)
    axes = (x, y, z)
    for L in range(2, lmax + 1):
        a, b, low, high = _scaled_step(L, normalization, x.dtype, x.device)
        previous, before = outputs[L - 1], outputs[L - 2]
        middle = (a * y) * previous
        second = b * before if r2 is None else (b * r2) * before
        middle = torch.cat([middle[:1], middle[1:-1] + second, middle[-1:]])
        outputs.append(torch.cat([_edge_row(low, axes, previous), middle, _edge_row(high, axes, previous)]))
    return outputs


def spherical_harmonics(
    l: Union[int, list[int], str, Irreps],
    x: torch.Tensor,
    normalize: bool,
    normalization: str = "integral",
) -> torch.Tensor:
    r"""Real spherical harmonics ``Y^l(x)``, equal to e3nn 0.6's ``o3.spherical_harmonics``.

    Args:
        l: a degree ``l``, a list of degrees (output concatenated in that order), or irreps such as
            ``"1x0e+1x1o+1x2e"`` / ``Irreps.spherical_harmonics(lmax)`` (parity ``p**l``; an odd ``l`` with
            even parity means the input is a pseudovector, as in e3nn).
        x: vectors ``[..., 3]`` ``(x, y, z)``; float32 or float64. Must be finite (NaN/inf raise ValueError).
        normalize: project ``x`` on the unit sphere first (zero vectors give ``Y^0`` only, like e3nn). With
            ``normalize=False`` the polynomials are evaluated as is and are smooth everywhere.
        normalization: ``"integral"`` (``int_{S^2} Y_m^2 = 1``), ``"component"`` (``|Y^l|^2 = 2l+1`` on the
            sphere) or ``"norm"`` (``|Y^l| = 1`` on the sphere).

    Returns:
        ``[..., sum(2l+1)]`` in the dtype/device of ``x``: ``Y^{l_1}, Y^{l_2}, ...`` concatenated.

    Examples:
        >>> import torch
        >>> from workbench.groups import o3
        >>> o3.spherical_harmonics("1x0e+1x1o", torch.tensor([[0.0, 0.0, 2.0]]), normalize=True,
        ...                        normalization="component")
        tensor([[1.0000, 0.0000, 0.0000, 1.7321]])
    """
    return SphericalHarmonics(l, normalize, normalization)(x)


class SphericalHarmonics(torch.nn.Module):
    """Module form of :func:`spherical_harmonics` (same arguments); ``irreps_out`` gives the output irreps."""

    def __init__(
        self, irreps_out: Union[int, list[int], str, Irreps], normalize: bool, normalization: str = "integral"
    ) -> None:
        super().__init__()
        if normalization not in _NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")
        if not isinstance(normalize, bool):
            raise TypeError(f"normalize must be a bool, got {type(normalize).__name__}")
        degrees, input_parity = _parse_degrees(irreps_out)
        self.degrees = degrees
        self.lmax = max(degrees)
        self.normalize = normalize
        self.normalization = normalization
        self.irreps_in = Irreps([(1, (1, input_parity))])
        self.irreps_out = Irreps([(1, (l, input_parity**l)) for l in degrees]).simplify()
        self._is_range = degrees == list(range(self.lmax + 1))
        # build the float64 tables now, not on the first call
        _scaled_recursion(self.lmax, normalization)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., 3] -> [..., irreps_out.dim]``."""
        check_tensor(x, "x", shape=(..., 3), dtype="float")
        batch = x.shape[:-1]
        flat = x.reshape(-1, 3)
        c0, c1, c2 = flat.unbind(-1)
        r2: torch.Tensor | None = None
        if self.normalize:
            squared = torch.addcmul(torch.addcmul(c0 * c0, c1, c1), c2, c2)
            if not _is_finite(x, squared.sum()):
                # finite but huge coordinates made |x|^2 overflow: shrink those vectors first (same direction)
                flat = flat / flat.abs().amax(dim=-1, keepdim=True).clamp(min=1.0)
                c0, c1, c2 = flat.unbind(-1)
                squared = torch.addcmul(torch.addcmul(c0 * c0, c1, c1), c2, c2)
            inverse = squared.clamp(min=1e-24).rsqrt()
            c0, c1, c2 = c0 * inverse, c1 * inverse, c2 * inverse
            if self.lmax >= 2 and bool(squared.min() < 1e-24):
                # (near-)zero vectors are not on the sphere: keep the true |u|^2 (e3nn gives Y^l(0) = 0, l > 0)
                r2 = squared * inverse * inverse
        else:
            _is_finite(x, flat.sum())
            if self.lmax >= 2:
                r2 = torch.addcmul(torch.addcmul(c0 * c0, c1, c1), c2, c2)
        if self.lmax >= 1 and not c0.is_contiguous():
            c0, c1, c2 = c0.contiguous(), c1.contiguous(), c2.contiguous()
        rows = _evaluate_rows(c0, c1, c2, r2, self.lmax, self.normalization)
        # one strided block copy per degree into the [N, dim] output (faster than stack or transpose+copy)
        out = flat.new_empty(flat.shape[0], self.irreps_out.dim)
        start = 0
        for l in self.degrees:
            out[:, start : start + 2 * l + 1] = rows[l].T
            start += 2 * l + 1
        return out.reshape(*batch, out.shape[-1])

    def extra_repr(self) -> str:
        return f"{self.irreps_out}, normalize={self.normalize}, normalization={self.normalization!r}"

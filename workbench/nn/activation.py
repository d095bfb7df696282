"""Equivariant nonlinearities: :class:`Gate` (NequIP/e3nn) and :class:`NormActivation`.

Both work for O(3) irreps and, with ``group=``, for irreps of any workbench group (they only use the fact
that scalars are invariant and that a scalar times a feature, or a function of an invariant norm times a
feature, is equivariant). For non-compact groups (Lorentz) the Euclidean norm is *not* invariant, so
:class:`NormActivation` requires O(3) or a compact group; :class:`Gate` works for any group.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.groups import Irreps, LieGroup, as_irreps, o3
from workbench.nn.same_irreps import SameIrreps

__all__ = ["Gate", "NormActivation", "Normalize2Mom", "activation_parity", "second_moment_constant"]

Act = Callable[[torch.Tensor], torch.Tensor]


def second_moment_constant(act: Act) -> float:
    """e3nn's ``normalize2mom`` constant of ``act``: ``E[act(z)^2]^(-1/2)`` for ``z ~ N(0, 1)``.

    Computed exactly as e3nn 0.6 does (so ported weights give e3nn's outputs): a million float64 samples from a
    CPU ``torch.Generator`` seeded with 0, ``act(z).pow(2).mean().pow(-0.5)``. Deterministic; plain functions
    are cached (a module activation is evaluated on every call, since its parameters may change).
    """
    if not callable(act):
        raise TypeError(f"act must be a callable activation, got {type(act).__name__}")
    if isinstance(act, torch.nn.Module):
        return _second_moment_constant(act)
    try:
        return _cached_second_moment_constant(act)
    except TypeError:  # unhashable callable
        return _second_moment_constant(act)


def _second_moment_constant(act: Act) -> float:
    gen = torch.Generator(device="cpu").manual_seed(0)
    z = torch.randn(1_000_000, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        return float(act(z).pow(2).mean().pow(-0.5).item())


_cached_second_moment_constant = functools.lru_cache(maxsize=256)(_second_moment_constant)


class Normalize2Mom:
    """``act`` rescaled to unit second moment under a standard normal input (e3nn's ``normalize2mom``).

    ``Normalize2Mom(act)(x) = act(x) * cst`` with ``cst = second_moment_constant(act)``; as in e3nn, when
    ``|cst - 1| < 1e-4`` the activation is used unscaled (``cst`` is then reported as 1.0 by :attr:`scale`).
    """

    def __init__(self, act: Act) -> None:
        cst = second_moment_constant(act)
        self.act, self.cst, self.is_identity = act, cst, abs(cst - 1) < 1e-4

    @property
    def scale(self) -> float:
        """The factor actually applied (1.0 when the constant is within 1e-4 of 1)."""
        return 1.0 if self.is_identity else self.cst

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x) if self.is_identity else self.act(x).mul(self.cst)

    def __repr__(self) -> str:
        return f"Normalize2Mom({getattr(self.act, '__name__', self.act)!r}, cst={self.cst:.6g})"


def activation_parity(act: Act) -> int:
    """``1`` for an even activation, ``-1`` for an odd one, ``0`` for neither (e3nn's test: ``act(x)`` against
    ``act(-x)`` on ``linspace(0, 10, 256)``, tolerance 1e-5)."""
    x = torch.linspace(0.0, 10.0, 256, dtype=torch.float64)
    with torch.no_grad():
        a1, a2 = act(x), act(-x)
    if float((a1 - a2).abs().max()) < 1e-5:
        return 1
    if float((a1 + a2).abs().max()) < 1e-5:
        return -1
    return 0


def _acts(acts: Sequence[Act | None] | Act | None, n: int, name: str) -> list[Act | None]:
    if acts is None or callable(acts):
        return [acts] * n
    acts = list(acts)
    if len(acts) != n:
        raise ValueError(f"{name} has {len(acts)} entries; expected one per segment ({n})")
    for act in acts:
        if act is not None and not callable(act):
            raise TypeError(f"{name} entries must be callables or None, got {type(act).__name__}")
    return acts


class Gate(torch.nn.Module):
    """Gate nonlinearity (e3nn 0.6): ``[scalars, gates, gated] -> [act(scalars), act_gate(gates) * gated]``.

    Input ``[..., scalars.dim + gates.dim + gated.dim]`` in that order (concatenated, not sorted; ``irreps_in``
    is that concatenation simplified, adjacent equal irreps merged, as e3nn writes it); output
    ``[..., scalars.dim + gated.dim]`` with irreps ``irreps_out = irreps_scalars' + irreps_gated``.
    ``irreps_gates`` must hold exactly one trivial scalar per gated irrep copy (``gates.num_irreps ==
    gated.num_irreps``); copy ``c`` of the gated features is multiplied by gate ``c``.

    Args:
        irreps_scalars, irreps_gates, irreps_gated: irreps (O(3) strings, or of ``group``).
        act_scalars, act_gates: one activation (or ``None`` = identity) per segment, or one for all.
        group: ``None`` for O(3) or a ``workbench.groups`` group (the gate only uses that scalars are invariant).
        normalize2mom: rescale every activation to unit second moment under a standard normal input
            (:class:`Normalize2Mom`, the same constant e3nn's ``normalize2mom`` computes). **Default True**, as
            in e3nn and as the README's interop section documents: e3nn code and weights ported to the workbench
            give e3nn's outputs, and unit-variance pre-activations keep unit variance through the gate at
            initialization. ``False`` applies the activations as given.

    Pseudo-scalars (O(3) ``0o``) in ``irreps_scalars`` follow e3nn: an odd activation keeps ``0o``, an even one
    gives ``0e`` (``|x|``, ``x**2``), any other raises ValueError. e3nn's ``Gate`` reads its input in *sorted*
    order (``(scalars + gates + gated).sort()``); the layouts agree whenever that concatenation is already sorted
    (e.g. ``0o`` scalars before ``0e`` scalars, ``0e`` gates, gated irreps in increasing ``l``), as in
    :meth:`from_irreps`.
    """

    def __init__(
        self,
        irreps_scalars: Any,
        act_scalars: Sequence[Act | None] | Act | None,
        irreps_gates: Any,
        act_gates: Sequence[Act | None] | Act | None,
        irreps_gated: Any,
        group: LieGroup | str | None = None,
        normalize2mom: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(normalize2mom, bool):
            raise TypeError(f"normalize2mom must be True or False, got {normalize2mom!r}")
        ss, sg, sd = as_irreps(irreps_scalars, group), as_irreps(irreps_gates, group), as_irreps(irreps_gated, group)
        for _, ir in sg:
            if not sg.is_trivial(ir):
                raise ValueError(f"irreps_gates must contain only trivial scalars (0e), got {ir}")
        self.normalize2mom = normalize2mom
        wrap = (lambda a: Normalize2Mom(a) if a is not None else None) if normalize2mom else (lambda a: a)
        self.act_scalars = [wrap(a) for a in _acts(act_scalars, len(ss), "act_scalars")]
        out_scalars = []
        for (mul, ir), act in zip(ss, self.act_scalars):
            if ss.is_trivial(ir):
                out_scalars.append((mul, ir))
                continue
            if ir.dim != 1 or getattr(ir, "p", None) != -1:
                raise ValueError(
                    f"irreps_scalars must contain only scalars (0e, or 0o with an odd or even activation), got {ir}"
                )
            parity = -1 if act is None else activation_parity(act)
            if parity == 0 or (parity == 1 and not isinstance(ss, o3.Irreps)):
                raise ValueError(f"irreps_scalars: {ir} (pseudo-scalar) needs an odd activation (or, in O(3), an "
                                 f"even one, which makes it 0e as in e3nn)")
            out_scalars.append((mul, ir) if parity == -1 else (mul, o3.Irrep(0, 1)))
        n_gates = sum(m for m, _ in sg)
        n_gated = sum(m for m, _ in sd)
        if n_gates != n_gated:
            raise ValueError(f"irreps_gates has {n_gates} scalars but irreps_gated has {n_gated} irrep copies")
        self.irreps_scalars, self.irreps_gates, self.irreps_gated = ss, sg, sd
        self.act_gates = [wrap(a) for a in _acts(act_gates, len(sg), "act_gates")]
        self._scalar_sizes = [m for m, _ in ss]
        self._gate_sizes = [m for m, _ in sg]
        self._gated = [(m, ir.dim) for m, ir in sd]
        self._dims = (ss.dim, sg.dim, sd.dim)
        self.irreps_in = _concat(ss, sg, sd).simplify()  # e3nn's form (adjacent equal irreps merged)
        self.irreps_out = _concat(ss._new(out_scalars), sd)

    @classmethod
    def from_irreps(
        cls,
        irreps_hidden: Any,
        act_scalars: Act | None = torch.nn.functional.silu,
        act_gates: Act | None = torch.sigmoid,
        group: LieGroup | str | None = None,
        normalize2mom: bool = True,
    ) -> Gate:
        """The gate whose output is ``irreps_hidden``: its trivial scalars pass through ``act_scalars``; every
        other irrep copy (``0o`` included) is gated by one trivial scalar through ``act_gates``.

        ``gate.irreps_in = (scalars + Nx0e + gated).simplify()`` (``N`` = number of gated copies) is what the
        layer before the gate must produce; ``gate.irreps_out == irreps_hidden`` when ``irreps_hidden`` lists
        its trivial scalars first (e.g. ``o3.Irreps.natural(channels, lmax)``). The gate scalars use the trivial
        irrep found in ``irreps_hidden`` (``0e`` for O(3)); a non-O(3) ``irreps_hidden`` without a trivial
        segment raises ValueError.

        Examples:
            >>> import torch
            >>> from workbench.nn import Gate
            >>> gate = Gate.from_irreps("8x0e+8x1o+8x2e")
            >>> gate.irreps_in, gate.irreps_out
            (24x0e+8x1o+8x2e, 8x0e+8x1o+8x2e)
            >>> gate(torch.randn(10, gate.irreps_in.dim)).shape
            torch.Size([10, 72])
        """
        hidden = as_irreps(irreps_hidden, group)
        scalars = [(m, ir) for m, ir in hidden if hidden.is_trivial(ir)]
        gated = [(m, ir) for m, ir in hidden if not hidden.is_trivial(ir)]
        n = sum(m for m, _ in gated)
        if scalars:
            trivial = scalars[0][1]
        elif isinstance(hidden, o3.Irreps):
            trivial = o3.Irrep(0, 1)
        elif n:
            raise ValueError(f"irreps_hidden {hidden} has no trivial scalar segment to take the gate irrep from")
        else:
            trivial = None
        gates = [(n, trivial)] if n else []
        return cls(hidden._new(scalars), act_scalars, hidden._new(gates), act_gates, hidden._new(gated),
                   group=hidden.group, normalize2mom=normalize2mom)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [..., irreps_in.dim]`` (scalars, gates, gated) -> ``[..., irreps_out.dim]``."""
        ds, dg, dd = self._dims
        check_tensor(x, "x", shape=(..., ds + dg + dd), hint="scalars+gates+gated")
        scalars, gates, gated = x.split([ds, dg, dd], dim=-1)
        outs = []
        for seg, act in zip(scalars.split(self._scalar_sizes, dim=-1), self.act_scalars):
            outs.append(act(seg) if act is not None else seg)
        gate_vals = [
            act(seg) if act is not None else seg for seg, act in zip(gates.split(self._gate_sizes, -1), self.act_gates)
        ]
        gate_vals = torch.cat(gate_vals, dim=-1) if gate_vals else gates
        offset = 0
        for (m, d), seg in zip(self._gated, gated.split([m * d for m, d in self._gated], dim=-1)):
            g = gate_vals[..., offset : offset + m]
            outs.append((seg.reshape(seg.shape[:-1] + (m, d)) * g[..., None].to(seg.dtype)).reshape(seg.shape))
            offset += m
        return torch.cat(outs, dim=-1) if outs else x[..., :0]


def _concat(*spaces: Any) -> Any:
    segs = [s for space in spaces for s in space]
    return Irreps(spaces[0].group, segs)


class NormActivation(SameIrreps, torch.nn.Module):
    """``x_c -> x_c * f(|x_c| + b_c) / |x_c|`` per irrep copy ``c`` (``normalize=True``) or ``x_c * f(|x_c|)``.

    ``|x_c| = sqrt(sum_k x_ck^2 + eps^2)`` (smooth at 0). Input/output ``[..., irreps.dim]``. O(3) or compact
    groups only (the norm must be invariant). ``bias=True`` adds a learnable bias per copy.
    """

    def __init__(
        self,
        irreps: Any,
        scalar_nonlinearity: Act = torch.sigmoid,
        normalize: bool = True,
        epsilon: float = 1e-8,
        bias: bool = False,
        group: LieGroup | str | None = None,
    ) -> None:
        super().__init__()
        space = as_irreps(irreps, group)
        if space.is_complex:
            raise ValueError("NormActivation needs real irreps with an invariant Euclidean norm")
        self.irreps = space
        self.f, self.normalize, self.epsilon = scalar_nonlinearity, bool(normalize), float(epsilon)
        self._segs = [(m, ir.dim) for m, ir in space]
        n = sum(m for m, _ in self._segs)
        self.bias = torch.nn.Parameter(torch.zeros(n)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor(x, "x", shape=(..., self.irreps.dim), hint=self.irreps)
        outs, offset = [], 0
        for (m, d), seg in zip(self._segs, x.split([m * d for m, d in self._segs], dim=-1)):
            v = seg.reshape(seg.shape[:-1] + (m, d))
            norm = torch.sqrt(v.pow(2).sum(-1) + self.epsilon**2)
            arg = norm if self.bias is None else norm + self.bias[offset : offset + m].to(x.dtype)
            scale = self.f(arg)
            if self.normalize:
                scale = scale / norm
            outs.append((v * scale[..., None]).reshape(seg.shape))
            offset += m
        return torch.cat(outs, dim=-1) if outs else x

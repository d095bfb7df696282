"""Irreps with multiplicities for every group of :mod:`workbench.groups`: the one irreps value type of the project.

``Irreps(group, spec)`` is an immutable, hashable tuple of :class:`MulIr` ``(mul, ir)`` segments, where ``ir`` is
the group's irrep (:class:`workbench.groups.Irrep`; for O(3) the e3nn value type
:class:`workbench.groups.o3.Irrep`). ``spec`` is a string in the group's label format joined by ``+``
(``"2x(0,0)+(1/2,1/2)"`` for the Lorentz group, ``"3x1+2"`` for SU(2)), another :class:`Irreps` of the same
group, or an iterable of ``(mul, label)`` pairs / bare labels (a bare label that is itself a pair whose first
entry is an int, like the Lorentz ``(0, 0)``, must be written ``(1, (0, 0))``).

Features are laid out ``mul_ir`` (multiplicity-major inside each segment, like e3nn): a segment ``(mul, ir)``
occupies ``mul * ir.dim`` consecutive components, copy by copy. :meth:`Irreps.matrix` is the block-diagonal
representation matrix in that layout. Couplings (:meth:`Irreps.coupling`) are the group's Clebsch-Gordan
*projections* (contract in :mod:`workbench.groups.group`), never re-phased here.

Two Irreps are equal when their groups are equal and their segments are equal. ``Irreps(O3(), ...)`` returns a
:class:`workbench.groups.o3.Irreps` (the e3nn-string subclass bound to O(3)); subclasses bound to a group type
register themselves with ``class X(Irreps, group_type=G)``.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from typing import Any, NamedTuple

import torch

from workbench.groups.group import GroupElement, LieGroup

__all__ = ["Irreps", "MulIr", "SortResult"]

_TERM = re.compile(r"^\s*(\d+)\s*x\s*(.+?)\s*$")


class MulIr(tuple):
    """A multiplicity and an irrep, ``(mul, ir)``; ``.mul``, ``.ir``, ``.dim = mul * ir.dim``."""

    def __new__(cls, mul: int, ir: Any) -> MulIr:
        if isinstance(mul, bool) or not isinstance(mul, int) or mul < 0:
            raise ValueError(f"multiplicity must be a non-negative int, got {mul!r}")
        return super().__new__(cls, (mul, ir))

    def __getnewargs__(self) -> tuple:
        return tuple(self)

    @property
    def mul(self) -> int:
        """Multiplicity (number of copies)."""
        return self[0]

    @property
    def ir(self) -> Any:
        """The irrep."""
        return self[1]

    @property
    def dim(self) -> int:
        """``mul * ir.dim``."""
        return self.mul * self.ir.dim

    def __repr__(self) -> str:
        return f"{self.mul}x{self.ir}"

    __str__ = __repr__


class SortResult(NamedTuple):
    """Result of :meth:`Irreps.sort`: the sorted irreps, the permutation ``p`` (old index -> new index) and its
    inverse ``inv`` (new index -> old index), as e3nn."""

    irreps: Irreps
    p: tuple[int, ...]
    inv: tuple[int, ...]


def _split_top_level(text: str) -> list[str]:
    """Split ``text`` on the ``+`` signs outside brackets (labels like ``(1/2,1/2)`` stay whole)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "+" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


class Irreps(tuple):
    """Direct sum of irreps of ``group`` with multiplicities (see module doc for ``spec``).

    Args:
        group: a :class:`workbench.groups.LieGroup` (e.g. ``Lorentz()``, ``SU3()``, ``by_name("SO(5)")``).
        spec: ``"2x(0,0)+(1/2,1/2)"``, an :class:`Irreps` of the same group, or ``(mul, label)`` pairs.

    Invalid input raises ``ValueError`` (``TypeError`` for a non-group) naming the bad value and the form.

    Examples:
        >>> from workbench.groups import Irreps, by_name
        >>> vectors = Irreps(by_name("Lorentz"), "2x(0,0)+(1/2,1/2)")
        >>> vectors.dim, vectors.num_irreps, str(vectors)
        (6, 3, '2x(0,0)+1x(1/2,1/2)')
        >>> Irreps(by_name("SU(3)"), "3+3bar").dim
        6
        >>> Irreps(by_name("O(3)"), "4x0e+2x1o")           # O(3) gives the e3nn-string subclass
        4x0e+2x1o
    """

    _bound: dict[type, type] = {}

    def __init_subclass__(cls, group_type: type | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if group_type is not None:
            Irreps._bound[group_type] = cls

    def __new__(cls, group: LieGroup, spec: Any = None) -> Irreps:
        if cls is Irreps and type(group) in Irreps._bound:
            return Irreps._bound[type(group)](spec)
        if not isinstance(group, LieGroup):
            raise TypeError(f"group must be a workbench.groups group (e.g. Lorentz()), got {type(group).__name__}")
        return cls._build(group, cls._parse(group, spec))

    @classmethod
    def _build(cls, group: LieGroup, segments: list[MulIr]) -> Irreps:
        self = tuple.__new__(cls, segments)
        object.__setattr__(self, "_group", group)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self):
        return (Irreps, (self.group, [(mul, self.group._label(ir)) for mul, ir in self]))

    # ------------------------------------------------------------------ parsing (overridden by o3.Irreps)
    @classmethod
    def _irrep(cls, group: LieGroup, label: Any) -> Any:
        """The segment irrep for ``label`` (a label of ``group`` or an irrep object)."""
        try:
            return group.irrep(label)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{label!r} is not an irrep label of {group.name}: {exc}") from None

    @classmethod
    def _parse(cls, group: LieGroup, spec: Any) -> list[MulIr]:
        if spec is None:
            return []
        if isinstance(spec, Irreps):
            if spec.group != group:
                raise ValueError(f"irreps {spec} belong to {spec.group.name}, not to {group.name}")
            return [MulIr(mul, cls._irrep(group, ir)) for mul, ir in spec]
        if isinstance(spec, str):
            if not spec.strip():
                return []
            out = []
            for term in _split_top_level(spec):
                match = _TERM.match(term)
                mul, label = (int(match.group(1)), match.group(2)) if match else (1, term)
                if not label:
                    raise ValueError(f"cannot parse irreps {spec!r}: empty term; expected e.g. '2x{_example(group)}'")
                try:
                    out.append(MulIr(mul, cls._irrep(group, label)))
                except ValueError as exc:
                    raise ValueError(
                        f"cannot parse irreps {spec!r} of {group.name}: bad term {term!r} ({exc}); expected "
                        f"'<mul>x<label>' terms joined by '+', e.g. '2x{_example(group)}'"
                    ) from None
            return out
        if isinstance(spec, Iterable):
            out = []
            for item in spec:
                if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int) \
                        and not isinstance(item[0], bool):
                    out.append(MulIr(item[0], cls._irrep(group, item[1])))
                else:
                    out.append(MulIr(1, cls._irrep(group, item)))
            return out
        raise ValueError(
            f"cannot build Irreps of {group.name} from {spec!r}: expected a string like '2x{_example(group)}', "
            "an Irreps or a list of (mul, label) pairs"
        )

    def _new(self, spec: Any) -> Irreps:
        """Irreps of the same group (and class) from ``spec``."""
        return Irreps(self.group, spec)

    # ------------------------------------------------------------------ basic properties
    @property
    def group(self) -> LieGroup:
        """The group these irreps belong to."""
        return self.__dict__["_group"]

    @property
    def dim(self) -> int:
        """Total dimension ``sum(mul * ir.dim)``."""
        return sum(mul * ir.dim for mul, ir in self)

    @property
    def num_irreps(self) -> int:
        """Total number of irreps ``sum(mul)``."""
        return sum(mul for mul, _ in self)

    @property
    def is_complex(self) -> bool:
        """True when some irrep has complex matrices (then features and couplings are complex128)."""
        return any(not self.group.irrep(ir).is_real for _, ir in self)

    def slices(self) -> list[slice]:
        """For each segment, the slice of feature indices it occupies in the ``mul_ir`` layout."""
        out, start = [], 0
        for mul, ir in self:
            out.append(slice(start, start + mul * ir.dim))
            start += mul * ir.dim
        return out

    # ------------------------------------------------------------------ value semantics
    def __getitem__(self, item):  # type: ignore[override]
        value = super().__getitem__(item)
        return self._new(list(value)) if isinstance(item, slice) else value

    def __add__(self, other: object) -> Irreps:  # type: ignore[override]
        other = other if isinstance(other, Irreps) else self._new(other)
        if other.group != self.group:
            raise ValueError(f"cannot add irreps of {self.group.name} and {other.group.name}")
        return self._new(list(self) + list(other))

    def __mul__(self, other: object) -> Irreps:  # type: ignore[override]
        """``irreps * n`` repeats the segments ``n`` times (like a tuple)."""
        if isinstance(other, Irreps):
            raise NotImplementedError("the product of two Irreps is a tensor product: use nn.TensorProduct")
        if isinstance(other, bool) or not isinstance(other, int):
            raise TypeError(f"repetition count must be an int, got {type(other).__name__} {other!r}")
        return self._new(list(self) * other)

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Irreps):
            return NotImplemented
        return self.group == other.group and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash((self.group, tuple(self)))

    def __str__(self) -> str:
        return "+".join(f"{mul}x{ir}" for mul, ir in self)

    def __repr__(self) -> str:
        return f"Irreps({self.group.name}, {str(self)!r})"

    def simplify(self) -> Irreps:
        """Merge consecutive equal irreps and drop zero multiplicities (does not sort), as e3nn."""
        out: list[tuple[int, Any]] = []
        for mul, ir in self:
            if out and out[-1][1] == ir:
                out[-1] = (out[-1][0] + mul, ir)
            elif mul > 0:
                out.append((mul, ir))
        return self._new(out)

    def sort_key(self, ir: Any) -> Any:
        """Key that orders irreps in :meth:`sort` (generic groups: by dimension, then label string)."""
        return (ir.dim, str(ir))

    def sort(self) -> SortResult:
        """Stable sort of the segments by :meth:`sort_key`; returns ``(irreps, p, inv)`` with ``p[old] = new`` and
        ``inv[new] = old``, as e3nn."""
        inv = tuple(sorted(range(len(self)), key=lambda i: (self.sort_key(self[i][1]), i)))
        p = [0] * len(inv)
        for new, old in enumerate(inv):
            p[old] = new
        return SortResult(self._new([self[i] for i in inv]), tuple(p), inv)

    # ------------------------------------------------------------------ group operations used by the layers
    def irrep(self, label: Any) -> Any:
        """The segment irrep of this group for ``label`` (ValueError for a label the group does not know)."""
        return self._irrep(self.group, label)

    def products(self, ir1: Any, ir2: Any) -> list[Any]:
        """The irreps that occur in ``ir1 x ir2`` (each once, in the group's order)."""
        return [self.irrep(label) for label, mult in self.group.decompose(ir1, ir2) if mult > 0]

    def coupling(self, ir1: Any, ir2: Any, ir3: Any) -> torch.Tensor:
        """The Clebsch-Gordan projections ``ir1 x ir2 -> ir3`` copy-first: ``[m, d1, d2, d3]`` with
        ``z_k = sum_ij C[u, i, j, k] x_i y_j`` equivariant for each copy ``u``, each of Frobenius norm 1
        (``group.clebsch_gordan`` permuted, float64 or complex128); ``m = 0`` when ``ir3`` does not occur."""
        return self.group.clebsch_gordan(ir1, ir2, ir3).permute(3, 0, 1, 2).contiguous()

    def is_trivial(self, ir: Any) -> bool:
        """True for the trivial irrep (dimension 1, every generator 0 and every discrete generator 1)."""
        rep = self.group.irrep(ir)
        if rep.dim != 1:
            return False
        gens, disc = rep.generators, rep.discrete
        return bool((gens.abs().max() if gens.numel() else 0) < 1e-12) and bool(
            ((disc - 1).abs().max() if disc.numel() else 0) < 1e-12
        )

    def matrix(self, element: GroupElement) -> torch.Tensor:
        """Block-diagonal representation matrix ``[dim, dim]`` of ``element`` in the ``mul_ir`` layout (float64,
        or complex128 when some irrep is complex)."""
        blocks = [self.group.irrep(ir).matrix(element) for mul, ir in self for _ in range(mul)]
        if not blocks:
            return torch.zeros(0, 0, dtype=torch.float64)
        dtype = torch.complex128 if any(b.is_complex() for b in blocks) else torch.float64
        return torch.block_diag(*[b.to(dtype) for b in blocks])

    def randn(
        self,
        *size: int,
        normalization: str = "component",
        requires_grad: bool = False,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Random features; ``size`` must contain exactly one ``-1``, replaced by ``self.dim``.

        ``normalization="component"``: i.i.d. standard normal components; ``"norm"``: every irrep copy has unit
        norm. ``dtype`` defaults to complex128 for complex irreps, else torch's default dtype.
        Example: ``Irreps(Lorentz(), "2x(1/2,1/2)").randn(5, -1)`` has shape ``[5, 8]`` (complex128).
        """
        if list(size).count(-1) != 1:
            raise ValueError(f"size must contain exactly one -1 (the feature axis), got {size}")
        axis = size.index(-1)
        left, right = size[:axis], size[axis + 1 :]
        if dtype is None:
            dtype = torch.complex128 if self.is_complex else torch.get_default_dtype()
        if normalization == "component":
            x = torch.randn(*left, self.dim, *right, dtype=dtype, device=device, generator=generator)
        elif normalization == "norm":
            pieces = []
            for mul, ir in self:
                r = torch.randn(*left, mul, ir.dim, *right, dtype=dtype, device=device, generator=generator)
                r = r / r.norm(dim=axis + 1, keepdim=True)
                pieces.append(r.reshape(*left, mul * ir.dim, *right))
            x = torch.cat(pieces, dim=axis) if pieces else torch.zeros(*left, 0, *right, dtype=dtype)
        else:
            raise ValueError(f"normalization must be 'component' or 'norm', got {normalization!r}")
        return x.requires_grad_(requires_grad)


def _example(group: LieGroup) -> str:
    try:
        label: Hashable = group._candidate_labels(2)[-1]
        return group.format_label(label)
    except (NotImplementedError, ValueError, IndexError):  # only an example for an error message
        return "<label>"


"""Irreducible representations of O(3) and their direct sums, in the e3nn 0.6 conventions.

An :class:`Irrep` is a pair ``(l, p)``: the degree ``l >= 0`` (dimension ``2l+1``) and the parity ``p = +1``
("e", even) or ``p = -1`` ("o", odd) under the inversion ``-I``. The vector representation is ``1o`` with
components ``(x, y, z)``; the pseudovector (e.g. angular momentum) is ``1e``.

An :class:`Irreps` is a tuple of :class:`MulIr` ``(mul, ir)``, written ``"16x0e+8x1o+4x2e"``. Features are laid out
``mul_ir``: for each entry, ``mul`` consecutive copies of the ``2l+1`` components (multiplicity-major), exactly as
in e3nn, so tensors and weights transfer without any basis change.

Ordering of irreps is the tuple order of ``(l, p)``: by ``l`` first, then parity with ``-1`` before ``+1``
(``0o < 0e < 1o < 1e``), as e3nn.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple, Union

import torch

from workbench.groups.o3 import rotations, wigner

_IRREP_RE = re.compile(r"^\s*(\d+)\s*([eoy])\s*$")
_PARITY_NAME = {1: "e", -1: "o"}


def _check_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    return value


class Irrep(tuple):
    """An irreducible representation of O(3): ``Irrep(l, p)``, ``Irrep("1o")`` or ``Irrep((1, -1))``.

    The string form is ``"<l><e|o>"`` (``"y"`` means the parity of the spherical harmonics, ``(-1)**l``).
    ``l`` must be a non-negative int and ``p`` one of ``+1, -1``; anything else raises ``ValueError``.
    """

    def __new__(cls, l: Union[int, str, tuple, Irrep], p: int | None = None) -> Irrep:
        if p is None:
            if isinstance(l, Irrep):
                return l
            if isinstance(l, MulIr):
                return l.ir
            if isinstance(l, str):
                match = _IRREP_RE.match(l)
                if match is None:
                    raise ValueError(
                        f"cannot parse irrep {l!r}: expected '<l><parity>' with l >= 0 and parity in "
                        f"'e' (even), 'o' (odd) or 'y' (=(-1)**l), e.g. '0e', '1o', '2e'"
                    )
                l_value = int(match.group(1))
                p = {"e": 1, "o": -1, "y": (-1) ** l_value}[match.group(2)]
                l = l_value
            elif isinstance(l, tuple) and len(l) == 2:
                l, p = l
            else:
                raise ValueError(
                    f"cannot build an Irrep from {l!r}: expected a string like '1o', a pair (l, p) or l and p"
                )
        if isinstance(l, bool) or not isinstance(l, int):
            raise ValueError(f"irrep degree l must be a non-negative int, got {l!r}")
        if l < 0:
            raise ValueError(f"irrep degree l must be >= 0, got l={l}")
        if p not in (-1, 1) or isinstance(p, bool):
            raise ValueError(f"irrep parity p must be +1 or -1, got p={p!r}")
        return super().__new__(cls, (int(l), int(p)))

    @property
    def l(self) -> int:  # noqa: E743
        """Degree ``l``: the representation has dimension ``2l+1``."""
        return self[0]

    @property
    def p(self) -> int:
        """Parity ``p`` (+1 even, -1 odd) under the inversion ``-I``."""
        return self[1]

    @property
    def dim(self) -> int:
        """Dimension ``2l+1``."""
        return 2 * self.l + 1

    def is_scalar(self) -> bool:
        """True for the trivial representation ``0e``."""
        return self.l == 0 and self.p == 1

    def __repr__(self) -> str:
        return f"{self.l}{_PARITY_NAME[self.p]}"

    __str__ = __repr__

    @classmethod
    def iterator(cls, lmax: int | None = None) -> Iterator[Irrep]:
        """All irreps of O(3) in e3nn's iteration order ``0e, 0o, 1o, 1e, 2e, 2o, ...``, up to ``lmax``."""
        for l in itertools.count():
            if lmax is not None and l > lmax:
                return
            yield Irrep(l, (-1) ** l)
            yield Irrep(l, -((-1) ** l))

    def __mul__(self, other: object) -> Iterator[Irrep]:  # type: ignore[override]
        """Irreps of the tensor product ``self x other``: ``|l1-l2| .. l1+l2`` with parity ``p1 p2``."""
        other = Irrep(other)  # type: ignore[arg-type]
        parity = self.p * other.p
        return (Irrep(l, parity) for l in range(abs(self.l - other.l), self.l + other.l + 1))

    def __rmul__(self, other: object) -> Irreps:  # type: ignore[override]
        """``3 * Irrep("1e")`` is ``Irreps("3x1e")``."""
        mul = _check_int(other, "multiplicity")
        return Irreps([(mul, self)])

    def __add__(self, other: object) -> Irreps:  # type: ignore[override]
        return Irreps(self) + Irreps(other)  # type: ignore[arg-type]

    def count(self, value: object) -> int:  # pragma: no cover - tuple method hidden on purpose
        raise NotImplementedError("Irrep is not a container")

    def index(self, value: object, *args: object) -> int:  # pragma: no cover
        raise NotImplementedError("Irrep is not a container")

    def D_from_angles(
        self,
        alpha: torch.Tensor,
        beta: torch.Tensor,
        gamma: torch.Tensor,
        k: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Representation matrix ``p**k D^l(alpha, beta, gamma)``, shape ``[..., 2l+1, 2l+1]``.

        Angles follow e3nn's Y-X-Y convention (see :func:`workbench.groups.o3.wigner_D`); ``k`` counts how many
        times the inversion is applied (0 or 1, broadcast with the angles; ``None`` means 0).
        """
        alpha, beta, gamma = rotations._as_angle_tensors(alpha, beta, gamma)
        if k is None:
            k = torch.zeros_like(alpha)
        k = torch.as_tensor(k, dtype=alpha.dtype, device=alpha.device)
        alpha, beta, gamma, k = torch.broadcast_tensors(alpha, beta, gamma, k)
        return wigner.wigner_D(self.l, alpha, beta, gamma) * (self.p**k)[..., None, None]

    def D_from_matrix(self, R: torch.Tensor) -> torch.Tensor:
        """Representation matrix of an orthogonal matrix ``R`` (``[..., 3, 3]``); parity from ``det(R)``.

        Returns ``[..., 2l+1, 2l+1]``. For ``1o`` it is ``R`` itself.
        """
        R = rotations._check_matrix(R, "R", allow_improper=True)
        d = torch.det(R).sign()
        proper = R * d[..., None, None]
        k = (1 - d) / 2
        return self.D_from_angles(*rotations.matrix_to_angles(proper), k)

    def D_from_axis_angle(self, axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
        """Representation matrix of the rotation by ``angle`` around ``axis`` (``[..., 3]``)."""
        return self.D_from_matrix(rotations.axis_angle_to_matrix(axis, angle))


class MulIr(tuple):
    """A multiplicity and an irrep: ``MulIr(mul, ir)``; unpacks as ``mul, (l, p) = mul_ir`` like e3nn."""

    def __new__(cls, mul: int, ir: Union[Irrep, str, tuple, None] = None) -> MulIr:
        if ir is None:
            if isinstance(mul, MulIr):
                return mul
            mul, ir = mul  # type: ignore[misc]
        if isinstance(mul, bool) or not isinstance(mul, int) or mul < 0:
            raise ValueError(f"multiplicity must be a non-negative int, got {mul!r}")
        return super().__new__(cls, (mul, Irrep(ir)))

    @property
    def mul(self) -> int:
        """Multiplicity (number of copies)."""
        return self[0]

    @property
    def ir(self) -> Irrep:
        """The irrep."""
        return self[1]

    @property
    def dim(self) -> int:
        """``mul * (2l+1)``."""
        return self.mul * self.ir.dim

    def __repr__(self) -> str:
        return f"{self.mul}x{self.ir}"

    __str__ = __repr__


class SortResult(NamedTuple):
    """Result of :meth:`Irreps.sort`: the sorted irreps, the permutation ``p`` (old index -> new index) and
    its inverse ``inv`` (new index -> old index), as e3nn."""

    irreps: Irreps
    p: tuple[int, ...]
    inv: tuple[int, ...]


_IRREPS_FORM = "'<mul>x<l><parity>' terms joined by '+', e.g. '16x0e+8x1o+4x2e'"


class Irreps(tuple):
    """Direct sum of O(3) irreps with multiplicities, e.g. ``Irreps("16x0e+8x1o+4x2e")``.

    Accepts a string, an :class:`Irrep`, another :class:`Irreps`, or an iterable of ``(mul, ir)`` pairs /
    irreps / irrep strings. Invalid input raises ``ValueError`` naming the bad value and the expected form.
    """

    def __new__(cls, irreps: Union[str, Irrep, Iterable, None] = None) -> Irreps:
        if isinstance(irreps, Irreps):
            return super().__new__(cls, irreps)
        out: list[MulIr] = []
        if irreps is None:
            pass
        elif isinstance(irreps, Irrep):
            out.append(MulIr(1, irreps))
        elif isinstance(irreps, MulIr):
            out.append(irreps)
        elif isinstance(irreps, str):
            if irreps.strip():
                for term in irreps.split("+"):
                    out.append(_parse_term(term, irreps))
        elif isinstance(irreps, Iterable):
            for item in irreps:
                out.append(_convert_item(item))
        else:
            raise ValueError(f"cannot build Irreps from {irreps!r}: expected a string of {_IRREPS_FORM}")
        return super().__new__(cls, out)

    @staticmethod
    def spherical_harmonics(lmax: int, p: int = -1) -> Irreps:
        """Irreps of the spherical harmonics ``Y^0..Y^lmax``: ``1x0e+1x1o+1x2e+...`` (``p**l`` parities)."""
        lmax = _check_int(lmax, "lmax")
        if lmax < 0:
            raise ValueError(f"lmax must be >= 0, got {lmax}")
        if p not in (-1, 1):
            raise ValueError(f"p must be +1 or -1, got {p!r}")
        return Irreps([(1, (l, p**l)) for l in range(lmax + 1)])

    @property
    def dim(self) -> int:
        """Total dimension ``sum(mul * (2l+1))``."""
        return sum(mul_ir.dim for mul_ir in self)

    @property
    def num_irreps(self) -> int:
        """Total number of irreps ``sum(mul)``."""
        return sum(mul_ir.mul for mul_ir in self)

    @property
    def ls(self) -> list[int]:
        """The degree ``l`` of each irrep, repeated ``mul`` times."""
        return [mul_ir.ir.l for mul_ir in self for _ in range(mul_ir.mul)]

    @property
    def lmax(self) -> int:
        """Largest ``l``; raises ``ValueError`` for empty irreps."""
        if len(self) == 0:
            raise ValueError("cannot take lmax of empty Irreps")
        return max(self.ls)

    def slices(self) -> list[slice]:
        """For each entry, the slice of feature indices it occupies in the ``mul_ir`` layout."""
        out = []
        start = 0
        for mul_ir in self:
            out.append(slice(start, start + mul_ir.dim))
            start += mul_ir.dim
        return out

    def simplify(self) -> Irreps:
        """Merge consecutive equal irreps and drop zero multiplicities (does not sort), as e3nn."""
        out: list[tuple[int, Irrep]] = []
        for mul, ir in self:
            if out and out[-1][1] == ir:
                out[-1] = (out[-1][0] + mul, ir)
            elif mul > 0:
                out.append((mul, ir))
        return Irreps(out)

    def remove_zero_multiplicities(self) -> Irreps:
        """Drop the entries with multiplicity 0."""
        return Irreps([mul_ir for mul_ir in self if mul_ir.mul > 0])

    def sort(self) -> SortResult:
        """Stable sort of the entries by irrep; returns ``(irreps, p, inv)`` like e3nn.

        ``inv[new] = old`` and ``p[old] = new``.
        """
        order = sorted(((mul_ir.ir, i, mul_ir.mul) for i, mul_ir in enumerate(self)))
        inv = tuple(i for _, i, _ in order)
        p = [0] * len(inv)
        for new, old in enumerate(inv):
            p[old] = new
        return SortResult(Irreps([(mul, ir) for ir, _, mul in order]), tuple(p), inv)

    def regroup(self) -> Irreps:
        """``sort().irreps.simplify()``."""
        return self.sort().irreps.simplify()

    def count(self, ir: Union[Irrep, str, tuple]) -> int:  # type: ignore[override]
        """Total multiplicity of the irrep ``ir``."""
        ir = Irrep(ir)
        return sum(mul for mul, other in self if other == ir)

    def index(self, value: object, *args: object) -> int:  # pragma: no cover
        raise NotImplementedError("Irreps.index is ambiguous; use slices() or count()")

    def __contains__(self, ir: object) -> bool:
        ir = Irrep(ir)  # type: ignore[arg-type]
        return any(other == ir for _, other in self)

    def __getitem__(self, item):  # type: ignore[override]
        value = super().__getitem__(item)
        if isinstance(item, slice):
            return Irreps(value)
        return value

    def __add__(self, other: object) -> Irreps:  # type: ignore[override]
        return Irreps(tuple(self) + tuple(Irreps(other)))  # type: ignore[arg-type]

    def __radd__(self, other: object) -> Irreps:
        return Irreps(other) + self  # type: ignore[arg-type]

    def __mul__(self, other: object) -> Irreps:  # type: ignore[override]
        """``Irreps * n`` repeats the entries ``n`` times (like a tuple); products of irreps are TensorProducts."""
        if isinstance(other, Irreps):
            raise NotImplementedError("the product of two Irreps is a tensor product: use nn.TensorProduct")
        n = _check_int(other, "repetition count")
        return Irreps(tuple(self) * n)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return "+".join(repr(mul_ir) for mul_ir in self)

    __str__ = __repr__

    def filter(self, keep: object = None, drop: object = None, lmax: int | None = None) -> Irreps:
        """Keep only (``keep``) or remove (``drop``) the given irreps, or those with ``l > lmax``."""
        given = sum(x is not None for x in (keep, drop, lmax))
        if given > 1:
            raise ValueError("give at most one of keep, drop, lmax")
        if keep is not None:
            wanted = {mul_ir.ir for mul_ir in Irreps(keep)}  # type: ignore[arg-type]
            return Irreps([mul_ir for mul_ir in self if mul_ir.ir in wanted])
        if drop is not None:
            unwanted = {mul_ir.ir for mul_ir in Irreps(drop)}  # type: ignore[arg-type]
            return Irreps([mul_ir for mul_ir in self if mul_ir.ir not in unwanted])
        if lmax is not None:
            return Irreps([mul_ir for mul_ir in self if mul_ir.ir.l <= lmax])
        return self

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
        norm. Example: ``Irreps("5x0e+10x1o").randn(5, -1)`` has shape ``[5, 35]``.
        """
        if list(size).count(-1) != 1:
            raise ValueError(f"size must contain exactly one -1 (the feature axis), got {size}")
        axis = size.index(-1)
        left, right = size[:axis], size[axis + 1 :]
        dtype = dtype or torch.get_default_dtype()
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

    def D_from_angles(
        self,
        alpha: torch.Tensor,
        beta: torch.Tensor,
        gamma: torch.Tensor,
        k: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Block-diagonal representation matrix ``[..., dim, dim]`` in the ``mul_ir`` layout."""
        blocks = [ir.D_from_angles(alpha, beta, gamma, k) for mul, ir in self for _ in range(mul)]
        return _block_diag(blocks, alpha, self.dim)

    def D_from_matrix(self, R: torch.Tensor) -> torch.Tensor:
        """Block-diagonal representation matrix ``[..., dim, dim]`` of orthogonal ``R`` (``[..., 3, 3]``)."""
        R = rotations._check_matrix(R, "R", allow_improper=True)
        d = torch.det(R).sign()
        k = (1 - d) / 2
        return self.D_from_angles(*rotations.matrix_to_angles(R * d[..., None, None]), k)

    def D_from_axis_angle(self, axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
        """Block-diagonal representation matrix of the rotation by ``angle`` around ``axis``."""
        return self.D_from_matrix(rotations.axis_angle_to_matrix(axis, angle))


def _parse_term(term: str, full: str) -> MulIr:
    text = term.strip()
    try:
        if "x" in text:
            mul_text, ir_text = text.split("x", 1)
            mul_text = mul_text.strip()
            if not mul_text.isdigit():
                raise ValueError(f"bad multiplicity {mul_text!r}")
            return MulIr(int(mul_text), Irrep(ir_text))
        return MulIr(1, Irrep(text))
    except ValueError as error:
        raise ValueError(
            f"cannot parse irreps {full!r}: bad term {term!r} ({error}); expected {_IRREPS_FORM}"
        ) from None


def _convert_item(item: object) -> MulIr:
    if isinstance(item, MulIr):
        return item
    if isinstance(item, Irrep):
        return MulIr(1, item)
    if isinstance(item, str):
        return MulIr(1, Irrep(item))
    if isinstance(item, tuple) and len(item) == 2:
        mul, ir = item
        if isinstance(mul, int) and not isinstance(mul, bool):
            return MulIr(mul, Irrep(ir))  # type: ignore[arg-type]
        raise ValueError(f"cannot interpret {item!r} as (mul, irrep): mul must be a non-negative int")
    raise ValueError(f"cannot interpret {item!r} as an irrep: expected (mul, ir), an Irrep or a string like '1o'")


def _block_diag(blocks: list[torch.Tensor], reference: torch.Tensor, dim: int) -> torch.Tensor:
    if not blocks:
        batch = torch.as_tensor(reference).shape
        return torch.zeros(*batch, 0, 0, dtype=torch.get_default_dtype())
    batch = blocks[0].shape[:-2]
    out = blocks[0].new_zeros(*batch, dim, dim)
    start = 0
    for block in blocks:
        n = block.shape[-1]
        out[..., start : start + n, start : start + n] = block
        start += n
    return out

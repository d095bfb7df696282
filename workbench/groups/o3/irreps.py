"""Irreducible representations of O(3) and their direct sums, in the e3nn 0.6 conventions.

An :class:`Irrep` is a pair ``(l, p)``: the degree ``l >= 0`` (dimension ``2l+1``) and the parity ``p = +1``
("e", even) or ``p = -1`` ("o", odd) under the inversion ``-I``. The vector representation is ``1o`` with
components ``(x, y, z)``; the pseudovector (e.g. angular momentum) is ``1e``.

An :class:`Irreps` is a tuple of :class:`MulIr` ``(mul, ir)``, written ``"16x0e+8x1o+4x2e"``: the subclass of
:class:`workbench.groups.Irreps` bound to the group :class:`O3` (``o3.Irreps(s) == groups.Irreps(O3(), s)``).
Features are laid out ``mul_ir``: for each entry, ``mul`` consecutive copies of the ``2l+1`` components
(multiplicity-major), exactly as in e3nn, so tensors and weights transfer without any basis change.

Ordering of irreps is the tuple order of ``(l, p)``: by ``l`` first, then parity with ``-1`` before ``+1``
(``0o < 0e < 1o < 1e``), as e3nn.

The groups :class:`SO3` and :class:`O3` (``workbench.groups.SO3/O3``) live here too, because their irrep labels are
:class:`Irrep` and the O(3) :class:`Irreps` is bound to :class:`O3`:

* ``SO3()``: irreps ``l = 0, 1, 2, ...`` (labels ``1``, ``"2"``); a half-integer spin raises ValueError (those are
  representations of SU(2): use ``SU2()``).  Generators are :func:`workbench.groups.o3.so3_generators` (the
  algebra basis ``T_x, T_y, T_z`` = infinitesimal rotations about x, y, z; for ``l = 1`` the matrices act on
  (x, y, z)).  Elements are 3x3 rotation matrices; ``irrep(l).matrix(R)`` equals e3nn's ``wigner_D``.
* ``O3()``: irreps ``"0e"``, ``"1o"``, ... (canonical label: :class:`workbench.groups.o3.Irrep`), the discrete
  generator is the inversion ``-I`` with ``ρ_{(l,p)}(-I) = p``.  Elements are 3x3 orthogonal matrices.

Clebsch-Gordan tensors are the exact closed form :func:`workbench.groups.o3.wigner_3j` (Racah's formula in
rational arithmetic, then the real basis): ``clebsch_gordan(a, b, c)[..., 0] == wigner_3j(la, lb, lc)``, Frobenius
norm 1, so e3nn weights transfer. Every other group uses the generic null-space solver; for SO(3)/O(3) the tests
check that the solver (``LieGroup._compute_clebsch_gordan``) reproduces these tables up to sign.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Hashable, Iterable, Iterator
from typing import Union

import numpy as np
import torch

from workbench.groups import irreps as generic
from workbench.groups.group import LieGroup
from workbench.groups.irreps import SortResult  # noqa: F401 - importable from here as before
from workbench.groups.o3 import rotations, wigner
from workbench.groups.su2 import parse_spin

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


class MulIr(generic.MulIr):
    """A multiplicity and an O(3) irrep: ``MulIr(mul, ir)``; unpacks as ``mul, (l, p) = mul_ir`` like e3nn."""

    def __new__(cls, mul: int, ir: Union[Irrep, str, tuple, None] = None) -> MulIr:
        if ir is None:
            if isinstance(mul, MulIr):
                return mul
            mul, ir = mul  # type: ignore[misc]
        return super().__new__(cls, mul, Irrep(ir))


def _parse_l(label) -> int:
    j = parse_spin(label)
    if j.denominator != 1:
        raise ValueError(
            f"SO(3) irreps have integer l; got half-integer spin {label!r} (a representation of SU(2) only: "
            "use workbench.groups.SU2())"
        )
    return int(j)


def _exact_table(l1: int, l2: int, l3: int, allowed: bool = True) -> np.ndarray:
    """``wigner_3j(l1, l2, l3)`` as a ``[d1, d2, d3, 1]`` table; multiplicity 0 if the coupling is forbidden."""
    shape = (2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1)
    if not allowed or not abs(l1 - l2) <= l3 <= l1 + l2:
        return np.zeros((*shape, 0))
    return wigner.wigner_3j(l1, l2, l3, dtype=torch.float64).numpy()[..., None]


def _random_rotation(generator: torch.Generator | None) -> np.ndarray:
    return rotations.rand_matrix(generator=generator, dtype=torch.float64).numpy()


class SO3(LieGroup):
    """SO(3) with real irreps ``l`` in the e3nn basis (see module doc)."""

    name = "SO(3)"

    def _defining_generators(self) -> np.ndarray:
        return wigner.so3_generators(1).numpy()

    def canonical_label(self, label) -> int:
        if isinstance(label, Irrep):
            return label.l
        return _parse_l(label)

    def _build_irrep(self, label: int) -> tuple[np.ndarray, np.ndarray]:
        d = 2 * label + 1
        return wigner.so3_generators(label).numpy(), np.zeros((0, d, d))

    def _candidate_labels(self, max_dim: int) -> list[int]:
        return list(range((max_dim - 1) // 2 + 1))

    def _product_candidates(self, l1: int, l2: int) -> list[int]:
        return list(range(abs(l1 - l2), l1 + l2 + 1))

    def format_label(self, label: int) -> str:
        return str(label)

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        return _random_rotation(generator)

    def _compute_clebsch_gordan(self, l1: int, l2: int, l3: int) -> np.ndarray:
        return _exact_table(l1, l2, l3)


class O3(LieGroup):
    """O(3) = SO(3) x {1, -I} with irreps ``"0e"``, ``"1o"``, ... in the e3nn basis (see module doc)."""

    name = "O(3)"

    def _defining_generators(self) -> np.ndarray:
        return wigner.so3_generators(1).numpy()

    def _defining_discrete(self) -> np.ndarray:
        return -np.eye(3)[None]

    def canonical_label(self, label) -> Irrep:
        if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
            raise ValueError(f"O(3) irreps need a parity: use e.g. '{label}e' or '{label}o', got {label!r}")
        if isinstance(label, str) and ("/" in label or "." in label):
            raise ValueError(f"O(3) irreps have integer l (like '1o'); got {label!r} (half-integer spins: SU2())")
        return Irrep(label)

    def _build_irrep(self, label: Irrep) -> tuple[np.ndarray, np.ndarray]:
        return wigner.so3_generators(label.l).numpy(), label.p * np.eye(label.dim)[None]

    def _candidate_labels(self, max_dim: int) -> list[Hashable]:
        return [Irrep(l, p) for l in range((max_dim - 1) // 2 + 1) for p in (1, -1)]

    def _product_candidates(self, l1: Irrep, l2: Irrep) -> list[Hashable]:
        return list(l1 * l2)

    def format_label(self, label: Irrep) -> str:
        return str(label)

    def _split_discrete(self, m: np.ndarray) -> tuple[list[int], np.ndarray]:
        if np.linalg.det(m) < 0:
            return [0], -m
        return [], m

    def _random_matrix(self, generator: torch.Generator | None) -> np.ndarray:
        r = _random_rotation(generator)
        flip = int(torch.randint(0, 2, (1,), generator=generator).item())
        return -r if flip else r

    def _compute_clebsch_gordan(self, l1: Irrep, l2: Irrep, l3: Irrep) -> np.ndarray:
        return _exact_table(l1.l, l2.l, l3.l, allowed=l1.p * l2.p == l3.p)


#: the O(3) group every :class:`Irreps` of this module is bound to
O3_GROUP = O3()


_IRREPS_FORM = "'<mul>x<l><parity>' terms joined by '+', e.g. '16x0e+8x1o+4x2e'"


class Irreps(generic.Irreps, group_type=O3):
    """Direct sum of O(3) irreps with multiplicities, e.g. ``Irreps("16x0e+8x1o+4x2e")`` (e3nn strings).

    Accepts a string, an :class:`Irrep`, another :class:`Irreps`, or an iterable of ``(mul, ir)`` pairs /
    irreps / irrep strings. Invalid input raises ``ValueError`` naming the bad value and the expected form.
    The subclass of :class:`workbench.groups.Irreps` bound to :class:`O3` (``.group`` is ``O3()``); it iterates
    over :class:`MulIr` of :class:`Irrep`. Equal to another Irreps of O(3) or to a tuple with the same entries.

    Examples:
        >>> from workbench.groups import o3
        >>> irreps = o3.Irreps("8x0e+8x1o")
        >>> irreps.dim, irreps.num_irreps, irreps.lmax
        (32, 16, 1)
        >>> (irreps + o3.Irreps("2x1o")).simplify()
        8x0e+10x1o
        >>> o3.Irreps.natural(16, 2)
        16x0e+16x1o+16x2e
    """

    def __new__(cls, irreps: Union[str, Irrep, Iterable, None] = None) -> Irreps:
        if isinstance(irreps, Irreps):
            return cls._build(O3_GROUP, list(irreps))
        if isinstance(irreps, generic.Irreps):
            raise ValueError(f"irreps {irreps!r} belong to {irreps.group.name}, not to O(3)")
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
        return cls._build(O3_GROUP, out)

    def __reduce__(self):
        return (Irreps, (str(self),))

    def _new(self, spec: object) -> Irreps:
        return Irreps(spec)  # type: ignore[arg-type]

    @classmethod
    def _irrep(cls, group: LieGroup, label: object) -> Irrep:
        return Irrep(label)  # type: ignore[arg-type]

    def sort_key(self, ir: Irrep) -> Irrep:
        """O(3) irreps sort as e3nn: by ``l``, then odd before even."""
        return ir

    def products(self, ir1: object, ir2: object) -> list[Irrep]:
        """``|l1-l2| .. l1+l2`` with parity ``p1 p2``."""
        return list(Irrep(ir1) * Irrep(ir2))  # type: ignore[arg-type]

    def is_trivial(self, ir: object) -> bool:
        """True for ``0e``."""
        return Irrep(ir).is_scalar()  # type: ignore[arg-type]

    @property
    def is_complex(self) -> bool:
        """O(3) irreps are real in the e3nn basis."""
        return False

    def __eq__(self, other: object) -> bool:
        if isinstance(other, generic.Irreps):
            return super().__eq__(other)
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return tuple.__hash__(self)

    @staticmethod
    def natural(channels: int, lmax: int, parity: int = -1) -> Irreps:
        """``channels`` copies of each ``l = 0 .. lmax`` with the natural parity ``parity**l``:
        ``Irreps.natural(8, 2) == Irreps("8x0e+8x1o+8x2e")`` (what positions and spherical harmonics generate,
        e3nn-style); ``parity=1`` gives all-even irreps ``8x0e+8x1e+8x2e``."""
        channels = _check_int(channels, "channels")
        lmax = _check_int(lmax, "lmax")
        if channels < 0:
            raise ValueError(f"channels must be >= 0, got {channels}")
        if lmax < 0:
            raise ValueError(f"lmax must be >= 0, got {lmax}")
        if parity not in (-1, 1) or isinstance(parity, bool):
            raise ValueError(f"parity must be +1 or -1, got {parity!r}")
        return Irreps([(channels, (l, parity**l)) for l in range(lmax + 1)])

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
    def ls(self) -> list[int]:
        """The degree ``l`` of each irrep, repeated ``mul`` times."""
        return [mul_ir.ir.l for mul_ir in self for _ in range(mul_ir.mul)]

    @property
    def lmax(self) -> int:
        """Largest ``l``; raises ``ValueError`` for empty irreps."""
        if len(self) == 0:
            raise ValueError("cannot take lmax of empty Irreps")
        return max(self.ls)

    def remove_zero_multiplicities(self) -> Irreps:
        """Drop the entries with multiplicity 0."""
        return Irreps([mul_ir for mul_ir in self if mul_ir.mul > 0])

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

    def __radd__(self, other: object) -> Irreps:
        return Irreps(other) + self  # type: ignore[arg-type]

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

"""TensorReps: features made of scalars, vectors, rank-k tensors of O(d) and O(3) irreps, and how they change frame.

A local frame is an orthogonal matrix ``F [d, d]`` whose *rows* are the frame's axes written in global coordinates,
so a vector's local coordinates are ``v_local = F v``. Under a global transformation ``g`` in O(d) the frame becomes
``F g^T`` and every local coordinate stays the same: that is why a network that only ever sees local coordinates is
O(d)-equivariant once its outputs are sent back with ``F^T``.

``TensorReps("16x0+8x1+2x2", d=3)`` describes a feature vector made of segments ``mul x kind`` laid out segment by
segment, copy-major (like e3nn's ``mul_ir``):

- ``k`` (an integer): a Cartesian rank-``k`` tensor of O(d), ``d**k`` components in row-major index order; its
  representation is the ``k``-th tensor power of the defining one, ``rho(F) = F (x) ... (x) F``;
- ``kp``: the same twisted by the determinant (pseudo-scalar ``0p``, pseudo-vector / axial vector ``1p``),
  ``rho(F) = det(F) F^{(x) k}``;
- ``le`` / ``lo`` (d = 3 only): the O(3) irreps of :class:`workbench.groups.o3.Irreps`, whose matrix is the
  group's Wigner D with parity, :meth:`workbench.groups.o3.Irreps.D_from_matrix` (e3nn basis).

The frame-change maps are built from these representations for any rank, never written out per rank:
:meth:`TensorReps.transform` applies ``rho(F)`` row by row, :meth:`TensorReps.change_frame` maps local features of
one frame to another, ``rho(F_to F_from^T) = rho(F_to) rho(F_from)^T``, :meth:`TensorReps.matrix` gives the dense
block-diagonal ``rho(F)`` (for tests and small inputs).

Examples:
    >>> import torch
    >>> from workbench.frames import TensorReps
    >>> reps = TensorReps("2x0+1x1+1x2")
    >>> reps.dim, str(reps)
    (14, '2x0+1x1+1x2')
    >>> F = torch.tensor([[0., 1., 0.], [-1., 0., 0.], [0., 0., 1.]], dtype=torch.float64)  # 90 deg about z
    >>> x = torch.arange(14, dtype=torch.float64)[None]
    >>> torch.allclose(reps.transform(reps.transform(x, F[None]), F.T[None]), x)
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from workbench.checks import check_tensor
from workbench.groups import o3

__all__ = ["TensorReps", "TensorKind"]

_CARTESIAN = re.compile(r"^(\d+)(p?)$")
_IRREP = re.compile(r"^(\d+)([eo])$")
_TERM = re.compile(r"^\s*(?:(\d+)\s*x\s*)?(\S+?)\s*$")


@dataclass(frozen=True)
class TensorKind:
    """One kind of tensor: ``rank`` with ``pseudo`` twist (Cartesian), or an O(3) ``irrep`` (then ``rank`` is the
    irrep's degree ``l``); ``dim(d)`` is its number of components in dimension ``d``."""

    rank: int
    pseudo: bool = False
    irrep: o3.Irrep | None = None

    def dim(self, d: int) -> int:
        return self.irrep.dim if self.irrep is not None else d**self.rank

    def __str__(self) -> str:
        if self.irrep is not None:
            return str(self.irrep)
        return f"{self.rank}{'p' if self.pseudo else ''}"


def _parse_kind(text: str, d: int, spec: str) -> TensorKind:
    match = _CARTESIAN.match(text)
    if match:
        return TensorKind(int(match.group(1)), match.group(2) == "p")
    match = _IRREP.match(text)
    if match:
        if d != 3:
            raise ValueError(f"reps {spec!r}: O(3) irrep {text!r} needs d=3, got d={d}")
        return TensorKind(int(match.group(1)), irrep=o3.Irrep(text))
    raise ValueError(f"cannot parse reps {spec!r}: bad kind {text!r}; expected a rank ('0', '1', '2'), a pseudo "
                     "rank ('0p', '1p') or an O(3) irrep ('1o', '2e'), e.g. '16x0+8x1+2x2'")


class TensorReps:
    """Direct sum of tensor kinds with multiplicities (module docstring): ``TensorReps("16x0+8x1", d=3)``.

    Args:
        spec: ``"mul x kind"`` terms joined by ``+`` (``mul`` defaults to 1), another :class:`TensorReps`, or an
            :class:`workbench.groups.o3.Irreps` (then ``d = 3`` and every segment is an O(3) irrep).
        d: the dimension of the frames (``d >= 1``; O(3) irreps need 3).

    Raises ValueError naming the bad term and the expected form.
    """

    def __init__(self, spec: str | TensorReps | o3.Irreps = "", d: int = 3) -> None:
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise ValueError(f"d must be an integer >= 1 (the frame dimension), got {d!r}")
        if isinstance(spec, TensorReps):
            segments, d = list(spec.segments), spec.d
        elif isinstance(spec, o3.Irreps):
            if d != 3:
                raise ValueError(f"O(3) irreps {spec} need d=3, got d={d}")
            segments = [(mul, TensorKind(ir.l, irrep=ir)) for mul, ir in spec]
        elif isinstance(spec, str):
            segments = []
            for term in [t for t in spec.split("+") if t.strip()] if spec.strip() else []:
                match = _TERM.match(term)
                if not match:
                    raise ValueError(f"cannot parse reps {spec!r}: bad term {term!r}; expected e.g. '8x1'")
                segments.append((int(match.group(1) or 1), _parse_kind(match.group(2), d, spec)))
        else:
            raise TypeError(f"spec must be a string like '16x0+8x1', a TensorReps or an o3.Irreps, got "
                            f"{type(spec).__name__}")
        self.d = d
        self.segments: tuple[tuple[int, TensorKind], ...] = tuple(segments)

    # ----------------------------------------------------------------------------------------------- properties
    @property
    def dim(self) -> int:
        """Number of components ``sum(mul * kind.dim(d))``."""
        return sum(mul * kind.dim(self.d) for mul, kind in self.segments)

    @property
    def is_scalar(self) -> bool:
        """True when every segment is a true scalar (``0``): then every frame change is the identity."""
        return all(kind.rank == 0 and not kind.pseudo and (kind.irrep is None or kind.irrep.p == 1)
                   for _, kind in self.segments)

    def slices(self) -> list[slice]:
        """The slice of the feature axis each segment occupies."""
        out, start = [], 0
        for mul, kind in self.segments:
            out.append(slice(start, start + mul * kind.dim(self.d)))
            start += mul * kind.dim(self.d)
        return out

    def __str__(self) -> str:
        return "+".join(f"{mul}x{kind}" for mul, kind in self.segments)

    def __repr__(self) -> str:
        return f"TensorReps({str(self)!r}, d={self.d})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorReps) and (self.d, self.segments) == (other.d, other.segments)

    def __hash__(self) -> int:
        return hash((self.d, self.segments))

    def __add__(self, other: TensorReps) -> TensorReps:
        if not isinstance(other, TensorReps) or other.d != self.d:
            raise ValueError(f"can only add TensorReps of the same d, got {self!r} and {other!r}")
        out = TensorReps("", self.d)
        out.segments = self.segments + other.segments
        return out

    # ----------------------------------------------------------------------------------------------- actions
    def _check(self, x: torch.Tensor, frames: torch.Tensor, name: str) -> None:
        check_tensor(x, "x", shape=("N", self.dim), dtype="float", hint=self)
        check_tensor(frames, name, shape=(x.shape[0], self.d, self.d), dtype="float", hint="one d x d frame per row")

    def _apply(self, x: torch.Tensor, cartesian: torch.Tensor, wigner) -> torch.Tensor:
        """``rho`` applied segment by segment: Cartesian ranks contract every index with ``cartesian [N, d, d]``
        (the tensor power), pseudo kinds also multiply by its determinant, irreps multiply by ``wigner(ir)``."""
        n, d, out = x.shape[0], self.d, []
        det = None
        for (mul, kind), sl in zip(self.segments, self.slices(), strict=True):
            block = x[:, sl]
            if kind.irrep is not None:
                if kind.irrep.l == 0 and kind.irrep.p == 1:
                    out.append(block)
                    continue
                D = wigner(kind.irrep)  # [N, 2l+1, 2l+1]
                out.append(torch.einsum("nij,nuj->nui", D, block.reshape(n, mul, -1)).reshape(n, -1))
                continue
            t = block.reshape(n, mul, *([d] * kind.rank))
            for axis in range(kind.rank):  # rho(F) = F^{(x) k}: one contraction per tensor index
                t = torch.movedim(torch.einsum("nij,nu...j->nu...i", cartesian, torch.movedim(t, 2 + axis, -1)),
                                  -1, 2 + axis)
            if kind.pseudo:
                det = torch.linalg.det(cartesian) if det is None else det
                t = t * det.reshape(n, *([1] * (t.dim() - 1)))
            out.append(t.reshape(n, -1))
        return torch.cat(out, dim=1) if out else x

    def transform(self, x: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """``rho(F_n) x_n`` for every row: ``x [N, dim]``, ``frames [N, d, d]`` orthogonal -> ``[N, dim]``.

        With ``frames`` the local frames this maps global features to local ones; ``frames.mT`` maps back."""
        self._check(x, frames, "frames")
        return self._apply(x, frames, lambda ir: o3.Irreps([(1, ir)]).D_from_matrix(frames))

    def change_frame(self, x: torch.Tensor, frames_from: torch.Tensor, frames_to: torch.Tensor) -> torch.Tensor:
        """Local features of frame ``frames_from`` re-expressed in ``frames_to`` (both ``[N, d, d]``):
        ``rho(F_to F_from^T) x = rho(F_to) rho(F_from)^T x`` row by row."""
        self._check(x, frames_from, "frames_from")
        check_tensor(frames_to, "frames_to", shape=(x.shape[0], self.d, self.d), dtype="float")
        relative = frames_to @ frames_from.mT

        def wigner(ir: o3.Irrep) -> torch.Tensor:  # the homomorphism: no Euler angles of near-identity matrices
            single = o3.Irreps([(1, ir)])
            return single.D_from_matrix(frames_to) @ single.D_from_matrix(frames_from).mT

        return self._apply(x, relative, wigner)

    def matrix(self, frames: torch.Tensor) -> torch.Tensor:
        """Dense block-diagonal ``rho(F)`` ``[N, dim, dim]`` of ``frames [N, d, d]`` (columns = images of the unit
        features)."""
        n = frames.shape[0]
        eye = torch.eye(self.dim, dtype=frames.dtype, device=frames.device)
        cols = self.transform(eye.repeat(n, 1), frames.repeat_interleave(self.dim, 0))
        return cols.reshape(n, self.dim, self.dim).mT

"""The e3nn variants of :class:`TensorProduct`: fully connected, elementwise and full (outer) products."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.groups import Irreps, LieGroup, as_irreps
from workbench.nn.tensor_product.layer import TensorProduct

__all__ = ["ElementwiseTensorProduct", "FullTensorProduct", "FullyConnectedTensorProduct"]


def _products_filter(space: Irreps, ir1: Any, ir2: Any, filter_ir_out: Sequence[Any] | None) -> list[Any]:
    out = space.products(ir1, ir2)
    if filter_ir_out is not None:
        out = [ir for ir in out if ir in filter_ir_out]
    return out


class FullyConnectedTensorProduct(TensorProduct):
    """All ``uvw`` paths allowed between ``irreps_in1 x irreps_in2`` and ``irreps_out`` (e3nn's layout).

    Shapes as :class:`TensorProduct`; extra keyword arguments are passed to it.
    """

    def __init__(
        self, irreps_in1: Any, irreps_in2: Any, irreps_out: Any, group: LieGroup | str | None = None, **kwargs: Any
    ) -> None:
        s1, s2, so = as_irreps(irreps_in1, group), as_irreps(irreps_in2, group), as_irreps(irreps_out, group)
        instr = [
            (i1, i2, io, "uvw", True, 1.0)
            for i1, (_, ir1) in enumerate(s1)
            for i2, (_, ir2) in enumerate(s2)
            for io, (_, iro) in enumerate(so)
            if iro in so.products(ir1, ir2)
        ]
        super().__init__(s1, s2, so, instr, group=group, **kwargs)


def _split_to_match(a: list[tuple[int, Any]], b: list[tuple[int, Any]]) -> tuple[list, list]:
    a, b = list(a), list(b)
    i = 0
    while i < len(a):
        (m1, ir1), (m2, ir2) = a[i], b[i]
        if m1 < m2:
            b[i] = (m1, ir2)
            b.insert(i + 1, (m2 - m1, ir2))
        elif m2 < m1:
            a[i] = (m2, ir1)
            a.insert(i + 1, (m1 - m2, ir1))
        i += 1
    return a, b


class ElementwiseTensorProduct(TensorProduct):
    """``z_u = x_u (x) y_u`` without weights (mode ``uuu``), e3nn's construction and output order.

    Both inputs are simplified (O(3)) and split so that their multiplicities line up; ``filter_ir_out`` keeps
    only the listed output irreps. Shapes as :class:`TensorProduct`.
    """

    def __init__(
        self, irreps_in1: Any, irreps_in2: Any, filter_ir_out: Sequence[Any] | None = None, **kwargs: Any
    ) -> None:
        group = kwargs.pop("group", None)
        s1, s2 = as_irreps(irreps_in1, group), as_irreps(irreps_in2, group)
        seg1, seg2 = _simplified(s1), _simplified(s2)
        if sum(m for m, _ in seg1) != sum(m for m, _ in seg2):
            raise ValueError(
                f"irreps_in1 ({s1}) and irreps_in2 ({s2}) must have the same number of irreps"
            )
        seg1, seg2 = _split_to_match(seg1, seg2)
        filt = _filter(s1, filter_ir_out)
        out, instr = [], []
        for i, ((mul, ir1), (_, ir2)) in enumerate(zip(seg1, seg2)):
            for ir in _products_filter(s1, ir1, ir2, filt):
                instr.append((i, i, len(out), "uuu", False))
                out.append((mul, ir))
        super().__init__(_respace(s1, seg1), _respace(s2, seg2), _respace(s1, out), instr, group=group, **kwargs)


class FullTensorProduct(TensorProduct):
    """``z_{uv} = x_u (x) y_v`` without weights (mode ``uvuv``); output sorted as in e3nn.

    Shapes as :class:`TensorProduct`; ``filter_ir_out`` keeps only the listed output irreps.
    """

    def __init__(
        self, irreps_in1: Any, irreps_in2: Any, filter_ir_out: Sequence[Any] | None = None, **kwargs: Any
    ) -> None:
        group = kwargs.pop("group", None)
        s1, s2 = as_irreps(irreps_in1, group), as_irreps(irreps_in2, group)
        seg1, seg2 = _simplified(s1), _simplified(s2)
        filt = _filter(s1, filter_ir_out)
        out, instr = [], []
        for i1, (m1, ir1) in enumerate(seg1):
            for i2, (m2, ir2) in enumerate(seg2):
                for ir in _products_filter(s1, ir1, ir2, filt):
                    instr.append((i1, i2, len(out), "uvuv", False))
                    out.append((m1 * m2, ir))
        order = _stable_sort_order(s1, [ir for _, ir in out])
        inv = {old: new for new, old in enumerate(order)}
        out_sorted = [out[i] for i in order]
        instr = [(a, b, inv[c], m, t) for a, b, c, m, t in instr]
        super().__init__(_respace(s1, seg1), _respace(s2, seg2), _respace(s1, out_sorted), instr, group=group, **kwargs)


def _simplified(space: Irreps) -> list[tuple[int, Any]]:
    """Merge consecutive equal irreps (e3nn's ``simplify``), dropping zero multiplicities."""
    out: list[tuple[int, Any]] = []
    for mul, ir in space:
        if mul == 0:
            continue
        if out and out[-1][1] == ir:
            out[-1] = (out[-1][0] + mul, ir)
        else:
            out.append((mul, ir))
    return out


def _filter(space: Irreps, filter_ir_out: Sequence[Any] | None) -> list[Any] | None:
    if filter_ir_out is None:
        return None
    try:
        return [space.irrep(ir) for ir in filter_ir_out]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"filter_ir_out={filter_ir_out!r} must be an iterable of irreps") from exc


def _stable_sort_order(space: Irreps, irs: list[Any]) -> list[int]:
    return sorted(range(len(irs)), key=lambda i: (space.sort_key(irs[i]), i))


def _respace(like: Irreps, segments: list[tuple[int, Any]]) -> Irreps:
    return Irreps(like.group, segments)

"""Grouped evaluation: the general strategy, for every mode (``uvw``, ``uvu``, ``uvv``, ``uuw``, ``uuu``,
``uvuv``), real or complex couplings.

Paths are grouped by their first-input segment (and, when the second input segment has multiplicity > 1, by
that segment too; ``uuu``/``uuw`` paths form their own groups). For each group the second input is contracted
once with the concatenated coupling matrix of all its paths (one matmul), then one batched matmul with the first
input produces every path's output at once; only then are the per-path weights applied. Only the instructions
that exist are computed, so the cost follows the non-zero coupling paths; no outer product ``x1 x x2`` is
materialized. Eager evaluation runs in row chunks whose largest intermediate stays near 2**18 elements.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workbench.nn._constants import ConstantList
from workbench.nn.tensor_product.instruction import ProductSpec, prod

__all__ = ["GroupedBlock", "GroupedEvaluator", "GroupedPath", "GroupedPlan", "build"]


@dataclass(frozen=True, kw_only=True)
class GroupedPath:
    """One coupling copy of one instruction inside a block."""

    mode: str
    has_weight: bool
    weight_offset: int  # offset of this copy's block in the flat weight vector (-1 if no weight)
    path_shape: tuple[int, ...]  # shape of one copy's weight block
    k_start: int  # columns of this path in its block's concatenated output
    dim_out: int
    i_out: int


@dataclass(frozen=True, kw_only=True)
class GroupedBlock:
    """Paths sharing one first-input segment (and one second-input segment when ``mul2 > 1``)."""

    family: str  # "uv" or "uu"
    in1_segment: int
    mul1: int
    dim1: int
    in2_start: int  # contiguous x2 columns used by the block
    in2_stop: int
    mul2: int  # 1 for merged blocks
    dim2: int  # columns per multiplicity of the x2 block
    k_total: int
    paths: tuple[GroupedPath, ...]


@dataclass(frozen=True, kw_only=True)
class GroupedPlan:
    """Blocks (``GroupedEvaluator.couplings[b]`` is block ``b``'s ``[dim2, dim1 * k_total]`` matrix)."""

    blocks: tuple[GroupedBlock, ...]
    chunk_rows: int  # eager row-chunk size
    in1_sizes: tuple[int, ...]
    dim_in2: int
    out_segments: tuple[tuple[int, int], ...]  # (mul, dim) per output segment


def build(spec: ProductSpec) -> GroupedEvaluator:
    """The grouped evaluator of ``spec`` (always applies)."""
    s1, s2, so = spec.irreps_in1, spec.irreps_in2, spec.irreps_out
    sl2 = s2.slices()
    offsets, off = [], 0
    for ins in spec.instructions:
        offsets.append(off if ins.has_weight else -1)
        off += prod(ins.path_shape) if ins.has_weight else 0
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for n, ins in enumerate(spec.instructions):
        if 0 in ins.path_shape:
            continue
        family = "uu" if ins.connection_mode in ("uuu", "uuw") else "uv"
        merge = family == "uv" and s2[ins.i_in2][0] == 1
        key = (ins.i_in1, family, "merged" if merge else ins.i_in2)
        groups.setdefault(key, []).extend((n, c) for c in range(spec.couplings[n].shape[0]))
    dtype = torch.complex128 if spec.is_complex else torch.float64
    blocks, tables = [], []
    for (i1, family, tag), members in groups.items():
        mul1, ir1 = s1[i1]
        d1 = ir1.dim
        if tag == "merged":
            used = sorted({spec.instructions[n].i_in2 for n, _ in members})
            in2_start, in2_stop = sl2[used[0]].start, sl2[used[-1]].stop
            mul2, dim2 = 1, in2_stop - in2_start
            row_offset = {i2: sl2[i2].start - in2_start for i2 in used}
        else:
            in2_start, in2_stop = sl2[tag].start, sl2[tag].stop
            mul2, dim2 = s2[tag][0], s2[tag][1].dim
            row_offset = {tag: 0}
        k_total = sum(so[spec.instructions[n].i_out][1].dim for n, _ in members)
        table = torch.zeros(dim2, d1, k_total, dtype=dtype)
        paths, k = [], 0
        for n, c in members:
            ins = spec.instructions[n]
            cg = spec.couplings[n][c]
            if not spec.is_complex:
                cg = cg.real if cg.is_complex() else cg
            cg = cg.to(dtype) * ins.path_weight  # [d1, d2, d3]
            d2, d3 = cg.shape[1], cg.shape[2]
            r = row_offset[ins.i_in2]
            table[r : r + d2, :, k : k + d3] = cg.permute(1, 0, 2)
            shape = ins.path_shape[1:] if spec.couplings[n].shape[0] > 1 else ins.path_shape
            paths.append(GroupedPath(
                mode=ins.connection_mode, has_weight=ins.has_weight,
                weight_offset=offsets[n] + c * prod(shape) if ins.has_weight else -1,
                path_shape=tuple(shape), k_start=k, dim_out=d3, i_out=ins.i_out,
            ))
            k += d3
        tables.append(table.reshape(dim2, d1 * k_total))
        blocks.append(GroupedBlock(family=family, in1_segment=i1, mul1=mul1, dim1=d1, in2_start=in2_start,
                                   in2_stop=in2_stop, mul2=mul2, dim2=dim2, k_total=k_total, paths=tuple(paths)))
    # rows per chunk in eager mode: keeps the largest intermediate near 2**18 elements (cache- and
    # allocator-friendly: large fresh allocations cost page faults on CPU)
    per_row = max([b.mul1 * b.mul2 * b.k_total + b.dim1 * b.mul2 * b.k_total for b in blocks] + [1])
    plan = GroupedPlan(
        blocks=tuple(blocks),
        chunk_rows=max(32, (1 << 18) // per_row),
        in1_sizes=tuple(mul * ir.dim for mul, ir in s1),
        dim_in2=s2.dim,
        out_segments=tuple((mul, ir.dim) for mul, ir in so),
    )
    return GroupedEvaluator(plan, tables)


class GroupedEvaluator(torch.nn.Module):
    """Evaluates a :class:`GroupedPlan`: ``forward(x1 [n, d1], x2 [n, d2], w [W] or [n, W]) -> [n, d_out]``."""

    def __init__(self, plan: GroupedPlan, couplings: list[torch.Tensor]) -> None:
        super().__init__()
        self.plan = plan
        self.couplings = ConstantList(couplings)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        n, rows = x1.shape[0], self.plan.chunk_rows
        if n <= 2 * rows or torch.compiler.is_compiling() or torch.jit.is_scripting():
            return self._chunk(x1, x2, w)
        # eager CPU/GPU: evaluate in row chunks so that intermediates stay small (same maths)
        # torch.split (not slicing) so that backward concatenates gradients instead of zero-filling copies
        x1s, x2s = x1.split(rows), x2.split(rows)
        ws = [w] * len(x1s) if w.dim() == 1 else list(w.split(rows))
        return torch.cat([self._chunk(a, b, c) for a, b, c in zip(x1s, x2s, ws)], dim=0)

    def gathered(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """``forward(x1[index], x2[index], w)`` with the couplings computed once per row of ``x1``/``x2``
        (``[N, d]``) and only the weights ``w [E, W]`` applied per ``index [E]`` row: the weights of a grouped plan
        act after the coupling, so a message that pairs each edge with its source node's features costs one
        coupling per node."""
        coupled = [z.index_select(0, index) for z in self._couple(x1, x2)]
        return self._weigh(coupled, w, index.shape[0], x1)

    def _chunk(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self._weigh(self._couple(x1, x2), w, x1.shape[0], x1)

    def _couple(self, x1: torch.Tensor, x2: torch.Tensor) -> list[torch.Tensor]:
        """Per block, the coupled features ``z [n, u, v, K]`` (``[n, u, K]`` for the ``uu`` family), unweighted."""
        plan = self.plan
        n = x1.shape[0]
        out = []
        x1_segments = x1.split(plan.in1_sizes, dim=1)
        for b, g in enumerate(plan.blocks):
            cg = self.couplings[b].to(x1.dtype)
            x1g = x1_segments[g.in1_segment].reshape(n, g.mul1, g.dim1)
            x2g = x2 if (g.in2_start == 0 and g.in2_stop == plan.dim_in2) else x2[:, g.in2_start : g.in2_stop]
            if g.family == "uv":
                v = g.mul2
                t = torch.matmul(x2g.reshape(n * v, g.dim2), cg)  # [n*v, d1*K]
                if v == 1:
                    t = t.reshape(n, g.dim1, g.k_total)
                else:
                    t = t.reshape(n, v, g.dim1, g.k_total).transpose(1, 2).reshape(n, g.dim1, v * g.k_total)
                z = torch.bmm(x1g, t).reshape(n, g.mul1, v, g.k_total)  # [n, u, v, K]
            else:
                t = torch.matmul(x2g.reshape(n * g.mul1, g.dim2), cg).reshape(n * g.mul1, g.dim1, g.k_total)
                z = torch.bmm(x1g.reshape(n * g.mul1, 1, g.dim1), t).reshape(n, g.mul1, g.k_total)
            out.append(z)
        return out

    def _weigh(self, coupled: list[torch.Tensor], w: torch.Tensor, n: int, like: torch.Tensor) -> torch.Tensor:
        """The per-path weights applied to the coupled features of :meth:`_couple`, summed per output segment."""
        plan = self.plan
        shared = w.dim() == 1
        contributions: list[list[torch.Tensor]] = [[] for _ in plan.out_segments]
        for g, z in zip(plan.blocks, coupled):
            for p in g.paths:
                zp = z[..., p.k_start : p.k_start + p.dim_out]
                wp = None
                if p.has_weight:
                    size = prod(p.path_shape)
                    if shared:
                        wp = w[p.weight_offset : p.weight_offset + size].reshape(p.path_shape)
                    else:
                        wp = w[:, p.weight_offset : p.weight_offset + size].reshape((n,) + p.path_shape)
                contributions[p.i_out].append(_apply_path(p.mode, zp, wp, shared, n))
        outs = []
        for (mul, d), terms in zip(plan.out_segments, contributions):
            if mul * d == 0:
                continue
            if terms:
                total = terms[0]
                for t in terms[1:]:
                    total = total + t
                outs.append(total.reshape(n, mul * d))
            else:
                outs.append(like.new_zeros(n, mul * d))
        if not outs:
            return like.new_zeros(n, 0)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)


def _apply_path(mode: str, zp: torch.Tensor, wp: torch.Tensor | None, shared: bool, n: int) -> torch.Tensor:
    """Weights of one path applied to its coupled features ``zp`` (``[n, u, v, k]`` or ``[n, u, k]`` for uu)."""
    if mode == "uvu":
        if wp is None:
            return zp.sum(2)
        if zp.shape[2] == 1:
            return zp[:, :, 0, :] * (wp[:, 0, None] if shared else wp[:, :, 0, None])
        return torch.einsum("zuvk,uv->zuk" if shared else "zuvk,zuv->zuk", zp, wp)
    if mode == "uvw":
        return torch.einsum("zuvk,uvw->zwk" if shared else "zuvk,zuvw->zwk", zp, wp)
    if mode == "uvv":
        if wp is None:
            return zp.sum(1)
        return torch.einsum("zuvk,uv->zvk" if shared else "zuvk,zuv->zvk", zp, wp)
    if mode == "uvuv":
        if wp is not None:
            zp = zp * wp[..., None]
        return zp.reshape(n, zp.shape[1] * zp.shape[2], zp.shape[-1])
    if mode == "uuu":
        return zp if wp is None else zp * wp[..., None]
    # uuw
    if wp is None:
        return zp.sum(1, keepdim=True)
    return torch.einsum("zuk,uw->zwk" if shared else "zuk,zuw->zwk", zp, wp)

"""Output-major evaluation of channelwise (``uvu``) products: the NequIP/MACE convolution.

Applies when every non-empty instruction is ``uvu`` with weights, every second-input segment it uses has
multiplicity 1, and the couplings are real. For each output segment ``o`` (multiplicity ``u``, dimension ``d``)
and each path ``p -> o`` with first-input segment ``x1_p`` (dimension ``d1``):

    y[e, (p, i), u] = w_p[e, u] x1_p[e, u, i]          (elementwise; ``u`` is the contiguous axis)
    A[e, k, (p, i)] = sum_j x2[e, j] C_p[i, j, k]       (one small matmul with the stacked couplings)
    out_o[e, k, u]  = sum_{(p, i)} A[e, k, (p, i)] y[e, (p, i), u]   (one bmm per output segment)

so the batched matmul does exactly the non-zero-path work, with the long multiplicity axis as its column
dimension, and no zero blocks are materialized. Eager evaluation runs in edge chunks of about 2**19
intermediate elements; without autograd the chunks are written straight into a preallocated output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workbench.nn._constants import ConstantList
from workbench.nn.tensor_product.instruction import ProductSpec, prod

__all__ = ["UvuEvaluator", "UvuGroup", "UvuOutput", "UvuPlan", "applies", "build"]


@dataclass(frozen=True, kw_only=True)
class UvuGroup:
    """The paths that read one first-input segment, sorted by output segment."""

    in1_segment: int  # index of the first-input segment
    mul: int
    dim: int
    num_paths: int
    row_gather: bool  # weights gathered as whole [u] rows of a [..., weight_numel / u, u] view
    weight_rows: tuple[int, ...]  # row_gather: the weight row of each path (else element indices)


@dataclass(frozen=True, kw_only=True)
class UvuOutput:
    """One produced output segment: ``coupling`` indexes the stacked couplings ``[dim_in2, dim * depth]``."""

    start: int  # first column of this output segment
    mul: int
    dim: int
    depth: int  # D = sum over the paths into this output of dim(x1 segment)
    coupling: int  # index into UvuEvaluator.couplings; columns (k, p, i), path constants included
    runs: tuple[tuple[int, int, int], ...]  # (group, first, last) runs of the group's sorted paths, in D order


@dataclass(frozen=True, kw_only=True)
class UvuPlan:
    """The output-major plan: groups, produced outputs, and the eager chunk size."""

    groups: tuple[UvuGroup, ...]
    outputs: tuple[UvuOutput, ...]
    complete: bool  # every non-empty output segment is produced (else the rest is zero)
    rows: int  # eager edge-chunk size
    single_mul: bool  # all groups share one multiplicity u: weights are viewed as [..., paths, u] rows
    in1_sizes: tuple[int, ...]
    dim_in2: int
    dim_out: int
    out_zero_slices: tuple[tuple[int, int], ...]  # (start, stop) of output segments no path reaches
    weight_numel: int


def applies(spec: ProductSpec) -> bool:
    """Whether the output-major plan covers ``spec`` (real, non-empty, every path ``uvu`` weighted, mul2 = 1)."""
    live = [ins for ins in spec.instructions if 0 not in ins.path_shape]
    return (
        not spec.is_complex
        and bool(live)
        and all(
            ins.connection_mode == "uvu" and ins.has_weight and spec.irreps_in2[ins.i_in2][0] == 1 for ins in live
        )
    )


def build(spec: ProductSpec) -> UvuEvaluator | None:
    """The output-major evaluator of ``spec``, or ``None`` where it does not apply (see :func:`applies`)."""
    if not applies(spec):
        return None
    s2, so = spec.irreps_in2, spec.irreps_out
    sl2, out_slices = s2.slices(), so.slices()
    dim_in2 = s2.dim
    offsets, off = [], 0  # flat weight offset of each instruction
    for ins in spec.instructions:
        offsets.append(off if ins.has_weight else -1)
        off += prod(ins.path_shape) if ins.has_weight else 0
    # paths (instruction n, coupling copy c) grouped by first-input segment, in instruction order
    members: dict[int, list[tuple[int, int]]] = {}
    for n, ins in enumerate(spec.instructions):
        if 0 not in ins.path_shape:
            members.setdefault(ins.i_in1, []).extend((n, c) for c in range(spec.couplings[n].shape[0]))
    groups, weight_index = [], []
    per_out: dict[int, list[tuple[int, int, int, torch.Tensor]]] = {}
    for gi, (i1, paths) in enumerate(members.items()):
        mul1, ir1 = spec.irreps_in1[i1]
        d1 = ir1.dim

        def weight_offset(n: int, c: int) -> int:
            ins = spec.instructions[n]
            one_copy = ins.path_shape[1:] if spec.couplings[n].shape[0] > 1 else ins.path_shape
            return offsets[n] + c * prod(one_copy)

        paths = sorted(paths, key=lambda nc: spec.instructions[nc[0]].i_out)  # one run per output segment
        starts = [weight_offset(n, c) for n, c in paths]
        row_gather = all(st % mul1 == 0 for st in starts) and spec.weight_numel % mul1 == 0
        index = [st // mul1 for st in starts] if row_gather else [st + u for st in starts for u in range(mul1)]
        weight_index.append(torch.tensor(index, dtype=torch.long))
        groups.append(UvuGroup(in1_segment=i1, mul=mul1, dim=d1, num_paths=len(paths), row_gather=row_gather,
                               weight_rows=tuple(index)))
        q = 0
        while q < len(paths):
            io = spec.instructions[paths[q][0]].i_out
            r = q
            while r < len(paths) and spec.instructions[paths[r][0]].i_out == io:
                r += 1
            d_out = so[io][1].dim
            cg = torch.zeros(dim_in2, d_out, r - q, d1, dtype=torch.float64)
            for t, (n, c) in enumerate(paths[q:r]):
                ins = spec.instructions[n]
                coupling = spec.couplings[n][c]
                coupling = coupling.real if coupling.is_complex() else coupling
                coupling = coupling.to(torch.float64) * ins.path_weight  # [d1, d2, d_out]
                cg[sl2[ins.i_in2], :, t] = coupling.permute(1, 2, 0)
            per_out.setdefault(io, []).append((gi, q, r, cg.reshape(dim_in2, d_out, -1)))
            q = r
    outputs, couplings = [], []
    for io, items in sorted(per_out.items()):
        cg = torch.cat([c for *_, c in items], dim=2)  # [dim_in2, d_out, D]
        couplings.append(cg.reshape(dim_in2, -1))
        mul, ir = so[io]
        outputs.append(UvuOutput(start=out_slices[io].start, mul=mul, dim=ir.dim, depth=cg.shape[2],
                                 coupling=len(couplings) - 1, runs=tuple((gi, q, r) for gi, q, r, _ in items)))
    zero_slices = tuple((sl.start, sl.stop) for io, sl in enumerate(out_slices)
                        if io not in per_out and sl.stop > sl.start)
    largest = max(o.mul * o.depth for o in outputs)
    # eager row chunks: the largest intermediate (y of one output) stays near 2**19 elements (2 MiB float32;
    # measured best on CPU for both benchmark cases, smaller chunks pay per-op overhead)
    rows = max(64, min(8192, (1 << 19) // max(largest, 1)))
    plan = UvuPlan(
        groups=tuple(groups),
        outputs=tuple(outputs),
        complete=not zero_slices,
        rows=rows,
        single_mul=len({g.mul for g in groups}) == 1 and all(g.row_gather for g in groups),
        in1_sizes=tuple(mul * ir.dim for mul, ir in spec.irreps_in1),
        dim_in2=dim_in2,
        dim_out=so.dim,
        out_zero_slices=zero_slices,
        weight_numel=spec.weight_numel,
    )
    return UvuEvaluator(plan, weight_index, couplings)


def _differentiated(*tensors: torch.Tensor) -> bool:
    """True when autograd records these tensors or a torch.func transform (``jvp``, ``vmap``, ``grad``) wraps
    them: then the evaluator must not write into preallocated outputs (``out=``), which neither supports."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return True
    # torch.func's own query (no public equivalent): forward-mode tangents are invisible to requires_grad
    return torch._C._are_functorch_transforms_active()


class UvuEvaluator(torch.nn.Module):
    """Evaluates a :class:`UvuPlan`: ``forward(x1 [n, d1], x2 [n, d2], w [W] or [n, W]) -> [n, d_out]``.

    ``weight_index[g]`` gathers group ``g``'s weights; ``couplings[o]`` are the stacked couplings of output ``o``.
    """

    in_place = True  # no-grad: write the weighted features in place (measured faster)

    def __init__(self, plan: UvuPlan, weight_index: list[torch.Tensor], couplings: list[torch.Tensor]) -> None:
        super().__init__()
        self.plan = plan
        self.weight_index = ConstantList(weight_index)
        self.couplings = ConstantList(couplings)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        plan = self.plan
        n, rows, shared = x1.shape[0], plan.rows, w.dim() == 1
        if n <= rows or torch.compiler.is_compiling() or torch.jit.is_scripting():
            return self._chunk(x1, x2, w, None)
        needs_grad = _differentiated(x1, x2, w)
        if needs_grad:
            # autograd: concatenate the chunks (in-place writes would make backward clone the output per chunk)
            x1s, x2s = x1.split(rows), x2.split(rows)
            ws = [w] * len(x1s) if shared else list(w.split(rows))
            return torch.cat([self._chunk(a, b, c, None) for a, b, c in zip(x1s, x2s, ws)], dim=0)
        out = x1.new_empty(n, plan.dim_out)
        for s in range(0, n, rows):
            m = min(rows, n - s)
            c = w if shared else w.narrow(0, s, m)
            self._chunk(x1.narrow(0, s, m), x2.narrow(0, s, m), c, out.narrow(0, s, m))
        return out

    def _chunk(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        plan = self.plan
        n, numel = x1.shape[0], plan.weight_numel
        # per group: weights [n or 1, paths, u] (paths sorted by output) and x1 transposed to [n, 1, d1, u]
        # split (not narrow) so that backward concatenates instead of zero-filling a full-size gradient per piece
        x1_segments = x1.split(plan.in1_sizes, dim=1)
        wb = w.unsqueeze(0) if w.dim() == 1 else w
        needs_grad = _differentiated(x1, x2, w)
        # weight rows as views (unbind: no gather forward, one stack backward); measured faster with autograd
        # or long rows, while a contiguous per-group gather wins for short rows without autograd
        use_rows = plan.single_mul and (needs_grad or plan.groups[0].mul >= 64)
        rows_w: tuple[torch.Tensor, ...] = ()
        if use_rows:
            u = plan.groups[0].mul
            rows_w = wb.view(wb.shape[0], numel // u, u).unbind(1)
        weights, feats = [], []  # per group: per-path weights [n or 1, 1, u]; x1 transposed to [n, d1, u]
        for gi, g in enumerate(plan.groups):
            if use_rows:
                weights.append([rows_w[i][:, None, :] for i in g.weight_rows])
            else:
                if g.row_gather:
                    wg = wb.view(wb.shape[0], numel // g.mul, g.mul).index_select(1, self.weight_index[gi])
                else:
                    wg = wb.index_select(1, self.weight_index[gi])
                weights.append(list(wg.view(wb.shape[0], g.num_paths, 1, g.mul).unbind(1)))
            feats.append(x1_segments[g.in1_segment].view(n, g.mul, g.dim).transpose(1, 2).contiguous())
        write_in_place = self.in_place and not needs_grad and not torch.compiler.is_compiling()
        write_in_place = write_in_place and not torch.jit.is_scripting()
        pieces = []
        for o in plan.outputs:
            terms = [(weights[gi][t], feats[gi]) for gi, q, r in o.runs for t in range(q, r)]
            if write_in_place:  # y[:, (path, i), :] written directly, no concatenation copy
                y = x1.new_empty(n, o.depth, o.mul)
                offset = 0
                for wt, feat in terms:
                    torch.mul(wt, feat, out=y.narrow(1, offset, feat.shape[1]))
                    offset += feat.shape[1]
            else:
                ys = [wt * feat for wt, feat in terms]
                y = ys[0] if len(ys) == 1 else torch.cat(ys, dim=1)  # [n, D, u]
            a = torch.matmul(x2, self.couplings[o.coupling].to(x1.dtype)).view(n, o.dim, o.depth)
            z = torch.bmm(a, y).transpose(1, 2)  # [n, u, d_out]
            if out is not None:
                out.narrow(1, o.start, o.mul * o.dim).view(n, o.mul, o.dim).copy_(z)
            else:
                pieces.append((o.start, z.reshape(n, o.mul * o.dim)))
        if out is None:
            if plan.complete:  # outputs are in column order
                return pieces[0][1] if len(pieces) == 1 else torch.cat([t for _, t in pieces], dim=1)
            cols = torch.cat([torch.arange(s, s + t.shape[1], device=x1.device) for s, t in pieces])
            return x1.new_zeros(n, plan.dim_out).index_copy(1, cols, torch.cat([t for _, t in pieces], 1))
        for start, stop in plan.out_zero_slices:
            out[:, start:stop].zero_()
        return out

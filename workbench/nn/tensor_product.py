"""Tensor products of irreps: e3nn-compatible weights and normalization, any group, grouped fast evaluation.

Maths (identical to e3nn 0.6): an instruction ``(i1, i2, i_out, mode, has_weight[, path_weight])`` adds

    out[i_out]_{w k} += c * sum_{u v i j} W_{...} x1[i1]_{u i} x2[i2]_{v j} C_{i j k}

where ``C`` is the coupling tensor (``wigner_3j`` for O(3)) and ``c = sqrt(alpha)`` is e3nn's normalization
coefficient (``irrep_normalization`` and ``path_normalization``, ``in1_var``, ``in2_var``, ``out_var``). The
multiplicity indices follow ``mode``: ``uvw`` (fully connected), ``uvu`` (channelwise, the NequIP/MACE
convolution), ``uvv``, ``uuw``, ``uuu`` (elementwise) and ``uvuv`` (full outer product). Weights are one flat
vector in instruction order, each block of shape ``path_shape`` flattened row-major, exactly as in e3nn, so an
e3nn ``TensorProduct``'s ``.weight`` can be copied in as is.

Evaluation. Instructions are grouped by their first input segment (and, when the second input segment has
multiplicity > 1, by that segment too). For each group the second input is contracted once with the
concatenated coupling matrix of all its paths (one matmul), then a single batched matmul with the first input
produces every path's output at once; only then are the per-path weights applied. Only the instructions that
exist are computed, so the cost follows the non-zero coupling paths; no outer product ``x1 x x2`` is
materialized.

The NequIP/MACE case (every instruction ``uvu`` with weights, second-input multiplicities 1, real couplings)
takes an output-major path instead (``_build_uvu_plan``): per output segment, the weighted first-input
features ``y[e, (path, i), u]`` (multiplicity ``u`` as the contiguous axis) meet the stacked couplings
``A[e, k, (path, i)] = x2 @ C`` in one batched matmul, so only non-zero path blocks are multiplied. Eager
evaluation runs in edge chunks of about 2**19 intermediate elements; without autograd the chunks are written
straight into a preallocated output.

Any group: pass ``group=`` (a ``workbench.groups`` group) and irreps of that group (see
:class:`workbench.groups.Irreps`). Couplings come from ``group.clebsch_gordan`` (the projection contract);
a product with coupling multiplicity ``m > 1`` gets ``m`` independent paths per instruction, whose weights are
stored consecutively (``path_shape`` gains a leading ``m``). Groups with complex irreps (e.g. the Lorentz group)
need complex features; weights stay real.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import torch

from workbench.groups import Irreps, LieGroup, as_irreps, o3
from workbench.kernels import resolve_backend, uvu_spec, uvu_tensor_product
from workbench.kernels.dispatch import check_backend
from workbench.nn._constants import ConstantsMixin

__all__ = [
    "Instruction",
    "TensorProduct",
    "FullyConnectedTensorProduct",
    "ElementwiseTensorProduct",
    "FullTensorProduct",
]

_MODES = ("uvw", "uvu", "uvv", "uuw", "uuu", "uvuv")


class Instruction(NamedTuple):
    """One tensor-product path, as in e3nn: ``path_weight`` is the final multiplicative coefficient."""

    i_in1: int
    i_in2: int
    i_out: int
    connection_mode: str
    has_weight: bool
    path_weight: float
    path_shape: tuple


def _prod(shape: Sequence[int]) -> int:
    out = 1
    for s in shape:
        out *= int(s)
    return out


class _Path(NamedTuple):
    instruction: int
    mode: str
    has_weight: bool
    weight_offset: int  # offset of this copy's block in the flat weight vector (-1 if no weight)
    path_shape: tuple  # shape of one copy's weight block
    k_start: int  # columns of this path in its group's concatenated output
    dim_out: int
    i_out: int
    mul_out: int


class _Group(NamedTuple):
    family: str  # "uv" or "uu"
    in1_start: int
    mul1: int
    dim1: int
    in2_start: int  # contiguous x2 columns used by the group
    in2_stop: int
    mul2: int  # 1 for merged groups
    dim2: int  # columns per multiplicity of x2 block
    k_total: int
    cg_name: str
    paths: tuple
    fast: bool  # all paths 'uvu' with weights and mul2 == 1 (the NequIP/MACE convolution)
    fast_cg_name: str  # fast groups: [dim2, m * dim1 * class_dim] coupling straight into the class accumulator
    weight_start: int  # fast groups: weights of the m paths are w[start : start + m * mul1] when contiguous
    weight_index_name: str  # fast groups, non-contiguous weights: [m * mul1] index into the flat weights
    num_paths: int


class _UvuOutput(NamedTuple):
    start: int  # first column of this output segment
    mul: int
    dim: int
    depth: int  # D = sum over the paths into this output of dim(x1 segment)
    cg_name: str  # [dim_in2, dim * D] stacked couplings (path constants included), columns (k, p, i)
    runs: tuple  # (group index, first, last) runs of the group's output-sorted paths, in D order


class _UvuPlan(NamedTuple):
    groups: tuple  # per first-input group: (x1 start, mul, dim, number of paths, weights gathered as [u] rows)
    outputs: tuple  # _UvuOutput per produced output segment
    complete: bool  # every non-empty output segment is produced (else the rest is zero)
    rows: int  # eager edge-chunk size
    single_mul: bool  # all groups share one multiplicity u: the weights are viewed as [..., paths, u] rows
    weight_rows: tuple  # single_mul: per group, the weight row of each (output-sorted) path


class TensorProduct(ConstantsMixin):
    r"""Tensor product with explicit instructions, e3nn 0.6 compatible.

    Args:
        irreps_in1, irreps_in2, irreps_out: O(3) irreps (e.g. ``"32x0e+32x1o"``) or, with ``group=``, irreps of
            that group.
        instructions: list of ``(i_in1, i_in2, i_out, mode, has_weight[, path_weight])``; ``mode`` in
            ``uvw, uvu, uvv, uuw, uuu, uvuv``.
        in1_var, in2_var, out_var: per-segment variances (default 1), as in e3nn.
        irrep_normalization: ``"component"`` (default), ``"norm"`` or ``"none"``.
        path_normalization: ``"element"`` (default), ``"path"`` or ``"none"``.
        internal_weights: store the weights as a parameter ``weight`` of shape ``[weight_numel]``.
        shared_weights: one weight vector for the whole batch (``[weight_numel]``) or one per batch element
            (``[..., weight_numel]``, e.g. per edge).
        group: ``None`` for O(3) (e3nn basis) or a ``workbench.groups`` group.
        backend: ``"auto"`` (Triton kernel on CUDA when Triton is installed and the product is eligible, torch
            otherwise), ``"triton"`` or ``"torch"``. The kernel (:func:`workbench.kernels.uvu_tensor_product`)
            covers O(3) products whose instructions are all ``uvu`` with weights and whose variances are the
            defaults; ``"triton"`` on any other product raises ``ValueError``. Same numbers either way.

    Shapes: ``forward(x1 [..., irreps_in1.dim], x2 [..., irreps_in2.dim], weight) -> [..., irreps_out.dim]``,
    with the leading dimensions of ``x1`` and ``x2`` (and of ``weight`` when not shared) broadcast together.
    """

    _uvu_in_place = True  # no-grad uvu: write the weighted features in place (measured faster)

    def __init__(
        self,
        irreps_in1: Any,
        irreps_in2: Any,
        irreps_out: Any,
        instructions: Sequence[tuple],
        in1_var: Sequence[float] | None = None,
        in2_var: Sequence[float] | None = None,
        out_var: Sequence[float] | None = None,
        irrep_normalization: str = "component",
        path_normalization: str = "element",
        internal_weights: bool | None = None,
        shared_weights: bool | None = None,
        group: LieGroup | str | None = None,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        self._init_constants()
        check_backend(backend)
        if irrep_normalization not in ("component", "norm", "none"):
            raise ValueError(f"irrep_normalization={irrep_normalization!r}; expected 'component', 'norm' or 'none'")
        if path_normalization not in ("element", "path", "none"):
            raise ValueError(f"path_normalization={path_normalization!r}; expected 'element', 'path' or 'none'")
        s1, s2, so = as_irreps(irreps_in1, group), as_irreps(irreps_in2, group), as_irreps(irreps_out, group)
        self.irreps_in1 = s1
        self.irreps_in2 = s2
        self.irreps_out = so
        self.irrep_normalization = irrep_normalization
        self.path_normalization = path_normalization

        raw = self._check_instructions(instructions, s1, s2, so)
        in1_var = self._check_var(in1_var, len(s1), "in1_var")
        in2_var = self._check_var(in2_var, len(s2), "in2_var")
        out_var = self._check_var(out_var, len(so), "out_var")
        kernel_ok = (isinstance(so, o3.Irreps) and all(mode == "uvu" and has_w for _, _, _, mode, has_w, _ in raw)
                     and all(v == 1.0 for v in (*in1_var, *in2_var, *out_var)))
        if backend == "triton" and not kernel_ok:
            raise ValueError("backend='triton' covers O(3) products whose instructions are all 'uvu' with weights "
                             "and default variances; use backend='torch' (or 'auto') for this one")
        self.backend = backend
        # e3nn-style instructions for workbench.kernels.uvu_spec (same normalization); spec built on first use
        self._kernel_instructions = [tuple(i) for i in raw] if kernel_ok else None
        self._kernel_spec = None

        couplings = [so.coupling(s1[a][1], s2[b][1], so[c][1]) for a, b, c, *_ in raw]
        for (a, b, c, *_), cg in zip(raw, couplings):
            if cg.shape[0] == 0:
                raise ValueError(
                    f"instruction {(a, b, c)}: {so[c][1]} does not occur in "
                    f"{s1[a][1]} x {s2[b][1]}"
                )

        def num_elements(ins: tuple) -> int:
            i1, i2, _, mode = ins[:4]
            mul1, mul2 = s1[i1][0], s2[i2][0]
            return {"uvw": mul1 * mul2, "uvu": mul2, "uvv": mul1, "uuw": mul1, "uuu": 1, "uvuv": 1}[mode]

        instructions_out = []
        for ins, cg in zip(raw, couplings):
            i1, i2, io, mode, has_weight, path_weight = ins
            mul1, ir1 = s1[i1]
            mul2, ir2 = s2[i2]
            mulo, iro = so[io]
            d1, d2, do = ir1.dim, ir2.dim, iro.dim
            if irrep_normalization == "component":
                alpha = float(do)
            elif irrep_normalization == "norm":
                alpha = float(d1 * d2)
            else:
                alpha = 1.0
            mult = lambda i: couplings[raw.index(i)].shape[0]  # noqa: E731
            if path_normalization == "element":
                x = sum(in1_var[i[0]] * in2_var[i[1]] * num_elements(i) * mult(i) for i in raw if i[2] == io)
            elif path_normalization == "path":
                x = in1_var[i1] * in2_var[i2] * num_elements(ins) * cg.shape[0]
                x *= len([i for i in raw if i[2] == io])
            else:
                x = 1.0
            if x > 0:
                alpha /= x
            alpha *= out_var[io] * path_weight
            shape = {
                "uvw": (mul1, mul2, mulo),
                "uvu": (mul1, mul2),
                "uvv": (mul1, mul2),
                "uuw": (mul1, mulo),
                "uuu": (mul1,),
                "uvuv": (mul1, mul2),
            }[mode]
            if cg.shape[0] > 1:
                shape = (cg.shape[0],) + shape
            instructions_out.append(Instruction(i1, i2, io, mode, has_weight, math.sqrt(alpha), shape))
        self.instructions = instructions_out
        self.weight_numel = sum(_prod(i.path_shape) for i in instructions_out if i.has_weight)

        if shared_weights is False and internal_weights is None:
            internal_weights = False
        if shared_weights is None:
            shared_weights = True
        if internal_weights is None:
            internal_weights = shared_weights and any(i.has_weight for i in instructions_out)
        if internal_weights and not shared_weights:
            raise ValueError("internal_weights=True requires shared_weights=True")
        self.internal_weights = bool(internal_weights)
        self.shared_weights = bool(shared_weights)
        if self.internal_weights and self.weight_numel > 0:
            self.weight = torch.nn.Parameter(torch.randn(self.weight_numel))
        else:
            self.register_parameter("weight", None)

        self._complex = (
            s1.is_complex
            or s2.is_complex
            or so.is_complex
            or any(cg.is_complex() and bool(cg.imag.abs().max() > 1e-12) for cg in couplings)
        )
        self._dim_in1, self._dim_in2, self._dim_out = s1.dim, s2.dim, so.dim
        self._out_segments = [(mul, ir.dim) for mul, ir in so]
        self._build_plan(couplings)

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def _check_var(var: Sequence[float] | None, n: int, name: str) -> list[float]:
        if var is None:
            return [1.0] * n
        var = [float(v) for v in var]
        if len(var) != n:
            raise ValueError(f"{name} has {len(var)} entries; expected one per irreps segment ({n})")
        return var

    @staticmethod
    def _check_instructions(
        instructions: Sequence[tuple], s1: Irreps, s2: Irreps, so: Irreps
    ) -> list[tuple]:
        if not isinstance(instructions, (list, tuple)):
            raise TypeError("instructions must be a list of (i_in1, i_in2, i_out, mode, has_weight[, path_weight])")
        out = []
        for ins in instructions:
            if not isinstance(ins, (list, tuple)) or len(ins) not in (5, 6):
                raise ValueError(
                    f"instruction {ins!r}: expected (i_in1, i_in2, i_out, mode, has_weight[, path_weight])"
                )
            i1, i2, io, mode, has_weight = ins[:5]
            path_weight = float(ins[5]) if len(ins) == 6 else 1.0
            for idx, space, name in ((i1, s1, "irreps_in1"), (i2, s2, "irreps_in2"), (io, so, "irreps_out")):
                if not isinstance(idx, int) or not 0 <= idx < len(space):
                    raise ValueError(f"instruction {ins!r}: index {idx!r} out of range for {name} ({len(space)})")
            if mode not in _MODES:
                raise ValueError(f"instruction {ins!r}: mode {mode!r} not supported; expected one of {_MODES}")
            mul1, mul2, mulo = s1[i1][0], s2[i2][0], so[io][0]
            need = {
                "uvw": True,
                "uvu": mul1 == mulo,
                "uvv": mul2 == mulo,
                "uuw": mul1 == mul2 and (has_weight or mulo == 1),
                "uuu": mul1 == mul2 == mulo,
                "uvuv": mul1 * mul2 == mulo,
            }[mode]
            if not need:
                raise ValueError(f"instruction {ins!r}: multiplicities {mul1}, {mul2}, {mulo} incompatible with {mode}")
            if mode == "uvw" and not has_weight:
                raise ValueError(f"instruction {ins!r}: mode 'uvw' needs has_weight=True")
            out.append((i1, i2, io, mode, bool(has_weight), path_weight))
        return out

    def _build_plan(self, couplings: list[torch.Tensor]) -> None:
        s1, s2 = self.irreps_in1, self.irreps_in2
        sl1, sl2 = s1.slices(), s2.slices()
        # weight offsets per instruction
        offsets, off = [], 0
        for ins in self.instructions:
            offsets.append(off if ins.has_weight else -1)
            if ins.has_weight:
                off += _prod(ins.path_shape)
        groups: dict[tuple, list[tuple[int, int]]] = {}
        for n, ins in enumerate(self.instructions):
            if 0 in ins.path_shape:
                continue
            family = "uu" if ins.connection_mode in ("uuu", "uuw") else "uv"
            mul2 = s2[ins.i_in2][0]
            merge = family == "uv" and mul2 == 1
            key = (ins.i_in1, family, "merged" if merge else ins.i_in2)
            for c in range(couplings[n].shape[0]):
                groups.setdefault(key, []).append((n, c))
        # output segments grouped by multiplicity ("mul classes"): fast groups accumulate [n, mul, class_dim]
        so = self.irreps_out
        class_pos: dict[int, int] = {}
        seg_pos = []
        for mul, ir in so:
            d = ir.dim
            seg_pos.append(class_pos.get(mul, 0))
            class_pos[mul] = class_pos.get(mul, 0) + d
        self._class_dims = dict(class_pos)
        self._seg_pos = seg_pos
        plan = []
        for g, (key, members) in enumerate(groups.items()):
            i1, family, tag = key
            mul1, ir1 = s1[i1]
            d1 = ir1.dim
            if tag == "merged":
                used = sorted({self.instructions[n].i_in2 for n, _ in members})
                in2_start, in2_stop = sl2[used[0]].start, sl2[used[-1]].stop
                mul2 = 1
                dim2 = in2_stop - in2_start
                row_offset = {i2: sl2[i2].start - in2_start for i2 in used}
            else:
                in2_start, in2_stop = sl2[tag].start, sl2[tag].stop
                mul2 = s2[tag][0]
                dim2 = s2[tag][1].dim
                row_offset = {tag: 0}
            k_total = sum(so[self.instructions[n].i_out][1].dim for n, _ in members)
            dtype = torch.complex128 if self._complex else torch.float64
            block = torch.zeros(dim2, d1, k_total, dtype=dtype)
            paths, k = [], 0
            for n, c in members:
                ins = self.instructions[n]
                cg = couplings[n][c]
                if not self._complex:
                    cg = cg.real if cg.is_complex() else cg
                cg = cg.to(dtype) * ins.path_weight  # [d1, d2, d3]
                d2, d3 = cg.shape[1], cg.shape[2]
                r = row_offset[ins.i_in2]
                block[r : r + d2, :, k : k + d3] = cg.permute(1, 0, 2)
                shape = ins.path_shape[1:] if couplings[n].shape[0] > 1 else ins.path_shape
                w_off = offsets[n] + c * _prod(shape) if ins.has_weight else -1
                mul_out = so[ins.i_out][0]
                paths.append(
                    _Path(n, ins.connection_mode, ins.has_weight, w_off, tuple(shape), k, d3, ins.i_out, mul_out)
                )
                k += d3
            name = f"_cg_{g}"
            self.register_constant(name, block.reshape(dim2, d1 * k_total))
            fast = family == "uv" and mul2 == 1 and all(p.mode == "uvu" and p.has_weight for p in paths)
            fast_cg_name = weight_index_name = ""
            weight_start = -1
            if fast:
                class_dim = self._class_dims[mul1]
                m = len(paths)
                fast_block = torch.zeros(dim2, m, d1, class_dim, dtype=dtype)
                for q, (p, (n_ins, c)) in enumerate(zip(paths, members)):
                    ins = self.instructions[n_ins]
                    cg = couplings[n_ins][c]
                    if not self._complex:
                        cg = cg.real if cg.is_complex() else cg
                    cg = cg.to(dtype) * ins.path_weight
                    r = row_offset[ins.i_in2]
                    pos = seg_pos[p.i_out]
                    fast_block[r : r + cg.shape[1], q, :, pos : pos + p.dim_out] = cg.permute(1, 0, 2)
                fast_cg_name = f"_fastcg_{g}"
                self.register_constant(fast_cg_name, fast_block.reshape(dim2, m * d1 * class_dim))
                starts = [p.weight_offset for p in paths]
                if all(starts[q] == starts[0] + q * mul1 for q in range(m)):
                    weight_start = starts[0]
                else:
                    index = torch.tensor([st + u for st in starts for u in range(mul1)], dtype=torch.long)
                    weight_index_name = f"_windex_{g}"
                    self.register_constant(weight_index_name, index)
            plan.append(
                _Group(
                    family,
                    sl1[i1].start,
                    mul1,
                    d1,
                    in2_start,
                    in2_stop,
                    mul2,
                    dim2,
                    k_total,
                    name,
                    tuple(paths),
                    fast,
                    fast_cg_name,
                    weight_start,
                    weight_index_name,
                    len(paths),
                )
            )
        # rows per chunk in eager mode: keeps the largest intermediate near 2**18 elements (cache- and
        # allocator-friendly: large fresh allocations cost page faults on CPU)
        per_row = max([g.mul1 * g.mul2 * g.k_total + g.dim1 * g.mul2 * g.k_total for g in plan] + [1])
        self._chunk_rows = max(32, (1 << 18) // per_row)
        self._in1_sizes = [mul * ir.dim for mul, ir in s1]
        self._in1_index = {sl.start: i for i, sl in reversed(list(enumerate(sl1)))}
        # if the fast groups' weight blocks tile the flat weight vector, split it once (cheap backward)
        self._weight_split: list[int] = []
        self._weight_piece: dict[int, int] = {}
        ranges = sorted((g.weight_start, g.num_paths * g.mul1, gi) for gi, g in enumerate(plan) if g.fast)
        if plan and all(g.fast and g.weight_start >= 0 for g in plan):
            pos = 0
            for start, size, gi in ranges:
                if start != pos:
                    break
                self._weight_piece[gi] = len(self._weight_split)
                self._weight_split.append(size)
                pos += size
            if pos != self.weight_numel:
                self._weight_split, self._weight_piece = [], {}
        # when every output comes from fast groups of one multiplicity class, the final layout is a single
        # column permutation of that class accumulator
        self._single_class_perm = ""
        slow = any(not g.fast for g in plan)
        mults = {mul for mul, d in self._out_segments if mul * d > 0}
        if plan and not slow and len(mults) == 1 and all(g.mul1 in mults for g in plan):
            (u,) = mults
            dclass = self._class_dims[u]
            perm = []
            for (mul, d), pos in zip(self._out_segments, seg_pos):
                for uu in range(mul):
                    perm.extend(uu * dclass + pos + k for k in range(d))
            self._single_class_perm = "_out_perm"
            self.register_constant("_out_perm", torch.tensor(perm, dtype=torch.long))
        self._plan = plan
        self._uvu = self._build_uvu_plan()

    def _build_uvu_plan(self) -> _UvuPlan | None:
        """Output-major plan for the NequIP/MACE case: every instruction ``uvu`` with weights, ``mul2 == 1``.

        For each output segment ``o`` (multiplicity ``u``, dimension ``d``) and each path ``p -> o`` with first
        input segment ``x1_p`` (dimension ``d1``):

            y[e, (p, i), u] = w_p[e, u] x1_p[e, u, i]          (elementwise; ``u`` is the contiguous axis)
            A[e, k, (p, i)] = sum_j x2[e, j] C_p[i, j, k]       (one small matmul with the stacked couplings)
            out_o[e, k, u]  = sum_{(p, i)} A[e, k, (p, i)] y[e, (p, i), u]   (one bmm per output segment)

        so the batched matmul does exactly the non-zero-path work, with the long multiplicity axis as its
        column dimension, and no zero blocks are materialized.
        """
        if self._complex or not self._plan or not all(g.fast for g in self._plan):
            return None
        so = self.irreps_out
        out_slices = so.slices()
        per_out: dict[int, list[tuple[int, int, int, torch.Tensor]]] = {}
        group_specs = []
        for gi, g in enumerate(self._plan):
            block = self._constant_masters[g.cg_name].reshape(g.in2_stop - g.in2_start, g.dim1, g.k_total)
            paths = sorted(g.paths, key=lambda p: p.i_out)  # paths into one output become a contiguous run
            blocks = all(p.weight_offset % g.mul1 == 0 for p in paths) and self.weight_numel % g.mul1 == 0
            if blocks:  # gather whole [u] weight rows of a [..., weight_numel / u, u] view
                weight_index = [p.weight_offset // g.mul1 for p in paths]
            else:
                weight_index = [p.weight_offset + u for p in paths for u in range(g.mul1)]
            self.register_constant(f"_uvu_windex_{gi}", torch.tensor(weight_index, dtype=torch.long))
            group_specs.append((g.in1_start, g.mul1, g.dim1, len(paths), blocks))
            q = 0
            while q < len(paths):
                r = q
                while r < len(paths) and paths[r].i_out == paths[q].i_out:
                    r += 1
                d_out = paths[q].dim_out
                cg = torch.zeros(self._dim_in2, d_out, r - q, g.dim1, dtype=block.dtype)
                for t, p in enumerate(paths[q:r]):
                    cg[g.in2_start : g.in2_stop, :, t] = block[:, :, p.k_start : p.k_start + d_out].transpose(1, 2)
                per_out.setdefault(paths[q].i_out, []).append((gi, q, r, cg.reshape(self._dim_in2, d_out, -1)))
                q = r
        outputs = []
        for io, items in sorted(per_out.items()):
            cg = torch.cat([c for *_, c in items], dim=2)  # [dim_in2, d_out, D]
            name = f"_uvu_cg_{io}"
            self.register_constant(name, cg.reshape(self._dim_in2, -1))
            mul, d_out = self._out_segments[io]
            runs = tuple((gi, q, r) for gi, q, r, _ in items)
            outputs.append(_UvuOutput(out_slices[io].start, mul, d_out, cg.shape[2], name, runs))
        covered = {o.start for o in outputs}
        complete = all(sl.start in covered or sl.stop == sl.start for sl in out_slices)
        largest = max(o.mul * o.depth for o in outputs)
        # eager row chunks: the largest intermediate (y of one output) stays near 2**19 elements (2 MiB float32;
        # measured best on CPU for both benchmark cases, smaller chunks pay per-op overhead)
        rows = max(64, min(8192, (1 << 19) // max(largest, 1)))
        single_mul = len({spec[1] for spec in group_specs}) == 1 and all(spec[4] for spec in group_specs)
        weight_rows: tuple = ()
        if single_mul:
            weight_rows = tuple(
                tuple(self._constant_masters[f"_uvu_windex_{gi}"].tolist()) for gi in range(len(group_specs))
            )
        return _UvuPlan(tuple(group_specs), tuple(outputs), complete, rows, single_mul, weight_rows)

    # ------------------------------------------------------------------ public helpers
    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.irreps_in1} x {self.irreps_in2} -> "
            f"{self.irreps_out} | {len(self.instructions)} instructions | {self.weight_numel} weights)"
        )

    def weight_views(self, weight: torch.Tensor | None = None, yield_instruction: bool = False) -> Iterator:
        """Views of the flat weights, one per weighted instruction, shaped ``batch + path_shape`` (as e3nn)."""
        weight = self._get_weight(weight)
        batch = weight.shape[:-1]
        offset = 0
        for i, ins in enumerate(self.instructions):
            if ins.has_weight:
                n = _prod(ins.path_shape)
                view = weight.narrow(-1, offset, n).view(batch + ins.path_shape)
                offset += n
                yield (i, ins, view) if yield_instruction else view

    def _get_weight(self, weight: torch.Tensor | None) -> torch.Tensor:
        if weight is None:
            if self.weight_numel > 0 and not self.internal_weights:
                raise ValueError(
                    f"weight is required: this TensorProduct has external weights of size {self.weight_numel}"
                )
            if self.weight is None:
                return torch.zeros(0)
            return self.weight
        if not isinstance(weight, torch.Tensor):
            raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
        if self.shared_weights:
            if tuple(weight.shape) != (self.weight_numel,):
                raise ValueError(
                    f"weight has shape {tuple(weight.shape)}; expected ({self.weight_numel},) (shared weights)"
                )
        else:
            if weight.dim() < 2 or weight.shape[-1] != self.weight_numel:
                raise ValueError(
                    f"weight has shape {tuple(weight.shape)}; expected (..., {self.weight_numel}) "
                    "(one weight vector per batch element)"
                )
        return weight

    # ------------------------------------------------------------------ forward
    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Evaluate ``x1 (x) x2`` with weights; see the class docstring for shapes."""
        if not isinstance(x1, torch.Tensor) or not isinstance(x2, torch.Tensor):
            raise TypeError("x1 and x2 must be torch.Tensor")
        if x1.shape[-1] != self._dim_in1:
            raise ValueError(
                f"x1 has last dimension {x1.shape[-1]}; expected irreps_in1.dim = {self._dim_in1} "
                f"({self.irreps_in1})"
            )
        if x2.shape[-1] != self._dim_in2:
            raise ValueError(
                f"x2 has last dimension {x2.shape[-1]}; expected irreps_in2.dim = {self._dim_in2} "
                f"({self.irreps_in2})"
            )
        if x1.dtype != x2.dtype:
            raise TypeError(f"x1 and x2 must have the same dtype, got {x1.dtype} and {x2.dtype}")
        if self._complex and not x1.is_complex():
            raise TypeError("this group's couplings are complex: pass complex features (e.g. torch.complex128)")
        w = self._get_weight(weight)
        if w.numel() > 0:
            w = w.to(x1.dtype)
        if self.shared_weights:
            batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        else:
            batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1], w.shape[:-1])
        x1 = x1.expand(batch + (self._dim_in1,)).reshape(-1, self._dim_in1)
        x2 = x2.expand(batch + (self._dim_in2,)).reshape(-1, self._dim_in2)
        if not self.shared_weights:
            w = w.expand(batch + (self.weight_numel,)).reshape(-1, self.weight_numel)
        if self._kernel_instructions is not None and self.backend != "torch" and x1.shape[0] > 0:
            if resolve_backend(self.backend, x1) == "triton":
                return self._contract_triton(x1, x2, w).reshape(batch + (self._dim_out,))
        out = self._contract(x1, x2, w)
        return out.reshape(batch + (self._dim_out,))

    def kernel_spec(self):
        """The :class:`workbench.kernels.UVUSpec` of this product (same paths, normalization and weight layout),
        built once; ``ValueError`` if the Triton kernels do not cover it (see ``backend``)."""
        if self._kernel_instructions is None:
            raise ValueError("the Triton kernels cover O(3) products whose instructions are all 'uvu' with weights "
                             "and default variances; this one is not")
        if self._kernel_spec is None:
            self._kernel_spec = uvu_spec(self.irreps_in1, self.irreps_in2, self.irreps_out, self._kernel_instructions,
                                         irrep_normalization=self.irrep_normalization,
                                         path_normalization=self.path_normalization)
        return self._kernel_spec

    def _contract_triton(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """The uvu product by the Triton kernel (per-row weights; shared weights are broadcast to the rows)."""
        if self.shared_weights:
            w = w.expand(x1.shape[0], self.weight_numel)
        return uvu_tensor_product(x1, x2, w, self.kernel_spec(), backend="triton")

    def _contract(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        n = x1.shape[0]
        if self._uvu is not None:
            return self._contract_uvu(x1, x2, w)
        rows = self._chunk_rows
        if n <= 2 * rows or torch.compiler.is_compiling() or torch.jit.is_scripting():
            return self._contract_chunk(x1, x2, w)
        # eager CPU/GPU: evaluate in row chunks so that intermediates stay small (same maths)
        # torch.split (not slicing) so that backward concatenates gradients instead of zero-filling copies
        x1s, x2s = x1.split(rows), x2.split(rows)
        ws = [w] * len(x1s) if self.shared_weights else list(w.split(rows))
        outs = [self._contract_chunk(a, b, c) for a, b, c in zip(x1s, x2s, ws)]
        return torch.cat(outs, dim=0)

    def _contract_uvu(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Output-major uvu evaluation (see :meth:`_build_uvu_plan`), in edge chunks when eager."""
        plan = self._uvu
        n = x1.shape[0]
        rows = plan.rows
        tracing = torch.compiler.is_compiling() or torch.jit.is_scripting()
        if n <= rows or tracing:
            return self._uvu_chunk(x1, x2, w, None)
        starts = range(0, n, rows)
        needs_grad = torch.is_grad_enabled() and (x1.requires_grad or x2.requires_grad or w.requires_grad)
        if needs_grad:
            # autograd: concatenate the chunks (in-place writes would make backward clone the output per chunk)
            x1s, x2s = x1.split(rows), x2.split(rows)
            ws = [w] * len(x1s) if self.shared_weights else list(w.split(rows))
            return torch.cat([self._uvu_chunk(a, b, c, None) for a, b, c in zip(x1s, x2s, ws)], dim=0)
        out = x1.new_empty(n, self._dim_out)
        for s in starts:
            m = min(rows, n - s)
            c = w if self.shared_weights else w.narrow(0, s, m)
            self._uvu_chunk(x1.narrow(0, s, m), x2.narrow(0, s, m), c, out.narrow(0, s, m))
        return out

    def _uvu_chunk(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        plan = self._uvu
        n = x1.shape[0]
        # per group: weights [n or 1, paths, u] (paths sorted by output) and x1 transposed to [n, 1, d1, u]
        # split (not narrow) so that backward concatenates instead of zero-filling a full-size gradient per piece
        x1_segments = x1.split(self._in1_sizes, dim=1)
        wb = w.unsqueeze(0) if self.shared_weights else w
        needs_grad = torch.is_grad_enabled() and (x1.requires_grad or x2.requires_grad or w.requires_grad)
        # weight rows as views (unbind: no gather forward, one stack backward); measured faster with autograd
        # or long rows, while a contiguous per-group gather wins for short rows without autograd
        use_rows = plan.single_mul and (needs_grad or plan.groups[0][1] >= 64)
        if use_rows:
            u = plan.groups[0][1]
            rows_w = wb.view(wb.shape[0], self.weight_numel // u, u).unbind(1)
        weights, feats = [], []  # per group: per-path weights [n or 1, 1, u]; x1 transposed to [n, d1, u]
        for gi, (start, mul, dim, num, blocks) in enumerate(plan.groups):
            if use_rows:
                weights.append([rows_w[i][:, None, :] for i in plan.weight_rows[gi]])
            else:
                if blocks:
                    index = getattr(self, f"_uvu_windex_{gi}")
                    wg = wb.view(wb.shape[0], self.weight_numel // mul, mul).index_select(1, index)
                else:
                    wg = wb.index_select(1, getattr(self, f"_uvu_windex_{gi}"))
                weights.append(list(wg.view(wb.shape[0], num, 1, mul).unbind(1)))
            feats.append(x1_segments[self._in1_index[start]].view(n, mul, dim).transpose(1, 2).contiguous())
        write_in_place = self._uvu_in_place and not needs_grad and not torch.compiler.is_compiling()
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
            a = torch.matmul(x2, getattr(self, o.cg_name).to(x1.dtype)).view(n, o.dim, o.depth)
            z = torch.bmm(a, y).transpose(1, 2)  # [n, u, d_out]
            if out is not None:
                out.narrow(1, o.start, o.mul * o.dim).view(n, o.mul, o.dim).copy_(z)
            else:
                pieces.append((o.start, z.reshape(n, o.mul * o.dim)))
        if out is None:
            if plan.complete:  # outputs are in column order
                return pieces[0][1] if len(pieces) == 1 else torch.cat([t for _, t in pieces], dim=1)
            out = x1.new_zeros(n, self._dim_out)
            return out.index_copy(1, self._uvu_columns(pieces, x1.device), torch.cat([t for _, t in pieces], 1))
        if not plan.complete:
            self._zero_uncovered(out)
        return out

    def _uvu_columns(self, pieces: list, device: torch.device) -> torch.Tensor:
        cols = [torch.arange(start, start + t.shape[1], device=device) for start, t in pieces]
        return torch.cat(cols)

    def _zero_uncovered(self, out: torch.Tensor) -> None:
        covered = {o.start for o in self._uvu.outputs}
        for sl in self.irreps_out.slices():
            if sl.start not in covered and sl.stop > sl.start:
                out[:, sl].zero_()

    def _contract_chunk(self, x1: torch.Tensor, x2: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        n = x1.shape[0]
        shared = self.shared_weights
        contributions: list[list[torch.Tensor]] = [[] for _ in self._out_segments]
        class_acc: dict[int, torch.Tensor] = {}
        x1_segments = x1.split(self._in1_sizes, dim=1)
        w_pieces = w.split(self._weight_split, dim=-1) if self._weight_split else None
        for gi, g in enumerate(self._plan):
            cg = getattr(self, g.cg_name).to(x1.dtype)
            x1g = x1_segments[self._in1_index[g.in1_start]].reshape(n, g.mul1, g.dim1)
            x2g = x2 if (g.in2_start == 0 and g.in2_stop == self._dim_in2) else x2[:, g.in2_start : g.in2_stop]
            if g.fast:
                u, m = g.mul1, g.num_paths
                if w_pieces is not None:
                    wg = w_pieces[self._weight_piece[gi]]
                elif g.weight_start >= 0:
                    wg = w[..., g.weight_start : g.weight_start + m * u]
                else:
                    wg = w.index_select(-1, getattr(self, g.weight_index_name))
                # wg: [n, m, u] -> [n, u, m, 1] (or shared [u, m, 1]); y[n, u, (m, i)] = w x1
                # contiguous [n, u, m] (small) so that y below is laid out [n, u, m, i] and reshapes as a view
                if shared:
                    wg = wg.reshape(m, u).transpose(0, 1).contiguous()[None]
                else:
                    wg = wg.reshape(n, m, u).transpose(1, 2).contiguous()
                y = (wg[..., None] * x1g[:, :, None, :]).reshape(n, u, m * g.dim1)
                fast_cg = getattr(self, g.fast_cg_name).to(x1.dtype)
                gmat = torch.matmul(x2g, fast_cg).reshape(n, m * g.dim1, self._class_dims[u])
                prev = class_acc.get(u)
                class_acc[u] = torch.bmm(y, gmat) if prev is None else torch.baddbmm(prev, y, gmat)
                continue
            if g.family == "uv":
                v = g.mul2
                t = torch.matmul(x2g.reshape(n * v, g.dim2), cg)  # [n*v, d1*K]
                if v == 1:
                    t = t.reshape(n, g.dim1, g.k_total)
                else:
                    t = t.reshape(n, v, g.dim1, g.k_total).transpose(1, 2).reshape(n, g.dim1, v * g.k_total)
                z = torch.bmm(x1g, t)  # [n, u, v*K]
                z = z.reshape(n, g.mul1, v, g.k_total)
            else:
                t = torch.matmul(x2g.reshape(n * g.mul1, g.dim2), cg).reshape(n * g.mul1, g.dim1, g.k_total)
                z = torch.bmm(x1g.reshape(n * g.mul1, 1, g.dim1), t).reshape(n, g.mul1, g.k_total)
            for p in g.paths:
                zp = z[..., p.k_start : p.k_start + p.dim_out]
                if p.has_weight:
                    size = _prod(p.path_shape)
                    if shared:
                        wp = w[p.weight_offset : p.weight_offset + size].reshape(p.path_shape)
                    else:
                        wp = w[:, p.weight_offset : p.weight_offset + size].reshape((n,) + p.path_shape)
                else:
                    wp = None
                contributions[p.i_out].append(self._apply_path(p, zp, wp, shared, n))
        if self._single_class_perm:
            (acc,) = class_acc.values()
            return acc.reshape(n, acc.shape[1] * acc.shape[2]).index_select(1, getattr(self, self._single_class_perm))
        outs = []
        for i, ((mul, d), terms) in enumerate(zip(self._out_segments, contributions)):
            if mul * d == 0:
                continue
            acc = class_acc.get(mul)
            if acc is not None:
                pos = self._seg_pos[i]
                terms = [acc[:, :, pos : pos + d]] + terms
            if terms:
                total = terms[0]
                for t in terms[1:]:
                    total = total + t
                outs.append(total.reshape(n, mul * d))
            else:
                outs.append(x1.new_zeros(n, mul * d))
        if not outs:
            return x1.new_zeros(n, 0)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)

    @staticmethod
    def _apply_path(p: _Path, zp: torch.Tensor, wp: torch.Tensor | None, shared: bool, n: int) -> torch.Tensor:
        mode = p.mode
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
            if wp is None:
                return zp
            return zp * wp[..., None]
        # uuw
        if wp is None:
            return zp.sum(1, keepdim=True)
        return torch.einsum("zuk,uw->zwk" if shared else "zuk,zuw->zwk", zp, wp)


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

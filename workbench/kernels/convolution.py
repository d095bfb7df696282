"""Fused equivariant convolution: gather, spherical harmonics, ``uvu`` tensor product, scatter-sum -- one kernel.

For edges ``e = (s -> r)`` (``edge_index[0] = s`` senders, ``edge_index[1] = r`` receivers, PyG convention):

    out[r] = sum_{e: receiver(e) = r} TP(x[s(e)], Y(vec_e), w_e)

with ``Y`` the spherical harmonics of the edge vector (:mod:`.spherical_harmonics`, the ``ls`` of
``spec.irreps_in2``, each with multiplicity 1 and parity ``(-1)^l``) and ``TP`` the ``uvu`` product of
:mod:`.tensor_product` with per-edge weights ``w_e`` (e.g. a radial MLP of the edge length).

Two variants of the same generated kernels:

- ``deterministic=False`` (atomic): a program per block of edges and channel tile; messages are added to the
  receivers with ``tl.atomic_add`` (summation order not fixed between runs on a GPU).
- ``deterministic=True`` (sorted receivers): edges are visited in receiver order through a CSR segment per node
  (:class:`ConvGraph`); a program owns a node and a channel tile, sums its segment in registers and writes once.
  The backward visits edges in sender order the same way, so both passes are bitwise reproducible.

Forward: the kernel computes ``Y(vec_e)`` in registers, never storing it. Backward (first order): one kernel
produces ``grad x`` (atomics or sender segments), ``grad w`` and per-tile partial ``grad Y``; the partial sums are
added and :func:`.spherical_harmonics.spherical_harmonics_triton_backward` maps ``grad Y`` to ``grad vec``.

Double backward (``create_graph=True``, e.g. training on forces) is an autograd composition, not a kernel: the
backward then recomputes the convolution as ``index_add(receivers, UVUTensorProductFunction(x[senders],
Y_ref(vec), w))`` -- Triton tensor products (differentiable to any order), torch-reference spherical harmonics
and torch gather/scatter -- and differentiates that with ``create_graph=True``. It is the same function, so the
derivatives are exact; it is checked by ``gradgradcheck`` in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch

from workbench.checks import check_tensor

from ._codegen import Source, compile_kernel, tl_dtype
from ._irreps import KERNEL_DTYPES, irreps_offsets, irreps_str
from .dispatch import resolve_backend
from .spherical_harmonics import (
    emit_sh_forward,
    normalization_factor,
    spherical_harmonics_reference,
    spherical_harmonics_triton_backward,
)
from .tensor_product import (
    UVUSpec,
    UVUTensorProductFunction,
    _used_in1,
    default_blocks,
    emit_backward_body,
    emit_forward_body,
    emit_masks_and_x1,
    emit_output_pointers,
    uvu_tensor_product_reference,
)


@dataclass(frozen=True)
class ConvGraph:
    """Edge index prepared for the kernels (build it once per graph with :func:`prepare_graph`).

    ``sender``/``receiver``: ``[E]`` int64; ``receiver_perm``: edge ids sorted by receiver (stable) and
    ``receiver_ptr`` ``[N+1]`` its CSR offsets; ``sender_perm``/``sender_ptr`` likewise for senders.
    """

    sender: torch.Tensor
    receiver: torch.Tensor
    num_nodes: int
    receiver_perm: torch.Tensor
    receiver_ptr: torch.Tensor
    sender_perm: torch.Tensor
    sender_ptr: torch.Tensor


def _csr(index: torch.Tensor, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor]:
    perm = torch.argsort(index, stable=True)
    counts = torch.bincount(index, minlength=num_nodes)
    ptr = torch.zeros(num_nodes + 1, dtype=torch.int64, device=index.device)
    ptr[1:] = torch.cumsum(counts, 0)
    return perm, ptr


def prepare_graph(edge_index: torch.Tensor, num_nodes: int, check: bool = True) -> ConvGraph:
    """Validate ``edge_index`` ``[2, E]`` (integer, values in ``0..num_nodes-1``) and build a :class:`ConvGraph`.

    ``check=False`` skips the range check (which synchronizes a GPU).
    """
    check_tensor(edge_index, "edge_index", shape=(2, "E"), dtype=(torch.int32, torch.int64))
    if not isinstance(num_nodes, int) or isinstance(num_nodes, bool) or num_nodes < 0:
        raise ValueError(f"num_nodes must be a non-negative int, got {num_nodes!r}")
    edge_index = edge_index.to(torch.int64)
    if check and edge_index.numel() > 0:
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= num_nodes:
            raise ValueError(f"edge_index values must lie in 0..{num_nodes - 1}, got range {low}..{high}")
    sender, receiver = edge_index[0].contiguous(), edge_index[1].contiguous()
    receiver_perm, receiver_ptr = _csr(receiver, num_nodes)
    sender_perm, sender_ptr = _csr(sender, num_nodes)
    return ConvGraph(sender, receiver, num_nodes, receiver_perm, receiver_ptr, sender_perm, sender_ptr)


def sh_ls(spec: UVUSpec) -> tuple[int, ...]:
    """The ``ls`` of ``spec.irreps_in2``; raises unless it is spherical harmonics (``1x0e+1x1o+1x2e...``)."""
    bad = [(m, l, p) for m, l, p in spec.irreps_in2 if m != 1 or p != (-1) ** l]
    if bad:
        raise ValueError(
            "the convolution's irreps_in2 must be spherical harmonics, each term 1x with parity (-1)^l "
            f"(e.g. '0e+1o+2e+3o'), got {irreps_str(spec.irreps_in2)}"
        )
    return tuple(l for _, l, _ in spec.irreps_in2)


def _emit_sh_columns(src: Source, spec: UVUSpec, normalize: bool, normalization: str, e64: str, mask: str,
                     dtype: str) -> None:
    """Load the edge vectors and define ``b{b}_0_{j}`` (``[BLOCK, 1]``) = normalized ``Y^l_j``."""
    ls = sh_ls(spec)
    for c, n in enumerate(("vx", "vy", "vz")):
        src(f"{n} = tl.load(vec_ptr + {e64} * 3 + {c}, mask={mask}, other=1.0).to({dtype})")
    emit_sh_forward(src, max(ls), normalize, "vx", "vy", "vz")
    used = {p.i_in2 for p in spec.paths}
    for b, l in enumerate(ls):
        if b not in used:
            continue
        factor = normalization_factor(l, normalization)
        for j in range(2 * l + 1):
            scale = "" if factor == 1.0 else f"{factor!r} * "
            src(f"b{b}_0_{j} = ({scale}sh{l}_{j})[:, None]")


def _emit_edge_rows(src: Source, spec: UVUSpec, sorted_by: str | None) -> None:
    """Define ``e64`` (edge ids), ``emask``, ``send64``, ``recv64`` for the current block of edges."""
    if sorted_by is None:
        src("pos = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)")
        src("emask = pos < E")
        src("e64 = pos.to(tl.int64)")
    else:
        src("pos = p0 + tl.arange(0, BLOCK)")
        src("emask = pos < seg_end")
        src("e64 = tl.load(perm_ptr + pos, mask=emask, other=0).to(tl.int64)")
    src("send64 = tl.load(send_ptr + e64, mask=emask, other=0).to(tl.int64)")
    src("recv64 = tl.load(recv_ptr + e64, mask=emask, other=0).to(tl.int64)")
    src(f"x1_row = x_ptr + send64[:, None] * {spec.dim_in1}")
    src(f"w_row = w_ptr + e64[:, None] * {spec.weight_numel}")


def _segment_loop(src: Source) -> None:
    src("node = tl.program_id(0)")
    src("seg_start = tl.load(ptr_ptr + node)")
    src("seg_end = tl.load(ptr_ptr + node + 1)")
    src("for p0 in range(seg_start, seg_end, BLOCK):")
    src.indent()


@cache
def conv_source(spec: UVUSpec, dtype: torch.dtype, normalize: bool, normalization: str, deterministic: bool,
                backward: bool) -> str:
    """Source of the fused convolution kernel ``conv_fwd`` / ``conv_bwd`` for one configuration."""
    dt = tl_dtype(dtype)
    src = Source()
    common = "x_ptr, vec_ptr, w_ptr, send_ptr, recv_ptr, perm_ptr, ptr_ptr"
    if backward:
        src(f"def conv_bwd({common}, g_ptr, gx_ptr, gw_ptr, gsh_ptr, E, BLOCK: tl.constexpr, BLOCK_U: tl.constexpr):")
    else:
        src(f"def conv_fwd({common}, out_ptr, E, BLOCK: tl.constexpr, BLOCK_U: tl.constexpr):")
    src.indent()
    src("u = tl.program_id(1) * BLOCK_U + tl.arange(0, BLOCK_U)")
    used1 = _used_in1(spec)
    off1 = irreps_offsets(spec.irreps_in1)
    outputs = emit_output_pointers(spec)
    if deterministic:
        if backward:
            for a in used1:
                for i in range(2 * spec.irreps_in1[a][1] + 1):
                    src(f"acc{a}_{i} = tl.zeros((BLOCK_U,), dtype={dt})")
        else:
            for c, k, _ in outputs:
                src(f"acc{c}_{k} = tl.zeros((BLOCK_U,), dtype={dt})")
        _segment_loop(src)
    _emit_edge_rows(src, spec, "node" if deterministic else None)
    emit_masks_and_x1(src, spec, "x1_row", "emask")
    _emit_sh_columns(src, spec, normalize, normalization, "e64", "emask", dt)
    if not backward:
        emit_forward_body(src, spec, "w_row", dt)
        for c, k, off in outputs:
            if deterministic:
                src(f"acc{c}_{k} += tl.sum(o{c}_{k}, axis=0)")
            else:
                src(f"tl.atomic_add(out_ptr + recv64[:, None] * {spec.dim_out} + {off}, o{c}_{k}, mask=mo_{c})")
        if deterministic:
            src.dedent()
            src("node64 = node.to(tl.int64)")
            offo = irreps_offsets(spec.irreps_out)
            for c, k, _ in outputs:
                mul, l, _ = spec.irreps_out[c]
                src(f"tl.store(out_ptr + node64 * {spec.dim_out} + {offo[c]} + u * {2 * l + 1} + {k}, acc{c}_{k}, "
                    f"mask=u < {mul})")
        return src.text()
    src(f"g_row = g_ptr + recv64[:, None] * {spec.dim_out}")
    src(f"gw_row = gw_ptr + e64[:, None] * {spec.weight_numel}")
    emit_backward_body(src, spec, "w_row", "gw_row", "g_row", dt)
    for a in used1:
        d = 2 * spec.irreps_in1[a][1] + 1
        for i in range(d):
            off = f"({off1[a]} + u[None, :] * {d} + {i})"
            if deterministic:
                src(f"acc{a}_{i} += tl.sum(ga{a}_{i}, axis=0)")
            else:
                src(f"tl.atomic_add(gx_ptr + send64[:, None] * {spec.dim_in1} + {off}, ga{a}_{i}, mask=m1_{a})")
    src(f"gsh_row = gsh_ptr + tl.program_id(1).to(tl.int64) * E * {spec.dim_in2} + e64 * {spec.dim_in2}")
    off2 = irreps_offsets(spec.irreps_in2)
    for b in sorted({p.i_in2 for p in spec.paths}):
        for j in range(2 * spec.irreps_in2[b][1] + 1):
            src(f"tl.store(gsh_row + {off2[b] + j}, tl.sum(gb{b}_0_{j}, axis=1), mask=emask)")
    if deterministic:
        src.dedent()
        src("node64 = node.to(tl.int64)")
        for a in used1:
            mul, l, _ = spec.irreps_in1[a]
            d = 2 * l + 1
            for i in range(d):
                src(f"tl.store(gx_ptr + node64 * {spec.dim_in1} + {off1[a]} + u * {d} + {i}, acc{a}_{i}, "
                    f"mask=u < {mul})")
    return src.text()


def _launch(spec, x, vec, w, graph: ConvGraph, normalize, normalization, deterministic, grad=None):
    n, e = x.shape[0], vec.shape[0]
    block, block_u = default_blocks(spec, rows_per_tile=128)
    if deterministic:
        block = min(block, 16)
    tiles = (spec.max_mul + block_u - 1) // block_u
    backward = grad is not None
    kernel = compile_kernel(conv_source(spec, x.dtype, normalize, normalization, deterministic, backward),
                            "conv_bwd" if backward else "conv_fwd")
    perm, ptr = ((graph.sender_perm, graph.sender_ptr) if backward else (graph.receiver_perm, graph.receiver_ptr))
    grid = (n if deterministic else (e + block - 1) // block, tiles)
    args = (x.contiguous(), vec.contiguous(), w.contiguous(), graph.sender, graph.receiver, perm, ptr)
    if not backward:
        out = (torch.empty if deterministic else torch.zeros)(n, spec.dim_out, dtype=x.dtype, device=x.device)
        if grid[0] > 0 and e > 0:
            kernel[grid](*args, out, e, BLOCK=block, BLOCK_U=block_u)
        elif deterministic:
            out.zero_()
        return out
    gx = (torch.empty if deterministic else torch.zeros)(n, spec.dim_in1, dtype=x.dtype, device=x.device)
    gw = torch.empty(e, spec.weight_numel, dtype=x.dtype, device=x.device)
    gsh = torch.zeros(tiles, e, spec.dim_in2, dtype=x.dtype, device=x.device)
    if grid[0] > 0 and e > 0:
        kernel[grid](*args, grad.contiguous(), gx, gw, gsh, e, BLOCK=block, BLOCK_U=block_u)
    elif deterministic:
        gx.zero_()
    used = set(_used_in1(spec))
    for a, off in enumerate(irreps_offsets(spec.irreps_in1)):
        if a not in used:
            mul, l, _ = spec.irreps_in1[a]
            gx[:, off: off + mul * (2 * l + 1)] = 0
    return gx, gw, gsh.sum(0)


def _composition(spec, x, vec, w, graph, normalize, normalization):
    sh = spherical_harmonics_reference(sh_ls(spec), vec, normalize, normalization)
    messages = UVUTensorProductFunction.apply(x.index_select(0, graph.sender), sh, w, spec)
    return x.new_zeros(graph.num_nodes, spec.dim_out).index_add(0, graph.receiver, messages)


class FusedConvolutionFunction(torch.autograd.Function):
    """Autograd wrapper of the fused kernels (see the module docstring for how each order is computed)."""

    @staticmethod
    def forward(ctx, x, vec, w, spec, graph, normalize, normalization, deterministic):
        ctx.save_for_backward(x, vec, w)
        ctx.config = (spec, graph, normalize, normalization, deterministic)
        return _launch(spec, x, vec, w, graph, normalize, normalization, deterministic)

    @staticmethod
    def backward(ctx, grad):
        x, vec, w = ctx.saved_tensors
        spec, graph, normalize, normalization, deterministic = ctx.config
        nones = (None,) * 5
        if torch.is_grad_enabled():  # create_graph=True: differentiate the (differentiable) composition
            with torch.enable_grad():
                # Differentiate w.r.t. fresh aliases, not the saved tensors themselves: in a model the inputs
                # depend on each other upstream (edge weights are a radial MLP of |vec|), and autograd.grad w.r.t.
                # vec would also count the path vec -> w -> out, which the outer graph already counts through w.
                # The aliases keep the result connected to x, vec, w for the next order of differentiation.
                x, vec, w = (t.view_as(t) for t in (x, vec, w))
                inputs = [t for t, need in zip((x, vec, w), ctx.needs_input_grad[:3]) if need]
                out = _composition(spec, x, vec, w, graph, normalize, normalization)
                grads = iter(torch.autograd.grad(out, inputs, grad, create_graph=True, allow_unused=True))
            return (*(next(grads) if need else None for need in ctx.needs_input_grad[:3]), *nones)
        gx, gw, gsh = _launch(spec, x, vec, w, graph, normalize, normalization, deterministic, grad=grad)
        gvec = None
        if ctx.needs_input_grad[1]:
            gvec = spherical_harmonics_triton_backward(sh_ls(spec), vec, gsh, normalize, normalization)
        return gx, gvec, gw, *nones


def fused_convolution_reference(
    x: torch.Tensor, edge_vectors: torch.Tensor, edge_weights: torch.Tensor, edge_index: torch.Tensor | ConvGraph,
    spec: UVUSpec, normalize: bool = True, normalization: str = "component",
) -> torch.Tensor:
    """Pure-torch convolution (gather, spherical harmonics, ``uvu`` product, ``index_add``), ``[N, dim_out]``."""
    graph = edge_index if isinstance(edge_index, ConvGraph) else prepare_graph(edge_index, x.shape[0])
    sh = spherical_harmonics_reference(sh_ls(spec), edge_vectors, normalize, normalization)
    messages = uvu_tensor_product_reference(spec, x.index_select(0, graph.sender), sh, edge_weights)
    return x.new_zeros(graph.num_nodes, spec.dim_out).index_add(0, graph.receiver, messages)


def fused_convolution(
    x: torch.Tensor,
    edge_vectors: torch.Tensor,
    edge_weights: torch.Tensor,
    edge_index: torch.Tensor | ConvGraph,
    spec: UVUSpec,
    *,
    normalize: bool = True,
    normalization: str = "component",
    deterministic: bool = False,
    backend: str = "auto",
) -> torch.Tensor:
    """Equivariant convolution ``out[r] = sum_{s->r} TP(x[s], Y(vec), w)`` (module docstring), ``[N, dim_out]``.

    Args:
        x: node features ``[N, spec.dim_in1]`` (float32/float64).
        edge_vectors: ``[E, 3]`` (e.g. ``pos[receiver] - pos[sender]``, whichever convention the model uses).
        edge_weights: ``[E, spec.weight_numel]`` per-edge path weights (e3nn layout).
        edge_index: ``[2, E]`` int tensor (row 0 senders, row 1 receivers) or a :class:`ConvGraph` from
            :func:`prepare_graph` (reuse it across layers to avoid re-sorting).
        spec: a :class:`UVUSpec` whose ``irreps_in2`` are spherical harmonics (``"0e+1o+2e+3o"``).
        normalize, normalization: spherical-harmonics options (as :func:`.spherical_harmonics.spherical_harmonics`).
        deterministic: sorted-receiver (CSR) kernels instead of atomics.
        backend: ``"auto"`` | ``"triton"`` | ``"torch"``.
    """
    if not isinstance(spec, UVUSpec):
        raise TypeError(f"spec must be a UVUSpec (see uvu_spec), got {type(spec).__name__}")
    sh_ls(spec)
    check_tensor(x, "x", shape=("N", spec.dim_in1), dtype=KERNEL_DTYPES, hint=irreps_str(spec.irreps_in1))
    check_tensor(edge_vectors, "edge_vectors", shape=("E", 3), dtype=KERNEL_DTYPES)
    check_tensor(edge_weights, "edge_weights", shape=("E", spec.weight_numel), dtype=KERNEL_DTYPES)
    if edge_vectors.shape[0] != edge_weights.shape[0]:
        raise ValueError(f"edge_vectors and edge_weights need one row per edge, got {edge_vectors.shape[0]} and "
                         f"{edge_weights.shape[0]}")
    if not x.dtype == edge_vectors.dtype == edge_weights.dtype:
        raise ValueError("x, edge_vectors and edge_weights must share a dtype")
    normalization_factor(0, normalization)
    graph = edge_index if isinstance(edge_index, ConvGraph) else prepare_graph(edge_index, x.shape[0])
    if graph.num_nodes != x.shape[0] or graph.sender.shape[0] != edge_vectors.shape[0]:
        raise ValueError(f"graph has {graph.num_nodes} nodes and {graph.sender.shape[0]} edges, but x has "
                         f"{x.shape[0]} rows and edge_vectors {edge_vectors.shape[0]}")
    if resolve_backend(backend, x.device) == "torch":
        return fused_convolution_reference(x, edge_vectors, edge_weights, graph, spec, normalize, normalization)
    return FusedConvolutionFunction.apply(x, edge_vectors, edge_weights, spec, graph, normalize, normalization,
                                          deterministic)

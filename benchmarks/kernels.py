"""Benchmark of workbench.kernels (Triton) against e3nn, cuEquivariance and OpenEquivariance on a CUDA GPU.

    python benchmarks/kernels.py [--rows 50000] [--nodes 10000] [--quick]

Rows: OpenEquivariance's channelwise ("uvu") configurations -- mace-large, mace-medium, nequip-benzene
(revMD17 benzene), nequip-water -- with every allowed path into the listed outputs and per-row weights, forward
and forward+backward; and the fused convolution (atomic and deterministic) on a synthetic radius graph
(uniform random points, radius chosen for an average degree of about 20), forward and forward+backward.

Columns: median ms (CUDA events, after warm-up); achieved GB/s by a fixed byte model and its % of the device
copy bandwidth measured in the same run (``torch`` device-to-device copy of 256 MiB); speedup against e3nn eager
and e3nn under ``torch.compile``; time ratio against cuEquivariance and OpenEquivariance when they are installed
(the ``cue_status``/``oeq_status`` columns say what ran); max error against float64 e3nn relative to the largest
reference magnitude.

Byte model (compulsory traffic, float32, each tensor counted once): tensor product forward reads x1, x2, w and
writes out, ``4 * Z * (dim1 + dim2 + W + dim_out)``; forward+backward adds reading out-grad and writing the
three input grads, ``4 * Z * (2 * (dim1 + dim2 + W) + 2 * dim_out)``. Convolution forward reads node features
once, edge vectors, weights and both index rows, writes node outputs: ``4 * (N * dim1 + E * (3 + W) + N *
dim_out) + 16 * E``; forward+backward adds the out-grad read and the x / w / vector grads written.

Without CUDA it prints that a GPU is required, runs a tiny correctness smoke check of the kernels in Triton's
interpreter (so ``make bench`` works on CPU machines) and exits 0 (1 if the smoke check fails).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results" / "kernels.csv"

TP_CONFIGS = [
    ("mace-large", "128x0e+128x1o+128x2e", "0e+1o+2e+3o", "128x0e+128x1o+128x2e+128x3o"),
    ("mace-medium", "128x0e+128x1o", "0e+1o+2e+3o", "128x0e+128x1o+128x2e"),
    ("nequip-benzene", "64x0o+64x0e+64x1o+64x1e+64x2o+64x2e+64x3o+64x3e", "0e+1o+2e+3o",
     "64x0o+64x0e+64x1o+64x1e+64x2o+64x2e+64x3o+64x3e"),
    ("nequip-water", "32x0o+32x0e+32x1o+32x1e", "0e+1o", "32x0o+32x0e+32x1o+32x1e"),
]
CONV_CONFIGS = [("conv-mace-medium", *TP_CONFIGS[1][1:]), ("conv-nequip-water", *TP_CONFIGS[3][1:])]


# ------------------------------------------------------------------------------------------------ CPU smoke test
def cpu_smoke_check() -> int:
    """Tiny interpreter run of every kernel against its torch reference; returns a process exit code."""
    import importlib.util

    if importlib.util.find_spec("triton") is None:
        print("triton is not installed: skipping the interpreter smoke check")
        return 0
    os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported (workbench.kernels imports it lazily)
    from workbench import kernels as K

    gen = torch.Generator().manual_seed(0)
    spec = K.uvu_spec("3x0e+2x1o", "0e+1o+2e", "3x0e+2x1o+2x2e")
    x1, x2, w = (torch.randn(5, d, generator=gen) for d in (spec.dim_in1, spec.dim_in2, spec.weight_numel))
    errors = {"tp": (K.uvu_tensor_product(x1, x2, w, spec, backend="triton")
                     - K.uvu_tensor_product_reference(spec, x1, x2, w)).abs().max().item()}
    vec = torch.randn(12, 3, generator=gen)
    errors["sh"] = (K.spherical_harmonics([0, 1, 2, 3, 4, 5, 6], vec, backend="triton")
                    - K.spherical_harmonics_reference([0, 1, 2, 3, 4, 5, 6], vec)).abs().max().item()
    x = torch.randn(4, spec.dim_in1, generator=gen)
    wc = torch.randn(12, spec.weight_numel, generator=gen)
    edge_index = torch.randint(0, 4, (2, 12), generator=gen)
    ref = K.fused_convolution_reference(x, vec, wc, edge_index, spec)
    for deterministic in (False, True):
        out = K.fused_convolution(x, vec, wc, edge_index, spec, deterministic=deterministic, backend="triton")
        errors[f"conv(deterministic={deterministic})"] = (out - ref).abs().max().item()
    ok = all(e <= 1e-5 for e in errors.values())
    print("interpreter smoke check:", ", ".join(f"{k} max err {v:.1e}" for k, v in errors.items()),
          "->", "OK" if ok else "FAILED")
    return 0 if ok else 1


# ------------------------------------------------------------------------------------------------------ timing
def cuda_time_ms(fn, warmup: int = 5, repeat: int = 20) -> float:
    """Median milliseconds of ``fn()`` by CUDA events after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def copy_bandwidth_gbs() -> float:
    """Device-to-device copy bandwidth (read + write bytes per second) of a 256 MiB buffer."""
    src = torch.empty(64 * 2**20, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    ms = cuda_time_ms(lambda: dst.copy_(src), warmup=3, repeat=20)
    return 2 * src.numel() * 4 / (ms * 1e-3) / 1e9


def _fwd_bwd(fn, inputs):
    def run():
        out = fn(*inputs)
        torch.autograd.grad(out, inputs, torch.ones_like(out))
    return run


def time_mode(fn, inputs: list[torch.Tensor], mode: str) -> float:
    """Median ms of ``fn(*inputs)`` (``mode="forward"``, no autograd graph) or of forward + backward; NaN if None."""
    if fn is None:
        return math.nan
    if mode == "forward":
        with torch.no_grad():
            return cuda_time_ms(lambda: fn(*inputs))
    return cuda_time_ms(_fwd_bwd(fn, inputs))


def _relative_error(out: torch.Tensor, reference: torch.Tensor) -> float:
    return ((out.double() - reference).abs().max() / reference.abs().max().clamp_min(1e-30)).item()


def _e3nn_tp(o3, i1, i2, io, spec, dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        return o3.TensorProduct(i1, i2, io, [(p.i_in1, p.i_in2, p.i_out, "uvu", True) for p in spec.paths],
                                internal_weights=False, shared_weights=False).cuda()
    finally:
        torch.set_default_dtype(previous)


def _cue_tp(i1, i2, io, spec):
    """cuEquivariance's channelwise tensor product for the same paths, or (None, status)."""
    try:
        import cuequivariance as cue
        import cuequivariance_torch as cuet
    except ImportError:
        return None, "not installed"
    try:
        tp = cuet.ChannelWiseTensorProduct(cue.Irreps("O3", i1), cue.Irreps("O3", i2), filter_irreps_out=cue.Irreps(
            "O3", io), layout=cue.mul_ir, shared_weights=False, internal_weights=False, device="cuda")
        return tp, f"cuequivariance_torch {getattr(cuet, '__version__', '?')} ChannelWiseTensorProduct"
    except Exception as exc:  # noqa: BLE001 - record why the peer could not run
        return None, f"failed: {type(exc).__name__}: {exc}"[:200]


def _oeq_tp(i1, i2, io, spec):
    """OpenEquivariance's TensorProduct for the same instructions, or (None, status)."""
    try:
        import openequivariance as oeq
    except ImportError:
        return None, "not installed"
    try:
        problem = oeq.TPProblem(i1, i2, io, [(p.i_in1, p.i_in2, p.i_out, "uvu", True) for p in spec.paths],
                                shared_weights=False, internal_weights=False)
        return oeq.TensorProduct(problem), f"openequivariance {getattr(oeq, '__version__', '?')} TensorProduct"
    except Exception as exc:  # noqa: BLE001
        return None, f"failed: {type(exc).__name__}: {exc}"[:200]


def bench_tensor_products(rows: int, copy_bw: float, quick: bool) -> list[dict]:
    from e3nn import o3

    from workbench import kernels as K

    records = []
    for name, i1, i2, io in TP_CONFIGS[:2] if quick else TP_CONFIGS:
        spec = K.uvu_spec(i1, i2, io)
        gen = torch.Generator(device="cuda").manual_seed(0)
        inputs = [torch.randn(rows, d, device="cuda", generator=gen).requires_grad_()
                  for d in (spec.dim_in1, spec.dim_in2, spec.weight_numel)]
        ours = lambda a, b, c, spec=spec: K.uvu_tensor_product(a, b, c, spec, backend="triton")
        e3nn_tp = _e3nn_tp(o3, i1, i2, io, spec, torch.float32)
        e3nn_compiled = torch.compile(e3nn_tp)
        reference = _e3nn_tp(o3, i1, i2, io, spec, torch.float64)(*(t.detach().double() for t in inputs))
        error = _relative_error(ours(*inputs), reference)
        cue, cue_status = _cue_tp(i1, i2, io, spec)
        oeq, oeq_status = _oeq_tp(i1, i2, io, spec)
        d1, d2, dw, do = spec.dim_in1, spec.dim_in2, spec.weight_numel, spec.dim_out
        for mode, nbytes in (("forward", 4 * rows * (d1 + d2 + dw + do)),
                             ("forward+backward", 4 * rows * (2 * (d1 + d2 + dw) + 2 * do))):
            ms = time_mode(ours, inputs, mode)
            e3nn_ms, compiled_ms = time_mode(e3nn_tp, inputs, mode), time_mode(e3nn_compiled, inputs, mode)
            cue_ms, oeq_ms = time_mode(cue, inputs, mode), time_mode(oeq, inputs, mode)
            gbs = nbytes / (ms * 1e-3) / 1e9
            records.append(dict(
                benchmark=name, operation="uvu tensor product", mode=mode, rows=rows, ms=ms, gb_per_s=gbs,
                pct_copy_bw=100 * gbs / copy_bw, speedup_vs_e3nn=e3nn_ms / ms, speedup_vs_e3nn_compile=compiled_ms / ms,
                ratio_vs_cue=ms / cue_ms, cue_status=cue_status, ratio_vs_oeq=ms / oeq_ms, oeq_status=oeq_status,
                rel_err_vs_e3nn_fp64=error,
            ))
            print(records[-1], flush=True)
    return records


def radius_graph(nodes: int, degree: float = 20.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Uniform points in a unit cube, radius for ``degree`` neighbours on average: ``(edge_index, edge_vec)``."""
    gen = torch.Generator(device="cuda").manual_seed(seed)
    pos = torch.rand(nodes, 3, device="cuda", generator=gen)
    radius = (3 * degree / (4 * math.pi * nodes)) ** (1 / 3)
    senders, receivers = [], []
    for start in range(0, nodes, 4096):
        d = torch.cdist(pos[start: start + 4096], pos)
        r, s = torch.nonzero((d < radius) & (d > 0), as_tuple=True)
        senders.append(s)
        receivers.append(r + start)
    edge_index = torch.stack([torch.cat(senders), torch.cat(receivers)])
    return edge_index, pos[edge_index[1]] - pos[edge_index[0]]


def bench_convolutions(nodes: int, copy_bw: float) -> list[dict]:
    from e3nn import o3

    from workbench import kernels as K

    records = []
    edge_index, vec = radius_graph(nodes)
    edges = edge_index.shape[1]
    print(f"radius graph: {nodes} nodes, {edges} edges, mean degree {edges / nodes:.1f}", flush=True)
    graph = K.prepare_graph(edge_index, nodes)
    for name, i1, i2, io in CONV_CONFIGS:
        spec = K.uvu_spec(i1, i2, io)
        gen = torch.Generator(device="cuda").manual_seed(1)
        x = torch.randn(nodes, spec.dim_in1, device="cuda", generator=gen).requires_grad_()
        w = torch.randn(edges, spec.weight_numel, device="cuda", generator=gen).requires_grad_()
        v = vec.clone().requires_grad_()
        inputs = [x, v, w]
        e3nn_tp = _e3nn_tp(o3, i1, i2, io, spec, torch.float32)

        def e3nn_conv(a, b, c, tp=e3nn_tp, sh_irreps=i2):
            sh = o3.spherical_harmonics(sh_irreps, b, True, normalization="component")
            messages = tp(a[edge_index[0]], sh, c)
            return a.new_zeros(nodes, messages.shape[1]).index_add(0, edge_index[1], messages)

        compiled = torch.compile(e3nn_conv)
        tp64 = _e3nn_tp(o3, i1, i2, io, spec, torch.float64)
        reference = e3nn_conv(*(t.detach().double() for t in inputs), tp=tp64)
        d1, dw, do = spec.dim_in1, spec.weight_numel, spec.dim_out
        fwd_bytes = 4 * (nodes * d1 + edges * (3 + dw) + nodes * do) + 16 * edges
        bwd_bytes = fwd_bytes + 4 * (nodes * do + nodes * d1 + edges * (dw + 3))
        for deterministic in (False, True):
            ours = lambda a, b, c, spec=spec, det=deterministic: K.fused_convolution(
                a, b, c, graph, spec, deterministic=det, backend="triton")
            error = _relative_error(ours(*inputs), reference)
            for mode, nbytes in (("forward", fwd_bytes), ("forward+backward", bwd_bytes)):
                ms = time_mode(ours, inputs, mode)
                e3nn_ms, compiled_ms = time_mode(e3nn_conv, inputs, mode), time_mode(compiled, inputs, mode)
                gbs = nbytes / (ms * 1e-3) / 1e9
                records.append(dict(
                    benchmark=name, operation=f"fused conv ({'sorted' if deterministic else 'atomic'})", mode=mode,
                    rows=edges, ms=ms, gb_per_s=gbs, pct_copy_bw=100 * gbs / copy_bw, speedup_vs_e3nn=e3nn_ms / ms,
                    speedup_vs_e3nn_compile=compiled_ms / ms, ratio_vs_cue=math.nan,
                    cue_status="not measured (no fused conv wrapper here)", ratio_vs_oeq=math.nan,
                    oeq_status="not measured", rel_err_vs_e3nn_fp64=error,
                ))
                print(records[-1], flush=True)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows (edges) for the tensor products")
    parser.add_argument("--nodes", type=int, default=10_000, help="nodes of the synthetic radius graph")
    parser.add_argument("--quick", action="store_true", help="only mace-large and mace-medium tensor products")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("benchmarks/kernels.py: CUDA is required for the GPU measurements; none is available here.")
        return cpu_smoke_check()
    import pandas as pd

    copy_bw = copy_bandwidth_gbs()
    print(f"device: {torch.cuda.get_device_name()}, measured copy bandwidth {copy_bw:.0f} GB/s", flush=True)
    records = bench_tensor_products(args.rows, copy_bw, args.quick)
    records += bench_convolutions(args.nodes, copy_bw)
    frame = pd.DataFrame(records)
    frame.insert(0, "device", torch.cuda.get_device_name())
    frame["copy_bw_gbs"] = copy_bw
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(RESULTS, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(frame[["benchmark", "operation", "mode", "ms", "gb_per_s", "pct_copy_bw", "speedup_vs_e3nn",
                     "speedup_vs_e3nn_compile", "ratio_vs_cue", "ratio_vs_oeq", "rel_err_vs_e3nn_fp64"]])
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

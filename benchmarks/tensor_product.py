"""Benchmark: workbench.nn.TensorProduct vs e3nn 0.6 o3.TensorProduct (eager), on CPU, in one run.

Cases (uvu, per-edge weights, every path allowed by the selection rules, NequIP/MACE convolution):
  (a) 32x0e+32x1o+32x2e x 0e+1o+2e+3o -> 32x0e+32x1o+32x2e, 20,000 edges
  (b) 128x0e+128x1o x 0e+1o+2e+3o -> 128x0e+128x1o+128x2e, 5,000 edges (MACE-medium)
Forward and forward+backward (gradients w.r.t. both inputs and the weights); the two libraries are timed
interleaved (ours, e3nn, ours, e3nn, ...) after warm-up, and the median is reported. e3nn's weights are the
same tensor, and the outputs are compared (max abs error column). Writes benchmarks/results/tensor_product.csv,
with the 1-minute load average at the end of each case (the timings are only comparable on a quiet machine).
Both libraries run eager (no torch.compile). Ours takes the output-major uvu path of workbench.nn.TensorProduct.

Usage: python benchmarks/tensor_product.py [--repeats 7] [--threads N] [--dtype float32]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from workbench.groups import o3
from workbench.nn import TensorProduct

CASES = {
    "a": ("32x0e+32x1o+32x2e", "0e+1o+2e+3o", "32x0e+32x1o+32x2e", 20_000),
    "b": ("128x0e+128x1o", "0e+1o+2e+3o", "128x0e+128x1o+128x2e", 5_000),
}


def uvu_instructions(irreps1: o3.Irreps, irreps2: o3.Irreps, irreps_out: o3.Irreps) -> list[tuple]:
    return [
        (i1, i2, io, "uvu", True)
        for i1, (_, ir1) in enumerate(irreps1)
        for i2, (_, ir2) in enumerate(irreps2)
        for io, (_, iro) in enumerate(irreps_out)
        if iro in ir1 * ir2
    ]


def run_case(name: str, repeats: int, dtype: torch.dtype) -> list[dict]:
    import e3nn.o3 as e3o

    s1, s2, so, edges = CASES[name]
    i1, i2, io = o3.Irreps(s1), o3.Irreps(s2), o3.Irreps(so)
    ins = uvu_instructions(i1, i2, io)
    ours = TensorProduct(s1, s2, so, ins, shared_weights=False, internal_weights=False).to(dtype)
    ref = e3o.TensorProduct(s1, s2, so, ins, shared_weights=False, internal_weights=False).to(dtype)
    gen = torch.Generator().manual_seed(0)
    x1 = torch.randn(edges, i1.dim, generator=gen, dtype=dtype)
    x2 = torch.randn(edges, i2.dim, generator=gen, dtype=dtype)
    w = torch.randn(edges, ours.weight_numel, generator=gen, dtype=dtype)
    with torch.no_grad():
        err = float((ours(x1, x2, w) - ref(x1, x2, w)).abs().max())
        scale = float(ref(x1, x2, w).abs().max())

    leaves = [t.clone().requires_grad_(True) for t in (x1, x2, w)]

    def forward(mod):
        with torch.no_grad():
            mod(x1, x2, w)

    def forward_backward(mod):
        out = mod(*leaves)
        out.pow(2).sum().backward()
        for t in leaves:
            t.grad = None

    rows = []
    for label, fn in (("forward", forward), ("forward+backward", forward_backward)):
        times = {"ours": [], "e3nn": []}
        for mod in (ours, ref, ours, ref):  # warm-up
            fn(mod)
        for _ in range(repeats):
            for key, mod in (("ours", ours), ("e3nn", ref)):
                t0 = time.perf_counter()
                fn(mod)
                times[key].append(time.perf_counter() - t0)
        t_ours, t_ref = statistics.median(times["ours"]), statistics.median(times["e3nn"])
        rows.append(
            {
                "case": name,
                "irreps": f"{s1} x {s2} -> {so}",
                "edges": edges,
                "dtype": str(dtype).replace("torch.", ""),
                "pass": label,
                "ours_ms": 1e3 * t_ours,
                "e3nn_ms": 1e3 * t_ref,
                "speedup": t_ref / t_ours,
                "max_abs_err": err,
                "max_abs_out": scale,
                "threads": torch.get_num_threads(),
                "load_avg_1min": os.getloadavg()[0],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--cases", default="ab")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "tensor_product.csv"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    rows = [row for name in args.cases for row in run_case(name, args.repeats, dtype)]
    table = pd.DataFrame(rows)
    shown = table[
        ["case", "pass", "edges", "ours_ms", "e3nn_ms", "speedup", "max_abs_err", "threads", "load_avg_1min"]
    ].copy()
    shown["ours_ms"], shown["e3nn_ms"] = shown["ours_ms"].round(1), shown["e3nn_ms"].round(1)
    shown["speedup"] = shown["speedup"].round(2)
    shown["max_abs_err"] = shown["max_abs_err"].map(lambda v: f"{v:.1e}")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(shown.to_string(index=False))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Spherical harmonics: workbench.groups.o3 vs e3nn 0.6 on CPU, same process, interleaved runs.

10^5 random vectors, lmax in {1, 2, 3, 6}, normalize=True, integral normalization, forward and forward+backward.
Both sides are timed as modules built once (e3nn.o3.SphericalHarmonics and ours). Rounds alternate between the
two libraries and the median per-call time is reported, with the ratio e3nn / ours (> 1 means we are faster).
Writes benchmarks/results/spherical_harmonics.csv.

    .venv/bin/python benchmarks/spherical_harmonics.py [--threads 1] [--rounds 15] [--dtype float32]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd
import torch

from workbench.groups.o3 import SphericalHarmonics


def _per_call_ms(function, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "spherical_harmonics.csv"))
    args = parser.parse_args()

    from e3nn import o3 as e3nn_o3  # the peer; only imported by this benchmark

    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    x = torch.randn(args.n, 3, dtype=dtype, generator=torch.Generator().manual_seed(0))
    x_grad = x.clone().requires_grad_(True)
    rows = []
    for lmax in (1, 2, 3, 6):
        ls = list(range(lmax + 1))
        modules = {
            "workbench": SphericalHarmonics(ls, True, "integral"),
            "e3nn": e3nn_o3.SphericalHarmonics(ls, True, "integral"),
        }
        ours, theirs = modules["workbench"](x.double()), modules["e3nn"](x.double())
        max_diff = (ours - theirs).abs().max().item()
        for mode in ("forward", "forward+backward"):
            times: dict[str, list[float]] = {name: [] for name in modules}
            for _ in range(args.rounds):
                for name, module in modules.items():
                    if mode == "forward":
                        call = lambda module=module: module(x)
                    else:
                        call = lambda module=module: module(x_grad).pow(2).sum().backward()
                    call()  # warm-up of this round
                    times[name].append(_per_call_ms(call, args.repeats))
            ours_ms = statistics.median(times["workbench"])
            e3nn_ms = statistics.median(times["e3nn"])
            rows.append(
                {
                    "lmax": lmax,
                    "mode": mode,
                    "n": args.n,
                    "dtype": args.dtype,
                    "threads": args.threads,
                    "workbench_ms": round(ours_ms, 3),
                    "e3nn_ms": round(e3nn_ms, 3),
                    "ratio_e3nn_over_workbench": round(e3nn_ms / ours_ms, 3),
                    "max_abs_diff_float64": max_diff,
                }
            )
            print(f"lmax={lmax} {mode:17s} workbench {ours_ms:8.3f} ms  e3nn {e3nn_ms:8.3f} ms  "
                  f"ratio {e3nn_ms / ours_ms:5.2f}")
    table = pd.DataFrame(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Debye I(Q): workbench.scattering vs DebyeCalculator on CPU, same process, interleaved runs; and the peak memory
of a 10^5-atom I(Q) with the chunked pair sum.

fcc Cu clusters of 1,000 and 10,000 atoms, 500 Q points on [1, 30) 1/Å, float32 (DebyeCalculator's default),
B = 0.3 Å^2, X-rays. DebyeCalculator is given the identical Q grid (qmin, qstep) and run with its default grid pair
sum; our histogram method is used. Rounds alternate between the two libraries and the median per-call time is
reported with the ratio DebyeCalculator / ours (> 1 means we are faster), and the largest relative deviation of our
I(Q)/2 from DebyeCalculator's I(Q) (its I(Q) is half of ours, see workbench.scattering.debye). The memory run
starts a fresh process per library (neither loads the other) and reports the peak resident set size
(resource.getrusage) before and after one I(Q).
Writes benchmarks/results/scattering_debye.csv and scattering_debye_memory.csv.

    .venv/bin/python benchmarks/scattering_debye.py [--threads 1] [--rounds 5] [--memory-atoms 100000]
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from workbench.scattering import debye_intensity

QMIN, QSTEP, NQ, BISO = 1.0, 29.0 / 500, 500, 0.3


def fcc_cluster(n: int, a: float = 3.615) -> np.ndarray:
    m = int(np.ceil((n / 4) ** (1 / 3))) + 2
    grid = np.stack(np.meshgrid(*[np.arange(-m, m + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    basis = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    xyz = (grid[:, None] + basis[None]).reshape(-1, 3) * a
    return xyz[np.argsort((xyz**2).sum(1), kind="stable")[:n]]


def _calculator(dtype):
    from debyecalculator import DebyeCalculator  # the peer, only in this benchmark

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DebyeCalculator(qmin=QMIN, qmax=QMIN + QSTEP * (NQ - 0.5), qstep=QSTEP, biso=BISO, device="cpu",
                               dtype=dtype)


def _ours(xyz, dtype):
    pos = torch.tensor(xyz, dtype=dtype)
    q = QMIN + QSTEP * torch.arange(NQ, dtype=torch.float64)
    return lambda: debye_intensity(["Cu"] * len(xyz), pos, q.to(dtype), biso=BISO, method="histogram")


def child_memory(library: str, n: int) -> None:
    xyz = fcc_cluster(n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    if library == "workbench":
        _ours(xyz, torch.float32)()
    else:
        _calculator(torch.float32).iq((["Cu"] * n, xyz))
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"library": library, "atoms": n, "rss_before_mib": round(before, 1),
                      "peak_rss_mib": round(after, 1), "seconds": round(seconds, 2)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--memory-atoms", type=int, default=100_000, help="0 skips the memory run")
    parser.add_argument("--memory-libraries", nargs="+", default=["workbench"])
    parser.add_argument("--child", nargs=2, metavar=("LIBRARY", "ATOMS"), help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "scattering_debye.csv"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        child_memory(args.child[0], int(args.child[1]))
        return

    calculator = _calculator(torch.float32)
    calculator.num_threads = args.threads
    rows = []
    for n in args.sizes:
        xyz = fcc_cluster(n)
        ours = _ours(xyz, torch.float32)
        peer = functools.partial(calculator.iq, (["Cu"] * n, xyz))
        ours(), peer()  # warm-up
        ours_s, peer_s = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            ours()
            ours_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            peer()
            peer_s.append(time.perf_counter() - start)
        reference = peer()[1]
        deviation = float(np.max(np.abs(ours().numpy() / 2 - reference) / np.abs(reference)))
        ours_median, peer_median = statistics.median(ours_s), statistics.median(peer_s)
        rows.append({"atoms": n, "q_points": NQ, "dtype": "float32", "threads": args.threads,
                     "workbench_s": round(ours_median, 4), "debyecalculator_s": round(peer_median, 4),
                     "ratio_debyecalculator_over_workbench": round(peer_median / ours_median, 3),
                     "max_rel_deviation": f"{deviation:.2e}"})
        print(rows[-1], flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out, index=False)

    if args.memory_atoms:
        memory = []
        for library in args.memory_libraries:
            result = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--child", library,
                                     str(args.memory_atoms)], capture_output=True, text=True, check=True)
            memory.append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(memory[-1], flush=True)
        pd.DataFrame(memory).to_csv(out.with_name(out.stem + "_memory.csv"), index=False)


if __name__ == "__main__":
    main()

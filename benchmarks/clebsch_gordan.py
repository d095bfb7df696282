"""Cold build time of every O(3) Clebsch-Gordan table with l1, l2, l3 <= 10 (triangle rule, parity allowed).

Caches are cleared before each table and the disk cache is disabled (``WORKBENCH_CACHE=off``), so each time is
a full cold build including the irreps' generators. Two routes are timed per table:

* ``seconds``: ``O3().clebsch_gordan`` as users get it (exact closed form, Racah's formula; target max < 0.5 s);
* ``null_space_seconds``: the generic null-space solver every other group uses (workbench/groups/intertwiners.py),
  run on the same O(3) irreps for comparison.

Prints the max / median time per table and writes benchmarks/results/clebsch_gordan.csv.

    .venv/bin/python benchmarks/clebsch_gordan.py [--lmax 10]

BLAS threads are limited to 1 by default (these are many small problems; threads only add overhead on a
shared machine); pass --threads N to change it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmax", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "clebsch_gordan.csv")
    args = parser.parse_args(argv)
    if args.lmax < 0:
        parser.error("--lmax must be >= 0")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    os.environ["WORKBENCH_CACHE"] = "off"

    import functools

    import pandas as pd
    import torch

    from workbench.groups import O3, clear_caches, o3
    from workbench.groups import o3 as o3_module
    from workbench.groups.group import LieGroup

    def clear_all() -> None:
        clear_caches()
        for obj in vars(o3_module.wigner).values():  # cold: the o3 tables too
            if isinstance(obj, functools._lru_cache_wrapper):
                obj.cache_clear()

    torch.set_num_threads(args.threads)
    rows = []
    for l1 in range(args.lmax + 1):
        for l2 in range(args.lmax + 1):
            for l3 in range(abs(l1 - l2), min(l1 + l2, args.lmax) + 1):
                p1, p2 = (-1) ** l1, (-1) ** l2
                labels = (o3.Irrep(l1, p1), o3.Irrep(l2, p2), o3.Irrep(l3, p1 * p2))
                clear_all()
                group = O3()  # fresh group: irreps are rebuilt
                start = time.perf_counter()
                table = group.clebsch_gordan(*labels)
                elapsed = time.perf_counter() - start
                clear_all()
                group = O3()
                start = time.perf_counter()
                LieGroup._compute_clebsch_gordan(group, *labels)
                null_space = time.perf_counter() - start
                rows.append({"l1": l1, "l2": l2, "l3": l3, "dim": table.numel(), "multiplicity": table.shape[-1],
                             "seconds": elapsed, "null_space_seconds": null_space})
    df = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    worst = df.loc[df["seconds"].idxmax()]
    print(f"O(3) CG tables built cold: {len(df)} (l <= {args.lmax}), BLAS threads = {args.threads}")
    print(f"max time per table    : {worst.seconds:.4f} s at (l1, l2, l3) = "
          f"({worst.l1:.0f}, {worst.l2:.0f}, {worst.l3:.0f})")
    print(f"median time per table : {df.seconds.median():.4f} s; total {df.seconds.sum():.1f} s")
    ns = df.loc[df["null_space_seconds"].idxmax()]
    print(f"generic null-space solver on the same irreps: max {ns.null_space_seconds:.4f} s at "
          f"({ns.l1:.0f}, {ns.l2:.0f}, {ns.l3:.0f}), median {df.null_space_seconds.median():.4f} s")
    print(f"target max < 0.5 s    : {'met' if worst.seconds < 0.5 else 'NOT met'} "
          f"(ratio target / max = {0.5 / worst.seconds:.2f})")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

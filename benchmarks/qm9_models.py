"""Full-size QM9 runs: every model of workbench.models on the same split, targets HOMO-LUMO gap and U0.

Each (model, target) pair is one call of workbench.pipelines.qm9.run_qm9 (``models=[model]``) in its own process
(one torch thread each, ``--jobs`` at a time), writing into ``<runs>/<model>-<target>/`` (the model's files in
its subfolder ``<model>/``); ``--num-basis`` reaches every model but SchNet, the baseline, which keeps its 50
Gaussians (as in the notebook). Re-running the script resumes unfinished
runs from their checkpoints and reuses finished ones. ``--data qm9pack`` (default) trains on the whole QM9 release
with its DFT geometries (the ``qm9`` extra) on the papers' split (``--split 0.8408 0.0764 0.0828``: 110,002 /
9,996 / 10,833 molecules, the same ``split_seed`` for all runs); ``--data PATH.csv`` builds RDKit ETKDG + MMFF94
conformers of a SMILES table once (cached) and uses its 80/10/10 split unless ``--split`` says otherwise.

Writes ``benchmarks/results/qm9_models.csv`` (one row per run: test MAE in the label's unit and in meV, RMSE,
radial basis size, seed, parameters, training time; ``--collect`` adds finished runs of other folders) and prints
it next to published QM9 MAEs (which use ~110k training molecules and DFT geometries; see the README for why ours
differ).

Usage:
    python benchmarks/qm9_models.py [--data qm9pack | --data ../shared/data/qm9_small.csv] [--runs runs/qm9-full]
        [--models schnet nequip mace equiformer] [--targets gap u0] [--epochs 12] [--jobs 2] [--num-basis 32]
        [--split 0.8408 0.0764 0.0828] [--seed 1] [--collect runs/other-folder ...] [--results path.csv]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "qm9_models.csv"

#: Published QM9 test MAEs in meV (110k training molecules, DFT geometries), for context only: the HOMO-LUMO gap
#: of SchNet (63) and Equiformer (30) as listed in Equiformer's QM9 table (arXiv 2206.11990), read here from
#: secondary transcriptions because the paper itself is not reachable offline; U0 values could not be verified
#: offline and are left empty. NequIP (arXiv 2101.03164) and MACE (arXiv 2206.07697) report no QM9 results.
#: The papers' QM9 split of the 130,831 molecules: 110,000 training, 10,000 validation, the rest for testing.
PAPER_SPLIT = (0.8408, 0.0764, 0.0828)

PUBLISHED_MEV: dict[tuple[str, str], float | None] = {("schnet", "gap"): 63.0, ("equiformer", "gap"): 30.0}


def _run_one(model: str, target: str, args: argparse.Namespace) -> subprocess.Popen:
    out = Path(args.runs) / f"{model}-{target}"
    code = (
        "from workbench.pipelines.qm9 import run_qm9\n"
        f"run_qm9(models=[{model!r}], target={target!r}, data_path={str(args.data)!r}, output_dir={str(out)!r}, "
        f"split={tuple(args.split)!r}, "
        f"epochs={args.epochs}, n_train={args.n_train}, n_val={args.n_val}, n_test=0, lmax={args.lmax}, "
        f"channels={args.channels}, lr={args.lr}, batch_size={args.batch_size}, seed={args.seed}, progress=False, "
        f"num_basis={args.num_basis}, "
        f"checkpoint_every=200)\n"
    )
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    log = open(out / "run.log", "a")  # noqa: SIM115 (closed by the OS when the child exits)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="qm9pack", help="'qm9pack' (default: the whole QM9 with DFT geometries, "
                        "the 'qm9' extra) or a QM9 CSV of SMILES (RDKit MMFF94 conformers, cached)")
    parser.add_argument("--split", nargs=3, type=float, default=None, metavar=("TRAIN", "VAL", "TEST"),
                        help="split fractions (default: the papers' 110k/10k/rest for qm9pack, else 0.8 0.1 0.1)")
    parser.add_argument("--runs", default=str(ROOT / "runs" / "qm9-full"))
    parser.add_argument("--models", nargs="+", default=["schnet", "nequip", "mace", "equiformer"])
    parser.add_argument("--targets", nargs="+", default=["gap", "u0"])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--n-train", type=int, default=0, help="0 = the whole training part (80%%)")
    parser.add_argument("--n-val", type=int, default=0, help="cap on the validation part (0 = all of it)")
    parser.add_argument("--lmax", type=int, default=1)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--num-basis", type=int, default=0, help="radial basis size; 0 = each model's default")
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--collect", nargs="*", default=[], metavar="DIR",
                        help="also list the finished runs in these run folders (other seeds or settings)")
    parser.add_argument("--results", default=str(RESULTS), help="CSV of the table (default: %(default)s); use "
                        "another path for extra runs (other seeds), so the committed table is not overwritten")
    args = parser.parse_args()

    # build (or verify) the conformer cache once, before the parallel runs
    from workbench.data.qm9 import find_qm9_csv
    from workbench.pipelines.qm9 import resolve_qm9_data

    if args.data != "qm9pack":
        args.data = find_qm9_csv(args.data).resolve()
    if args.split is None:
        args.split = PAPER_SPLIT if args.data == "qm9pack" else (0.8, 0.1, 0.1)
    resolve_qm9_data(args.data)
    pending = [(m, t) for t in args.targets for m in args.models]
    running: list[tuple[str, str, subprocess.Popen, float]] = []
    failed = []
    while pending or running:
        while pending and len(running) < args.jobs:
            m, t = pending.pop(0)
            done = Path(args.runs) / f"{m}-{t}" / m / "metrics.json"
            if done.is_file():
                print(f"{m}-{t}: finished earlier, reusing {done}", flush=True)
                continue
            print(f"{m}-{t}: started", flush=True)
            running.append((m, t, _run_one(m, t, args), time.perf_counter()))
        time.sleep(2.0)
        for item in list(running):
            m, t, proc, t0 = item
            if proc.poll() is not None:
                running.remove(item)
                status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode}; see run.log)"
                if proc.returncode:
                    failed.append(f"{m}-{t}")
                print(f"{m}-{t}: {status} after {time.perf_counter() - t0:.0f} s", flush=True)

    paths = [Path(args.runs) / f"{m}-{t}" / m / "metrics.json" for t in args.targets for m in args.models]
    for extra in args.collect:  # finished runs of other configurations (seeds, radial bases) in the same table
        paths += sorted(Path(extra).glob("*/*/metrics.json"))
    rows = []
    for path in paths:
        if not path.is_file():
            continue
        r = json.loads(path.read_text())
        m, t, cfg, folder = r["model"], r["target"], r["config"], path.parent
        rows.append({"model": m, "target": t, "unit": r["unit"], "test_mae": r["test_mae"],
                     "test_mae_mev": r["test_mae_mev"], "test_rmse": r["test_rmse"], "n_train": r["n_train"],
                     "n_test": r["n_test"], "epochs": r["epochs"], "num_basis": r["num_basis"],
                     "seed": cfg["seed"], "parameters": r["parameters"], "train_minutes": r["train_seconds"] / 60.0,
                     "published_mev": PUBLISHED_MEV.get((m, t)), "run": os.path.relpath(folder, ROOT)})
    table = pd.DataFrame(rows)
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(results, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(4).to_string(index=False))
    print(f"wrote {results}")
    if failed:
        sys.exit(f"failed runs: {', '.join(failed)}")


if __name__ == "__main__":
    main()

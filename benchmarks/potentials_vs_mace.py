"""Workbench MACE against mace-torch as interatomic potentials: the same data, split and hyper-parameters.

Data: the shipped ethanol GFN2-xTB MD (data/potentials/ethanol_xtb.xyz), split with
``workbench.pipelines.potential.split_frames`` (seed 0): ``--n-train`` / ``--n-val`` / ``--n-test`` frames; the three
parts are written as extended XYZ (``REF_energy``/``REF_forces``) for mace-torch.

Models (the comparable settings): hidden ``C x 0e + C x 1o`` (``--channels``, L = 1), spherical harmonics up to
``max_ell = 3``, correlation 3, 2 interactions, r_max 5 Å, 8 Bessel functions, float32 training; loss
``1 * (dE/N)^2 + 100 * |dF|^2`` (MACE's "weighted"), batch size 5, lr 0.01, ``--epochs`` epochs, per-element
E0 by least squares on the training frames (mace-torch: ``--E0s average``), energy scale = RMS force
(mace-torch: ``rms_forces_scaling``, its default). What differs and stays: optimiser schedule (workbench:
AdamW + cosine; mace-torch: AMSGrad Adam + ReduceLROnPlateau), readout (workbench: one MLP on all layers' scalars;
mace-torch: per-layer linear readouts + an MLP), radial MLP (workbench: one hidden layer of 64; mace-torch:
three of 64) and the polynomial envelope (p = 6 vs 5). mace-torch is never imported here: it runs in its own
interpreter (``--mace-python``, e.g. a venv with mace-torch 0.3.16, which pins e3nn 0.4.4) through
``python -m mace.cli.run_train`` and benchmarks/_mace_driver.py.

Measured per model: test energy MAE (meV, meV/atom) and force MAE (meV/Å), training seconds per epoch
(training + validation pass; mace-torch: from its log's epoch timestamps), CPU seconds per epoch (CPU time of the
whole training command, setup, test evaluation and, for the workbench, its short MD included, divided by the
epochs: insensitive to other jobs on a shared machine), NVE MD steps/s from the first test
frame (velocity Verlet, 0.5 fs, float32, ASE calculator of each package, one thread) and the NVE energy drift.
mace-torch runs twice: with the same loss throughout ("mace-torch"), and with its own recommended "stage two"
(``--swa``: the last quarter of the epochs at energy weight 1000 and lr 1e-3), which the workbench loop does not
have. Writes benchmarks/results/potentials_vs_mace.csv (one row per model, plus ratio rows).

    .venv/bin/python benchmarks/potentials_vs_mace.py --mace-python /path/to/mace-venv/bin/python \\
        [--n-train 200 --n-val 50 --n-test 200 --epochs 20 --channels 32 --md-steps 400]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import ase.io
import numpy as np
import pandas as pd
import torch
from ase import Atoms

from workbench.data.potential_data import potential_atoms
from workbench.pipelines.potential import run_potential, split_frames
from workbench.version import __version__


def _write_split(folder: Path, n_train: int, n_val: int, n_test: int, seed: int) -> dict[str, Path]:
    frames = potential_atoms("ethanol")
    split = split_frames(len(frames), n_train, n_val, n_test, seed)
    paths = {}
    for part, idx in split.items():
        out = []
        for i in idx:
            a = frames[int(i)]
            b = Atoms(numbers=a.numbers, positions=a.positions)
            b.info["REF_energy"] = float(a.get_potential_energy())
            b.arrays["REF_forces"] = np.asarray(a.get_forces())
            out.append(b)
        paths[part] = folder / f"{part}.xyz"
        ase.io.write(paths[part], out, format="extxyz")
    return paths


def _epoch_seconds_from_log(log: str) -> float:
    stamps = [datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
              for m in re.finditer(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) INFO: Epoch \d+:", log, re.M)]
    if len(stamps) < 2:
        raise RuntimeError("mace-torch's log holds fewer than two epoch lines; cannot time an epoch")
    return (stamps[-1] - stamps[0]).total_seconds() / (len(stamps) - 1)


def run_mace(args: argparse.Namespace, paths: dict[str, Path], work: Path, stage_two: bool = False) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [args.mace_python, "-m", "mace.cli.run_train", "--name", "bench", "--seed", str(args.seed),
           "--train_file", str(paths["train"]), "--valid_file", str(paths["val"]), "--test_file", str(paths["test"]),
           "--energy_key", "REF_energy", "--forces_key", "REF_forces", "--E0s", "average", "--model", "MACE",
           "--num_channels", str(args.channels), "--max_L", "1", "--max_ell", "3", "--correlation", "3",
           "--num_interactions", "2", "--r_max", "5.0", "--num_radial_basis", "8", "--batch_size", "5",
           "--valid_batch_size", "10", "--max_num_epochs", str(args.epochs), "--lr", "0.01",
           "--energy_weight", "1", "--forces_weight", "100", "--loss", "weighted", "--device", "cpu",
           "--default_dtype", "float32", "--eval_interval", "1", "--error_table", "PerAtomMAE"]
    if stage_two:  # mace-torch's own recipe: the last quarter of the epochs with energy weight 1000, lr 1e-3
        cmd += ["--swa", "--start_swa", str(max(1, int(0.75 * args.epochs))), "--swa_energy_weight", "1000",
                "--swa_forces_weight", "100", "--swa_lr", "0.001"]
    t0, cpu0 = time.perf_counter(), _children_cpu_seconds()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu_seconds() - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"mace-torch training failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    log = next((work / "logs").glob("bench*run-*.log")).read_text()
    request = {"model": str(work / "bench.model"), "test_file": str(paths["test"]), "dtype": "float32",
               "md_steps": args.md_steps, "timestep_fs": 0.5, "temperature_K": 500.0, "save_every": 10,
               "seed": args.seed, "start_index": 0}
    driver = Path(__file__).resolve().parent / "_mace_driver.py"
    proc = subprocess.run([args.mace_python, str(driver), json.dumps(request)], env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mace-torch evaluation failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(seconds_per_epoch=_epoch_seconds_from_log(log), train_wall_seconds=wall,
                  cpu_seconds_per_epoch=cpu / args.epochs)
    return result


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ours(args: argparse.Namespace, work: Path) -> dict:
    torch.set_num_threads(1)
    t0, cpu0 = time.perf_counter(), time.process_time()
    res = run_potential(output_dir=work / "workbench", models=("mace",), n_train=args.n_train, n_val=args.n_val,
                        n_test=args.n_test, seed=args.seed, channels=args.channels, lmax=3, num_layers=2,
                        correlation=3, r_max=5.0, num_basis=8, epochs=args.epochs, batch_size=5, lr=0.01,
                        energy_weight=1.0, forces_weight=100.0, dtype="float32", md_steps=args.md_steps,
                        md_timestep_fs=0.5, md_temperature_K=500.0, md_save_every=10, md_dtype="float32",
                        progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    row = res.metrics["models"]["mace"]
    md = res.metrics["md"]
    return {"energy_mae": row["energy_mae_meV"] / 1000, "energy_per_atom_mae": row["energy_per_atom_mae_meV"] / 1000,
            "forces_mae": row["forces_mae_meV_per_A"] / 1000, "forces_rmse": row["forces_rmse_meV_per_A"] / 1000,
            "seconds_per_epoch": row["seconds_per_epoch"], "md_steps_per_second": md["nve_steps_per_second"],
            "nve_time_ps": md["nve_time_ps"], "nve_energy_drift_eV_per_atom_per_ps":
            md["nve_energy_drift_eV_per_atom_per_ps"], "nve_energy_fluctuation_meV_per_atom":
            md["nve_energy_fluctuation_meV_per_atom"], "parameters": row["parameters"], "train_wall_seconds": wall,
            "cpu_seconds_per_epoch": cpu / args.epochs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mace-python", default=os.environ.get("WORKBENCH_MACE_PYTHON", ""),
                        help="python of an environment with mace-torch installed (default: $WORKBENCH_MACE_PYTHON)")
    parser.add_argument("--n-train", type=int, default=200)
    parser.add_argument("--n-val", type=int, default=50)
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--md-steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the workbench run folder (potential.pt, tables) and mace-torch's logs here")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "potentials_vs_mace.csv")
    args = parser.parse_args(argv)
    if not args.mace_python:
        print("skipped: mace-torch runs in its own environment; pass --mace-python PATH or set "
              "WORKBENCH_MACE_PYTHON (e.g. a venv with `pip install mace-torch==0.3.16`)")
        return 0
    check = subprocess.run([args.mace_python, "-c", "import mace; print(mace.__version__)"], capture_output=True,
                           text=True)
    if check.returncode != 0:
        parser.error(f"--mace-python {args.mace_python} cannot import mace: {check.stderr.strip()[-300:]}")
    mace_version = check.stdout.strip()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="potentials_vs_mace_") as tmp:
        work = Path(tmp)
        paths = _write_split(work, args.n_train, args.n_val, args.n_test, args.seed)
        ours = run_ours(args, work)
        print("workbench:", json.dumps(ours), flush=True)
        if args.keep is not None:
            shutil.copytree(work / "workbench", args.keep, dirs_exist_ok=True)
        theirs = run_mace(args, paths, work / "mace_same_loss")
        print("mace-torch:", json.dumps(theirs), flush=True)
        theirs_two = run_mace(args, paths, work / "mace_stage_two", stage_two=True)
        print("mace-torch stage two:", json.dumps(theirs_two), flush=True)
        if args.keep is not None:  # mace-torch's logs hold its per-epoch validation errors (convergence check)
            for run in ("mace_same_loss", "mace_stage_two"):
                shutil.copytree(work / run / "logs", args.keep / f"{run}_logs", dirs_exist_ok=True)
    rows = []
    runs = (("workbench MACE", __version__, ours), (f"mace-torch {mace_version}", mace_version, theirs),
            (f"mace-torch {mace_version} + stage two", mace_version, theirs_two))
    for name, version, r in runs:
        rows.append({"model": name, "version": version, "parameters": r["parameters"],
                     "energy_mae_meV": 1000 * r["energy_mae"],
                     "energy_per_atom_mae_meV": 1000 * r["energy_per_atom_mae"],
                     "forces_mae_meV_per_A": 1000 * r["forces_mae"], "forces_rmse_meV_per_A": 1000 * r["forces_rmse"],
                     "seconds_per_epoch": r["seconds_per_epoch"], "cpu_seconds_per_epoch": r["cpu_seconds_per_epoch"],
                     "md_steps_per_second": r["md_steps_per_second"],
                     "nve_time_ps": r["nve_time_ps"],
                     "nve_drift_eV_per_atom_per_ps": r["nve_energy_drift_eV_per_atom_per_ps"],
                     "nve_fluctuation_meV_per_atom": r["nve_energy_fluctuation_meV_per_atom"]})
    table = pd.DataFrame(rows)
    ratios = []
    for k, label in ((1, "ratio workbench / mace-torch"), (2, "ratio workbench / mace-torch + stage two")):
        ratio = {"model": label, "version": ""}
        for col in table.columns[2:]:
            ratio[col] = float(table[col].iloc[0]) / float(table[col].iloc[k]) if float(table[col].iloc[k]) else np.nan
        ratios.append(ratio)
    table = pd.concat([table, pd.DataFrame(ratios)], ignore_index=True)
    for col, value in (("n_train", args.n_train), ("n_val", args.n_val), ("n_test", args.n_test),
                       ("epochs", args.epochs), ("channels", args.channels), ("md_steps", args.md_steps)):
        table[col] = value
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(table.to_string(index=False))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

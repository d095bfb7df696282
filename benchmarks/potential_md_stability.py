"""NVE stability of learned potentials: a long velocity-Verlet run of ethanol with a potential trained on the shipped
GFN2-xTB data, measuring the total-energy drift (eV/atom/ps, least-squares slope), its peak-to-peak fluctuation,
the time to failure (two atoms closer than 0.5 Å, or nothing: stable), the mean temperature and that of the last
tenth of the run (heating) and MD steps/s.

The potential is trained here with ``workbench.pipelines.potential.run_potential`` (``--model``, ``--n-train``,
``--epochs``; a short MD inside the pipeline is skipped) unless ``--checkpoint`` names a ``potential.pt`` (for
example the MACE that ``benchmarks/potentials_vs_mace.py --keep DIR`` leaves in ``DIR/mace/``). The NVE run starts
from the first test frame with Maxwell-Boltzmann velocities at ``--temperature`` K (seed 0), 0.5 fs steps, float64.
Appends one row per call to benchmarks/results/potential_md_stability.csv.

    .venv/bin/python benchmarks/potential_md_stability.py --model schnet --ps 10
    .venv/bin/python benchmarks/potential_md_stability.py --checkpoint DIR/mace/potential.pt --ps 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from workbench.calculators import WorkbenchCalculator, energy_drift, load_potential, run_md
from workbench.data.potential_data import potential_atoms
from workbench.pipelines.potential import run_potential, split_frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="schnet", help="architecture to train (ignored with --checkpoint)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="a trained potential.pt instead of training")
    parser.add_argument("--n-train", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--ps", type=float, default=10.0, help="NVE length in ps (0.5 fs steps)")
    parser.add_argument("--temperature", type=float, default=500.0)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "potential_md_stability.csv")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    frames = potential_atoms("ethanol")
    split = split_frames(len(frames), args.n_train, 50, 100, 0)
    row: dict = {}
    with tempfile.TemporaryDirectory(prefix="potential_stability_") as tmp:
        if args.checkpoint is None:
            t0 = time.perf_counter()
            res = run_potential(output_dir=Path(tmp) / "run", models=(args.model,), n_train=args.n_train, n_val=50,
                                n_test=100, channels=args.channels, lmax=2, num_layers=2, r_max=5.0,
                                epochs=args.epochs, batch_size=8, lr=0.005, md_steps=0, progress=False)
            metrics = res.metrics["models"][args.model]
            row.update(model=args.model, source=f"trained here: {args.n_train} frames, {args.epochs} epochs, "
                       f"channels {args.channels}", train_seconds=time.perf_counter() - t0,
                       test_energy_mae_meV=metrics["energy_mae_meV"],
                       test_forces_mae_meV_per_A=metrics["forces_mae_meV_per_A"])
            potential = res.potentials[args.model]
        else:
            potential = load_potential(args.checkpoint)
            row.update(model=potential.model.__class__.__name__.lower(), source=str(args.checkpoint))
        start = frames[int(split["test"][0])].copy()
        start.calc = None
        steps = int(round(args.ps * 2000))
        traj = run_md(start, WorkbenchCalculator(potential, "float64"), steps=steps, timestep_fs=0.5, ensemble="nve",
                      temperature_K=args.temperature, save_every=20, seed=0, stop_on_error=True)
    row.update(nve_ps_requested=args.ps, nve_ps_simulated=float(traj.time_ps[-1]),
               failed=traj.info.get("failed", ""),
               drift_eV_per_atom_per_ps=energy_drift(traj) if len(traj.time_ps) > 1 else np.nan,
               fluctuation_meV_per_atom=1000 * float(np.ptp(traj.total)) / traj.num_atoms,
               mean_temperature_K=float(traj.temperature.mean()), steps_per_second=traj.steps_per_second,
               final_temperature_K=float(traj.temperature[-max(1, len(traj.temperature) // 10):].mean()))
    print(row)
    table = pd.DataFrame([row])
    if args.out.is_file():
        table = pd.concat([pd.read_csv(args.out), table], ignore_index=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

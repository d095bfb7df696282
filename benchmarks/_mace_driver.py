"""Run by benchmarks/potentials_vs_mace.py with mace-torch's interpreter (``--mace-python``), never imported by
workbench: evaluates a trained mace-torch model (test energy/force errors) and times NVE MD with its ASE
``MACECalculator``. Reads a JSON request on argv[1], prints one JSON line of results.

Request: ``model`` (.model file), ``test_file`` (extended XYZ with REF_energy / REF_forces), ``dtype``,
``md_steps``, ``timestep_fs``, ``temperature_K``, ``save_every``, ``seed``, ``start_index`` (the test frame MD
starts from).
"""

from __future__ import annotations

import json
import sys
import time

import ase.io
import numpy as np
import torch
from ase import Atoms, units
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
from ase.md.verlet import VelocityVerlet
from mace.calculators import MACECalculator


def main() -> None:
    req = json.loads(sys.argv[1])
    torch.set_num_threads(1)
    calc = MACECalculator(model_paths=req["model"], device="cpu", default_dtype=req["dtype"])
    frames = ase.io.read(req["test_file"], index=":", format="extxyz")
    de, df, n = [], [], []
    t0 = time.perf_counter()
    for frame in frames:
        atoms = Atoms(numbers=frame.numbers, positions=frame.positions)
        atoms.calc = calc
        de.append(atoms.get_potential_energy() - frame.info["REF_energy"])
        df.append(atoms.get_forces() - frame.arrays["REF_forces"])
        n.append(len(atoms))
    eval_seconds = time.perf_counter() - t0
    de, df, n = np.array(de), np.concatenate(df), np.array(n, dtype=float)
    start = frames[req["start_index"]]
    atoms = Atoms(numbers=start.numbers, positions=start.positions)
    atoms.calc = calc
    rng = np.random.default_rng(req["seed"])
    MaxwellBoltzmannDistribution(atoms, temperature_K=req["temperature_K"], rng=rng)
    Stationary(atoms)
    dyn = VelocityVerlet(atoms, req["timestep_fs"] * units.fs)
    times, total = [], []

    def record() -> None:
        times.append(dyn.get_time() / (1000 * units.fs))
        total.append(atoms.get_potential_energy() + atoms.get_kinetic_energy())

    record()
    t0 = time.perf_counter()
    done = 0
    while done < req["md_steps"]:
        k = min(req["save_every"], req["md_steps"] - done)
        dyn.run(k)
        done += k
        record()
    md_seconds = time.perf_counter() - t0
    total = np.array(total)
    print(json.dumps({
        "energy_mae": float(np.abs(de).mean()), "energy_per_atom_mae": float(np.abs(de / n).mean()),
        "forces_mae": float(np.abs(df).mean()), "forces_rmse": float(np.sqrt((df**2).mean())),
        "eval_seconds": eval_seconds, "md_steps_per_second": req["md_steps"] / md_seconds,
        "nve_time_ps": float(times[-1]),
        "nve_energy_drift_eV_per_atom_per_ps": float(np.polyfit(times, total / len(atoms), 1)[0]),
        "nve_energy_fluctuation_meV_per_atom": 1000 * float(np.ptp(total)) / len(atoms),
        "parameters": int(sum(p.numel() for p in calc.models[0].parameters())),
    }))


if __name__ == "__main__":
    main()

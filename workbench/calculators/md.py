"""Molecular dynamics with ASE and any calculator: NVE (velocity Verlet) and NVT (Langevin) runs, energy drift,
pair-distance distributions.

:func:`run_md` returns an :class:`MDTrajectory` (positions of every saved frame, time, potential/kinetic/total
energy, temperature) -- the arrays a drift estimate, an RDF or the molecule viewer's frame slider need.
:func:`energy_drift` is the slope of a least-squares line through the total energy per atom against time
(eV/atom/ps), the usual stability figure of an NVE run; :func:`pair_distance_distribution` is the histogram of
interatomic distances (every pair of a molecule, or every pair within ``r_max`` in a periodic cell, images
included), normalised to unit area -- the radial distribution function up to the ideal-gas factor, which is
the same for two runs compared on the same bins.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from workbench.data.extras import require_ase
from workbench.nn.graph import radius_graph

__all__ = ["ENSEMBLES", "MDTrajectory", "run_md", "energy_drift", "pair_distance_distribution"]

ENSEMBLES = ("nve", "nvt")


@dataclass
class MDTrajectory:
    """Saved frames of an MD run.

    Attributes:
        numbers: ``[N]`` atomic numbers. positions: ``[F, N, 3]`` Å. cell: ``[3, 3]``; pbc: ``[3]`` bool.
        time_ps: ``[F]`` ps. potential, kinetic, total: ``[F]`` eV. temperature: ``[F]`` K.
        steps_per_second: integration steps per wall-clock second (force evaluations included).
        ensemble, timestep_fs: how it was run.
        info: ``{"failed": message, "failed_after_ps": t}`` when a ``stop_on_error`` run failed, else empty.
    """

    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    pbc: np.ndarray
    time_ps: np.ndarray
    potential: np.ndarray
    kinetic: np.ndarray
    total: np.ndarray
    temperature: np.ndarray
    steps_per_second: float
    ensemble: str
    timestep_fs: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_atoms(self) -> int:
        return int(self.numbers.shape[0])

    def atoms(self, frame: int = -1) -> Any:
        """ASE ``Atoms`` of one saved frame (no calculator)."""
        ase = require_ase()
        return ase.Atoms(numbers=self.numbers, positions=self.positions[frame], cell=self.cell, pbc=self.pbc)


def run_md(atoms: Any, calculator: Any, steps: int, timestep_fs: float = 0.5, ensemble: str = "nve",
           temperature_K: float = 300.0, friction_per_fs: float = 0.01, save_every: int = 10, seed: int = 0,
           initial_velocities: bool = True, stop_on_error: bool = False) -> MDTrajectory:
    """Run ``steps`` MD steps of ``atoms`` (a copy; the argument is not changed) with ``calculator``.

    Args:
        ensemble: ``"nve"`` (ASE ``VelocityVerlet``) or ``"nvt"`` (ASE ``Langevin`` at ``temperature_K`` with
            ``friction_per_fs``).
        temperature_K: also the Maxwell-Boltzmann temperature of the initial velocities (``initial_velocities``;
            otherwise the velocities ``atoms`` carries are kept), drawn with ``seed``, with zero total momentum.
        save_every: a frame every this many steps (frame 0 is the start).
        stop_on_error: when the calculator refuses a structure (``ValueError``, e.g. two atoms closer than its
            ``min_distance``: the run has failed), return the frames saved so far with ``info["failed"]`` (the
            message) and ``info["failed_after_ps"]`` (the last saved time) instead of raising -- the "time to
            failure" of a stability test.

    Raises:
        ValueError: bad arguments; whatever the calculator raises (e.g. atoms that came too close) propagates
            with the step it happened at (unless ``stop_on_error``).
    """
    if ensemble not in ENSEMBLES:
        raise ValueError(f"ensemble must be one of {ENSEMBLES}, got {ensemble!r}")
    for name, value in (("steps", steps), ("save_every", save_every)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    for name, value in (("timestep_fs", timestep_fs), ("temperature_K", temperature_K),
                        ("friction_per_fs", friction_per_fs)):
        if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    require_ase()
    from ase import units  # optional heavy dependency (ASE, 'chem'): MD units
    from ase.md.langevin import Langevin  # optional heavy dependency (ASE, 'chem'): NVT
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary  # optional heavy (ASE)
    from ase.md.verlet import VelocityVerlet  # optional heavy dependency (ASE, 'chem'): NVE
    atoms = atoms.copy()
    atoms.calc = calculator
    rng = np.random.default_rng(seed)
    if initial_velocities:
        MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=rng)
        Stationary(atoms)
    if ensemble == "nve":
        dyn = VelocityVerlet(atoms, timestep_fs * units.fs)
    else:
        dyn = Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature_K,
                       friction=friction_per_fs / units.fs, rng=rng, fixcm=False)
    positions, times, pot, kin = [], [], [], []

    def record() -> None:
        positions.append(atoms.get_positions().copy())
        times.append(dyn.get_time() / (1000 * units.fs))
        pot.append(atoms.get_potential_energy())
        kin.append(atoms.get_kinetic_energy())

    record()
    t0 = time.perf_counter()
    done = 0
    info: dict[str, Any] = {}
    while done < steps:
        n = min(int(save_every), steps - done)
        try:
            dyn.run(n)
        except ValueError as err:
            message = f"MD step {done + n} of {steps} failed: {err}"
            if not stop_on_error:
                raise ValueError(message) from err
            info = {"failed": message, "failed_after_ps": times[-1]}
            break
        done += n
        record()
    seconds = time.perf_counter() - t0
    kinetic = np.asarray(kin)
    dof = 3 * len(atoms) - 3 if len(atoms) > 1 else 3  # the centre-of-mass momentum starts at zero
    return MDTrajectory(
        numbers=atoms.get_atomic_numbers().copy(), positions=np.asarray(positions), cell=np.asarray(atoms.cell[:]),
        pbc=np.asarray(atoms.pbc), time_ps=np.asarray(times), potential=np.asarray(pot), kinetic=kinetic,
        total=np.asarray(pot) + kinetic, temperature=2 * kinetic / (dof * units.kB),
        steps_per_second=max(done, 1) / seconds if seconds > 0 else float("inf"), ensemble=ensemble,
        timestep_fs=float(timestep_fs), info=info)


def energy_drift(trajectory: MDTrajectory) -> float:
    """Slope of the total energy per atom against time (eV/atom/ps) by least squares over the saved frames."""
    if len(trajectory.time_ps) < 2:
        raise ValueError("trajectory needs at least two saved frames to measure a drift")
    slope = np.polyfit(trajectory.time_ps, trajectory.total / trajectory.num_atoms, 1)[0]
    return float(slope)


def pair_distance_distribution(positions: np.ndarray, bins: np.ndarray, cell: np.ndarray | None = None,
                               pbc: np.ndarray | None = None) -> np.ndarray:
    """Normalised histogram ``[len(bins) - 1]`` of the interatomic distances of frames ``positions [F, N, 3]``
    (or one frame ``[N, 3]``) over the bin edges ``bins`` (Å, increasing): every pair of a molecule, or every
    pair within ``bins[-1]`` (periodic images included) when ``pbc`` has a True. Integrates to 1 over the bins."""
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim == 2:
        pos = pos[None]
    if pos.ndim != 3 or pos.shape[2] != 3 or not np.isfinite(pos).all():
        raise ValueError(f"positions must be finite [F, N, 3] or [N, 3], got shape {np.shape(positions)}")
    bins = np.asarray(bins, dtype=np.float64)
    if bins.ndim != 1 or len(bins) < 2 or not (np.diff(bins) > 0).all():
        raise ValueError("bins must be at least two increasing bin edges (Å)")
    periodic = pbc is not None and bool(np.any(pbc))
    distances = []
    for frame in pos:
        if periodic:
            if cell is None:
                raise ValueError("cell [3, 3] is required when pbc has a periodic direction")
            p = torch.as_tensor(frame)
            edges, shifts = radius_graph(p, float(bins[-1]), cell=torch.as_tensor(np.asarray(cell, dtype=np.float64)),
                                         pbc=torch.as_tensor(np.asarray(pbc, dtype=bool)))
            distances.append(torch.linalg.norm(p[edges[1]] - p[edges[0]] + shifts, dim=-1).numpy())
        else:
            i, j = np.triu_indices(frame.shape[0], 1)
            distances.append(np.linalg.norm(frame[i] - frame[j], axis=-1))
    hist, _ = np.histogram(np.concatenate(distances), bins=bins, density=True)
    return hist

"""The interatomic-potential pipeline: train on energies and forces, test, then run MD with the trained model.

:func:`run_potential` takes labelled structures -- a shipped dataset (``"ethanol"``: GFN2-xTB MD of ethanol at
500 K; ``"copper"``: EMT MD of fcc Cu, periodic, with stresses) or the user's extended-XYZ file (``data_path``,
``energy_key``/``forces_key``) -- draws a random train/val/test split of the frames with ``seed`` and, for every
model of ``config.models`` (SchNet, NequIP, MACE, Equiformer):

1. wraps it in a :class:`~workbench.models.potential.Potential` with least-squares per-element reference
   energies and the training set's RMS force as energy scale (both from the training frames only);
2. trains it with :class:`~workbench.train.EnergyForceLoss` (forces ``-dE/dr`` by autograd) in the shared loop
   :func:`workbench.train.fit`, keeping the weights with the lowest validation loss;
3. reports test energy and force MAE/RMSE in meV and meV/Å and writes the parity tables.

Then the first model of ``config.models`` (or ``md_model``) drives ASE molecular dynamics through
:class:`~workbench.calculators.WorkbenchCalculator` from the first test frame:

- NVE (velocity Verlet, ``md_steps`` steps of ``md_timestep_fs``, velocities drawn at ``md_temperature_K``):
  the total energy's drift (eV/atom/ps, least-squares slope) and its peak-to-peak fluctuation, and MD steps/s;
  a run that brings two atoms closer than the calculator's ``min_distance`` stops there and is reported as
  failed (``nve_failed``/``nvt_failed`` with the step; the time simulated until then is ``nve_time_ps``);
- NVT (Langevin at ``md_temperature_K``, the same number of steps): its pair-distance distribution (RDF up to the
  ideal-gas factor) against the reference trajectory's (the dataset's frames with the start's atoms and cell: for
  the shipped ethanol the whole GFN2-xTB MD at 500 K; for copper the frames of that volume, all three
  temperatures), with their L1 distance ``∫|g_model - g_ref| dr`` (0 = identical, 2 = disjoint).

Calling it again with the same ``output_dir`` and config resumes training from the checkpoints.

Files in ``output_dir``: ``metrics.json``, ``results.csv`` (one row per model), ``comparison.csv`` (against SchNet
when it ran), per model ``<model>/metrics.csv``, ``checkpoint.pt``, ``best_model.pt``, ``potential.pt`` (a
checkpoint :class:`~workbench.calculators.WorkbenchCalculator` loads), ``energy_parity.csv``,
``forces_parity.csv``; and ``md_nve.csv``/``md_nvt.csv`` (time, energies, temperature), ``md_nve.xyz``
(the NVE trajectory, for the molecule viewer's frame slider), ``rdf.csv`` (bin centres, model and reference).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from workbench.calculators import (
    MDTrajectory,
    WorkbenchCalculator,
    build_potential,
    energy_drift,
    pair_distance_distribution,
    run_md,
    save_potential,
)
from workbench.data.extras import require_ase
from workbench.data.potential_data import POTENTIAL_DATASETS, load_potential_dataset
from workbench.data.potentials import (
    PotentialItem,
    collate_potentials,
    fit_atomic_energies,
    force_rms,
    read_extxyz,
)
from workbench.models import MODELS
from workbench.nn.graph import radius_graph
from workbench.pipelines.common import (
    check_integers,
    check_model_names,
    check_numbers,
    cosine_train_config,
    fit_models,
    guard_run_folder,
    name_tuple,
    resolve_config,
)
from workbench.pipelines.compare import compare_models
from workbench.train import EnergyForceLoss, load_best_weights, potential_errors, predict_potential

__all__ = ["MODEL_NAMES", "PotentialRunConfig", "PotentialRunResult", "potential_model_kwargs", "run_potential",
           "split_frames"]

#: Models :func:`run_potential` can train.
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
_RESUMABLE_FIELDS = ("epochs", "max_steps", "checkpoint_every", "progress", "models", "md_steps", "md_model",
                     "md_save_every", "md_timestep_fs", "md_temperature_K", "rdf_bins")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class PotentialRunConfig:
    """Parameters of :func:`run_potential` (the notebook's parameters map onto these).

    Data: ``dataset`` (``"ethanol"`` or ``"copper"``, shipped) or ``data_path`` (an extended-XYZ file; overrides
    ``dataset``) with ``energy_key``/``forces_key``; ``n_train``, ``n_val``, ``n_test`` frames (random split with
    ``seed``; 0 test frames = all the rest). Models: ``models``, ``channels``, ``lmax``, ``num_layers``,
    ``correlation`` (MACE), ``r_max`` (Å), ``num_basis``. Training: ``epochs``, ``batch_size``, ``lr``,
    ``weight_decay``, ``ema_decay`` (0 = off), ``energy_weight``, ``forces_weight``, ``stress_weight``
    (periodic data with stresses), ``dtype`` of training (``"float32"``/``"float64"``), ``max_steps``
    (> 0: stop early, resumable). MD: ``md_model`` ("" = first model), ``md_steps`` (0 = no MD),
    ``md_timestep_fs``, ``md_temperature_K``, ``md_save_every``, ``md_dtype``, ``rdf_bins``, ``rdf_r_max`` (Å).
    """

    dataset: str = "ethanol"
    data_path: str = ""
    energy_key: str = "energy"
    forces_key: str = "forces"
    n_train: int = 200
    n_val: int = 50
    n_test: int = 100
    models: Sequence[str] = ("mace", "schnet")
    channels: int = 32
    lmax: int = 1
    num_layers: int = 2
    correlation: int = 3
    r_max: float = 4.0
    num_basis: int = 8
    epochs: int = 30
    batch_size: int = 8
    lr: float = 5e-3
    weight_decay: float = 0.0
    ema_decay: float = 0.0
    energy_weight: float = 1.0
    forces_weight: float = 100.0
    stress_weight: float = 0.0
    dtype: str = "float32"
    seed: int = 0
    checkpoint_every: int = 100
    max_steps: int = 0
    progress: bool = True
    md_model: str = ""
    md_steps: int = 2000
    md_timestep_fs: float = 0.5
    md_temperature_K: float = 500.0
    md_save_every: int = 20
    md_dtype: str = "float64"
    rdf_bins: int = 60
    rdf_r_max: float = 4.0

    def __post_init__(self) -> None:
        self.models = name_tuple(self.models)

    def validate(self) -> None:
        """Raise ValueError naming the field for any bad value (before anything is computed or written)."""
        if not self.data_path and self.dataset not in POTENTIAL_DATASETS:
            raise ValueError(f"dataset must be one of {sorted(POTENTIAL_DATASETS)} (or give data_path), got "
                             f"{self.dataset!r}")
        if self.data_path and not Path(self.data_path).is_file():
            raise ValueError(f"data_path: no extended-XYZ file at {self.data_path}")
        check_model_names(self.models, MODEL_NAMES)
        if self.md_model and self.md_model not in self.models:
            raise ValueError(f"md_model must be one of the trained models {list(self.models)} (or ''), got "
                             f"{self.md_model!r}")
        for name in ("dtype", "md_dtype"):
            if getattr(self, name) not in _DTYPES:
                raise ValueError(f"{name} must be 'float32' or 'float64', got {getattr(self, name)!r}")
        check_integers(self, {"n_train": 1, "n_val": 1, "n_test": 0, "channels": 1, "lmax": 0, "num_layers": 1,
                              "correlation": 1, "num_basis": 1, "epochs": 1, "batch_size": 1, "seed": 0,
                              "checkpoint_every": 1, "max_steps": 0, "md_steps": 0, "md_save_every": 1,
                              "rdf_bins": 2})
        check_numbers(self, (("r_max", 0.0, True), ("lr", 0.0, True), ("weight_decay", 0.0, False),
                             ("ema_decay", 0.0, False), ("energy_weight", 0.0, False), ("forces_weight", 0.0, False),
                             ("stress_weight", 0.0, False), ("md_timestep_fs", 0.0, True),
                             ("md_temperature_K", 0.0, True), ("rdf_r_max", 0.0, True)))
        if self.ema_decay >= 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) (0 = no EMA), got {self.ema_decay!r}")
        if self.energy_weight == 0 and self.forces_weight == 0:
            raise ValueError("energy_weight and forces_weight cannot both be 0")

    @property
    def md_model_name(self) -> str:
        return self.md_model or self.models[0]


@dataclass
class PotentialRunResult:
    """What :func:`run_potential` produced: ``results`` (one row per model), ``metrics`` (``metrics.json``),
    ``energy_parity``/``forces_parity`` (per model: reference and predicted test values), ``histories``,
    ``potentials`` (trained, best validation weights), ``nve``/``nvt`` (:class:`MDTrajectory` or None), ``rdf``
    (bin centres, model and reference distributions), ``reference_frames`` (all structures of the dataset),
    ``completed`` (False when ``max_steps`` stopped training early), ``files``."""

    results: pd.DataFrame | None
    metrics: dict[str, Any]
    energy_parity: dict[str, pd.DataFrame]
    forces_parity: dict[str, pd.DataFrame]
    histories: dict[str, pd.DataFrame]
    potentials: dict[str, torch.nn.Module]
    nve: MDTrajectory | None
    nvt: MDTrajectory | None
    rdf: pd.DataFrame | None
    reference_frames: list[PotentialItem]
    output_dir: Path
    completed: bool
    files: dict[str, Path] = field(default_factory=dict)
    comparison: pd.DataFrame | None = None


def split_frames(n: int, n_train: int, n_val: int, n_test: int, seed: int) -> dict[str, np.ndarray]:
    """Random disjoint frame indices ``{"train", "val", "test"}`` of ``range(n)`` (``n_test = 0``: every frame
    left). Raises ValueError when the frames do not suffice."""
    if n_train + n_val + max(n_test, 1) > n:
        raise ValueError(f"n_train + n_val + n_test = {n_train} + {n_val} + {max(n_test, 1)} exceeds the {n} "
                         "frames of the dataset")
    perm = np.random.default_rng(seed).permutation(n)
    test = perm[n_train + n_val:] if n_test == 0 else perm[n_train + n_val:n_train + n_val + n_test]
    return {"train": np.sort(perm[:n_train]), "val": np.sort(perm[n_train:n_train + n_val]), "test": np.sort(test)}


def _mean_neighbours(items: Sequence[PotentialItem], r_max: float) -> float:
    counts = []
    for it in items[:50]:
        periodic = it.pbc is not None and bool(it.pbc.any())
        edges, _ = radius_graph(it.pos.double(), r_max, cell=it.cell.double() if periodic else None,
                                pbc=it.pbc if periodic else None)
        counts.append(edges.shape[1] / len(it.z))
    return max(float(np.mean(counts)), 1.0)


def potential_model_kwargs(config: PotentialRunConfig, name: str, elements: Sequence[int],
                           avg_num_neighbors: float) -> dict[str, Any]:
    """Keyword arguments of :func:`workbench.models.build_model` for model ``name`` under ``config``."""
    kwargs: dict[str, Any] = {"channels": config.channels, "lmax": config.lmax, "num_layers": config.num_layers,
                              "elements": [int(e) for e in elements], "r_max": float(config.r_max)}
    if name != "schnet":
        kwargs.update(num_basis=config.num_basis, avg_num_neighbors=float(avg_num_neighbors))
    if name == "mace":
        kwargs["correlation"] = config.correlation
    if name == "equiformer":
        kwargs["num_heads"] = 1 if config.channels % 4 else 4
    return kwargs


def _frames(config: PotentialRunConfig, dtype: torch.dtype) -> list[PotentialItem]:
    if config.data_path:
        return read_extxyz(config.data_path, energy_key=config.energy_key, forces_key=config.forces_key,
                           dtype=dtype)
    return load_potential_dataset(config.dataset, dtype=dtype)


def _atoms(item: PotentialItem) -> Any:
    ase = require_ase()
    periodic = item.pbc is not None and bool(item.pbc.any())
    return ase.Atoms(numbers=item.z.numpy(), positions=item.pos.double().numpy(),
                     cell=item.cell.double().numpy() if periodic else None,
                     pbc=item.pbc.numpy() if periodic else False)


def _md_table(traj: MDTrajectory) -> pd.DataFrame:
    return pd.DataFrame({"time_ps": traj.time_ps, "potential_eV": traj.potential, "kinetic_eV": traj.kinetic,
                         "total_eV": traj.total, "temperature_K": traj.temperature})


def _reference_distribution(frames: Sequence[PotentialItem], start: PotentialItem, bins: np.ndarray) -> np.ndarray:
    """Pair-distance distribution of the reference frames that share the MD start's atoms and cell (a molecule's
    whole trajectory; for a crystal, the frames of the same volume), averaged over frames."""
    same = [it for it in frames if torch.equal(it.z, start.z) and torch.equal(it.cell, start.cell)
            and torch.equal(it.pbc, start.pbc)]
    periodic = bool(start.pbc is not None and start.pbc.any())
    pos = np.stack([it.pos.double().numpy() for it in same])
    return pair_distance_distribution(pos, bins, start.cell.double().numpy() if periodic else None,
                                      start.pbc.numpy() if periodic else None)


def run_potential(config: PotentialRunConfig | None = None, output_dir: str | Path = "runs/potential",
                  **overrides: Any) -> PotentialRunResult:
    """Train potentials on energies and forces, test them, run NVE and NVT MD with one (module docstring).
    Keyword ``overrides`` replace config fields.

    Raises:
        ValueError: unknown dataset/model names, bad values, too few frames, or an ``output_dir`` holding a run
            with another configuration. Nothing is written before validation.

    Examples:
        >>> from workbench.pipelines.potential import PotentialRunConfig
        >>> PotentialRunConfig(models="mace,schnet").models
        ('mace', 'schnet')
    """
    config = resolve_config(PotentialRunConfig, config, overrides, "run_potential")
    t_start = time.perf_counter()
    dtype = _DTYPES[config.dtype]
    frames = _frames(config, dtype)
    split = split_frames(len(frames), config.n_train, config.n_val, config.n_test, config.seed)
    train, val, test = ([frames[i] for i in split[k]] for k in ("train", "val", "test"))
    elements = sorted({int(z) for it in frames for z in it.z.tolist()})
    if config.stress_weight > 0 and any(it.stress is None for it in train + val):
        raise ValueError("stress_weight > 0 needs stresses on every training and validation frame")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    guard_run_folder(out, config, _RESUMABLE_FIELDS, "potential")

    e0 = fit_atomic_energies(train, elements)
    scale = force_rms(train)
    neighbours = _mean_neighbours(train, config.r_max)
    kwargs = {name: potential_model_kwargs(config, name, elements, neighbours) for name in config.models}

    def build(name: str) -> torch.nn.Module:
        torch.manual_seed(config.seed)
        return build_potential(name, kwargs[name], e0, scale).to(dtype)

    loss = EnergyForceLoss(config.energy_weight, config.forces_weight, config.stress_weight)
    train_config = cosine_train_config(config, ema_decay=config.ema_decay or None, eval_requires_grad=True)
    potentials, fits, files = fit_models(config.models, build, loss, train, val, train_config, out,
                                         config.max_steps, collate_fn=collate_potentials)
    histories = {name: r.history for name, r in fits.items()}
    if not all(r.completed for r in fits.values()):
        return PotentialRunResult(None, {}, {}, {}, histories, potentials, None, None, None, frames, out, False,
                                  files)

    rows, energy_parity, forces_parity = [], {}, {}
    e_ref = np.array([float(it.energy) for it in test])
    f_ref = np.concatenate([it.forces.double().numpy() for it in test])
    n_atoms = np.array([len(it.z) for it in test], dtype=np.float64)
    for name, pot in potentials.items():
        load_best_weights(pot, fits[name])
        errors = potential_errors(pot, test, batch_size=max(config.batch_size, 16))
        pred = predict_potential(pot, test, batch_size=max(config.batch_size, 16))
        energy_parity[name] = pd.DataFrame({"frame": split["test"], "energy_true_eV": e_ref,
                                            "energy_pred_eV": pred["energy"],
                                            "energy_true_per_atom_meV": 1000 * (e_ref - e_ref.mean()) / n_atoms,
                                            "energy_pred_per_atom_meV": 1000 * (pred["energy"] - e_ref.mean())
                                            / n_atoms})
        forces_parity[name] = pd.DataFrame({"force_true_eV_per_A": f_ref.ravel(),
                                            "force_pred_eV_per_A": pred["forces"].ravel()})
        energy_parity[name].to_csv(out / name / "energy_parity.csv", index=False)
        forces_parity[name].to_csv(out / name / "forces_parity.csv", index=False)
        ckpt = save_potential(out / name / "potential.pt", pot, name, kwargs[name],
                              metadata={"dataset": config.data_path or config.dataset, "test_errors": errors})
        files.update({f"{name}_energy_parity": out / name / "energy_parity.csv",
                      f"{name}_forces_parity": out / name / "forces_parity.csv", f"{name}_potential": ckpt})
        history = histories[name]
        seconds = float(history["seconds"].iloc[-1]) if len(history) else 0.0
        rows.append({"model": name, "parameters": int(pot.model.num_parameters()),
                     "energy_mae_meV": 1000 * errors["energy_mae"],
                     "energy_per_atom_mae_meV": 1000 * errors["energy_per_atom_mae"],
                     "energy_rmse_meV": 1000 * errors["energy_rmse"],
                     "forces_mae_meV_per_A": 1000 * errors["forces_mae"],
                     "forces_rmse_meV_per_A": 1000 * errors["forces_rmse"],
                     "train_seconds": seconds, "seconds_per_epoch": seconds / max(len(history), 1),
                     "epochs": int(len(history)), "steps": int(fits[name].step)})
    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False)
    files["results"] = out / "results.csv"
    by_model = {r["model"]: r for r in rows}
    comparison = compare_models(by_model, "forces_mae_meV_per_A", "schnet" if "schnet" in by_model else "",
                                higher_is_better=False, columns=("energy_mae_meV", "parameters", "seconds_per_epoch"))
    comparison.to_csv(out / "comparison.csv", index=False)
    files["comparison"] = out / "comparison.csv"

    nve = nvt = None
    rdf = None
    md_summary: dict[str, Any] = {}
    if config.md_steps > 0:
        md_name = config.md_model_name
        calc_kw = {"dtype": config.md_dtype}
        start = _atoms(test[0])
        md_kw = dict(steps=config.md_steps, timestep_fs=config.md_timestep_fs,
                     temperature_K=config.md_temperature_K, save_every=config.md_save_every, seed=config.seed)
        nve = run_md(start, WorkbenchCalculator(potentials[md_name], **calc_kw), ensemble="nve", stop_on_error=True,
                     **md_kw)
        nvt = run_md(start, WorkbenchCalculator(potentials[md_name], **calc_kw), ensemble="nvt", stop_on_error=True,
                     **md_kw)
        _md_table(nve).to_csv(out / "md_nve.csv", index=False)
        _md_table(nvt).to_csv(out / "md_nvt.csv", index=False)
        ase = require_ase()
        ase.io.write(out / "md_nve.xyz", [nve.atoms(k) for k in range(len(nve.time_ps))], format="extxyz")
        files.update({"md_nve": out / "md_nve.csv", "md_nvt": out / "md_nvt.csv", "md_nve_xyz": out / "md_nve.xyz"})
        bins = np.linspace(0.0, config.rdf_r_max, config.rdf_bins + 1)
        g_model = pair_distance_distribution(nvt.positions, bins, nvt.cell if nvt.pbc.any() else None,
                                             nvt.pbc if nvt.pbc.any() else None)
        g_ref = _reference_distribution(frames, test[0], bins)
        width = bins[1] - bins[0]
        rdf = pd.DataFrame({"r_A": 0.5 * (bins[1:] + bins[:-1]), "model": g_model, "reference": g_ref})
        rdf.to_csv(out / "rdf.csv", index=False)
        files["rdf"] = out / "rdf.csv"
        md_summary = {
            "model": md_name, "dtype": config.md_dtype, "steps": config.md_steps,
            "timestep_fs": config.md_timestep_fs, "temperature_K": config.md_temperature_K,
            "nve_time_ps": float(nve.time_ps[-1]),
            "nve_failed": nve.info.get("failed"), "nvt_failed": nvt.info.get("failed"),
            "nvt_time_ps": float(nvt.time_ps[-1]),
            "nve_energy_drift_eV_per_atom_per_ps": energy_drift(nve) if len(nve.time_ps) > 1 else None,
            "nve_energy_fluctuation_meV_per_atom": 1000 * float(np.ptp(nve.total)) / nve.num_atoms,
            "nve_steps_per_second": nve.steps_per_second,
            "nvt_mean_temperature_K": float(nvt.temperature[len(nvt.temperature) // 2:].mean()),
            "nvt_steps_per_second": nvt.steps_per_second,
            "rdf_l1_distance": float(np.abs(g_model - g_ref).sum() * width),
        }
    summary: dict[str, Any] = {
        "dataset": config.data_path or config.dataset, "elements": elements,
        "n_frames": len(frames), "n_train": len(train), "n_val": len(val), "n_test": len(test),
        "atomic_energies_eV": {str(z): float(e) for z, e in zip(elements, e0)},
        "energy_scale_eV": scale, "avg_num_neighbors": neighbours,
        "models": by_model, "md": md_summary,
        "config": json.loads(json.dumps(asdict(config))),
        "wall_seconds_this_call": time.perf_counter() - t_start,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files["metrics_json"] = out / "metrics.json"
    return PotentialRunResult(results, summary, energy_parity, forces_parity, histories, potentials, nve, nvt, rdf,
                              frames, out, True, files, comparison)

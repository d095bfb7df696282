"""The phonon-DOS pipeline: predict a crystal's 51-bin phonon density of states from its structure.

The task of Chen et al. (Adv. Sci. 8, 2004214, 2021: an E(3)NN on 1,524 Materials Project crystals with DFPT
phonons), here on the generated EMT set of :mod:`workbench.scattering.spectra_data` (fcc elements, L1_2, L1_0 and
random alloys of Al, Ni, Cu, Pd, Ag, Pt, Au; DOS on 51 bins of 0-12 THz, max 1).

:func:`run_phonon_dos` splits the structures (seeded permutation: ``val_fraction``, ``test_fraction``, the rest
training; ``max_structures > 0`` keeps a seeded subset first) and compares, on the same test crystals:

- ``dos_mace``: :class:`~workbench.models.phonon_dos.PeriodicDOSMACE` (MACE layers on the periodic radius graph
  with cell shifts; invariant to rotations, reflections, translations, atom order, cell choice and supercells);
- ``composition_mlp``: :class:`~workbench.models.phonon_dos.CompositionDOSMLP`, the element fractions only;
- ``mean_dos``: the mean training DOS for every crystal (no fitting).

The trained models use :func:`workbench.train.fit` (MSE over the 51 bins, AdamW, cosine schedule, resumable,
best validation weights). Metrics on the test crystals: ``mse`` (mean over crystals and bins of the max-normalized
DOS), and the mean relative errors of the DOS-derived average frequency (``freq_rel_error``) and of the harmonic
heat capacity at 300 K (``cv_rel_error``), :func:`~workbench.scattering.phonons.average_frequency` and
:func:`~workbench.scattering.phonons.heat_capacity` of prediction vs truth.

Files in ``output_dir``: ``metrics.json``, ``results.csv`` (one row per model), ``comparison.csv`` (MSE against
``mean_dos``) and per model ``<model>/test_predictions.csv`` (one row per test crystal: index, formula, kind, mse,
frequencies and heat capacities) and ``<model>/test_dos.npy`` (``[n_test, 51]`` predicted DOS); for trained models
also ``metrics.csv``, ``checkpoint.pt``, ``best_model.pt``.
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

from workbench.models.phonon_dos import CompositionDOSMLP, PeriodicDOSMACE
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
from workbench.scattering.phonons import average_frequency, heat_capacity
from workbench.scattering.spectra_data import SpectraDataset, load_spectra_dataset
from workbench.train import load_best_weights

__all__ = ["MODEL_NAMES", "PhononDOSRunConfig", "PhononDOSRunResult", "build_dos_model", "collate_crystals",
           "predict_dos", "run_phonon_dos"]

#: Models :func:`run_phonon_dos` can compare, by name (``mean_dos`` is not trained).
MODEL_NAMES: tuple[str, ...] = ("dos_mace", "composition_mlp", "mean_dos")
EQUIVARIANT_MODEL, BASELINE_MODEL = "dos_mace", "mean_dos"
_TRAINED = ("dos_mace", "composition_mlp")
_RESUMABLE_FIELDS = ("epochs", "max_steps", "checkpoint_every", "progress", "models")


@dataclass
class PhononDOSRunConfig:
    """Parameters of :func:`run_phonon_dos` (the notebook's parameters map onto these).

    Data: ``data_path`` (folder of :func:`load_spectra_dataset`; empty = the shipped ``data/spectra``),
    ``max_structures`` (> 0: a seeded subset), ``val_fraction``, ``test_fraction``. Training: ``epochs``,
    ``batch_size``, AdamW ``lr``, ``weight_decay``, ``seed``, ``max_steps`` (> 0: stop there; resumable).
    PeriodicDOSMACE: ``channels``, ``lmax``, ``correlation``, ``num_layers``, ``r_max`` (Å). Composition MLP:
    ``mlp_hidden``. ``temperature``: of the heat capacity metric (K).
    """

    data_path: str = ""
    max_structures: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.2
    epochs: int = 30
    batch_size: int = 16
    lr: float = 5e-3
    weight_decay: float = 0.0
    channels: int = 16
    lmax: int = 1
    correlation: int = 2
    num_layers: int = 2
    r_max: float = 4.5
    mlp_hidden: int = 64
    temperature: float = 300.0
    seed: int = 0
    models: Sequence[str] = MODEL_NAMES
    checkpoint_every: int = 100
    max_steps: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        self.models = name_tuple(self.models)

    def validate(self) -> None:
        """Raise ValueError naming the field for any bad value (before anything is computed or written)."""
        check_model_names(self.models, MODEL_NAMES)
        check_integers(self, {"max_structures": 0, "epochs": 1, "batch_size": 1, "channels": 1, "lmax": 0,
                              "correlation": 1, "num_layers": 1, "mlp_hidden": 1, "seed": 0, "checkpoint_every": 1,
                              "max_steps": 0})
        check_numbers(self, (("lr", 0.0, True), ("r_max", 0.0, True), ("weight_decay", 0.0, False),
                             ("val_fraction", 0.0, True), ("test_fraction", 0.0, True), ("temperature", 0.0, True)))
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(f"val_fraction + test_fraction must be < 1, got {self.val_fraction} + "
                             f"{self.test_fraction}")
        if not isinstance(self.data_path, (str, Path)):
            raise ValueError(f"data_path must be a folder path (str) or '' for the shipped set, got "
                             f"{self.data_path!r}")


@dataclass
class PhononDOSRunResult:
    """What :func:`run_phonon_dos` produced: ``results`` (one row per model), ``metrics`` (``metrics.json``),
    ``predictions`` (per model, one row per test crystal), ``test_dos`` (per model ``[n_test, 51]``),
    ``true_dos [n_test, 51]``, ``test_indices`` (into ``dataset``), ``histories``, trained ``models``,
    ``dataset``, ``completed`` (False when ``max_steps`` stopped training early), ``files``, ``comparison``."""

    results: pd.DataFrame | None
    metrics: dict[str, Any]
    predictions: dict[str, pd.DataFrame]
    test_dos: dict[str, np.ndarray]
    true_dos: np.ndarray
    test_indices: np.ndarray
    histories: dict[str, pd.DataFrame]
    models: dict[str, torch.nn.Module]
    dataset: SpectraDataset
    output_dir: Path
    completed: bool
    files: dict[str, Path] = field(default_factory=dict)
    comparison: pd.DataFrame | None = None


def collate_crystals(items: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]) -> dict[str, Any]:
    """Batch ``(z [n], pos [n, 3], cell [3, 3], dos [bins])`` items: ``z``, ``pos`` concatenated, ``cell [B, 3,
    3]``, ``batch [A]``, ``num_graphs``, ``dos [B, bins]``."""
    return {"z": torch.cat([i[0] for i in items]), "pos": torch.cat([i[1] for i in items]),
            "cell": torch.stack([i[2] for i in items]),
            "batch": torch.cat([torch.full((len(i[0]),), k, dtype=torch.long) for k, i in enumerate(items)]),
            "num_graphs": len(items), "dos": torch.stack([i[3] for i in items])}


def _items(data: SpectraDataset, indices: np.ndarray, dtype: torch.dtype = torch.float32) -> list[tuple]:
    out = []
    for i in indices:
        z, pos, cell = data.structure(int(i))
        out.append((torch.as_tensor(z), torch.as_tensor(pos, dtype=dtype), torch.as_tensor(cell, dtype=dtype),
                    torch.as_tensor(data.dos[int(i)], dtype=dtype)))
    return out


def build_dos_model(name: str, config: PhononDOSRunConfig, bins: int = 51) -> torch.nn.Module:
    """Trainable model ``name`` (``dos_mace`` or ``composition_mlp``) initialized from ``torch.manual_seed(seed)``."""
    if name not in _TRAINED:
        raise ValueError(f"unknown trainable model {name!r}; valid: {', '.join(_TRAINED)}")
    torch.manual_seed(config.seed)
    if name == "dos_mace":
        return PeriodicDOSMACE(bins=bins, channels=config.channels, lmax=config.lmax, correlation=config.correlation,
                               num_layers=config.num_layers, r_max=config.r_max)
    return CompositionDOSMLP(bins=bins, hidden=config.mlp_hidden)


def _loss_fn(model: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
    pred = model(batch["z"], batch["pos"], batch["cell"], batch["batch"], batch["num_graphs"])
    loss = torch.nn.functional.mse_loss(pred, batch["dos"])
    return loss, {"mse": float(loss.detach())}


@torch.no_grad()
def predict_dos(model: torch.nn.Module, items: list[tuple], batch_size: int = 32) -> np.ndarray:
    """``[len(items), bins]`` predicted DOS of crystals given as :func:`collate_crystals` items, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        outs = []
        for s in range(0, len(items), batch_size):
            b = collate_crystals(items[s:s + batch_size])
            outs.append(model(b["z"], b["pos"], b["cell"], b["batch"], b["num_graphs"]).double().numpy())
        return np.concatenate(outs)
    finally:
        model.train(was_training)


def _split(n: int, config: PhononDOSRunConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(n)
    if config.max_structures:
        order = order[:config.max_structures]
    n_val = max(1, round(config.val_fraction * len(order)))
    n_test = max(1, round(config.test_fraction * len(order)))
    if len(order) - n_val - n_test < 1:
        raise ValueError(f"{len(order)} structures leave no training set with val_fraction {config.val_fraction} "
                         f"and test_fraction {config.test_fraction}; raise max_structures")
    return order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]


def _evaluate(name: str, pred: np.ndarray, true: np.ndarray, data: SpectraDataset, test: np.ndarray,
              temperature: float) -> tuple[dict[str, Any], pd.DataFrame]:
    centres = data.dos_centres
    mse = ((pred - true) ** 2).mean(1)
    f_true, f_pred = average_frequency(true, centres), average_frequency(pred, centres)
    c_true, c_pred = heat_capacity(true, centres, temperature), heat_capacity(pred, centres, temperature)
    frame = pd.DataFrame({"index": test, "formula": [data.formula(int(i)) for i in test],
                          "kind": data.kinds[test], "mse": mse, "avg_freq_true": f_true, "avg_freq_pred": f_pred,
                          "cv_true": c_true, "cv_pred": c_pred})
    metrics = {"model": name, "mse": float(mse.mean()),
               "freq_rel_error": float(np.mean(np.abs(f_pred - f_true) / f_true)),
               "cv_rel_error": float(np.mean(np.abs(c_pred - c_true) / c_true))}
    for kind in sorted(set(frame["kind"])):
        metrics[f"mse_{kind}"] = float(frame.loc[frame["kind"] == kind, "mse"].mean())
    return metrics, frame


def run_phonon_dos(config: PhononDOSRunConfig | None = None, output_dir: str | Path = "runs/phonon_dos",
                   **overrides: Any) -> PhononDOSRunResult:
    """Train and compare the models of ``config.models`` on the spectra dataset (module docstring). Keyword
    ``overrides`` replace config fields; calling again with the same ``output_dir`` resumes.

    Raises:
        ValueError: unknown model names (lists the valid ones), bad values, a dataset too small for the split, or
            an ``output_dir`` holding a run with another configuration. FileNotFoundError: no dataset at
            ``data_path``. Nothing is written before validation.
    """
    config = resolve_config(PhononDOSRunConfig, config, overrides, "run_phonon_dos")
    out = Path(output_dir)
    t_start = time.perf_counter()
    data = load_spectra_dataset(config.data_path or None)
    train_idx, val_idx, test_idx = _split(len(data), config)
    out.mkdir(parents=True, exist_ok=True)
    guard_run_folder(out, config, _RESUMABLE_FIELDS, "phonon_dos")
    bins = data.dos.shape[1]
    train_items, val_items, test_items = (_items(data, idx) for idx in (train_idx, val_idx, test_idx))
    trained = [m for m in config.models if m in _TRAINED]
    train_config = cosine_train_config(config)
    models, fits, files = fit_models(trained, lambda name: build_dos_model(name, config, bins), _loss_fn,
                                     train_items, val_items, train_config, out, config.max_steps,
                                     collate_fn=collate_crystals)
    histories = {name: result.history for name, result in fits.items()}
    true = data.dos[test_idx]
    if not all(r.completed for r in fits.values()):
        return PhononDOSRunResult(None, {}, {}, {}, true, test_idx, histories, models, data, out, False, files)

    rows, predictions, test_dos = [], {}, {}
    for name in config.models:
        (out / name).mkdir(parents=True, exist_ok=True)
        if name == "mean_dos":
            pred = np.repeat(data.dos[train_idx].mean(0, keepdims=True), len(test_idx), axis=0)
            extra = {"parameters": 0, "train_seconds": 0.0, "best_val_loss": None, "steps": 0}
        else:
            load_best_weights(models[name], fits[name])
            pred = predict_dos(models[name], test_items)
            history = histories[name]
            extra = {"parameters": int(sum(p.numel() for p in models[name].parameters())),
                     "train_seconds": float(history["seconds"].iloc[-1]) if len(history) else 0.0,
                     "best_val_loss": fits[name].best_val_loss, "steps": int(fits[name].step)}
        metrics, frame = _evaluate(name, pred, true, data, test_idx, config.temperature)
        metrics.update(extra)
        frame.to_csv(out / name / "test_predictions.csv", index=False)
        np.save(out / name / "test_dos.npy", pred)
        files[f"{name}_test_predictions"] = out / name / "test_predictions.csv"
        files[f"{name}_test_dos"] = out / name / "test_dos.npy"
        rows.append(metrics)
        predictions[name], test_dos[name] = frame, pred
    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False)
    files["results"] = out / "results.csv"
    by_model = {r["model"]: r for r in rows}
    comparison = compare_models(by_model, "mse", BASELINE_MODEL if BASELINE_MODEL in by_model else "",
                                higher_is_better=False, columns=("freq_rel_error", "cv_rel_error", "parameters",
                                                                 "train_seconds"))
    comparison.to_csv(out / "comparison.csv", index=False)
    files["comparison"] = out / "comparison.csv"
    summary: dict[str, Any] = {
        "n_train": len(train_idx), "n_val": len(val_idx), "n_test": len(test_idx),
        "dataset": {"structures": len(data), "sha256": data.manifest.get("files", {}).get("spectra.npz", {})
                    .get("sha256"), "dos_bins": bins,
                    "dos_range_thz": [0.0, float(data.dos_centres[-1] + data.dos_centres[0])]},
        "mse": {r["model"]: r["mse"] for r in rows},
        "models": by_model,
        "config": json.loads(json.dumps(asdict(config))),
        "wall_seconds_this_call": time.perf_counter() - t_start,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files["metrics_json"] = out / "metrics.json"
    return PhononDOSRunResult(results, summary, predictions, test_dos, true, test_idx, histories, models, data, out,
                              True, files, comparison)

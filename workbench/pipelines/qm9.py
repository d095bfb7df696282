"""The QM9 property pipeline: data -> split -> target scaling -> model -> training -> test metrics.

One function, :func:`run_qm9`, serves the notebook ``notebooks/pipelines/qm9.ipynb``, the full-size runs of
``benchmarks/qm9_models.py`` and the tests. It trains several models (``models=["nequip", "schnet"]``) on the same
split with the loop shared with the other pipelines (:mod:`workbench.pipelines.common`: config resolution, AdamW
with a cosine schedule, one subfolder per model, the run-folder guard) and compares their test MAEs with the
baseline's (:func:`workbench.pipelines.compare.compare_models`). It is resumable: calling it again with the same
``output_dir`` and config continues from the last checkpoints (:func:`workbench.train.fit`) and ends with the same
metrics as an uninterrupted run; models may be added to a finished run folder.

How a target is learned (:func:`target_task`):

- ``homo``, ``lumo``, ``gap``, ``A``, ``B``, ``C``: intensive, the atomic outputs are averaged per molecule;
- total energies ``u0, u298, h298, g298`` and the ``*_atom`` energies: extensive, summed, after subtracting
  per-element reference energies fitted on the training split (:func:`workbench.data.qm9.fit_atom_references`);
- ``zpve``, ``cv``, ``alpha``, ``r2``: extensive, summed;
- ``mu``: the model predicts the dipole vector (equivariant head) and ``|mu|`` is compared with the label.

Targets are standardised with training-split statistics; the loss is L1 (or MSE) on standardised values; test
MAEs are reported in the label's unit and, for energies, in meV.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from workbench.data.batch import collate_atoms
from workbench.data.qm9 import (
    DEFAULT_QM9_CSV,
    DEFAULT_QM9_DIR,
    HARTREE_TO_MEV,
    QM9_ENERGY_TARGETS,
    QM9_TARGETS,
    QM9PACK_VERSION,
    QM9Dataset,
    cached_qm9_conformers,
    cached_qm9_full,
    fit_atom_references,
    fixed_split,
    validate_target_names,
)
from workbench.groups.cache import cache_root
from workbench.models import MODELS, build_model
from workbench.nn.graph import radius_graph, scatter_sum
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
from workbench.train import load_best_weights
from workbench.train.distributed import init_distributed, is_main_process, main_process_first

__all__ = ["QM9RunConfig", "QM9RunResult", "TargetTask", "TargetTransform", "target_task", "resolve_qm9_data",
           "run_qm9", "KCAL_PER_MOL_TO_MEV"]

#: 1 kcal/mol in meV.
KCAL_PER_MOL_TO_MEV: float = 4184.0 / 6.02214076e23 / 1.602176634e-19 * 1000.0

_INTENSIVE = ("homo", "lumo", "gap", "A", "B", "C")
_ATOM_REFERENCED = QM9_ENERGY_TARGETS + ("u0_atom", "u298_atom", "h298_atom", "g298_atom")
# Config fields that may differ between a run and the call resuming it; any other change needs a new output_dir.
_RESUMABLE_FIELDS = ("epochs", "max_steps", "checkpoint_every", "progress", "models")
# Per-model metrics copied into the comparison table beside the test MAE.
_COMPARISON_COLUMNS = ("test_mae_mev", "test_rmse", "parameters", "num_basis", "train_seconds", "n_train", "n_test")


@dataclass(frozen=True)
class TargetTask:
    """How one QM9 label is learned: ``output`` ("scalar" | "dipole"), ``reduce`` ("sum" | "mean"), whether
    per-element reference energies are subtracted, the label's ``unit`` and its factor to meV (or None)."""

    target: str
    output: str
    reduce: str
    atom_references: bool
    unit: str
    to_mev: float | None


def target_task(target: str) -> TargetTask:
    """The :class:`TargetTask` of a QM9 label; an unknown name raises ValueError listing the valid ones."""
    (target,) = validate_target_names([target])
    unit = QM9_TARGETS[target][0]
    to_mev = HARTREE_TO_MEV if unit == "Ha" else KCAL_PER_MOL_TO_MEV if unit == "kcal/mol" else None
    if target == "mu":
        return TargetTask(target, "dipole", "sum", False, unit, None)
    reduce = "mean" if target in _INTENSIVE else "sum"
    return TargetTask(target, "scalar", reduce, target in _ATOM_REFERENCED, unit, to_mev)


class TargetTransform(torch.nn.Module):
    """Label <-> model output: ``t = (y - sum_atoms ref[z] - mean) / std`` (scalar targets) or ``t = y / std``
    compared with ``|model output|`` (dipole). Built from the training split only; saved as JSON."""

    def __init__(self, task: TargetTask, mean: float, std: float, references: dict[int, float] | None = None):
        super().__init__()
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
            raise ValueError(f"need a finite mean and a positive std, got {mean}, {std}")
        self.task, self.mean, self.std = task, float(mean), float(std)
        self.references = {int(k): float(v) for k, v in (references or {}).items()}
        if task.atom_references and not self.references:
            raise ValueError(f"target {task.target} needs atom reference energies")
        table = torch.zeros(max(self.references, default=0) + 1, dtype=torch.float64)
        known = torch.zeros(table.shape[0], dtype=torch.bool)
        for z, e in self.references.items():
            table[z], known[z] = e, True
        self.register_buffer("_reference_of_z", table, persistent=False)
        self.register_buffer("_known", known, persistent=False)

    def reference(self, z: torch.Tensor, batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
        """``[B]`` sum of the per-element references of each molecule (zeros for a task without references);
        an element without a reference raises ValueError."""
        if not self.task.atom_references:
            return torch.zeros(num_graphs, dtype=torch.float64)
        in_table = (z >= 0) & (z < self._known.shape[0])
        known = torch.zeros_like(in_table)
        known[in_table] = self._known[z[in_table]]
        if not bool(known.all()):
            raise ValueError(f"no {self.task.target} reference energy for element(s) "
                             f"{sorted({int(v) for v in z[~known]})}; known: {sorted(self.references)}")
        return scatter_sum(self._reference_of_z[z], batch, num_graphs)

    def encode(self, y: torch.Tensor, z: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        """Labels ``[B]`` -> standardised targets ``[B]`` (the model's scale)."""
        if self.task.output == "dipole":
            return y / self.std
        ref = self.reference(z, batch, y.shape[0]).to(y.dtype)
        return (y - ref - self.mean) / self.std

    def decode(self, out: torch.Tensor, z: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        """Model outputs (``[B]`` or dipoles ``[B, 3]``) -> predicted labels ``[B]`` in the label's unit."""
        if self.task.output == "dipole":
            return torch.linalg.norm(out, dim=-1) * self.std
        ref = self.reference(z, batch, out.shape[0]).to(out.dtype)
        return out * self.std + self.mean + ref

    def model_scale(self, out: torch.Tensor) -> torch.Tensor:
        """Model outputs -> the standardised quantity compared with :meth:`encode` in the loss."""
        return torch.linalg.norm(out, dim=-1) if self.task.output == "dipole" else out

    def to_dict(self) -> dict[str, Any]:
        return {"task": asdict(self.task), "mean": self.mean, "std": self.std,
                "references": {str(k): v for k, v in self.references.items()}}


@dataclass
class QM9RunConfig:
    """Parameters of :func:`run_qm9` (the notebook's parameters map onto these).

    ``models``: names from :data:`workbench.models.MODELS` (a list or a comma-separated string), all trained on
    the same split with the same loop. ``baseline``: the model the comparison table is relative to (SchNet, the
    invariant baseline, by default; ``""`` for none); it keeps its own radial basis. ``num_basis``: radial basis
    functions of every other model (0: each model's default, SchNet 50 Gaussians, the others 8 Bessel functions).
    ``data_path``: ``""`` for the shipped subset (``data/qm9``, 983 molecules with DFT geometries), ``"qm9pack"``
    for the whole QM9 release with its DFT geometries (130,831 molecules; the ``qm9`` extra; built once into
    ``cache_dir``, default ``<root>/qm9/qm9pack-<version>``), a conformer folder (``manifest.json`` +
    ``qm9_conformers.npz``), or a QM9 CSV of SMILES (RDKit MMFF94 conformers are then built once into
    ``cache_dir``; default ``<root>/qm9/<csv name>-seed<seed>``); the cache root is ``$WORKBENCH_CACHE`` or
    ``~/.cache/equivariant-workbench``. ``split``: train/val/test fractions of the dataset, fixed by
    ``split_seed`` so that runs with different models share it (default 80/10/10; the papers' QM9 split of 110k /
    10k / rest of 130,831 is ``(0.8408, 0.0764, 0.0828)``). ``n_train``, ``n_val``, ``n_test``: caps on the split
    parts (0 = the whole part).
    """

    models: Sequence[str] = ("nequip", "schnet")
    baseline: str = "schnet"
    target: str = "gap"
    n_train: int = 0
    n_val: int = 0
    n_test: int = 0
    epochs: int = 10
    batch_size: int = 32
    lr: float = 5e-3
    weight_decay: float = 0.0
    lmax: int = 1
    channels: int = 32
    num_layers: int = 0  # 0: the model's default
    num_basis: int = 0  # radial basis functions of every model but the baseline; 0: the model's default
    r_max: float = 5.0
    loss: str = "l1"
    ema_decay: float = 0.99
    seed: int = 0
    split_seed: int = 0
    split: Sequence[float] = (0.8, 0.1, 0.1)
    data_path: str = ""
    cache_dir: str = ""
    checkpoint_every: int = 100
    max_steps: int = 0  # > 0: stop each model after this many optimizer steps (resumable)
    progress: bool = True

    def __post_init__(self) -> None:
        self.models = tuple(m.lower() for m in name_tuple(self.models))
        self.split = tuple(float(f) for f in self.split)
        self.baseline = self.baseline.lower()

    def validate(self) -> None:
        """Raise ValueError naming the field for any bad value (before anything is computed or written)."""
        for name in (*self.models, *([self.baseline] if self.baseline else [])):
            if name not in MODELS:
                raise ValueError(f"unknown model {name!r}; valid models: {', '.join(MODELS)}")
        check_model_names(self.models, tuple(MODELS))
        target_task(self.target)
        if self.loss not in ("l1", "mse"):
            raise ValueError(f"loss must be 'l1' or 'mse', got {self.loss!r}")
        for name in ("n_train", "n_val", "n_test", "num_layers", "num_basis", "max_steps"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        check_integers(self, {"epochs": 1, "batch_size": 1, "lmax": 0, "channels": 1, "seed": 0, "split_seed": 0,
                              "checkpoint_every": 1})
        check_numbers(self, (("lr", 0.0, True), ("weight_decay", 0.0, False), ("r_max", 0.0, True),
                             ("ema_decay", 0.0, False)))
        if len(self.split) != 3 or min(self.split) <= 0 or abs(sum(self.split) - 1.0) > 1e-9:
            raise ValueError(f"split must be three positive train/val/test fractions summing to 1, got {self.split}")
        if self.ema_decay >= 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) (0 = no EMA), got {self.ema_decay!r}")

    def num_basis_of(self, model: str) -> int:
        """The radial basis size given to ``model`` (0: its default): ``num_basis``, except for the baseline."""
        return 0 if model == self.baseline else int(self.num_basis)


@dataclass
class QM9RunResult:
    """What :func:`run_qm9` produced, per model name: per-epoch ``histories``, per-molecule test ``predictions``
    and the trained ``models`` (best validation weights); ``comparison`` (one row per model:
    :func:`~workbench.pipelines.compare.compare_models` on the test MAE, also ``comparison.csv``), ``metrics``
    (the content of ``<output_dir>/metrics.json``: per-model metrics under ``"models"``) and the shared target
    ``transform``. ``completed`` is False when ``max_steps`` stopped a model early, and on every rank but 0 of a
    torchrun run, which tests and writes alone (then there are no test
    metrics yet: ``comparison`` and ``predictions`` are None, ``metrics`` is empty)."""

    comparison: pd.DataFrame | None
    metrics: dict[str, Any]
    predictions: dict[str, pd.DataFrame] | None
    histories: dict[str, pd.DataFrame]
    models: dict[str, torch.nn.Module]
    transform: TargetTransform
    output_dir: Path
    completed: bool
    files: dict[str, Path] = field(default_factory=dict)


def resolve_qm9_data(data_path: str | Path = "", cache_dir: str | Path = "", seed: int = 0) -> Path:
    """The conformer folder for ``data_path`` (see :class:`QM9RunConfig`); missing paths raise
    FileNotFoundError naming the expected path and the shipped subset."""
    if not str(data_path):
        return DEFAULT_QM9_DIR
    if str(data_path) == "qm9pack":
        root = cache_root()
        if str(cache_dir):
            return cached_qm9_full(cache_dir)
        if root is None:  # WORKBENCH_CACHE=off: build into a fresh temporary folder (~10 s)
            return cached_qm9_full(tempfile.mkdtemp(prefix="workbench-qm9pack-"))
        return cached_qm9_full(root / "qm9" / f"qm9pack-{QM9PACK_VERSION}")
    path = Path(data_path).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"QM9 data not found at {path}. Pass a conformer folder (manifest.json + qm9_conformers.npz), a QM9 "
            f"CSV like {DEFAULT_QM9_CSV}, or leave data_path empty for the shipped subset in {DEFAULT_QM9_DIR}."
        )
    if path.is_dir():
        return path
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path} is neither a conformer folder nor a .csv table")
    root = cache_root()
    if str(cache_dir):
        folder = Path(cache_dir)
    elif root is None:  # WORKBENCH_CACHE=off: build into a fresh temporary folder (minutes for the whole table)
        folder = Path(tempfile.mkdtemp(prefix="workbench-qm9-"))
    else:
        folder = root / "qm9" / f"{path.stem}-seed{seed}"
    return cached_qm9_conformers(folder, seed=seed, n=None, csv_path=path)


def _cap(indices: np.ndarray, n: int, seed: int) -> np.ndarray:
    if n <= 0 or n >= indices.size:
        return indices
    return np.sort(np.random.default_rng(seed).permutation(indices)[:n])


def _avg_num_neighbors(dataset: QM9Dataset, r_max: float, sample: int = 500) -> float:
    items = [dataset[i] for i in range(min(sample, len(dataset)))]
    batch = collate_atoms(items)
    edge_index, _ = radius_graph(batch.pos.double(), r_max, batch.batch)
    return float(edge_index.shape[1]) / float(batch.z.shape[0])


def _predict(model, transform, dataset, labels64, batch_size) -> pd.DataFrame:
    rows = []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = collate_atoms([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
            out = model(batch.z, batch.pos, batch.batch, batch.num_graphs)
            pred = transform.decode(out.double(), batch.z, batch.batch)
            for k in range(batch.num_graphs):
                row = int(batch.index[k])
                rows.append({"index": row, "mol_id": dataset.conformers.mol_id[row],
                             "y_true": float(labels64[row]), "y_pred": float(pred[k])})
    frame = pd.DataFrame(rows)
    frame["abs_error"] = (frame["y_pred"] - frame["y_true"]).abs()
    frame["smiles"] = [dataset.conformers.smiles[i] for i in frame["index"]]
    frame["n_atoms"] = [int(dataset.conformers.n_atoms[i]) for i in frame["index"]]
    return frame


def run_qm9(config: QM9RunConfig | None = None, output_dir: str | Path = "runs/qm9", **overrides: Any
            ) -> QM9RunResult:
    """Train every model of ``config.models`` on ``config.target`` on one split and evaluate them on its test part
    (module docstring). Keyword ``overrides`` replace config fields (``models=["mace", "schnet"]``).

    Writes into ``output_dir``: ``run_config.json`` (the guard against resuming with another configuration),
    ``split.json``, ``transform.json``, ``metrics.json`` (all models), ``comparison.csv`` (test MAE against the
    baseline, :func:`~workbench.pipelines.compare.compare_models`), and per model ``<model>/checkpoint.pt``
    (resume), ``metrics.csv`` (per epoch), ``best_model.pt``, ``test_predictions.csv`` and ``metrics.json``.

    Raises:
        ValueError: unknown model or target names (the message lists the valid ones), bad values, or an
            ``output_dir`` holding a run with another configuration. Nothing is written before validation.
        TypeError: an unknown keyword override (the message lists the valid fields).
        FileNotFoundError: ``data_path`` does not exist (the message names the shipped subset).

    Examples:
        >>> import tempfile
        >>> from workbench.pipelines import run_qm9
        >>> result = run_qm9(models=["mace", "schnet"], target="gap", n_train=32, n_val=16, n_test=16, epochs=1,
        ...                  channels=8, progress=False, output_dir=tempfile.mkdtemp())
        >>> list(result.comparison["model"]), result.metrics["baseline"], result.metrics["unit"]
        (['mace', 'schnet'], 'schnet', 'Ha')
        >>> bool(result.comparison.set_index("model").loc["schnet", "ratio_to_baseline"] == 1.0)
        True
    """
    config = resolve_config(QM9RunConfig, config, overrides, "run_qm9")
    task = target_task(config.target)
    t_start = time.perf_counter()
    init_distributed()  # under torchrun: join the process group (a no-op in a plain run)
    out = Path(output_dir)
    with main_process_first():  # rank 0 builds caches and writes the run config and split; the others read them
        folder = resolve_qm9_data(config.data_path, config.cache_dir, seed=0)
        out.mkdir(parents=True, exist_ok=True)
        guard_run_folder(out, config, _RESUMABLE_FIELDS, "qm9")
        full = QM9Dataset(folder, targets=[task.target])
        split = fixed_split(len(full), seed=config.split_seed, fractions=config.split, path=out / "split.json")
    train_idx = _cap(split["train"], config.n_train, config.split_seed)
    val_idx = _cap(split["val"], config.n_val, config.split_seed + 1)
    test_idx = _cap(split["test"], config.n_test, config.split_seed + 2)
    train_set, val_set, test_set = full.subset(train_idx), full.subset(val_idx), full.subset(test_idx)

    references: dict[int, float] = {}
    labels = full.conformers.target_column(task.target)[train_idx]
    if task.atom_references:
        refs = fit_atom_references(full.conformers, task.target, train_idx)
        references = dict(zip(refs.elements, refs.energies.tolist()))
        labels = labels - full.conformers.element_counts(refs.elements)[train_idx] @ refs.energies
        missing = sorted(set(np.unique(full.conformers.z).tolist()) - set(references))
        if missing:
            warnings.warn(f"element(s) {missing} occur in the data but not in the {train_idx.size} training molecules: "
                          f"their {task.target} reference energy is set to 0 and molecules containing them will be "
                          "predicted poorly; use more training molecules", stacklevel=2)
            references.update({int(e): 0.0 for e in missing})
    if task.output == "dipole":
        mean, std = 0.0, float(np.sqrt(np.mean(labels**2)))
    else:
        mean, std = float(labels.mean()), float(labels.std())
    transform = TargetTransform(task, mean, std, references)
    if is_main_process():
        (out / "transform.json").write_text(json.dumps(transform.to_dict(), indent=2) + "\n", encoding="utf-8")

    avg_nb = _avg_num_neighbors(train_set, config.r_max)

    def build(name: str) -> torch.nn.Module:
        torch.manual_seed(config.seed)  # every model's initialization is independent of the others
        extra = {"num_basis": config.num_basis_of(name)} if config.num_basis_of(name) else {}
        return build_model(name, channels=config.channels, lmax=config.lmax, num_layers=config.num_layers or None,
                           r_max=config.r_max, output=task.output, reduce=task.reduce, avg_num_neighbors=avg_nb,
                           **extra)

    criterion = torch.nn.functional.l1_loss if config.loss == "l1" else torch.nn.functional.mse_loss
    # float64 labels by row: float32 cannot hold a total energy (~ -400 Ha) to better than ~1 meV
    labels64 = torch.tensor(np.array(full.conformers.target_column(task.target), dtype=np.float64))

    def loss_fn(m: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
        out_ = m(batch.z, batch.pos, batch.batch, batch.num_graphs)
        target = transform.encode(labels64[batch.index], batch.z, batch.batch).to(out_.dtype)
        pred = transform.model_scale(out_)
        loss = criterion(pred, target)
        mae = float((pred.detach() - target).abs().mean()) * transform.std
        return loss, {"mae": mae}

    train_config = cosine_train_config(config, ema_decay=config.ema_decay or None, warmup_steps=0)
    atoms = full.conformers.n_atoms[train_idx]  # balances a torchrun run's ranks by atoms per molecule
    models, fits, files = fit_models(config.models, build, loss_fn, train_set, val_set, train_config, out,
                                     config.max_steps, collate_fn=collate_atoms, item_sizes=atoms)
    files.update({"split": out / "split.json", "transform": out / "transform.json"})
    histories = {name: result.history for name, result in fits.items()}
    if not is_main_process() or not all(r.completed for r in fits.values()):  # rank 0 alone tests and writes
        return QM9RunResult(None, {}, None, histories, models, transform, out, False, files)

    per_model, predictions = {}, {}
    for name, model in models.items():
        result = fits[name]
        load_best_weights(model, result)
        frame = _predict(model, transform, test_set, labels64, max(config.batch_size, 64))
        frame.to_csv(out / name / "test_predictions.csv", index=False)
        mae = float(frame["abs_error"].mean())
        rmse = float(np.sqrt(np.mean((frame["y_pred"] - frame["y_true"]) ** 2)))
        metrics: dict[str, Any] = {
            "model": name, "target": task.target, "unit": task.unit,
            "test_mae": mae, "test_rmse": rmse,
            "test_mae_mev": mae * task.to_mev if task.to_mev else None,
            "n_train": int(train_idx.size), "n_val": int(val_idx.size), "n_test": int(test_idx.size),
            "epochs": int(config.epochs), "parameters": model.num_parameters(), "num_basis": config.num_basis_of(name),
            "avg_num_neighbors": avg_nb, "train_seconds": float(result.history["seconds"].iloc[-1])
            if len(result.history) else 0.0,
            "best_val_loss": result.best_val_loss, "steps": int(result.step), "data": str(folder),
            "config": json.loads(json.dumps(asdict(config))),
        }
        (out / name / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        files[f"{name}_test_predictions"] = out / name / "test_predictions.csv"
        files[f"{name}_metrics_json"] = out / name / "metrics.json"
        per_model[name], predictions[name] = metrics, frame

    baseline = config.baseline if config.baseline in per_model else ""
    comparison = compare_models(per_model, "test_mae", baseline, columns=_COMPARISON_COLUMNS)
    comparison.to_csv(out / "comparison.csv", index=False)
    files["comparison"] = out / "comparison.csv"
    by_model = comparison.set_index("model")
    summary: dict[str, Any] = {
        "target": task.target, "unit": task.unit, "baseline": baseline or None,
        "test_mae": {n: m["test_mae"] for n, m in per_model.items()},
        "test_mae_mev": {n: m["test_mae_mev"] for n, m in per_model.items()},
        "mae_ratio_to_baseline": ({n: float(by_model.loc[n, "ratio_to_baseline"]) for n in per_model}
                                  if baseline else None),
        "beats_baseline": ({n: bool(by_model.loc[n, "beats_baseline"]) for n in per_model if n != baseline}
                           if baseline else None),
        "n_train": int(train_idx.size), "n_val": int(val_idx.size), "n_test": int(test_idx.size),
        "models": per_model, "data": str(folder), "config": json.loads(json.dumps(asdict(config))),
        "wall_seconds_this_call": time.perf_counter() - t_start,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files["metrics_json"] = out / "metrics.json"
    return QM9RunResult(comparison, summary, predictions, histories, models, transform, out, True, files)

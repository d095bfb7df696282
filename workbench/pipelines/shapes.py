"""The O(3) shape-recognition pipeline: train on aligned shapes, test on rotated and reflected ones.

The claim it tests (lie-nn, Batatia et al. 2023: one MACE construction for any reductive Lie group, here O(3)):
a model that is O(3)-invariant by construction recognises a shape in *every* orientation and handedness after
seeing it in one, while a plain point-cloud network only knows the orientations it was trained on.

:func:`run_shapes` builds the data with :func:`workbench.data.shapes.make_shape_dataset`:

- training clouds in canonical orientation (``rotate="none"``), seed ``3 * seed``;
- validation clouds, also aligned, from another seed (``3 * seed + 1``): model selection never sees a rotation;
- one set of test shapes (seed ``3 * seed + 2``) in three versions: aligned (``"none"``), Haar-rotated (``"so3"``)
  and rotated then mirrored with probability 1/2 (``"o3"``); the same clouds, only the O(3) element differs.

It trains every model of ``config.models`` (:data:`MODEL_NAMES`) with :func:`workbench.train.fit` (cross-entropy,
accuracy metric, cosine schedule) in ``<output_dir>/<model>/``:

- ``shape_mace``: :class:`~workbench.models.shapes.ShapeMACE`, O(3)-invariant by construction;
- ``pointnet``: :class:`~workbench.models.shapes.PointNetClassifier` on the aligned clouds as they are;
- ``pointnet_augmented``: the same PointNet trained on randomly rotated and reflected copies of the training clouds
  (:class:`~workbench.models.augmentation.RandomO3Augmentation`, a fresh Haar-random O(3) element per cloud and
  step; validation and test clouds are not augmented);
- ``invariant_features``: logistic regression on rotation-invariant hand features
  (:class:`~workbench.models.shape_features.InvariantFeatureClassifier`: radial-distance quantiles, inertia
  eigenvalues, pairwise-distance histogram; standardized on the training clouds).

Each model keeps the weights with the lowest validation loss, which are evaluated on the three test sets. Calling it
again with the same ``output_dir`` and config resumes from the
checkpoints and ends with the same metrics as an uninterrupted run.

Files in ``output_dir``: ``metrics.json`` (everything, including the config), ``results.csv`` (one row per model),
``comparison.csv`` (every model's ``"o3"`` accuracy against plain PointNet's; ``metrics.json``'s
``o3_accuracy_over`` gives ShapeMACE's margin over each model) and, per model, ``<model>/metrics.csv`` (per
epoch), ``checkpoint.pt``, ``best_model.pt``, ``test_predictions.csv`` (one row per test cloud: true and predicted
class in each version) and ``confusion_o3.csv`` (rows: true class, columns: predicted class, on the ``"o3"`` test set).
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

from workbench.data.shapes import ROTATIONS, SHAPE_CLASSES, ShapeDataset, make_shape_dataset
from workbench.models.augmentation import RandomO3Augmentation
from workbench.models.shape_features import InvariantFeatureClassifier
from workbench.models.shapes import PointNetClassifier, ShapeMACE
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

__all__ = ["MODEL_NAMES", "EQUIVARIANT_MODEL", "BASELINE_MODEL", "TEST_VERSIONS", "ShapesRunConfig",
           "ShapesRunResult", "build_shape_model", "predict_logits", "run_shapes"]

#: Models :func:`run_shapes` can train, by name.
MODEL_NAMES: tuple[str, ...] = ("shape_mace", "pointnet", "pointnet_augmented", "invariant_features")
#: The O(3)-invariant model and the baseline whose ``"o3"`` accuracies make the reported gap.
EQUIVARIANT_MODEL, BASELINE_MODEL = "shape_mace", "pointnet"
#: Test-set versions: name in the reports -> ``rotate`` argument of :func:`make_shape_dataset`.
TEST_VERSIONS: dict[str, str] = {"aligned": "none", "so3": "so3", "o3": "o3"}
assert set(TEST_VERSIONS.values()) == set(ROTATIONS)

# Config fields that may differ between a run and the call resuming it; any other change needs a new output_dir.
_RESUMABLE_FIELDS = ("epochs", "max_steps", "checkpoint_every", "progress", "models")


@dataclass
class ShapesRunConfig:
    """Parameters of :func:`run_shapes` (the notebook's parameters map onto these).

    Data: ``classes`` (subset of :data:`~workbench.data.shapes.SHAPE_CLASSES`; empty = all ten),
    ``n_train_per_class``, ``n_val_per_class``, ``n_test_per_class`` clouds of ``num_points`` points with point
    noise ``noise`` (units of the unscaled shape). Training: ``epochs``, ``batch_size``, AdamW ``lr`` and
    ``weight_decay`` with a cosine schedule, ``ema_decay`` (0 = off), ``seed`` (data, initialization, batch order),
    ``max_steps`` (> 0: stop every model after this many optimizer steps; resumable). ShapeMACE: ``channels``,
    ``lmax``, ``correlation``, ``num_layers``, ``r_max`` (units of the RMS radius); PointNet: ``pointnet_hidden``.
    """

    classes: Sequence[str] = ()
    n_train_per_class: int = 20
    n_val_per_class: int = 5
    n_test_per_class: int = 10
    num_points: int = 48
    noise: float = 0.02
    epochs: int = 10
    batch_size: int = 32
    lr: float = 5e-3
    weight_decay: float = 0.0
    ema_decay: float = 0.0
    channels: int = 16
    lmax: int = 2
    correlation: int = 3
    num_layers: int = 2
    r_max: float = 0.7
    pointnet_hidden: int = 64
    seed: int = 0
    models: Sequence[str] = MODEL_NAMES
    checkpoint_every: int = 100
    max_steps: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        self.classes, self.models = name_tuple(self.classes), name_tuple(self.models)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes in label order (all of :data:`SHAPE_CLASSES` when ``classes`` is empty)."""
        return tuple(self.classes) or SHAPE_CLASSES

    def validate(self) -> None:
        """Raise ValueError naming the field for any bad value (before anything is computed or written)."""
        unknown = [c for c in self.classes if c not in SHAPE_CLASSES]
        if unknown:
            raise ValueError(f"unknown shape class(es) {unknown}; valid classes: {', '.join(SHAPE_CLASSES)}")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes must be distinct, got {list(self.classes)}")
        if len(self.class_names) < 2:
            raise ValueError(f"need at least 2 classes to classify, got {list(self.classes)}")
        check_model_names(self.models, MODEL_NAMES)
        check_integers(self, {"n_train_per_class": 1, "n_val_per_class": 1, "n_test_per_class": 1, "num_points": 4,
                              "epochs": 1, "batch_size": 1, "channels": 1, "lmax": 1, "correlation": 1,
                              "num_layers": 1, "pointnet_hidden": 1, "seed": 0, "checkpoint_every": 1,
                              "max_steps": 0})
        check_numbers(self, (("lr", 0.0, True), ("r_max", 0.0, True), ("noise", 0.0, False),
                             ("weight_decay", 0.0, False), ("ema_decay", 0.0, False)))
        if self.ema_decay >= 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) (0 = no EMA), got {self.ema_decay!r}")


@dataclass
class ShapesRunResult:
    """What :func:`run_shapes` produced.

    ``results``: one row per model (accuracies on the three test versions, parameters, training seconds);
    ``metrics``: the content of ``metrics.json``; ``confusion``: per model, the ``"o3"`` confusion matrix
    (index: true class, columns: predicted class); ``predictions``: per model, one row per test cloud;
    ``histories``: per model, the per-epoch training history; ``models``: the trained models (best validation
    weights); ``test_sets``: the three versions of the test set (``"aligned"``, ``"so3"``, ``"o3"``);
    ``train_set``, ``val_set``: the aligned training and validation clouds. ``completed`` is False when
    ``max_steps`` stopped a model early (then there are no test metrics yet). ``comparison``: ``comparison.csv``,
    :func:`~workbench.pipelines.compare.compare_models` on the ``"o3"`` accuracy against PointNet.
    """

    results: pd.DataFrame | None
    metrics: dict[str, Any]
    confusion: dict[str, pd.DataFrame]
    predictions: dict[str, pd.DataFrame]
    histories: dict[str, pd.DataFrame]
    models: dict[str, torch.nn.Module]
    test_sets: dict[str, ShapeDataset]
    train_set: ShapeDataset
    val_set: ShapeDataset
    output_dir: Path
    completed: bool
    files: dict[str, Path] = field(default_factory=dict)
    comparison: pd.DataFrame | None = None


def build_shape_model(name: str, num_classes: int, config: ShapesRunConfig,
                      train_points: torch.Tensor | None = None) -> torch.nn.Module:
    """Model ``name`` (one of :data:`MODEL_NAMES`) with the hyper-parameters of ``config``, initialized from
    ``torch.manual_seed(config.seed)`` (so every model's initialization is independent of the others).
    ``invariant_features`` standardizes its features on ``train_points [N, P, 3]`` (required for it)."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(MODEL_NAMES)}")
    if name == "invariant_features" and train_points is None:
        raise ValueError("model 'invariant_features' needs the training clouds: train_points [N, P, 3]")
    torch.manual_seed(config.seed)
    if name == "invariant_features":
        return InvariantFeatureClassifier(num_classes).standardize_from(train_points)
    if name == "pointnet_augmented":
        return RandomO3Augmentation(PointNetClassifier(num_classes, hidden=config.pointnet_hidden), reflections=True)
    if name == "shape_mace":
        return ShapeMACE(num_classes, channels=config.channels, lmax=config.lmax, correlation=config.correlation,
                         num_layers=config.num_layers, r_max=config.r_max)
    return PointNetClassifier(num_classes, hidden=config.pointnet_hidden)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, points: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Logits ``[N, C]`` of ``points [N, P, 3]``, in eval mode and batches of ``batch_size``."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(points[i : i + batch_size]) for i in range(0, len(points), batch_size)])
    finally:
        model.train(was_training)


def _loss_fn(model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
    points, labels = batch
    logits = model(points)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    accuracy = float((logits.detach().argmax(dim=1) == labels).double().mean())
    return loss, {"accuracy": accuracy}


def _datasets(config: ShapesRunConfig) -> tuple[ShapeDataset, ShapeDataset, dict[str, ShapeDataset]]:
    kw = dict(num_points=config.num_points, noise=config.noise, classes=config.class_names)
    train = make_shape_dataset(config.n_train_per_class, seed=3 * config.seed, rotate="none", **kw)
    val = make_shape_dataset(config.n_val_per_class, seed=3 * config.seed + 1, rotate="none", **kw)
    tests = {name: make_shape_dataset(config.n_test_per_class, seed=3 * config.seed + 2, rotate=rotate, **kw)
             for name, rotate in TEST_VERSIONS.items()}
    return train, val, tests


def _evaluate(name: str, model: torch.nn.Module, tests: dict[str, ShapeDataset], classes: tuple[str, ...],
              batch_size: int) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Per-model test metrics, the per-cloud predictions and the o3 confusion matrix."""
    labels = tests["aligned"].labels
    logits = {v: predict_logits(model, ds.points, batch_size) for v, ds in tests.items()}
    preds = {v: lg.argmax(dim=1) for v, lg in logits.items()}
    det = torch.linalg.det(tests["o3"].rotations).round()
    frame = pd.DataFrame({"index": np.arange(len(labels)), "label": labels.numpy(),
                          "true_class": [classes[int(i)] for i in labels], "o3_det": det.numpy().astype(int)})
    for v, p in preds.items():
        frame[f"pred_{v}"] = [classes[int(i)] for i in p]
        frame[f"correct_{v}"] = (p == labels).numpy()
    reflected = det < 0
    counts = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(counts, (labels.numpy(), preds["o3"].numpy()), 1)
    confusion = pd.DataFrame(counts, index=pd.Index(classes, name="true"),
                             columns=pd.Index(classes, name="predicted"))
    change = max(float((logits[v] - logits["aligned"]).abs().max()) for v in ("so3", "o3"))
    metrics: dict[str, Any] = {"model": name, "parameters": int(sum(p.numel() for p in model.parameters()))}
    for v, p in preds.items():
        metrics[f"accuracy_{v}"] = float((p == labels).double().mean())
    metrics["accuracy_o3_reflected"] = (float((preds["o3"] == labels)[reflected].double().mean())
                                        if bool(reflected.any()) else None)
    metrics["max_abs_logit_change"] = change  # largest change of a logit, aligned vs rotated/reflected clouds
    return metrics, frame, confusion


def run_shapes(config: ShapesRunConfig | None = None, output_dir: str | Path = "runs/shapes", **overrides: Any
               ) -> ShapesRunResult:
    """Train every model of ``config.models`` on aligned shapes and test it on aligned, rotated and rotated +
    reflected versions of the same test shapes (module docstring). Keyword ``overrides`` replace config fields.

    Raises:
        ValueError: unknown shape class or model names (the message lists the valid ones), bad values, or an
            ``output_dir`` holding a run with another configuration. Nothing is written before validation.
    """
    config = resolve_config(ShapesRunConfig, config, overrides, "run_shapes")
    classes = config.class_names
    out = Path(output_dir)
    t_start = time.perf_counter()
    train, val, tests = _datasets(config)
    out.mkdir(parents=True, exist_ok=True)
    guard_run_folder(out, config, _RESUMABLE_FIELDS, "shapes")

    train_set = torch.utils.data.TensorDataset(train.points, train.labels)
    val_set = torch.utils.data.TensorDataset(val.points, val.labels)
    train_config = cosine_train_config(config, ema_decay=config.ema_decay or None)
    models, fits, files = fit_models(config.models,
                                     lambda name: build_shape_model(name, len(classes), config, train.points),
                                     _loss_fn, train_set, val_set, train_config, out, config.max_steps)
    histories = {name: result.history for name, result in fits.items()}
    if not all(r.completed for r in fits.values()):
        return ShapesRunResult(None, {}, {}, {}, histories, models, tests, train, val, out, False,
                               files)

    rows, confusion, predictions = [], {}, {}
    eval_batch = max(config.batch_size, 64)
    for name, model in models.items():
        load_best_weights(model, fits[name])
        metrics, frame, matrix = _evaluate(name, model, tests, classes, eval_batch)
        history = histories[name]
        metrics.update({"train_seconds": float(history["seconds"].iloc[-1]) if len(history) else 0.0,
                        "best_val_loss": fits[name].best_val_loss,
                        "final_val_accuracy": float(history["val_accuracy"].iloc[-1]) if len(history) else None,
                        "steps": int(fits[name].step)})
        frame.to_csv(out / name / "test_predictions.csv", index=False)
        matrix.to_csv(out / name / "confusion_o3.csv")
        files[f"{name}_test_predictions"] = out / name / "test_predictions.csv"
        files[f"{name}_confusion_o3"] = out / name / "confusion_o3.csv"
        rows.append(metrics)
        confusion[name], predictions[name] = matrix, frame
    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False)
    files["results"] = out / "results.csv"

    by_model = {r["model"]: r for r in rows}
    comparison = compare_models(by_model, "accuracy_o3", BASELINE_MODEL if BASELINE_MODEL in by_model else "",
                                higher_is_better=True, columns=("accuracy_aligned", "accuracy_so3", "parameters",
                                                                "train_seconds"))
    comparison.to_csv(out / "comparison.csv", index=False)
    files["comparison"] = out / "comparison.csv"
    gap = None
    if EQUIVARIANT_MODEL in by_model and BASELINE_MODEL in by_model:
        gap = float(comparison.set_index("model").loc[EQUIVARIANT_MODEL, "difference_to_baseline"])
    summary: dict[str, Any] = {
        "classes": list(classes),
        "n_train": len(train), "n_val": len(val), "n_test": len(tests["aligned"]),
        "num_points": config.num_points,
        "accuracy": {r["model"]: {v: r[f"accuracy_{v}"] for v in TEST_VERSIONS} for r in rows},
        "o3_accuracy_gap": gap,  # equivariant o3 accuracy minus baseline o3 accuracy
        "o3_accuracy_over": ({m: by_model[EQUIVARIANT_MODEL]["accuracy_o3"] - by_model[m]["accuracy_o3"]
                              for m in by_model if m != EQUIVARIANT_MODEL} if EQUIVARIANT_MODEL in by_model else None),
        "equivariant_at_least_matches_baseline_o3": None if gap is None else bool(gap >= 0),
        "models": by_model,
        "config": json.loads(json.dumps(asdict(config))),
        "wall_seconds_this_call": time.perf_counter() - t_start,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files["metrics_json"] = out / "metrics.json"
    return ShapesRunResult(results, summary, confusion, predictions, histories, models, tests, train, val, out,
                           True, files, comparison)

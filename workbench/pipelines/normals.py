"""The point-cloud normal pipeline: Tensor Frames against the same networks without frames, with rotation
augmentation, and ShapeMACE, on surface normals of O(3)-transformed clouds.

The claim it tests (Lippmann et al., Tensor Frames, arXiv 2405.15389): wrapping an ordinary message-passing
network in learned local frames makes it exactly O(3)-equivariant, and on normal regression it then beats the same
network trained with rotation augmentation.

:func:`run_normals` generates clouds with exact normals (:func:`workbench.data.normals.make_normals_dataset`):
training and validation clouds in canonical orientation (seeds ``3 * seed``, ``3 * seed + 1``), one set of test
clouds (seed ``3 * seed + 2``) both aligned and O(3)-transformed (rotation, mirror with probability 1/2; the same
clouds). It trains every model of ``config.models`` (:data:`MODEL_NAMES`) with :func:`workbench.train.fit` on the
loss ``1 - |cos(pred, normal)|`` (a normal's sign is ambiguous) into ``<output_dir>/<model>/``:

- ``frames_pointnet2`` / ``frames_mpnn``: :class:`~workbench.frames.FramesPointNet2` / :class:`~workbench.frames.
  FramesMPNN` with ``config.frames`` frames (``"learned"`` or ``"pca"``): O(3)-equivariant;
- ``pointnet2`` / ``mpnn``: the same networks without frames (identity frames, global coordinates);
- ``pointnet2_augmented`` / ``mpnn_augmented``: those trained on randomly rotated and mirrored clouds
  (:class:`~workbench.frames.RandomO3VectorAugmentation`);
- ``shape_mace``: :class:`~workbench.frames.ShapeMACENormals`, equivariant by tensor products.

Beside them, ``pca_normals`` (no training): the classical estimate, the smallest principal axis of each point's
``k`` neighbours. Every trained model keeps its best-validation weights and is evaluated on both test versions
(mean ``|cos|``), in float64 for the equivariance error under random rotations and under rotations composed with a
mirror (:func:`workbench.equivariance.equivariance_error`, relative) and the Lie-derivative LEE
(:func:`workbench.equivariance.local_equivariance_error`), and timed: seconds per training batch (forward +
backward, median of ``timing_repeats``), every model in the same run, so the frames' cost is the ratio of
``frames_X`` to ``X``.

Files: ``metrics.json``, ``results.csv`` (one row per model), ``comparison.csv`` (mean ``|cos|`` on the O(3) test set
against ``pointnet2``), ``timing.csv`` and per model ``<model>/metrics.csv``, checkpoints and
``test_predictions.npz`` (the predicted vectors on the O(3) test set).
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from workbench.data.normals import SURFACES, NormalsDataset, make_normals_dataset
from workbench.equivariance import MatrixAction, equivariance_error, local_equivariance_error, so3_on_points
from workbench.equivariance.actions import random_rotation_parameters, so3_generators_vector
from workbench.frames import (
    FramesMPNN,
    FramesPointNet2,
    PCAFrames,
    RandomO3VectorAugmentation,
    ShapeMACENormals,
    knn_graph,
)
from workbench.models.shapes import normalize_clouds
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

__all__ = ["MODEL_NAMES", "NormalsRunConfig", "NormalsRunResult", "abs_cosine", "build_normals_model",
           "normal_loss", "pca_normals", "predict_normals", "run_normals"]

MODEL_NAMES: tuple[str, ...] = ("frames_pointnet2", "pointnet2", "pointnet2_augmented", "frames_mpnn", "mpnn",
                                "mpnn_augmented", "shape_mace")
#: pairs (with frames, the same network without frames) whose time per batch gives the cost of frames
FRAME_PAIRS: tuple[tuple[str, str], ...] = (("frames_pointnet2", "pointnet2"), ("frames_mpnn", "mpnn"))
BASELINE_MODEL = "pointnet2"
_RESUMABLE_FIELDS = ("epochs", "max_steps", "checkpoint_every", "progress", "models", "timing_repeats")


@dataclass
class NormalsRunConfig:
    """Parameters of :func:`run_normals` (the notebook's parameters map onto these).

    Data: ``surfaces`` (empty = all of :data:`~workbench.data.normals.SURFACES`), ``n_train_per_surface``,
    ``n_val_per_surface``, ``n_test_per_surface`` clouds of ``num_points`` points, ``noise``, ``nonuniform``.
    Models: ``frames`` (``"learned"`` | ``"pca"``), ``k`` neighbours, ``hidden`` (TensorReps of the hidden features),
    ``mlp_hidden``, ``mpnn_layers``, MACE ``channels``/``correlation``/``num_layers``/``r_max``. Training:
    ``epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``seed``, ``max_steps``. Measurement:
    ``equivariance_clouds`` test clouds for the equivariance error and LEE, ``timing_repeats`` timed batches.
    """

    surfaces: Sequence[str] = ()
    n_train_per_surface: int = 8
    n_val_per_surface: int = 2
    n_test_per_surface: int = 4
    num_points: int = 128
    noise: float = 0.01
    nonuniform: float = 0.0
    frames: str = "learned"
    k: int = 12
    hidden: str = "16x0+8x1"
    mlp_hidden: int = 48
    mpnn_layers: int = 3
    channels: int = 8
    correlation: int = 2
    num_layers: int = 2
    r_max: float = 0.5
    epochs: int = 10
    batch_size: int = 8
    lr: float = 3e-3
    weight_decay: float = 0.0
    seed: int = 0
    models: Sequence[str] = MODEL_NAMES
    equivariance_clouds: int = 2
    timing_repeats: int = 3
    checkpoint_every: int = 100
    max_steps: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        self.surfaces, self.models = name_tuple(self.surfaces), name_tuple(self.models)

    @property
    def surface_names(self) -> tuple[str, ...]:
        return tuple(self.surfaces) or SURFACES

    def validate(self) -> None:
        """Raise ValueError naming the field for any bad value (before anything is computed or written)."""
        unknown = [s for s in self.surfaces if s not in SURFACES]
        if unknown:
            raise ValueError(f"unknown surface(s) {unknown}; valid surfaces: {', '.join(SURFACES)}")
        check_model_names(self.models, MODEL_NAMES)
        if self.frames not in ("learned", "pca"):
            raise ValueError(f"frames must be 'learned' or 'pca', got {self.frames!r}")
        check_integers(self, {"n_train_per_surface": 1, "n_val_per_surface": 1, "n_test_per_surface": 1,
                              "num_points": 8, "k": 3, "mlp_hidden": 1, "mpnn_layers": 1, "channels": 1,
                              "correlation": 1, "num_layers": 1, "epochs": 1, "batch_size": 1, "seed": 0,
                              "equivariance_clouds": 1, "timing_repeats": 1, "checkpoint_every": 1, "max_steps": 0})
        if self.k >= self.num_points:
            raise ValueError(f"k must be < num_points (neighbours per point), got k={self.k}, "
                             f"num_points={self.num_points}")
        check_numbers(self, (("lr", 0.0, True), ("r_max", 0.0, True), ("noise", 0.0, False),
                             ("nonuniform", 0.0, False), ("weight_decay", 0.0, False)))


@dataclass
class NormalsRunResult:
    """What :func:`run_normals` produced: ``results`` (one row per model, plus ``pca_normals``), ``metrics``
    (``metrics.json``), ``timing`` (``timing.csv``), ``histories``, ``models`` (best weights), the datasets,
    ``predictions`` (per model, ``[N, P, 3]`` on the O(3) test set), ``comparison``; ``completed`` False when
    ``max_steps`` stopped training early."""

    results: pd.DataFrame | None
    metrics: dict[str, Any]
    timing: pd.DataFrame | None
    histories: dict[str, pd.DataFrame]
    models: dict[str, torch.nn.Module]
    test_sets: dict[str, NormalsDataset]
    train_set: NormalsDataset
    val_set: NormalsDataset
    predictions: dict[str, torch.Tensor]
    output_dir: Path
    completed: bool
    files: dict[str, Path] = field(default_factory=dict)
    comparison: pd.DataFrame | None = None


def abs_cosine(pred: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """``|cos|`` between predicted vectors and normals, ``[..., 3] -> [...]`` (0 for a zero prediction)."""
    return (pred * normals).sum(-1).abs() / (pred.norm(dim=-1) * normals.norm(dim=-1)).clamp_min(1e-12)


def normal_loss(pred: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
    """The training loss ``mean(1 - |cos(pred, normal)|)`` (sign-blind: a normal and its negative are the same)."""
    return (1.0 - abs_cosine(pred, normals)).mean()


def pca_normals(points: torch.Tensor, k: int) -> torch.Tensor:
    """The classical estimate: the smallest principal axis of each point's ``k`` nearest neighbours, ``[B, P, 3]``."""
    x = normalize_clouds(points)
    frames = PCAFrames()(x.reshape(-1, 3), knn_graph(x, k))
    return frames.matrix[:, -1].reshape(points.shape)


def build_normals_model(name: str, config: NormalsRunConfig) -> torch.nn.Module:
    """Model ``name`` of :data:`MODEL_NAMES` with ``config``'s hyper-parameters, initialized from ``config.seed``."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(MODEL_NAMES)}")
    torch.manual_seed(config.seed)
    if name == "shape_mace":
        return ShapeMACENormals(channels=config.channels, correlation=config.correlation,
                                num_layers=config.num_layers, r_max=config.r_max)
    frames = config.frames if name.startswith("frames_") else "none"
    if "pointnet2" in name:
        model = FramesPointNet2(frames, k=config.k, reps1=config.hidden, mlp_hidden=config.mlp_hidden)
    else:
        model = FramesMPNN(frames, k=config.k, hidden=config.hidden, num_layers=config.mpnn_layers,
                           mlp_hidden=config.mlp_hidden)
    return RandomO3VectorAugmentation(model) if name.endswith("_augmented") else model


@torch.no_grad()
def predict_normals(model: torch.nn.Module, points: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """Predicted vectors ``[N, P, 3]`` of ``points [N, P, 3]`` in eval mode, in batches."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(points[i:i + batch_size]) for i in range(0, len(points), batch_size)])
    finally:
        model.train(was_training)


def _loss_fn(model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
    points, normals = batch
    pred = model(points)
    return normal_loss(pred, normals), {"abs_cos": float(abs_cosine(pred.detach(), normals).mean())}


def _mirror_action() -> MatrixAction:
    """Rotations composed with the mirror ``x -> -x`` on points ``(..., 3)`` (parity commutes with rotations)."""
    base = so3_on_points()

    class _Mirrored(MatrixAction):
        def act(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
            return -base.act(x, theta)

    return _Mirrored(so3_generators_vector(), ("rot_x", "rot_y", "rot_z"), name="O(3) det -1 on R^3",
                     sampler=random_rotation_parameters)


def equivariance_report(model: torch.nn.Module, points: torch.Tensor, seed: int = 0) -> dict[str, float]:
    """Relative equivariance error of ``model`` (evaluated in float64 on a copy) under 4 random rotations and 4
    rotations times the mirror, and its LEE (mean over the three rotation generators), on ``points [B, P, 3]``."""
    m = copy.deepcopy(model).double().eval()
    x = points.double()
    rot = equivariance_error(m, x, so3_on_points(), so3_on_points(), group_samples=4, seed=seed)
    mirror = equivariance_error(m, x, _mirror_action(), _mirror_action(), group_samples=4, seed=seed + 1)
    lee = float(local_equivariance_error(m, x, so3_on_points(), so3_on_points())["lee"].mean())
    return {"equivariance_error_rotation": rot.max_relative, "equivariance_error_reflection": mirror.max_relative,
            "lee": lee}


def time_per_batch(model: torch.nn.Module, points: torch.Tensor, normals: torch.Tensor, repeats: int) -> float:
    """Median seconds of one training step's forward + backward on ``(points, normals)`` over ``repeats``."""
    model.train()
    times = []
    for _ in range(repeats + 1):
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        normal_loss(model(points), normals).backward()
        times.append(time.perf_counter() - t0)
    model.zero_grad(set_to_none=True)
    return float(statistics.median(times[1:]))  # the first call warms up


def _datasets(config: NormalsRunConfig) -> tuple[NormalsDataset, NormalsDataset, dict[str, NormalsDataset]]:
    kw = dict(num_points=config.num_points, noise=config.noise, nonuniform=config.nonuniform,
              surfaces=config.surface_names)
    train = make_normals_dataset(config.n_train_per_surface, seed=3 * config.seed, **kw)
    val = make_normals_dataset(config.n_val_per_surface, seed=3 * config.seed + 1, **kw)
    tests = {name: make_normals_dataset(config.n_test_per_surface, seed=3 * config.seed + 2, transform=name, **kw)
             for name in ("none", "o3")}
    return train, val, {"aligned": tests["none"], "o3": tests["o3"]}


def _per_surface(cos: torch.Tensor, surface: torch.Tensor, names: Sequence[str]) -> dict[str, float]:
    return {f"abs_cos_o3_{SURFACES[int(s)]}": float(cos[surface == s].mean()) for s in surface.unique()
            if SURFACES[int(s)] in names}


def run_normals(config: NormalsRunConfig | None = None, output_dir: str | Path = "runs/normals", **overrides: Any
                ) -> NormalsRunResult:
    """Train every model of ``config.models`` on aligned clouds, test on aligned and O(3)-transformed clouds
    (module docstring); keyword ``overrides`` replace config fields. Raises ValueError for bad values or an
    ``output_dir`` holding a run with another configuration (nothing written before validation)."""
    config = resolve_config(NormalsRunConfig, config, overrides, "run_normals")
    out = Path(output_dir)
    t_start = time.perf_counter()
    train, val, tests = _datasets(config)
    out.mkdir(parents=True, exist_ok=True)
    guard_run_folder(out, config, _RESUMABLE_FIELDS, "normals")
    models, fits, files = fit_models(config.models, lambda name: build_normals_model(name, config), _loss_fn,
                                     train.tensor_dataset(), val.tensor_dataset(), cosine_train_config(config), out,
                                     config.max_steps)
    histories = {name: r.history for name, r in fits.items()}
    if not all(r.completed for r in fits.values()):
        return NormalsRunResult(None, {}, None, histories, models, tests, train, val, {}, out, False, files)

    rows, predictions, timing_rows = [], {}, []
    probe = tests["o3"].points[: config.equivariance_clouds]
    batch = train.points[: config.batch_size], train.normals[: config.batch_size]
    for name, model in models.items():
        load_best_weights(model, fits[name])
        row: dict[str, Any] = {"model": name, "parameters": int(sum(p.numel() for p in model.parameters()))}
        for version, ds in tests.items():
            pred = predict_normals(model, ds.points)
            cos = abs_cosine(pred, ds.normals)
            row[f"abs_cos_{version}"] = float(cos.mean())
            if version == "o3":
                predictions[name] = pred
                row.update(_per_surface(cos.mean(dim=1), ds.surface, config.surface_names))
                np.savez(out / name / "test_predictions.npz", predictions=pred.numpy())
                files[f"{name}_test_predictions"] = out / name / "test_predictions.npz"
        inner = model.model if isinstance(model, RandomO3VectorAugmentation) else model
        row.update(equivariance_report(inner, probe, seed=config.seed))
        seconds = time_per_batch(model, *batch, config.timing_repeats)
        timing_rows.append({"model": name, "seconds_per_batch": seconds, "batch_size": len(batch[0]),
                            "num_points": config.num_points})
        history = histories[name]
        row.update({"seconds_per_batch": seconds, "train_seconds": float(history["seconds"].iloc[-1])
                    if len(history) else 0.0, "best_val_loss": fits[name].best_val_loss, "steps": int(fits[name].step)})
        rows.append(row)
    for version, ds in tests.items():  # the classical, untrained reference
        cos = abs_cosine(pca_normals(ds.points, config.k), ds.normals)
        if version == "aligned":
            pca_row: dict[str, Any] = {"model": "pca_normals", "parameters": 0}
        pca_row[f"abs_cos_{version}"] = float(cos.mean())
        if version == "o3":
            pca_row.update(_per_surface(cos.mean(dim=1), ds.surface, config.surface_names))
    rows.append(pca_row)
    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False)
    timing = pd.DataFrame(timing_rows)
    by_time = dict(zip(timing["model"], timing["seconds_per_batch"], strict=True)) if len(timing) else {}
    timing["frames_cost_ratio"] = [by_time[m] / by_time[plain] if (m, plain) in FRAME_PAIRS and plain in by_time
                                   else None for m, plain in
                                   ((m, dict(FRAME_PAIRS).get(m, "")) for m in timing["model"])]
    timing.to_csv(out / "timing.csv", index=False)
    by_model = {r["model"]: r for r in rows}
    comparison = compare_models(by_model, "abs_cos_o3", BASELINE_MODEL if BASELINE_MODEL in by_model else "",
                                higher_is_better=True, columns=("abs_cos_aligned", "equivariance_error_rotation",
                                                                "parameters", "seconds_per_batch"))
    comparison.to_csv(out / "comparison.csv", index=False)
    files.update({"results": out / "results.csv", "timing": out / "timing.csv", "comparison": out / "comparison.csv"})
    beats = {}
    for framed, plain in FRAME_PAIRS:
        aug = f"{plain}_augmented"
        if framed in by_model and plain in by_model and aug in by_model:
            beats[framed] = bool(by_model[framed]["abs_cos_o3"] > max(by_model[plain]["abs_cos_o3"],
                                                                      by_model[aug]["abs_cos_o3"]))
    summary = {
        "surfaces": list(config.surface_names), "n_train": len(train), "n_val": len(val), "n_test": len(tests["o3"]),
        "abs_cos_o3": {r["model"]: r["abs_cos_o3"] for r in rows},
        "frames_beat_plain_and_augmented_o3": beats,
        "frames_cost_ratio": {m: r for m, r in zip(timing["model"], timing["frames_cost_ratio"], strict=True)
                              if r is not None and r == r},
        "models": by_model, "config": json.loads(json.dumps(asdict(config))),
        "wall_seconds_this_call": time.perf_counter() - t_start,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2, default=float) + "\n", encoding="utf-8")
    files["metrics_json"] = out / "metrics.json"
    return NormalsRunResult(results, summary, timing, histories, models, tests, train, val, predictions, out, True,
                            files, comparison)

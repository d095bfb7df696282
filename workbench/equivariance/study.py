"""The Lie-derivative study on point clouds (logic of ``notebooks/pipelines/lie_derivative.ipynb``).

Task: regress a rotation-invariant property of a point cloud, the largest principal variance ``lambda_max`` of
its points (the largest eigenvalue of the covariance). Clouds are anisotropic Gaussians drawn *axis-aligned*
(the "canonical pose" a real data set often has), so a model trained without augmentation never sees rotated
clouds and need not learn the invariance.

Models, trained on the same split with the same budget:

- ``plain``: :class:`~workbench.equivariance.PointNet` without augmentation;
- ``augmented``: the same network with a fresh random rotation of every training cloud at every step;
- ``equivariant``: an invariant model built from ``workbench.nn`` (see :func:`build_study_model`);
- ``pointwise``: :class:`~workbench.equivariance.VectorFeatureNet` with componentwise nonlinearities, whose layers
  are all equivariant except the pointwise nonlinearities (trained plain) -- its per-layer attribution shows
  where the equivariance error comes from.

Measured after every epoch: the LEE (``local_equivariance_error`` averaged over the three rotation generators) on
a fixed evaluation batch of test clouds; at the end: test MSE on canonical and on randomly rotated test clouds,
the finite-rotation equivariance error, and the per-layer LEE decomposition.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from workbench import nn as wnn
from workbench.equivariance.actions import o3_irreps, random_rotation_parameters, so3_on_points
from workbench.equivariance.attribution import UNATTRIBUTED, chain_layers, layerwise_lee
from workbench.equivariance.finite_error import equivariance_error
from workbench.equivariance.lie_derivative import local_equivariance_error
from workbench.equivariance.reference_models import MeanOverPoints, PointNet, VectorFeatureNet

__all__ = ["StudyConfig", "StudyResult", "make_point_cloud_data", "build_study_model", "rotate_batch", "run_study",
           "MODEL_NAMES"]

MODEL_NAMES = ("plain", "augmented", "equivariant", "pointwise")


@dataclass(frozen=True)
class StudyConfig:
    """Parameters of the study (the notebook's parameters cell maps onto these)."""

    num_points: int = 16
    num_train: int = 256
    num_test: int = 128
    epochs: int = 6
    batch_size: int = 32
    hidden: int = 32
    learning_rate: float = 3e-3
    lee_eval_size: int = 32
    seed: int = 0
    models: tuple[str, ...] = MODEL_NAMES

    def __post_init__(self) -> None:
        for name in ("num_points", "num_train", "num_test", "epochs", "batch_size", "hidden", "lee_eval_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not (isinstance(self.learning_rate, int | float) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        unknown = [m for m in self.models if m not in MODEL_NAMES]
        if unknown or not self.models:
            raise ValueError(f"models must be a non-empty subset of {MODEL_NAMES}, got {self.models!r}")


def make_point_cloud_data(num_samples: int, num_points: int, generator: torch.Generator
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Axis-aligned anisotropic Gaussian clouds ``(num_samples, num_points, 3)`` and targets ``lambda_max``.

    Axis scales are drawn from ``[0.3, 1.5]`` independently per axis; the target is the largest eigenvalue of
    each cloud's (centred) covariance, a rotation-invariant function of the points (float64 throughout).
    """
    scales = 0.3 + 1.2 * torch.rand(num_samples, 1, 3, dtype=torch.float64, generator=generator)
    points = scales * torch.randn(num_samples, num_points, 3, dtype=torch.float64, generator=generator)
    centred = points - points.mean(dim=1, keepdim=True)
    cov = centred.transpose(1, 2) @ centred / num_points
    target = torch.linalg.eigvalsh(cov)[:, -1:]
    return points, target


def rotate_batch(points: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Rotate each cloud of ``(B, N, 3)`` by its own Haar-random rotation."""
    theta = random_rotation_parameters(points.shape[0], generator)
    algebra = torch.einsum("nk,kij->nij", theta, so3_on_points().generators)
    mats = torch.linalg.matrix_exp(algebra).to(points.dtype)  # batched: one rotation per cloud
    return points @ mats.transpose(1, 2)


class _EquivariantPointModel(nn.Module):
    """Invariant regressor from ``workbench.nn`` layers: spherical harmonics of centred points, equivariant linear
    mixing and gated nonlinearity per point, mean pooling over points (an equivariant summary of the cloud's
    shape), an invariant tensor square and a scalar MLP head."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        mul = max(hidden // 4, 2)
        self.irreps = {
            "sh": "1x0e+1x1o+1x2e",
            "lin1": f"{mul}x0e+{2 * mul}x0e+{mul}x1o+{mul}x2e",
            "gate": f"{mul}x0e+{mul}x1o+{mul}x2e",
            "pool": f"{mul}x0e+{mul}x1o+{mul}x2e",
        }
        self.sh = wnn.SphericalHarmonics(self.irreps["sh"], normalize=False, normalization="component")
        self.lin1 = wnn.Linear(self.irreps["sh"], self.irreps["lin1"])
        self.gate = wnn.Gate(f"{mul}x0e", [torch.tanh], f"{2 * mul}x0e", [torch.sigmoid], f"{mul}x1o+{mul}x2e")
        self.pool = MeanOverPoints()
        self.tp = wnn.FullyConnectedTensorProduct(self.irreps["pool"], self.irreps["pool"], f"{hidden}x0e")
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        centred = points - points.mean(dim=-2, keepdim=True)
        pooled = self.pool(self.gate(self.lin1(self.sh(centred))))
        return self.head(self.tp(pooled, pooled))

    def attribution_chain(self) -> tuple[list[str], dict]:
        """Layer names and the actions on their outputs, for :func:`layerwise_lie_derivative`."""
        reps = {name: o3_irreps(irreps) for name, irreps in self.irreps.items()}
        return ["sh", "lin1", "gate", "pool", "tp", "head"], reps


def build_study_model(name: str, config: StudyConfig) -> nn.Module:
    """The network of study model ``name`` (float64)."""
    if name in ("plain", "augmented"):
        return PointNet(config.hidden, 1).double()
    if name == "pointwise":
        return VectorFeatureNet(max(config.hidden // 2, 2), 1, nonlinearity="componentwise").double()
    if name == "equivariant":
        return _EquivariantPointModel(config.hidden).double()
    raise ValueError(f"model name must be one of {MODEL_NAMES}, got {name!r}")


@dataclass
class StudyResult:
    """Tables and summary metrics of :func:`run_study`."""

    lee_by_epoch: pd.DataFrame
    lee_by_layer: pd.DataFrame
    summary: pd.DataFrame
    metrics: dict

    def write(self, output_dir: str | Path) -> Path:
        """Write ``metrics.json``, ``lee_by_epoch.csv``, ``lee_by_layer.csv`` and ``summary.csv``."""
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.lee_by_epoch.to_csv(out / "lee_by_epoch.csv", index=False)
        self.lee_by_layer.to_csv(out / "lee_by_layer.csv", index=False)
        self.summary.to_csv(out / "summary.csv", index=False)
        (out / "metrics.json").write_text(json.dumps(self.metrics, indent=2))
        return out


def _mean_lee(model: nn.Module, points: torch.Tensor) -> float:
    return float(local_equivariance_error(model, points, so3_on_points())["lee"].mean())


def _mse(model: nn.Module, points: torch.Tensor, target: torch.Tensor) -> float:
    with torch.no_grad():
        return float(((model(points) - target) ** 2).mean())


def run_study(config: StudyConfig, progress: Callable | None = None) -> StudyResult:
    """Train the models of ``config`` and measure their equivariance; see the module docstring.

    ``progress`` wraps the epoch loop (e.g. ``tqdm.auto.tqdm``); it receives an iterable and ``desc=``.
    """
    if not isinstance(config, StudyConfig):
        raise TypeError(f"config must be a StudyConfig, got {type(config).__name__}")
    data_gen = torch.Generator().manual_seed(config.seed)
    train_x, train_y = make_point_cloud_data(config.num_train, config.num_points, data_gen)
    test_x, test_y = make_point_cloud_data(config.num_test, config.num_points, data_gen)
    test_rotated = rotate_batch(test_x, torch.Generator().manual_seed(config.seed + 1))
    eval_x = test_x[: config.lee_eval_size]
    y_mean, y_std = train_y.mean(), train_y.std()

    epoch_rows, layer_frames, summary_rows = [], [], []
    for name in config.models:
        torch.manual_seed(config.seed)
        model = build_study_model(name, config)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        aug_gen = torch.Generator().manual_seed(config.seed + 2)
        order_gen = torch.Generator().manual_seed(config.seed + 3)
        epochs = range(config.epochs + 1)
        if progress is not None:
            epochs = progress(epochs, desc=name)
        start = time.perf_counter()
        for epoch in epochs:
            train_loss = float("nan")
            if epoch > 0:  # epoch 0 is the untrained network
                model.train()
                losses = []
                perm = torch.randperm(config.num_train, generator=order_gen)
                for i in range(0, config.num_train, config.batch_size):
                    idx = perm[i: i + config.batch_size]
                    xb = train_x[idx]
                    if name == "augmented":
                        xb = rotate_batch(xb, aug_gen)
                    loss = (((model(xb) - y_mean) / y_std - (train_y[idx] - y_mean) / y_std) ** 2).mean()
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                train_loss = sum(losses) / len(losses)
            model.eval()
            lee = local_equivariance_error(model, eval_x, so3_on_points())
            for gen, row in lee.iterrows():
                epoch_rows.append({"model": name, "epoch": epoch, "generator": gen, "lee": row["lee"],
                                   "relative": row["relative"], "train_loss": train_loss})
        train_seconds = time.perf_counter() - start
        model.eval()
        layers = layerwise_lee(model, eval_x, so3_on_points(), **_attribution_setup(model))
        layers.insert(0, "model", name)
        layer_frames.append(layers)
        finite = equivariance_error(model, eval_x, so3_on_points(), None, 16, seed=config.seed)
        summary_rows.append({
            "model": name,
            "lee": _mean_lee(model, eval_x),
            "finite_rotation_error": finite.mean_relative,
            "test_mse": _mse(model, test_x, test_y),
            "test_mse_rotated": _mse(model, test_rotated, test_y),
            "parameters": sum(p.numel() for p in model.parameters()),
            "train_seconds": train_seconds,
        })

    lee_by_epoch = pd.DataFrame(epoch_rows)
    lee_by_layer = (pd.concat(layer_frames, ignore_index=True)
                    .groupby(["model", "layer", "module"], sort=False, as_index=False)[["lee", "norm", "share"]]
                    .mean())
    summary = pd.DataFrame(summary_rows)
    metrics = {
        "config": asdict(config) | {"models": list(config.models)},
        "target": "largest principal variance of the cloud (rotation invariant)",
        "lee_definition": "mean over test clouds of ||L_A f(x)||^2 / d_out, averaged over rot_x, rot_y, rot_z",
        "lee": {r["model"]: r["lee"] for r in summary_rows},
        "finite_rotation_error": {r["model"]: r["finite_rotation_error"] for r in summary_rows},
        "test_mse": {r["model"]: r["test_mse"] for r in summary_rows},
        "test_mse_rotated": {r["model"]: r["test_mse_rotated"] for r in summary_rows},
        "target_variance": float(test_y.var()),
        "nonlinearity_share_pointwise": _nonlinearity_share(lee_by_layer),
    }
    if "plain" in metrics["lee"] and "augmented" in metrics["lee"]:
        metrics["augmentation_lowers_lee"] = bool(metrics["lee"]["augmented"] < metrics["lee"]["plain"])
    metrics = json.loads(json.dumps(metrics, default=float), parse_constant=lambda c: None)
    return StudyResult(lee_by_epoch=lee_by_epoch, lee_by_layer=lee_by_layer, summary=summary,
                       metrics=_finite(metrics))


def _attribution_setup(model: nn.Module) -> dict:
    if isinstance(model, _EquivariantPointModel):
        layers, reps = model.attribution_chain()
        return {"layers": layers, "layer_representations": reps}
    chain_layers(model)  # raises a clear error for a model without a chain
    return {}


def _nonlinearity_share(lee_by_layer: pd.DataFrame) -> float | None:
    """Fraction of the ``pointwise`` model's Lie derivative (sum of shares) carried by its nonlinearities."""
    rows = lee_by_layer[(lee_by_layer["model"] == "pointwise") & (lee_by_layer["layer"] != UNATTRIBUTED)]
    if rows.empty:
        return None
    return float(rows[rows["module"] == "ComponentwiseNonlinearity"]["share"].sum())


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value

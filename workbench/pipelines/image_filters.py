"""Spectral graph convolutions on an image grid (Lim et al., arXiv 2202.13013, after Balcilar et al. 2021): one
``size x size`` pixel grid graph, grey-scale images as node signals, and targets ``h(L_sym) x`` for the named
filters of :data:`workbench.spectral.FILTERS` (low-pass, high-pass, band-pass, band-reject, comb). Models learn
``x -> h(L) x`` from ``n_train`` images and are scored on ``n_test`` others on the same grid.

Images: :func:`workbench.spectral.synthetic_images` (``1/f`` textures with flat shapes, in ``[0, 1]``, drawn from
``seed``; no downloads). The grid's full eigendecomposition is computed once (float64).

Models (one per filter, trained with MSE by :func:`workbench.train.fit` into ``<output_dir>/<filter>/<model>/``):

- baselines without eigenvectors: ``"gcn"`` (:class:`~workbench.models.SpectralFilterNet` with no encoding: a
  ``layers``-layer residual GCN-style network on ``D^-1/2 A D^-1/2``), ``"gin"``
  (:class:`~workbench.models.filter_baselines.GINFilterNet`), ``"chebnet"``
  (:class:`~workbench.models.filter_baselines.ChebFilterNet`, ``cheb_layers`` layers of order ``cheb_order``);
- with eigenvectors (all ``size^2`` of them): ``"lappe"`` (raw eigenvectors, random sign flips), ``"signnet"``,
  ``"basisnet"``; ``"signnet_k"``: SignNet given only the ``partial_k`` lowest eigenpairs (it cannot act on the rest
  of the spectrum, so a filter with weight at high frequencies is out of its reach);
- reference ``"exact_ls"``: ``sum_b c_b U B_b(Lambda) U^T x`` over ``ls_basis`` Gaussian bumps, least squares on
  the training pixels (:func:`~workbench.pipelines.spectral_filters.exact_spectral_fit`).

Files: ``results.csv`` (filter, model, test_mse, relative_mse = test MSE / mean square of the test targets,
sign_flip_change, basis_change_change: largest change of a test prediction under random sign flips / eigenspace
rotations of the eigenvectors, seconds, parameters), ``mse_table.csv`` (filter x model), ``metrics.json``,
``run_config.json``. Calling again with the same folder and config resumes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from workbench.models.filter_baselines import ChebFilterNet, GINFilterNet
from workbench.models.filter_nets import SpectralFilterNet
from workbench.pipelines.common import (
    check_integers,
    check_numbers,
    cosine_train_config,
    fit_models,
    guard_run_folder,
    name_tuple,
    resolve_config,
)
from workbench.pipelines.spectral_filters import (
    exact_spectral_fit,
    filter_mse_loss,
    filter_result_row,
    one_filter,
    predict_filtered,
)
from workbench.spectral import (
    FILTERS,
    SignalGraph,
    collate_signal_graphs,
    encode_graph,
    grid_graph,
    random_basis_change,
    random_sign_flips,
    spectral_filter,
    synthetic_images,
)
from workbench.train import load_best_weights

__all__ = ["IMAGE_FILTER_MODELS", "ImageFilterConfig", "image_filter_data", "run_image_filter_learning"]

#: Models :func:`run_image_filter_learning` knows (module docstring).
IMAGE_FILTER_MODELS: tuple[str, ...] = ("gcn", "gin", "chebnet", "lappe", "signnet", "basisnet", "signnet_k",
                                        "exact_ls")
_RESUMABLE = ("epochs", "checkpoint_every", "progress", "filters", "models")
_SPECTRAL = {"lappe": "lappe", "signnet": "signnet", "basisnet": "basisnet", "signnet_k": "signnet"}


@dataclass
class ImageFilterConfig:
    """Parameters of :func:`run_image_filter_learning` (module docstring). ``size``: grid side (``size^2`` nodes);
    ``partial_k``: eigenpairs of ``"signnet_k"``; ``phi_hidden``: width of SignNet's ``phi`` / BasisNet's ``psi``."""

    filters: Sequence[str] = tuple(FILTERS)
    models: Sequence[str] = ("gcn", "gin", "chebnet", "signnet", "basisnet", "signnet_k", "exact_ls")
    size: int = 8
    n_train: int = 16
    n_val: int = 4
    n_test: int = 8
    partial_k: int = 16
    hidden: int = 16
    phi_hidden: int = 8
    layers: int = 3
    cheb_order: int = 5
    cheb_layers: int = 2
    epochs: int = 100
    batch_size: int = 4
    lr: float = 1e-2
    weight_decay: float = 0.0
    ls_basis: int = 24
    seed: int = 0
    checkpoint_every: int = 1000
    progress: bool = False

    def __post_init__(self) -> None:
        self.filters, self.models = name_tuple(self.filters), name_tuple(self.models)

    def validate(self) -> None:
        for name, valid in (("filters", tuple(FILTERS)), ("models", IMAGE_FILTER_MODELS)):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values) or any(v not in valid for v in values):
                raise ValueError(f"{name} must be distinct names from {valid}, got {list(values)}")
        check_integers(self, {"size": 2, "n_train": 1, "n_val": 1, "n_test": 1, "partial_k": 1, "hidden": 1,
                              "phi_hidden": 1, "layers": 1, "cheb_order": 1, "cheb_layers": 1, "epochs": 1,
                              "batch_size": 1, "ls_basis": 2, "seed": 0, "checkpoint_every": 1})
        if self.partial_k > self.size**2:
            raise ValueError(f"partial_k must be <= size^2 = {self.size**2}, got {self.partial_k}")
        check_numbers(self, (("lr", 0.0, True), ("weight_decay", 0.0, False)))


def image_filter_data(config: ImageFilterConfig, k: int | None = None) -> dict[str, list[SignalGraph]]:
    """``{"train", "val", "test"}``: the images of ``config`` (seeded by ``config.seed``) on the ``size x size``
    grid, each a :class:`~workbench.spectral.SignalGraph` with signal ``[size^2, 1]`` (pixel ``(r, c)`` is node
    ``r * size + c``), target ``[size^2, F]`` (``h(L_sym) x`` for the ``F`` filters, float64) and the ``k``
    lowest eigenpairs (default all ``size^2``)."""
    n = config.size**2
    k = n if k is None else k
    edges = grid_graph(config.size, config.size)
    graph = encode_graph(torch.zeros(n, dtype=torch.int64), edges, k=k, rwse_steps=1)
    counts = {"train": config.n_train, "val": config.n_val, "test": config.n_test}
    images = synthetic_images(sum(counts.values()), config.size, torch.Generator().manual_seed(config.seed))
    items = []
    for img in images:
        x = img.reshape(n, 1)
        items.append(SignalGraph(graph, x, torch.cat([spectral_filter(edges, n, x, f) for f in config.filters], 1)))
    out, start = {}, 0
    for split, c in counts.items():
        out[split], start = items[start : start + c], start + c
    return out


def _build(name: str, config: ImageFilterConfig) -> torch.nn.Module:
    torch.manual_seed(config.seed)
    if name == "gin":
        return GINFilterNet(1, config.hidden, config.layers)
    if name == "chebnet":
        return ChebFilterNet(1, config.hidden, config.cheb_layers, config.cheb_order)
    k = config.partial_k if name == "signnet_k" else config.size**2
    return SpectralFilterNet(_SPECTRAL.get(name, "none"), k, 1, config.hidden, config.layers,
                             phi_hidden=config.phi_hidden)


def run_image_filter_learning(config: ImageFilterConfig | None = None,
                              output_dir: str | Path = "runs/image_filters", **overrides: Any) -> pd.DataFrame:
    """Train and evaluate every filter x model (module docstring); returns ``results.csv`` as a DataFrame.
    Raises ValueError for bad config values (nothing written) or an ``output_dir`` holding another run."""
    config = resolve_config(ImageFilterConfig, config, overrides, "run_image_filter_learning")
    out = Path(output_dir)
    sets = {"all": image_filter_data(config)}
    if "signnet_k" in config.models:
        sets["partial"] = image_filter_data(config, config.partial_k)
    out.mkdir(parents=True, exist_ok=True)
    guard_run_folder(out, config, _RESUMABLE, "image_filters")
    probe = torch.Generator().manual_seed(config.seed + 1)
    tests = {}
    for key, data in sets.items():
        batch = collate_signal_graphs(data["test"])
        tests[key] = (batch, batch.with_graphs(random_sign_flips(batch.graphs, probe)),
                      batch.with_graphs(random_basis_change(batch.graphs, probe)))
    rows = []
    for j, name in enumerate(config.filters):
        y = tests["all"][0].target[:, j]
        for model_name in config.models:
            if model_name == "exact_ls":
                t0 = time.perf_counter()
                pred = exact_spectral_fit(sets["all"]["train"], sets["all"]["test"], j, config.ls_basis)
                rows.append(filter_result_row(name, model_name, pred, y, time.perf_counter() - t0)
                            | {"parameters": config.ls_basis})
                continue
            data = sets["partial" if model_name == "signnet_k" else "all"]
            models, fits, _ = fit_models([model_name], lambda m: _build(m, config), filter_mse_loss,
                                         one_filter(data["train"], j), one_filter(data["val"], j),
                                         cosine_train_config(config), out / name,
                                         collate_fn=collate_signal_graphs)
            model = models[model_name]
            load_best_weights(model, fits[model_name])
            batch, flipped, rotated = (b.with_graphs(b.graphs) for b in
                                       tests["partial" if model_name == "signnet_k" else "all"])
            pred = predict_filtered(model, batch)
            rows.append(filter_result_row(
                name, model_name, pred, y, float(fits[model_name].history["seconds"].iloc[-1]),
                sign_flip_change=float((predict_filtered(model, flipped) - pred).abs().max()),
                basis_change_change=float((predict_filtered(model, rotated) - pred).abs().max()))
                | {"parameters": sum(p.numel() for p in model.parameters())})
    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False)
    table = results.pivot(index="filter", columns="model", values="test_mse")
    table = table.loc[list(config.filters), list(config.models)]
    table.to_csv(out / "mse_table.csv")
    metrics = {"mse_table": {f: {m: float(table.loc[f, m]) for m in table.columns} for f in table.index},
               "relative_mse": {f"{r['filter']}/{r['model']}": r["relative_mse"] for r in rows},
               "config": json.loads(json.dumps(asdict(config)))}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return results

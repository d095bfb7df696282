"""Spectral filter learning (Lim et al., arXiv 2202.13013, after Balcilar et al. 2021): learn ``x -> h(L) x`` on
random and structured graphs, with and without sign/basis-invariant eigenvector encodings.

Graphs (``n`` uniform in ``[n_min, n_max]``, kinds cycled through ``graph_kinds``): Erdős–Rényi ``G(n, p)``
(``"erdos_renyi"``), random geometric graphs in the unit square (``"random_geometric"``), grids (``"grid"``, rows 2-4)
and cycles (``"cycle"``): the last two have eigenvalue multiplicities. Each graph carries a standard normal signal
``x [n, 1]``; the targets are ``h(L_sym) x`` for every filter of ``filters`` (:data:`workbench.spectral.FILTERS`),
computed exactly with :func:`workbench.spectral.spectral_filter`. ``k >= n_max`` eigenpairs are kept, so the
encodings see the whole spectrum.

Models (:class:`workbench.models.SpectralFilterNet`, one per filter x encoding, trained with MSE by
:func:`workbench.train.fit` into ``<output_dir>/<filter>/<encoding>/``): ``"none"`` (the message-passing backbone
alone), ``"lappe"`` (raw eigenvectors, random sign flips), ``"signnet"``, ``"basisnet"``. Reference ``"exact_ls"``:
the true model class, ``y = sum_b c_b U B_b(Lambda) U^T x`` with Gaussian bumps ``B_b`` (``ls_basis`` centres on
``[0, 2]``), coefficients fitted by least squares on the training nodes: how well an exact spectral filter of that
resolution does.

Files: ``results.csv`` (filter, model, test_mse, relative_mse = test MSE / mean square of the test targets,
sign_flip_change, basis_change_change, seconds), ``mse_table.csv`` (filter x model), ``metrics.json``,
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

from workbench.models.filter_nets import FILTER_ENCODINGS, SpectralFilterNet
from workbench.pipelines.common import (
    check_integers,
    check_numbers,
    cosine_train_config,
    fit_models,
    guard_run_folder,
    name_tuple,
    resolve_config,
)
from workbench.spectral import (
    FILTERS,
    EncodedGraph,
    SignalBatch,
    SignalGraph,
    collate_signal_graphs,
    cycle_graph,
    encode_graph,
    erdos_renyi_graph,
    grid_graph,
    random_basis_change,
    random_geometric_graph,
    random_sign_flips,
    spectral_filter,
)
from workbench.train import load_best_weights

__all__ = ["GRAPH_KINDS", "FilterRunConfig", "exact_spectral_fit", "filter_graphs", "run_filter_learning"]

GRAPH_KINDS: tuple[str, ...] = ("erdos_renyi", "random_geometric", "grid", "cycle")
_RESUMABLE = ("epochs", "checkpoint_every", "progress", "filters", "models")


@dataclass
class FilterRunConfig:
    """Parameters of :func:`run_filter_learning` (module docstring). ``models``: encodings of
    :data:`~workbench.models.filter_nets.FILTER_ENCODINGS` and/or ``"exact_ls"``; ``er_p``, ``rgg_radius``: the
    random graphs' edge probability and radius."""

    filters: Sequence[str] = ("low_pass", "high_pass", "band_pass")
    models: Sequence[str] = ("none", "lappe", "signnet", "basisnet", "exact_ls")
    graph_kinds: Sequence[str] = GRAPH_KINDS
    n_train: int = 400
    n_val: int = 100
    n_test: int = 100
    n_min: int = 8
    n_max: int = 16
    k: int = 16
    er_p: float = 0.3
    rgg_radius: float = 0.45
    hidden: int = 32
    layers: int = 3
    epochs: int = 30
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.0
    ls_basis: int = 24
    seed: int = 0
    checkpoint_every: int = 1000
    progress: bool = False

    def __post_init__(self) -> None:
        self.filters, self.models = name_tuple(self.filters), name_tuple(self.models)
        self.graph_kinds = name_tuple(self.graph_kinds)

    def validate(self) -> None:
        for name, valid in (("filters", tuple(FILTERS)), ("models", (*FILTER_ENCODINGS, "exact_ls")),
                            ("graph_kinds", GRAPH_KINDS)):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values) or any(v not in valid for v in values):
                raise ValueError(f"{name} must be distinct names from {valid}, got {list(values)}")
        check_integers(self, {"n_train": 1, "n_val": 1, "n_test": 1, "n_min": 4, "n_max": 4, "k": 1, "hidden": 1,
                              "layers": 1, "epochs": 1, "batch_size": 1, "ls_basis": 2, "seed": 0,
                              "checkpoint_every": 1})
        if self.n_max < self.n_min:
            raise ValueError(f"n_max must be >= n_min, got {self.n_max} < {self.n_min}")
        if self.k < self.n_max:
            raise ValueError(f"k must be >= n_max (the encodings must see the whole spectrum), got k={self.k}, "
                             f"n_max={self.n_max}")
        check_numbers(self, (("lr", 0.0, True), ("weight_decay", 0.0, False), ("er_p", 0.0, True),
                             ("rgg_radius", 0.0, True)))


def filter_graphs(count: int, config: FilterRunConfig, generator: torch.Generator) -> list[SignalGraph]:
    """``count`` graphs of ``config.graph_kinds`` (cycled), each with a standard normal signal ``[n, 1]`` and, as
    ``target [n, F]``, its filtered versions for the ``F`` filters of ``config.filters`` (float64)."""
    out = []
    for i in range(count):
        kind = config.graph_kinds[i % len(config.graph_kinds)]
        n = int(torch.randint(config.n_min, config.n_max + 1, (), generator=generator))
        if kind == "erdos_renyi":
            edges = erdos_renyi_graph(n, config.er_p, generator)
        elif kind == "random_geometric":
            edges = random_geometric_graph(n, config.rgg_radius, generator)[0]
        elif kind == "grid":
            rows = int(torch.randint(2, 5, (), generator=generator))
            edges, n = grid_graph(rows, n // rows), rows * (n // rows)
        else:
            edges = cycle_graph(n)
        x = torch.randn(n, 1, generator=generator, dtype=torch.float64)
        target = torch.cat([spectral_filter(edges, n, x, f) for f in config.filters], dim=1)
        graph = encode_graph(torch.zeros(n, dtype=torch.int64), edges, k=config.k, rwse_steps=1)
        out.append(SignalGraph(graph, x, target))
    return out


def one_filter(items: Sequence[SignalGraph], j: int) -> list[SignalGraph]:
    """The signal graphs with only their ``j``-th filter's target (``target [n, 1]``)."""
    return [SignalGraph(g.graph, g.signal, g.target[:, j : j + 1]) for g in items]


def _ls_features(items: Sequence[SignalGraph], centres: torch.Tensor, width: float) -> torch.Tensor:
    rows = []
    for g in items:
        e: EncodedGraph = g.graph
        v = e.eigvecs * e.eig_mask
        lam = e.eigvals[0]
        bumps = torch.exp(-0.5 * ((lam[:, None] - centres[None, :]) / width) ** 2)  # [k, nb]
        coeff = v.T @ g.signal[:, 0]  # [k]
        rows.append(v @ (bumps * coeff[:, None]))  # [n, nb]
    return torch.cat(rows)


def exact_spectral_fit(train: Sequence[SignalGraph], test: Sequence[SignalGraph], j: int, nb: int) -> torch.Tensor:
    """The ``exact_ls`` reference: ``sum_b c_b U B_b(Lambda) U^T x`` with ``nb >= 2`` Gaussian bumps ``B_b`` on
    ``[0, 2]``, ``c`` fitted by least squares to target column ``j`` of the ``train`` graphs (signals ``[n, 1]``,
    all eigenpairs); returns the prediction ``[sum of test nodes]`` float64 on ``test``."""
    centres = torch.linspace(0.0, 2.0, nb, dtype=torch.float64)
    width = 2.0 / (nb - 1)
    a = _ls_features(train, centres, width)
    b = torch.cat([g.target[:, j] for g in train])
    coef = torch.linalg.lstsq(a, b[:, None], driver="gelsd").solution
    return (_ls_features(test, centres, width) @ coef)[:, 0]


def filter_mse_loss(model: torch.nn.Module, batch: SignalBatch) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean squared error of the filtered signal (the filter pipelines' training loss)."""
    loss = ((model(batch) - batch.target.to(torch.float32)) ** 2).mean()
    return loss, {"mse": float(loss.detach())}


@torch.no_grad()
def predict_filtered(model: torch.nn.Module, batch: SignalBatch) -> torch.Tensor:
    """``[N]`` float64 predictions of a one-output filter model in eval mode."""
    model.eval()
    return model(batch)[:, 0].double()


def filter_result_row(filter_name: str, model_name: str, pred: torch.Tensor, target: torch.Tensor, seconds: float,
                      sign_flip_change: float = 0.0, basis_change_change: float = 0.0) -> dict[str, Any]:
    """One ``results.csv`` row: test MSE of ``pred`` against ``target`` (both ``[N]``), the MSE relative to the
    targets' mean square, the invariance changes and the seconds taken."""
    mse = float(((pred - target) ** 2).mean())
    return {"filter": filter_name, "model": model_name, "test_mse": mse,
            "relative_mse": mse / float((target**2).mean()), "sign_flip_change": sign_flip_change,
            "basis_change_change": basis_change_change, "seconds": seconds}


def run_filter_learning(config: FilterRunConfig | None = None, output_dir: str | Path = "runs/spectral_filters",
                        **overrides: Any) -> pd.DataFrame:
    """Train and evaluate every filter x model (module docstring); returns ``results.csv`` as a DataFrame.
    Raises ValueError for bad config values (nothing written) or an ``output_dir`` holding another run."""
    config = resolve_config(FilterRunConfig, config, overrides, "run_filter_learning")
    out = Path(output_dir)
    gen = torch.Generator().manual_seed(config.seed)
    sets = {s: filter_graphs(n, config, gen) for s, n in (("train", config.n_train), ("val", config.n_val),
                                                           ("test", config.n_test))}
    out.mkdir(parents=True, exist_ok=True)
    guard_run_folder(out, config, _RESUMABLE, "spectral_filters")
    test_batch = collate_signal_graphs(sets["test"])
    probe = torch.Generator().manual_seed(config.seed + 1)
    flipped = test_batch.with_graphs(random_sign_flips(test_batch.graphs, probe))
    rotated = test_batch.with_graphs(random_basis_change(test_batch.graphs, probe))
    nets = [m for m in config.models if m != "exact_ls"]
    rows = []
    for j, name in enumerate(config.filters):
        y = test_batch.target[:, j]
        train, val = one_filter(sets["train"], j), one_filter(sets["val"], j)
        batch_j = SignalBatch(test_batch.graphs, test_batch.signal, test_batch.target[:, j : j + 1])

        def build(encoding: str) -> torch.nn.Module:
            torch.manual_seed(config.seed)
            return SpectralFilterNet(encoding, config.k, 1, config.hidden, config.layers)

        models, fits, _ = fit_models(nets, build, filter_mse_loss, train, val, cosine_train_config(config),
                                     out / name, collate_fn=collate_signal_graphs)
        for enc, model in models.items():
            load_best_weights(model, fits[enc])
            pred = predict_filtered(model, batch_j)
            rows.append(filter_result_row(
                name, enc, pred, y, float(fits[enc].history["seconds"].iloc[-1]),
                sign_flip_change=float((predict_filtered(model, flipped) - pred).abs().max()),
                basis_change_change=float((predict_filtered(model, rotated) - pred).abs().max())))
        if "exact_ls" in config.models:
            t0 = time.perf_counter()
            pred = exact_spectral_fit(sets["train"], sets["test"], j, config.ls_basis)
            rows.append(filter_result_row(name, "exact_ls", pred, y, time.perf_counter() - t0))
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

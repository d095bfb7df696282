"""The SignNet pipeline: backbone x positional encoding on a molecular regression task (MAE), with the invariance
of each encoding measured on the trained models.

The claim (Lim et al., arXiv 2202.13013, Table 1 on ZINC): eigenvector positional encodings help a graph network
only when they respect the eigenvectors' symmetries; SignNet (sign invariant) beats LapPE trained with random sign
flips, which beats no encoding, for message passing (GatedGCN, PNA) and for a Transformer.

:func:`run_signnet` loads the graphs (the shipped ``qm9_penalized_logp`` set, :mod:`workbench.data.molecular_graphs`,
or the real ZINC subset files when ``data_dir`` holds ``train.pickle``), encodes every graph once
(:func:`workbench.spectral.encode_graph`: the ``k`` lowest eigenpairs of the normalized Laplacian in float64, padded
and masked, and ``rwse_steps`` RWSE columns), and trains every ``<backbone>_<encoding>`` of ``config.backbones`` x
``config.encodings`` (:func:`workbench.models.build_pe_regressor`) with :func:`workbench.train.fit` (L1 loss = MAE, as
the paper; AdamW, cosine schedule) in ``<output_dir>/<model>/``. Each model keeps its best-validation weights and is
evaluated on the test split: MAE, and the largest change of a prediction when every eigenvector's sign is flipped at
random (``sign_flip_change``) or every complete eigenspace gets a random orthogonal basis (``basis_change_change``),
measured in float32 on ``invariance_graphs`` test graphs. Training seconds per epoch come from the history.

Files in ``output_dir``: ``metrics.json`` (everything, including the config and the paper's ZINC numbers),
``results.csv`` (one row per model), ``mae_table.csv`` (backbone x encoding), ``run_config.json`` and, per model,
``metrics.csv``, ``checkpoint.pt``, ``best_model.pt``, ``test_predictions.csv``. Calling again with the same
``output_dir`` and config resumes.

:func:`run_signnet_seeds` repeats the run for several seeds (each seed draws its own 80/10/10 split of the shipped
set, initialization and sign flips) into ``<output_dir>/seed_<s>/`` and writes the mean and standard deviation of
each test MAE over the seeds (``seeds_results.csv``, ``seeds_mae_table.csv``, ``seeds_metrics.json``).
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

from workbench.data.molecular_graphs import (
    NUM_EDGE_TYPES,
    NUM_NODE_TYPES,
    MolecularGraphs,
    load_molecular_graphs,
    read_zinc_split,
)
from workbench.data.splits import fixed_split
from workbench.models.pe_regressor import BACKBONES, ENCODINGS, build_pe_regressor
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
    NORMALIZATIONS,
    EncodedGraph,
    GraphBatch,
    collate_graphs,
    encode_graph,
    random_basis_change,
    random_sign_flips,
)
from workbench.train import load_best_weights

__all__ = ["PAPER_ZINC_MAE", "SignNetRunConfig", "SignNetRunResult", "model_names", "run_signnet",
           "run_signnet_seeds"]

#: Test MAE on ZINC (12k graphs) from Lim et al. 2022, Table 1: backbone -> {encoding: MAE}.
PAPER_ZINC_MAE: dict[str, dict[str, float]] = {
    "GatedGCN": {"none": 0.252, "lappe": 0.121, "signnet": 0.102},
    "Transformer": {"none": 0.283, "lappe": 0.115, "signnet": 0.102},
    "PNA": {"none": 0.128, "lappe": 0.105, "signnet": 0.084},
}
_RESUMABLE_FIELDS = ("epochs", "max_steps", "checkpoint_every", "progress", "backbones", "encodings")


@dataclass
class SignNetRunConfig:
    """Parameters of :func:`run_signnet` (the notebook's parameters map onto these).

    Data: ``data_dir`` ("" = the shipped ``qm9_penalized_logp``; a folder of that format; or a folder with ZINC's
    ``{train,val,test}.pickle`` + ``.index``), ``target`` (a target of the set; ZINC has only
    ``penalized_logp_normalized``), ``n_train``/``n_val``/``n_test`` graphs (0 = all of the split; the shipped set
    is split 80/10/10 with ``seed``), ``k`` eigenvectors, ``rwse_steps``, ``normalization`` of the Laplacian.
    Models: ``backbones`` x ``encodings``, ``hidden``, ``layers``, ``pe_dim``, ``pe_hidden``. Training:
    ``epochs``, ``batch_size``, ``lr``, ``weight_decay``, ``seed``, ``max_steps`` (> 0: stop early, resumable).
    ``invariance_graphs``: test graphs on which the invariance errors are measured.
    """

    data_dir: str = ""
    target: str = "penalized_logp_normalized"
    n_train: int = 1000
    n_val: int = 200
    n_test: int = 200
    k: int = 8
    rwse_steps: int = 8
    normalization: str = "sym"
    backbones: Sequence[str] = BACKBONES
    encodings: Sequence[str] = ("none", "lappe", "rwse", "signnet", "basisnet")
    hidden: int = 32
    layers: int = 3
    pe_dim: int = 16
    pe_hidden: int = 16
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    invariance_graphs: int = 64
    checkpoint_every: int = 200
    max_steps: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        self.backbones, self.encodings = name_tuple(self.backbones), name_tuple(self.encodings)

    def validate(self) -> None:
        """Raise ValueError naming the field for any bad value (before anything is computed or written)."""
        for name, valid in (("backbones", BACKBONES), ("encodings", ENCODINGS)):
            values = getattr(self, name)
            unknown = [v for v in values if v not in valid]
            if unknown or not values or len(set(values)) != len(values):
                raise ValueError(f"{name} must be distinct names from {valid}, got {list(values)}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}")
        check_integers(self, {"n_train": 0, "n_val": 0, "n_test": 0, "k": 1, "rwse_steps": 1, "hidden": 4,
                              "layers": 1, "pe_dim": 1, "pe_hidden": 1, "epochs": 1, "batch_size": 1, "seed": 0,
                              "invariance_graphs": 1, "checkpoint_every": 1, "max_steps": 0})
        if self.hidden % 4:
            raise ValueError(f"hidden must be a multiple of 4 (the Transformer's 4 heads), got {self.hidden}")
        check_numbers(self, (("lr", 0.0, True), ("weight_decay", 0.0, False)))


@dataclass
class SignNetRunResult:
    """What :func:`run_signnet` produced: ``results`` (one row per model), ``mae_table`` (backbone x encoding),
    ``metrics`` (``metrics.json``), ``histories``, ``models`` (best weights), ``test_set`` (encoded graphs),
    ``completed`` (False when ``max_steps`` stopped early: no test metrics then)."""

    results: pd.DataFrame | None
    mae_table: pd.DataFrame | None
    metrics: dict[str, Any]
    histories: dict[str, pd.DataFrame]
    models: dict[str, torch.nn.Module]
    test_set: list[EncodedGraph]
    output_dir: Path
    completed: bool
    files: dict[str, Path] = field(default_factory=dict)


def model_names(config: SignNetRunConfig) -> list[str]:
    """``<backbone>_<encoding>`` for every pair, backbone-major."""
    return [f"{b}_{e}" for b in config.backbones for e in config.encodings]


def _splits(config: SignNetRunConfig) -> tuple[dict[str, MolecularGraphs], dict[str, np.ndarray], str]:
    folder = Path(config.data_dir) if config.data_dir else None
    if folder is not None and (folder / "train.pickle").is_file():
        sets = {s: read_zinc_split(folder, s) for s in ("train", "val", "test")}
        idx = {s: np.arange(len(g)) for s, g in sets.items()}
        source = f"ZINC files in {folder}"
    else:
        graphs = load_molecular_graphs(folder)
        split = fixed_split(len(graphs), seed=config.seed)
        sets = {s: graphs for s in ("train", "val", "test")}
        idx = {s: split[s] for s in ("train", "val", "test")}
        source = graphs.source
    for g in sets.values():
        if config.target not in g.targets:
            raise ValueError(f"target must be one of {sorted(g.targets)} for {source}, got {config.target!r}")
    limits = {"train": config.n_train, "val": config.n_val, "test": config.n_test}
    idx = {s: i[: limits[s]] if limits[s] else i for s, i in idx.items()}
    return sets, idx, source


def _encode(graphs: MolecularGraphs, rows: np.ndarray, config: SignNetRunConfig) -> list[EncodedGraph]:
    y = graphs.targets[config.target]
    return [encode_graph(graphs.x[i], graphs.edge_index[i], graphs.edge_attr[i],
                         torch.tensor([y[i]], dtype=torch.float32), k=config.k, rwse_steps=config.rwse_steps,
                         normalization=config.normalization) for i in rows.tolist()]


def _loss_fn(model: torch.nn.Module, batch: GraphBatch) -> tuple[torch.Tensor, dict[str, float]]:
    loss = (model(batch) - batch.y[:, 0]).abs().mean()
    return loss, {"mae": float(loss.detach())}


@torch.no_grad()
def _predict(model: torch.nn.Module, graphs: Sequence[EncodedGraph] | GraphBatch, batch_size: int = 256
             ) -> torch.Tensor:
    model.eval()
    if isinstance(graphs, GraphBatch):
        return model(graphs)
    return torch.cat([model(collate_graphs(graphs[i : i + batch_size])) for i in range(0, len(graphs), batch_size)])


def _invariance(model: torch.nn.Module, batch: GraphBatch, seed: int) -> dict[str, float]:
    gen = torch.Generator().manual_seed(seed)
    ref = _predict(model, batch)
    flip = _predict(model, random_sign_flips(batch, gen))
    rot = _predict(model, random_basis_change(batch, gen))
    return {"sign_flip_change": float((flip - ref).abs().max()), "basis_change_change": float((rot - ref).abs().max())}


def run_signnet(config: SignNetRunConfig | None = None, output_dir: str | Path = "runs/signnet", **overrides: Any
                ) -> SignNetRunResult:
    """Train every backbone x encoding and evaluate MAE and invariance (module docstring). Keyword ``overrides``
    replace config fields. Raises ValueError for unknown names or bad values (nothing written) or an
    ``output_dir`` holding a run with another configuration."""
    config = resolve_config(SignNetRunConfig, config, overrides, "run_signnet")
    out = Path(output_dir)
    t_start = time.perf_counter()
    sets, idx, source = _splits(config)
    encoded = {s: _encode(sets[s], idx[s], config) for s in ("train", "val", "test")}
    encode_seconds = time.perf_counter() - t_start
    out.mkdir(parents=True, exist_ok=True)
    guard_run_folder(out, config, _RESUMABLE_FIELDS, "signnet")
    num_node_types = max(NUM_NODE_TYPES, 1 + max(int(g.x.max()) for s in encoded.values() for g in s))
    num_edge_types = max(NUM_EDGE_TYPES, 1 + max((int(g.edge_attr.max()) for s in encoded.values() for g in s
                                                  if g.edge_attr.numel()), default=0))

    def build(name: str) -> torch.nn.Module:
        backbone, encoding = name.split("_", 1)
        torch.manual_seed(config.seed)
        return build_pe_regressor(backbone, encoding, num_node_types=num_node_types, num_edge_types=num_edge_types,
                                  k=config.k, rwse_steps=config.rwse_steps, hidden=config.hidden,
                                  layers=config.layers, pe_dim=config.pe_dim, pe_hidden=config.pe_hidden)

    names = model_names(config)
    models, fits, files = fit_models(names, build, _loss_fn, encoded["train"], encoded["val"],
                                     cosine_train_config(config), out, config.max_steps, collate_fn=collate_graphs)
    histories = {n: r.history for n, r in fits.items()}
    if not all(r.completed for r in fits.values()):
        return SignNetRunResult(None, None, {}, histories, models, encoded["test"], out, False, files)

    y_test = torch.stack([g.y[0] for g in encoded["test"]])
    probe = collate_graphs(encoded["test"][: config.invariance_graphs])
    rows = []
    for name, model in models.items():
        load_best_weights(model, fits[name])
        pred = _predict(model, encoded["test"])
        backbone, encoding = name.split("_", 1)
        history = histories[name]
        row = {"model": name, "backbone": backbone, "encoding": encoding,
               "test_mae": float((pred - y_test).abs().mean()),
               "best_val_mae": float(history["val_mae"].min()),
               "parameters": int(sum(p.numel() for p in model.parameters())),
               "seconds_per_epoch": float(history["seconds"].iloc[-1] / len(history)),
               "epochs": len(history), **_invariance(model, probe, config.seed)}
        rows.append(row)
        pd.DataFrame({"index": idx["test"], "y_true": y_test.numpy(), "y_pred": pred.numpy()}).to_csv(
            out / name / "test_predictions.csv", index=False)
        files[f"{name}_test_predictions"] = out / name / "test_predictions.csv"
    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False)
    table = results.pivot(index="backbone", columns="encoding", values="test_mae")
    table = table.loc[list(config.backbones), list(config.encodings)]
    table.to_csv(out / "mae_table.csv")
    files.update({"results": out / "results.csv", "mae_table": out / "mae_table.csv"})
    ordering = {}
    for b in config.backbones:
        mae = table.loc[b]
        if {"none", "lappe", "signnet"} <= set(mae.index):
            ordering[b] = bool(mae["none"] >= mae["lappe"] >= mae["signnet"])
    summary: dict[str, Any] = {
        "source": source, "target": config.target,
        "n_train": len(encoded["train"]), "n_val": len(encoded["val"]), "n_test": len(encoded["test"]),
        "mean_abs_deviation_test": float((y_test - torch.stack([g.y[0] for g in encoded["train"]]).mean())
                                         .abs().mean()),
        "mae_table": {b: {e: float(table.loc[b, e]) for e in table.columns} for b in table.index},
        "paper_order_none_ge_lappe_ge_signnet": ordering,
        "paper_zinc_mae": PAPER_ZINC_MAE,
        "models": {r["model"]: r for r in rows},
        "encode_seconds": encode_seconds,
        "config": json.loads(json.dumps(asdict(config))),
        "wall_seconds_this_call": time.perf_counter() - t_start,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files["metrics_json"] = out / "metrics.json"
    return SignNetRunResult(results, table, summary, histories, models, encoded["test"], out, True, files)


def run_signnet_seeds(seeds: Sequence[int] = (0, 1, 2), output_dir: str | Path = "runs/signnet_seeds",
                      **overrides: Any) -> pd.DataFrame:
    """:func:`run_signnet` once per seed of ``seeds`` (``overrides`` as there, ``seed`` excluded) in
    ``<output_dir>/seed_<s>/`` (each resumable), then per model the test MAE of every seed, its mean and its
    standard deviation (ddof = 1; NaN for one seed), and whether ``none >= lappe >= signnet`` holds for the means
    and for how many seeds. Returns the per-model table (``seeds_results.csv``); also writes
    ``seeds_mae_table.csv`` (backbone x encoding, ``"mean +- std"`` strings) and ``seeds_metrics.json``."""
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"seeds must be distinct integers >= 0, at least one, got {seeds}")
    if "seed" in overrides:
        raise ValueError("pass the seeds as seeds=..., not seed=")
    out = Path(output_dir)
    runs = {s: run_signnet(output_dir=out / f"seed_{s}", seed=s, **overrides) for s in seeds}
    if not all(r.completed for r in runs.values()):
        raise ValueError("a seed's run stopped early (max_steps); call again without max_steps to finish it")
    per_seed = pd.concat([r.results.assign(seed=s) for s, r in runs.items()])
    wide = per_seed.pivot(index="model", columns="seed", values="test_mae")
    wide.columns = [f"test_mae_seed{s}" for s in wide.columns]
    first = runs[seeds[0]].results.set_index("model")
    table = first[["backbone", "encoding"]].join(wide)
    maes = table[[f"test_mae_seed{s}" for s in seeds]]
    table["test_mae_mean"] = maes.mean(axis=1)
    table["test_mae_std"] = maes.std(axis=1, ddof=1) if len(seeds) > 1 else float("nan")
    table = table.reset_index()
    table.to_csv(out / "seeds_results.csv", index=False)
    text = table.assign(cell=[f"{m:.3f} +- {s:.3f}" for m, s in zip(table.test_mae_mean, table.test_mae_std)])
    cells = text.pivot(index="backbone", columns="encoding", values="cell")
    cells.loc[list(dict.fromkeys(table.backbone)), list(dict.fromkeys(table.encoding))].to_csv(
        out / "seeds_mae_table.csv")
    ordering: dict[str, dict[str, Any]] = {}
    for b, part in table.groupby("backbone", sort=False):
        part = part.set_index("encoding")
        if {"none", "lappe", "signnet"} <= set(part.index):
            m = part["test_mae_mean"]
            holds = [bool(part.loc["none", c] >= part.loc["lappe", c] >= part.loc["signnet", c])
                     for c in maes.columns]
            ordering[b] = {"means": bool(m["none"] >= m["lappe"] >= m["signnet"]), "seeds_holding": sum(holds),
                           "signnet_below_lappe_seeds": sum(bool(part.loc["signnet", c] < part.loc["lappe", c])
                                                            for c in maes.columns)}
    summary = {"seeds": seeds, "overrides": json.loads(json.dumps(overrides, default=list)),
               "models": {r["model"]: {k: (float(v) if isinstance(v, (float, np.floating)) else v)
                                       for k, v in r.items()} for r in table.to_dict("records")},
               "paper_order_none_ge_lappe_ge_signnet": ordering}
    (out / "seeds_metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return table

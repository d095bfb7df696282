"""The top-tagging pipeline: Lorentz-group G-MACE against a LorentzNet-style and a Deep Sets tagger, physics baselines
(a jet-mass cut and an N-subjettiness classifier), and a boost test.

The claim it tests (lie-nn, Batatia et al., arXiv 2306.00091): the MACE construction works for the Lorentz group
as for O(3), and a Lorentz-invariant tagger is unaffected by boosts that change every non-invariant input.

:func:`run_jets` reads a jet set (:func:`workbench.data.jets.load_jets`; default the shipped ``data/jets``),
keeps the leading ``max_constituents`` constituents of each jet in ``constituent_order``
(:func:`~workbench.data.jets.select_constituents`: by default the energy in the jet's rest frame, ``p_i . P_jet``,
a Lorentz invariant; ``"pt"``: lab-frame pT), and trains every model of ``config.models`` (:data:`MODEL_NAMES`)
with :func:`workbench.train.fit` (binary cross-entropy on one logit per jet, AdamW, cosine schedule) in
``<output_dir>/<model>/``, keeping the weights with the lowest validation loss. The models:

- ``lorentz_mace`` (:class:`~workbench.models.lorentz_mace.LorentzMACE`), ``lorentznet``
  (:class:`~workbench.models.lorentznet.LorentzNetLite`) and ``deepsets``
  (:class:`~workbench.models.deep_sets.DeepSetsTagger`, lab-frame pT, η, φ);
- ``nsubjettiness`` (:class:`~workbench.models.jet_baselines.SubstructureTagger`): a small MLP on the jet mass and
  N-subjettiness ``tau_1..3``, ``tau_21``, ``tau_32`` (exclusive-kT axes, beta = 1), standardized on the training
  jets, trained by the same loop;
- ``mass_cut`` (:class:`~workbench.models.jet_baselines.MassCutTagger`): no training; the jet mass of the same
  constituents or its distance to the top mass, whichever has the larger AUC on the training jets, cut at the
  threshold of the best training accuracy. ``metrics.json`` also reports the same cut on the mass of *all* stored
  constituents (``mass_cut_all_constituents``: information the models do not get).

Every model sees the same selected constituents of the same split. The test jets are then scored twice:

- as generated (``"test"``);
- boosted (``"boosted"``): each jet by its own pure boost along an isotropic random direction with rapidity uniform
  in ``[0, boost_max_rapidity]`` (default 2), applied to **all** its constituents, which are then selected again in
  ``constituent_order`` (boost first, select after, as a detector in the boosted frame would). With the invariant
  order this selects the same constituents as before the boost, so Lorentz-invariant models (and the mass cut)
  must give the same outputs (``max_abs_logit_change`` measures it); with ``constituent_order="pt"`` the selection
  itself changes. The Deep Sets tagger and N-subjettiness see lab-frame quantities and change.

Metrics per model and test version (:mod:`workbench.train.roc`): accuracy (threshold: logit 0), ROC AUC, background
rejection ``R = 1/eps_B`` at ``eps_S = 0.3`` and 0.5 with its binomial uncertainty
(:func:`~workbench.train.roc.rejection_uncertainty`: ``sigma(R) = R sqrt((1 - eps_B) / k)``, ``k = n_B eps_B``
the background jets passing, also reported), plus parameter counts and training time. Calling :func:`run_jets`
again with the same ``output_dir`` resumes from the checkpoints and ends with the same metrics.

Files in ``output_dir``: ``metrics.json`` (everything, including the config and the dataset manifest's recipe and
detector response), ``results.csv`` (one row per model and test version), ``comparison.csv`` (AUC on the boosted
jets against the Deep Sets tagger's), ``comparison_mass_cut.csv`` (AUC on the jets as generated against the mass
cut's), ``roc.csv`` (ROC curves), and per model ``<model>/metrics.csv``, ``checkpoint.pt``, ``best_model.pt``
(trained models) and ``test_scores.csv`` (label, logit as generated and boosted, per test jet).
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

from workbench.data.jets import (
    CONSTITUENT_ORDERS,
    JetSet,
    boost_jets,
    load_jets,
    random_boost_matrices,
    select_constituents,
)
from workbench.models.deep_sets import DeepSetsTagger
from workbench.models.jet_baselines import MassCutTagger, SubstructureTagger
from workbench.models.lorentz_mace import LorentzMACE
from workbench.models.lorentznet import LorentzNetLite
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
from workbench.train.roc import background_rejection, rejection_uncertainty, roc_auc, roc_curve

__all__ = ["MODEL_NAMES", "UNTRAINED_MODELS", "EQUIVARIANT_MODEL", "BASELINE_MODEL", "MASS_CUT_MODEL", "TEST_VERSIONS",
           "JetsRunConfig", "JetsRunResult", "build_jet_model", "predict_jet_logits", "tagging_metrics", "run_jets"]

#: Models :func:`run_jets` can run, by name.
MODEL_NAMES: tuple[str, ...] = ("lorentz_mace", "lorentznet", "deepsets", "nsubjettiness", "mass_cut")
#: Models set from the training jets without gradient training (no checkpoint, no history).
UNTRAINED_MODELS: tuple[str, ...] = ("mass_cut",)
#: The physics baseline of ``comparison_mass_cut.csv``.
MASS_CUT_MODEL = "mass_cut"
#: The Lorentz-group MACE and the non-equivariant baseline of the boost test.
EQUIVARIANT_MODEL, BASELINE_MODEL = "lorentz_mace", "deepsets"
#: Test versions: as generated, and each jet boosted (rapidity up to ``boost_max_rapidity``).
TEST_VERSIONS: tuple[str, ...] = ("test", "boosted")

_RESUMABLE_FIELDS = ("epochs", "max_steps", "checkpoint_every", "progress", "models")


@dataclass
class JetsRunConfig:
    """Parameters of :func:`run_jets` (the notebook's parameters map onto these).

    Data: ``data_path`` (a folder written by :func:`~workbench.data.jets.generate_jets`; empty = the shipped
    set), ``max_constituents`` (leading constituents kept per jet, in ``constituent_order``: one of
    :data:`~workbench.data.jets.CONSTITUENT_ORDERS`), ``n_train``/``n_val``/``n_test`` (0 = the whole
    split; otherwise the first ``n`` jets of it, which are shuffled at generation). Training: ``epochs``,
    ``batch_size``, AdamW ``lr`` and ``weight_decay`` (cosine schedule), ``seed``, ``max_steps`` (> 0: stop each
    model after this many steps; resumable). Models: ``channels``, ``correlation``, ``num_layers`` (G-MACE),
    ``hidden`` (MLP width of every model). Boost test: ``boost_max_rapidity``, ``boost_seed``.
    """

    data_path: str = ""
    max_constituents: int = 30
    constituent_order: str = "rest_frame_energy"
    n_train: int = 0
    n_val: int = 0
    n_test: int = 0
    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.0
    channels: int = 8
    correlation: int = 3
    num_layers: int = 2
    hidden: int = 32
    boost_max_rapidity: float = 2.0
    boost_seed: int = 1
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
        if self.constituent_order not in CONSTITUENT_ORDERS:
            raise ValueError(f"constituent_order must be one of {CONSTITUENT_ORDERS}, got {self.constituent_order!r}")
        check_integers(self, {"max_constituents": 1, "n_train": 0, "n_val": 0, "n_test": 0, "epochs": 1,
                              "batch_size": 1, "channels": 1, "correlation": 1, "num_layers": 1, "hidden": 1,
                              "boost_seed": 0, "seed": 0, "checkpoint_every": 1, "max_steps": 0})
        check_numbers(self, (("lr", 0.0, True), ("weight_decay", 0.0, False), ("boost_max_rapidity", 0.0, False)))


@dataclass
class JetsRunResult:
    """What :func:`run_jets` produced: ``results`` (one row per model and test version), ``metrics`` (the
    content of ``metrics.json``), ``roc`` (ROC points: model, version, eps_B, eps_S), ``scores`` (per model: label
    and logits per test jet), ``histories`` (per-epoch training history), the trained ``models`` (best validation
    weights), the ``jets`` set and ``completed`` (False when ``max_steps`` stopped a model early: no test metrics
    yet); ``comparison`` (``comparison.csv``): :func:`~workbench.pipelines.compare.compare_models` on the AUC of
    the boosted test jets against the Deep Sets tagger's; ``comparison_mass_cut``: on the AUC of the test jets as
    generated against the mass cut's (None without ``mass_cut`` among the models)."""

    results: pd.DataFrame | None
    metrics: dict[str, Any]
    roc: pd.DataFrame | None
    scores: dict[str, pd.DataFrame]
    histories: dict[str, pd.DataFrame]
    models: dict[str, torch.nn.Module]
    jets: JetSet
    output_dir: Path
    completed: bool
    files: dict[str, Path] = field(default_factory=dict)
    comparison: pd.DataFrame | None = None
    comparison_mass_cut: pd.DataFrame | None = None


def build_jet_model(name: str, config: JetsRunConfig, train: tuple[torch.Tensor, ...] | None = None
                    ) -> torch.nn.Module:
    """Model ``name`` (one of :data:`MODEL_NAMES`, one output logit) initialized from ``torch.manual_seed(seed)``.

    ``nsubjettiness`` and ``mass_cut`` need the training jets ``train = (momenta [B, N, 4], mask [B, N],
    labels [B])``: the first standardizes its features on them, the second picks its score and threshold there."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(MODEL_NAMES)}")
    if name in ("nsubjettiness", "mass_cut") and train is None:
        raise ValueError(f"model {name!r} needs the training jets: train=(momenta, mask, labels)")
    torch.manual_seed(config.seed)
    if name == "mass_cut":
        return MassCutTagger.fit(*train)
    if name == "nsubjettiness":
        return SubstructureTagger(hidden=config.hidden).standardize_from(train[0], train[1])
    if name == "lorentz_mace":
        return LorentzMACE(1, channels=config.channels, correlation=config.correlation,
                           num_layers=config.num_layers, hidden=config.hidden)
    if name == "lorentznet":
        return LorentzNetLite(1, hidden=config.hidden, num_layers=config.num_layers + 1)
    return DeepSetsTagger(1, hidden=2 * config.hidden)


@torch.no_grad()
def predict_jet_logits(model: torch.nn.Module, momenta: torch.Tensor, mask: torch.Tensor, batch_size: int = 256
                       ) -> torch.Tensor:
    """Logits ``[B]`` of padded jets ``momenta [B, N, 4]``, ``mask [B, N]``, in eval mode and batches."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(momenta[i : i + batch_size], mask[i : i + batch_size]).reshape(-1)
                          for i in range(0, len(momenta), batch_size)])
    finally:
        model.train(was_training)


def tagging_metrics(logits: Any, labels: Any) -> dict[str, float]:
    """Accuracy (logit > 0 = top), AUC, and at ``eps_S = 0.3`` and ``0.5``: the background rejection
    ``rejection_at_<eps>`` ``= 1/eps_B``, its binomial standard error ``rejection_at_<eps>_uncertainty``
    (:func:`~workbench.train.roc.rejection_uncertainty`: ``R sqrt((1 - eps_B) / k)``) and ``background_at_<eps>``
    ``= k``, how many background jets pass (``n_B eps_B``, interpolated). A rejection is only as precise as that
    count: with ``n_B`` background jets, ``1/eps_B`` cannot exceed ``n_B`` except as infinity (uncertainty inf)."""
    s = np.asarray(logits, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    n_background = int(np.sum(y == 0))
    out = {"accuracy": float(np.mean((s > 0) == (y == 1))), "auc": roc_auc(s, y)}
    for eps in ("0.3", "0.5"):
        rejection = background_rejection(s, y, float(eps))
        out[f"rejection_at_{eps}"] = rejection
        out[f"rejection_at_{eps}_uncertainty"] = rejection_uncertainty(rejection, n_background)
        out[f"background_at_{eps}"] = float(n_background / rejection)
    return out


def _loss_fn(model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
    momenta, mask, labels = batch
    logits = model(momenta, mask).reshape(-1)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    accuracy = float(((logits.detach() > 0) == (labels == 1)).double().mean())
    return loss, {"accuracy": accuracy}


def _split_rows(jets: JetSet, config: JetsRunConfig) -> dict[str, np.ndarray]:
    rows = {}
    for split, n in (("train", config.n_train), ("val", config.n_val), ("test", config.n_test)):
        idx = jets.indices(split)
        if n > len(idx):
            raise ValueError(f"n_{split}={n} but the {split} split of the jet set has only {len(idx)} jets")
        rows[split] = idx[:n] if n else idx
        if len(np.unique(jets.label[rows[split]])) < 2:
            raise ValueError(f"the {split} selection ({len(rows[split])} jets) needs both top and QCD jets")
    return rows


def run_jets(config: JetsRunConfig | None = None, output_dir: str | Path = "runs/jets", **overrides: Any
             ) -> JetsRunResult:
    """Train the taggers of ``config.models`` and test them on generated and boosted jets (module docstring).
    Keyword ``overrides`` replace config fields.

    Raises:
        ValueError: unknown model names (the message lists the valid ones), bad values, a selection larger than a
            split, or an ``output_dir`` holding a run with another configuration. Nothing is written before the
            data are loaded and the config is validated.
        FileNotFoundError: ``data_path`` holds no jet set (the message names the shipped set).
    """
    config = resolve_config(JetsRunConfig, config, overrides, "run_jets")
    t_start = time.perf_counter()
    jets = load_jets(config.data_path or None)
    rows = _split_rows(jets, config)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    guard_run_folder(out, config, _RESUMABLE_FIELDS, "jets")

    dtype = torch.get_default_dtype()
    order = config.constituent_order
    data = {split: jets.padded(r, config.max_constituents, dtype=torch.float64, order=order)
            for split, r in rows.items()}
    train_set = torch.utils.data.TensorDataset(data["train"][0].to(dtype), *data["train"][1:])
    val_set = torch.utils.data.TensorDataset(data["val"][0].to(dtype), *data["val"][1:])
    test_momenta, test_mask, test_labels = data["test"]
    boosts, directions, rapidities = random_boost_matrices(len(test_labels), config.boost_max_rapidity,
                                                           seed=config.boost_seed)
    # boost every constituent of each test jet, then select again (the selection is part of the measurement)
    all_momenta, all_mask, _ = jets.padded(rows["test"], None, dtype=torch.float64)
    boosted = select_constituents(boost_jets(all_momenta, all_mask, boosts), all_mask, config.max_constituents, order)
    versions = {"test": (test_momenta, test_mask), "boosted": boosted}

    train_config = cosine_train_config(config)
    trained = [m for m in config.models if m not in UNTRAINED_MODELS]
    train_jets = (data["train"][0], data["train"][1], data["train"][2])
    fitted, fits, files = fit_models(trained, lambda name: build_jet_model(name, config, train_jets), _loss_fn,
                                     train_set, val_set, train_config, out, config.max_steps)
    histories = {name: result.history for name, result in fits.items()}
    if not all(r.completed for r in fits.values()):
        return JetsRunResult(None, {}, None, {}, histories, fitted, jets, out, False, files)
    models: dict[str, torch.nn.Module] = {}
    seconds: dict[str, float] = {}
    for name in config.models:
        if name in UNTRAINED_MODELS:
            t0 = time.perf_counter()
            models[name] = build_jet_model(name, config, train_jets)
            seconds[name] = time.perf_counter() - t0
            (out / name).mkdir(exist_ok=True)
        else:
            models[name] = fitted[name]
            load_best_weights(models[name], fits[name])
            history = histories[name]
            seconds[name] = float(history["seconds"].iloc[-1]) if len(history) else 0.0

    table, roc_rows, scores = [], [], {}
    labels = test_labels.numpy()
    for name, model in models.items():
        logits = {v: predict_jet_logits(model, m, mask).double().numpy() for v, (m, mask) in versions.items()}
        change = float(np.max(np.abs(logits["boosted"] - logits["test"])))
        for v in TEST_VERSIONS:
            row = {"model": name, "version": v, **tagging_metrics(logits[v], labels),
                   "parameters": int(sum(p.numel() for p in model.parameters())),
                   "train_seconds": seconds[name], "max_abs_logit_change": change,
                   "steps": int(fits[name].step) if name in fits else 0}
            table.append(row)
            eps_b, eps_s, _ = roc_curve(logits[v], labels)
            keep = np.unique(np.linspace(0, len(eps_b) - 1, min(len(eps_b), 400)).round().astype(int))
            roc_rows.append(pd.DataFrame({"model": name, "version": v, "eps_b": eps_b[keep], "eps_s": eps_s[keep]}))
        frame = pd.DataFrame({"label": labels, "logit_test": logits["test"], "logit_boosted": logits["boosted"],
                              "boost_rapidity": rapidities.numpy()})
        frame.to_csv(out / name / "test_scores.csv", index=False)
        files[f"{name}_test_scores"] = out / name / "test_scores.csv"
        scores[name] = frame
    results = pd.DataFrame(table)
    roc = pd.concat(roc_rows, ignore_index=True)
    results.to_csv(out / "results.csv", index=False)
    roc.to_csv(out / "roc.csv", index=False)
    files.update({"results": out / "results.csv", "roc": out / "roc.csv"})

    by = {(r["model"], r["version"]): r for r in table}
    rejection_columns = ("rejection_at_0.3", "rejection_at_0.3_uncertainty", "background_at_0.3", "rejection_at_0.5",
                         "rejection_at_0.5_uncertainty", "background_at_0.5")
    boosted_rows = {m: by[(m, "boosted")] | {"auc_as_generated": by[(m, "test")]["auc"]} for m in models}
    comparison = compare_models(boosted_rows, "auc", BASELINE_MODEL if BASELINE_MODEL in boosted_rows else "",
                                higher_is_better=True, columns=("accuracy", "auc_as_generated", *rejection_columns,
                                                                "parameters", "train_seconds", "max_abs_logit_change"))
    comparison.to_csv(out / "comparison.csv", index=False)
    files["comparison"] = out / "comparison.csv"
    comparison_mass_cut = None
    if MASS_CUT_MODEL in models:
        comparison_mass_cut = compare_models({m: by[(m, "test")] for m in models}, "auc", MASS_CUT_MODEL,
                                             higher_is_better=True, columns=("accuracy", *rejection_columns,
                                                                             "parameters", "train_seconds"))
        comparison_mass_cut.to_csv(out / "comparison_mass_cut.csv", index=False)
        files["comparison_mass_cut"] = out / "comparison_mass_cut.csv"
    mass_all = None
    if MASS_CUT_MODEL in models:  # the same cut on the mass of every stored constituent, not only the selected ones
        everything = {split: jets.padded(r, None, dtype=torch.float64) for split, r in rows.items()
                      if split in ("train", "test")}
        cut = MassCutTagger.fit(*everything["train"])
        mass_logits = predict_jet_logits(cut, everything["test"][0], everything["test"][1]).double().numpy()
        mass_all = {"mode": cut.mode, "threshold_gev": float(cut.threshold),
                    **tagging_metrics(mass_logits, everything["test"][2].numpy())}
    boost_test = None
    if (EQUIVARIANT_MODEL, "test") in by and (BASELINE_MODEL, "test") in by:
        boost_test = {m: {"auc_change": by[(m, "boosted")]["auc"] - by[(m, "test")]["auc"],
                          "accuracy_change": by[(m, "boosted")]["accuracy"] - by[(m, "test")]["accuracy"],
                          "max_abs_logit_change": by[(m, "test")]["max_abs_logit_change"]}
                      for m in (EQUIVARIANT_MODEL, BASELINE_MODEL)}
    manifest = jets.manifest
    generator = jets.generator_config() if manifest.get("config") else None
    metric_keys = ("accuracy", "auc", "rejection_at_0.3", "rejection_at_0.3_uncertainty", "background_at_0.3",
                   "rejection_at_0.5", "rejection_at_0.5_uncertainty", "background_at_0.5")
    summary: dict[str, Any] = {
        "n_train": len(rows["train"]), "n_val": len(rows["val"]), "n_test": len(rows["test"]),
        "n_test_background": int(np.sum(labels == 0)),
        "max_constituents": config.max_constituents, "constituent_order": order,
        "mean_constituents_used": float(test_mask.sum(1).double().mean()),
        "models": {m: {v: {k: by[(m, v)][k] for k in metric_keys} for v in TEST_VERSIONS}
                   | {"parameters": by[(m, "test")]["parameters"], "train_seconds": by[(m, "test")]["train_seconds"],
                      "max_abs_logit_change": by[(m, "test")]["max_abs_logit_change"]}
                   for m in models},
        "rejection_uncertainty": ("binomial standard error on the k = n_B eps_B background jets passing: "
                                  "sigma(R) = R sqrt((1 - eps_B) / k), R = 1/eps_B; inf when none passes"),
        "auc_over_mass_cut": (None if comparison_mass_cut is None else
                              dict(zip(comparison_mass_cut["model"], comparison_mass_cut["difference_to_baseline"]))),
        "mass_cut": (None if MASS_CUT_MODEL not in models else
                     {"mode": models[MASS_CUT_MODEL].mode, "threshold_gev": float(models[MASS_CUT_MODEL].threshold),
                      "train_auc": models[MASS_CUT_MODEL].train_auc}),
        "mass_cut_all_constituents": mass_all,
        "boost_test": boost_test,
        "boost": {"max_rapidity": config.boost_max_rapidity, "seed": config.boost_seed,
                  "mean_rapidity": float(rapidities.mean()),
                  "selection": f"boost all constituents, then select the leading {config.max_constituents} by {order}"},
        "dataset": {"path": str(config.data_path or "data/jets"), "recipe": manifest.get("recipe"),
                    "detector_note": manifest.get("detector_note"), "counts": manifest.get("counts"),
                    "smearing": generator.smearing if generator else None,
                    "massless": generator.massless if generator else None,
                    "pythia8mc_version": manifest.get("pythia8mc_version")},
        "config": json.loads(json.dumps(asdict(config))),
        "wall_seconds_this_call": time.perf_counter() - t_start,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files["metrics_json"] = out / "metrics.json"
    return JetsRunResult(results, summary, roc, scores, histories, models, jets, out, True, files, comparison,
                         comparison_mass_cut)

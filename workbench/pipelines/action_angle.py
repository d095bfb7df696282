"""The Action-Angle Networks pipeline: learned simulators whose error should not grow with the time jump.

The claim (Daigavane, Kosmala, Cranmer, Smidt, Ho; arXiv 2211.15338): a network that learns a symplectic map to
action-angle coordinates, where integrable dynamics only advance the angles at fixed frequencies, predicts a state
``k`` steps ahead in one pass, with an error that does not grow with ``k``; models that step (an Euler-update
network, a Neural ODE, a Hamiltonian network) pay for every step in time and in accumulated error.

:func:`run_action_angle` follows the paper's protocol (:mod:`workbench.dynamics.dataset`): ``n_trajectories``
reference trajectories of ``n_samples`` samples at ``dt`` (1,000 at ``dt = 1``), the first 10% of the time axis
for training, the last 50% for testing, the middle for validation; training pairs at jumps ``train_jumps``
(1-10), test pairs at ``test_jumps`` (1, 2, 5, 10, 20, 50). Every model of ``config.models`` (:data:`MODEL_NAMES`)
trains with :func:`workbench.train.fit` (state MSE, AdamW, cosine schedule) in ``<output_dir>/<model>/`` and is
evaluated with its best validation weights. The Action-Angle Network's training ends with a closed-form frequency
calibration on the training section (:mod:`workbench.dynamics.calibration`; ``calibrate_frequencies``, on by
default): its ``omega(J)`` is refit to the slopes of its own unwrapped angles over the whole training window, which
pin a frequency far better than jumps of 1-10 steps do, and the refit is kept only if it does not raise the
validation MSE. ``metrics.json`` keeps the uncalibrated errors beside it.

- ``errors.csv``: test MSE of the predicted state per model and jump, and its ratio to the same model's jump-1 MSE
  (``growth``);
- ``timing.csv``: seconds per predicted state, per model and jump (best of ``timing_repeats`` batched calls);
- ``rollout.csv``: ``rollout_steps`` repeated one-step predictions from the first test state of every trajectory;
  per step, the mean relative drift of the true energy of the predicted states (``|E(x_k) - E(x_0)| / |E(x_0)|``)
  and, for the Action-Angle Network, of its learned actions;
- ``frequencies.csv`` (integrable systems, Action-Angle Network): its learned frequencies at the test states,
  sorted per state, beside the analytic ones (normal modes; Kepler's mean motion) and their relative error;
- ``actions.csv``: per degree of freedom, the Action-Angle Network's learned actions along the true test
  trajectories: their relative spread (std / mean over time, averaged over trajectories): 0 for a perfect map;
- ``comparison.csv``: the MSE at the largest test jump against the Euler-update network's;
- ``metrics.json``: all of it with the config. Calling again with the same ``output_dir`` resumes from checkpoints.

Examples:
    >>> from workbench.pipelines.action_angle import ActionAngleRunConfig
    >>> ActionAngleRunConfig(test_jumps=[1, 2.5]).validate()
    Traceback (most recent call last):
    ...
    ValueError: test_jumps must hold positive integers (jumps in steps of dt; ...), got 2.5 in [1, 2.5]
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

from workbench.dynamics import (
    SYSTEMS,
    ActionAngleNetwork,
    DynamicsDataset,
    EulerUpdateNetwork,
    HamiltonianNetwork,
    NeuralODE,
    check_jumps,
    make_dynamics_dataset,
)
from workbench.dynamics.calibration import calibrate_frequencies
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

__all__ = ["MODEL_NAMES", "ActionAngleRunConfig", "ActionAngleRunResult", "build_dynamics_model", "predict",
           "run_action_angle"]

#: Models :func:`run_action_angle` can train, by name.
MODEL_NAMES: tuple[str, ...] = ("action_angle", "euler", "neural_ode", "hamiltonian")
#: The baseline of ``comparison.csv``.
BASELINE_MODEL = "euler"

_RESUMABLE_FIELDS = ("epochs", "max_steps", "checkpoint_every", "progress", "models", "rollout_steps",
                     "timing_repeats", "calibrate_frequencies")


def _jump_tuple(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(int(v) if v.strip().lstrip("-").isdigit() else v.strip() for v in value.split(",") if v.strip())
    return tuple(value) if isinstance(value, (list, tuple)) else value


@dataclass
class ActionAngleRunConfig:
    """Parameters of :func:`run_action_angle` (the notebook's parameters map onto these).

    Data: ``system`` (one of :data:`~workbench.dynamics.SYSTEMS`), ``n_oscillators`` (oscillator systems only),
    ``n_trajectories``, ``n_samples``, ``dt``, ``train_fraction``, ``test_fraction``; jumps in steps of ``dt``:
    ``train_jumps``, ``test_jumps`` (positive integers). Models: ``models`` (:data:`MODEL_NAMES`), ``n_layers``
    and ``hidden`` (the symplectic encoder of the Action-Angle and Euler-update networks; the other networks use
    ``2 * hidden``), ``node_step`` (Neural ODE RK4 step, units of ``dt``), ``hnn_substeps`` (leapfrog steps per
    ``dt``). Training: ``epochs``, ``batch_size``, AdamW ``lr``, ``weight_decay``, cosine schedule, ``seed``,
    ``max_steps`` (> 0: stop there; resumable), ``max_val_pairs`` (validation pairs drawn with the seed).
    Evaluation: ``rollout_steps``, ``timing_repeats``, ``timing_batch``, ``calibrate_frequencies`` (the Action-Angle
    Network's final closed-form frequency refit; it changes no checkpoint, so a finished run folder can be
    evaluated again with it on or off).
    """

    system: str = "coupled_harmonic"
    n_oscillators: int = 3
    n_trajectories: int = 8
    n_samples: int = 1000
    dt: float = 1.0
    train_fraction: float = 0.1
    test_fraction: float = 0.5
    train_jumps: Sequence[int] = tuple(range(1, 11))
    test_jumps: Sequence[int] = (1, 2, 5, 10, 20, 50)
    models: Sequence[str] = MODEL_NAMES
    n_layers: int = 2
    hidden: int = 32
    node_step: float = 0.5
    hnn_substeps: int = 2
    epochs: int = 100
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.0
    seed: int = 0
    max_val_pairs: int = 2000
    rollout_steps: int = 500
    timing_repeats: int = 3
    timing_batch: int = 256
    checkpoint_every: int = 200
    max_steps: int = 0
    progress: bool = True
    calibrate_frequencies: bool = True

    def __post_init__(self) -> None:
        self.models = name_tuple(self.models)
        self.train_jumps, self.test_jumps = _jump_tuple(self.train_jumps), _jump_tuple(self.test_jumps)

    def validate(self) -> None:
        """Raise ValueError naming the field for any bad value (before anything is computed or written)."""
        if self.system not in SYSTEMS:
            raise ValueError(f"unknown system {self.system!r}; valid systems: {', '.join(SYSTEMS)}")
        check_model_names(self.models, MODEL_NAMES)
        if not isinstance(self.calibrate_frequencies, bool):
            raise ValueError(f"calibrate_frequencies must be True or False, got {self.calibrate_frequencies!r}")
        check_jumps(self.train_jumps, "train_jumps")
        check_jumps(self.test_jumps, "test_jumps")
        check_integers(self, {"n_oscillators": 1, "n_trajectories": 1, "n_samples": 20, "n_layers": 0, "hidden": 1,
                              "hnn_substeps": 1, "epochs": 1, "batch_size": 1, "seed": 0, "max_val_pairs": 1,
                              "rollout_steps": 1, "timing_repeats": 1, "timing_batch": 1, "checkpoint_every": 1,
                              "max_steps": 0})
        check_numbers(self, (("dt", 0.0, True), ("lr", 0.0, True), ("node_step", 0.0, True),
                             ("weight_decay", 0.0, False), ("train_fraction", 0.0, True),
                             ("test_fraction", 0.0, True)))
        if self.train_fraction + self.test_fraction >= 1:
            raise ValueError(f"train_fraction + test_fraction must be < 1 (the rest validates), got "
                             f"{self.train_fraction} + {self.test_fraction}")
        train_len = round(self.train_fraction * self.n_samples)
        test_len = round(self.test_fraction * self.n_samples)
        if max(self.train_jumps) >= train_len:
            raise ValueError(f"train_jumps up to {max(self.train_jumps)} do not fit in the {train_len} training "
                             "samples; raise n_samples or train_fraction")
        if max(self.test_jumps) >= test_len:
            raise ValueError(f"test_jumps up to {max(self.test_jumps)} do not fit in the {test_len} test samples; "
                             "raise n_samples or test_fraction")


@dataclass
class ActionAngleRunResult:
    """What :func:`run_action_angle` produced (tables as in the module docstring; ``completed`` False when
    ``max_steps`` stopped a model early, then only ``histories`` and ``models`` are filled)."""

    errors: pd.DataFrame | None
    timing: pd.DataFrame | None
    rollout: pd.DataFrame | None
    frequencies: pd.DataFrame | None
    actions: pd.DataFrame | None
    metrics: dict[str, Any]
    histories: dict[str, pd.DataFrame]
    models: dict[str, torch.nn.Module]
    data: DynamicsDataset
    output_dir: Path
    completed: bool
    files: dict[str, Path] = field(default_factory=dict)
    comparison: pd.DataFrame | None = None


def build_dynamics_model(name: str, n_dof: int, config: ActionAngleRunConfig) -> torch.nn.Module:
    """Model ``name`` (:data:`MODEL_NAMES`) in float64, initialised from ``torch.manual_seed(config.seed)``."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(MODEL_NAMES)}")
    torch.manual_seed(config.seed)
    if name == "action_angle":
        model: torch.nn.Module = ActionAngleNetwork(n_dof, config.n_layers, config.hidden, config.hidden,
                                                    dt=config.dt)
    elif name == "euler":
        model = EulerUpdateNetwork(n_dof, config.n_layers, config.hidden, 2 * config.hidden)
    elif name == "neural_ode":
        model = NeuralODE(n_dof, 2 * config.hidden, config.node_step, config.dt)
    else:
        model = HamiltonianNetwork(n_dof, 2 * config.hidden, config.hnn_substeps, config.dt)
    return model.double()


@torch.no_grad()
def predict(model: torch.nn.Module, state: torch.Tensor, jump: torch.Tensor, batch_size: int = 2048
            ) -> torch.Tensor:
    """``model(state, jump)`` in eval mode, in batches (``state [P, 2n]``, ``jump [P]``)."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(state[i : i + batch_size], jump[i : i + batch_size])
                          for i in range(0, len(state), batch_size)])
    finally:
        model.train(was_training)


def _loss_fn(model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]:
    x0, jump, x1 = batch
    loss = ((model(x0, jump) - x1) ** 2).mean()
    return loss, {}


def _errors(models: dict[str, torch.nn.Module], data: DynamicsDataset, jumps: Sequence[int]) -> pd.DataFrame:
    rows = []
    pairs = {j: data.pairs("test", [j]) for j in jumps}
    for name, model in models.items():
        for j, (x0, jump, x1) in pairs.items():
            mse = float(((predict(model, x0, jump) - x1) ** 2).mean())
            rows.append({"model": name, "jump": j, "mse": mse, "n_pairs": len(x0)})
    frame = pd.DataFrame(rows)
    first = frame[frame["jump"] == min(jumps)].set_index("model")["mse"]
    frame["growth"] = frame["mse"] / frame["model"].map(first)
    return frame


def _timing(models: dict[str, torch.nn.Module], data: DynamicsDataset, jumps: Sequence[int], batch: int,
            repeats: int) -> pd.DataFrame:
    states = data.section("test").reshape(-1, data.states.shape[-1])[:batch]
    rows = []
    for name, model in models.items():
        for j in jumps:
            jump = torch.full((len(states),), float(j), dtype=states.dtype)
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                predict(model, states, jump, batch_size=len(states))
                best = min(best, time.perf_counter() - start)
            rows.append({"model": name, "jump": j, "seconds_per_prediction": best / len(states),
                         "batch": len(states)})
    return pd.DataFrame(rows)


@torch.no_grad()
def _rollout(models: dict[str, torch.nn.Module], data: DynamicsDataset, steps: int) -> pd.DataFrame:
    start = data.sections["test"][0]
    x0 = data.states[:, start]
    energy0 = data.system.energy(x0)
    rows = []
    for name, model in models.items():
        x = x0
        actions0 = model.to_action_angle(x0)[0] if isinstance(model, ActionAngleNetwork) else None
        one = torch.ones(len(x0), dtype=x0.dtype)
        for k in range(1, steps + 1):
            x = predict(model, x, one)
            if not bool(torch.isfinite(x).all()):
                rows.append({"model": name, "step": k, "energy_drift": float("nan"), "action_drift": float("nan")})
                break
            drift = float(((data.system.energy(x) - energy0).abs() / energy0.abs().clamp_min(1e-12)).mean())
            row = {"model": name, "step": k, "energy_drift": drift, "action_drift": float("nan")}
            if actions0 is not None:
                actions = model.to_action_angle(x)[0]
                row["action_drift"] = float(((actions - actions0).abs() / actions0.abs().clamp_min(1e-12)).mean())
            rows.append(row)
    return pd.DataFrame(rows)


@torch.no_grad()
def _frequencies(model: ActionAngleNetwork, data: DynamicsDataset) -> pd.DataFrame | None:
    test = data.section("test").reshape(-1, data.states.shape[-1])
    analytic = data.system.analytic_frequencies(test)
    if analytic is None:
        return None
    learned = model.frequencies(model.to_action_angle(test)[0]).sort(dim=-1).values
    analytic = analytic.sort(dim=-1).values
    rel = ((learned - analytic).abs() / analytic).mean(0)
    return pd.DataFrame({"dof": np.arange(model.n_dof), "learned_mean": learned.mean(0).numpy(),
                         "learned_std": learned.std(0).numpy(), "analytic_mean": analytic.mean(0).numpy(),
                         "relative_error": rel.numpy()})


@torch.no_grad()
def _action_spread(model: ActionAngleNetwork, data: DynamicsDataset) -> pd.DataFrame:
    actions = model.to_action_angle(data.section("test"))[0]             # [B, T, n]
    spread = (actions.std(dim=1) / actions.mean(dim=1).abs().clamp_min(1e-12)).mean(0)
    return pd.DataFrame({"dof": np.arange(model.n_dof), "relative_spread": spread.numpy(),
                         "mean_action": actions.mean(dim=(0, 1)).numpy()})


def run_action_angle(config: ActionAngleRunConfig | None = None, output_dir: str | Path = "runs/action_angle",
                     **overrides: Any) -> ActionAngleRunResult:
    """Train every model of ``config.models`` on the early part of the trajectories and test jumps on the late part
    (module docstring). Keyword ``overrides`` replace config fields.

    Raises:
        ValueError: unknown system or model names (the message lists the valid ones), jumps that are not positive
            integers or do not fit their section, other bad values, or an ``output_dir`` holding a run with
            another configuration. Nothing is written before validation.
    """
    config = resolve_config(ActionAngleRunConfig, config, overrides, "run_action_angle")
    out = Path(output_dir)
    t_start = time.perf_counter()
    data = make_dynamics_dataset(config.system, config.n_trajectories, config.n_samples, config.dt,
                                 config.train_fraction, config.test_fraction, config.seed, config.n_oscillators)
    out.mkdir(parents=True, exist_ok=True)
    guard_run_folder(out, config, _RESUMABLE_FIELDS, "action_angle")
    n_dof = data.system.n_dof

    train_set = torch.utils.data.TensorDataset(*data.pairs("train", config.train_jumps))
    val = data.pairs("val", config.train_jumps)
    keep = torch.randperm(len(val[0]), generator=torch.Generator().manual_seed(config.seed))[: config.max_val_pairs]
    val_set = torch.utils.data.TensorDataset(*(v[keep] for v in val))
    models, fits, files = fit_models(config.models, lambda name: build_dynamics_model(name, n_dof, config),
                                     _loss_fn, train_set, val_set, cosine_train_config(config), out,
                                     config.max_steps)
    histories = {name: result.history for name, result in fits.items()}
    if not all(r.completed for r in fits.values()):
        return ActionAngleRunResult(None, None, None, None, None, {}, histories, models, data, out, False, files)
    for name, model in models.items():
        load_best_weights(model, fits[name])
        model.eval()

    aa = models.get("action_angle")
    calibration: dict[str, Any] | None = None
    if aa is not None and config.calibrate_frequencies:
        raw = _errors({"action_angle": aa}, data, config.test_jumps).set_index("jump")
        report = calibrate_frequencies(aa, data.section("train"), validation=val_set.tensors)
        calibration = {**report.summary(),
                       "uncalibrated_mse": {int(j): float(v) for j, v in raw["mse"].items()},
                       "uncalibrated_growth_last_over_first": float(raw.loc[max(config.test_jumps), "mse"]
                                                                     / raw.loc[min(config.test_jumps), "mse"])}
    errors = _errors(models, data, config.test_jumps)
    timing = _timing(models, data, config.test_jumps, config.timing_batch, config.timing_repeats)
    rollout = _rollout(models, data, config.rollout_steps)
    frequencies = _frequencies(aa, data) if aa is not None else None
    actions = _action_spread(aa, data) if aa is not None else None
    tables = {"errors": errors, "timing": timing, "rollout": rollout, "frequencies": frequencies, "actions": actions}
    for key, table in tables.items():
        if table is not None:
            table.to_csv(out / f"{key}.csv", index=False)
            files[key] = out / f"{key}.csv"

    first, last = min(config.test_jumps), max(config.test_jumps)
    by_model: dict[str, dict[str, Any]] = {}
    for name in models:
        rows = errors[errors["model"] == name].set_index("jump")
        times = timing[timing["model"] == name].set_index("jump")["seconds_per_prediction"]
        roll = rollout[rollout["model"] == name]
        by_model[name] = {
            "parameters": int(sum(p.numel() for p in models[name].parameters())),
            "train_seconds": float(histories[name]["seconds"].iloc[-1]) if len(histories[name]) else 0.0,
            "best_val_loss": fits[name].best_val_loss, "steps": int(fits[name].step),
            "mse": {int(j): float(v) for j, v in rows["mse"].items()},
            f"mse_jump_{last}": float(rows.loc[last, "mse"]),
            "growth_last_over_first": float(rows.loc[last, "mse"] / rows.loc[first, "mse"]),
            "seconds_per_prediction": {int(j): float(v) for j, v in times.items()},
            "time_ratio_last_over_first": float(times.loc[last] / times.loc[first]),
            "rollout_final_energy_drift": float(roll["energy_drift"].iloc[-1]) if len(roll) else None,
            "rollout_steps_finite": int(roll["energy_drift"].notna().sum()),
        }
    comparison = compare_models(by_model, f"mse_jump_{last}", BASELINE_MODEL if BASELINE_MODEL in by_model else "",
                                columns=("growth_last_over_first", "time_ratio_last_over_first", "parameters",
                                         "train_seconds"))
    comparison.to_csv(out / "comparison.csv", index=False)
    files["comparison"] = out / "comparison.csv"
    summary: dict[str, Any] = {
        "system": data.system.describe(), "n_dof": n_dof, "sections": data.sections,
        "n_train_pairs": len(train_set), "n_val_pairs": len(val_set),
        "test_jumps": list(config.test_jumps), "models": by_model,
        "action_angle": None if aa is None else {
            "growth_last_over_first": by_model["action_angle"]["growth_last_over_first"],
            "within_2x": bool(by_model["action_angle"]["growth_last_over_first"] <= 2.0),
            "frequency_relative_error_max": None if frequencies is None
            else float(frequencies["relative_error"].max()),
            "frequencies_within_2_percent": None if frequencies is None
            else bool(frequencies["relative_error"].max() <= 0.02),
            "action_relative_spread_max": float(actions["relative_spread"].max()),
            "rollout_final_action_drift": float(rollout[rollout["model"] == "action_angle"]["action_drift"]
                                                .iloc[-1]),
            "frequency_calibration": calibration,
        },
        "steppers_grow_10x": {m: bool(by_model[m]["growth_last_over_first"] >= 10) for m in by_model
                              if m in ("euler", "neural_ode")},
        "config": json.loads(json.dumps(asdict(config))),
        "wall_seconds_this_call": time.perf_counter() - t_start,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files["metrics_json"] = out / "metrics.json"
    return ActionAngleRunResult(errors, timing, rollout, frequencies, actions, summary, histories, models, data, out,
                                True, files, comparison)

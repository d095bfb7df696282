"""Pieces shared by the pipelines that train several models on one split (qm9, shapes, jets): model-name lists, field
checks, the run-folder guard, and training every model into its own subfolder.

A run folder belongs to one configuration: :func:`guard_run_folder` writes ``run_config.json`` on the first call and
refuses a later call whose configuration differs in anything but the fields that may change on resumption (epochs,
step limits, progress, ...). The checks raise ``ValueError`` naming the field, before anything is computed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.train import TrainConfig, TrainResult, fit

__all__ = ["RUN_CONFIG_FILE", "check_integers", "check_model_names", "check_numbers", "cosine_train_config",
           "fit_models", "guard_run_folder", "name_tuple", "resolve_config"]

#: The file in a run folder that records its configuration.
RUN_CONFIG_FILE = "run_config.json"


def name_tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    """A tuple of names from a sequence or a comma-separated string (``"a,b"``, as given on a command line)."""
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)


def resolve_config(cls: type, config: Any, overrides: Mapping[str, Any], caller: str) -> Any:
    """``cls`` built from ``config`` (an instance or None) with the keyword ``overrides`` replacing its fields, then
    validated. An unknown override raises TypeError naming ``caller`` and listing the valid fields."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"{caller}: unknown parameter(s) {unknown}; valid: {', '.join(sorted(names))}")
    resolved = cls(**{**(asdict(config) if config else {}), **overrides})
    resolved.validate()
    return resolved


def cosine_train_config(config: Any, **extra: Any) -> TrainConfig:
    """The :class:`~workbench.train.TrainConfig` of a pipeline config: its ``epochs``, ``batch_size``, ``lr``,
    ``weight_decay``, ``checkpoint_every``, ``seed`` and ``progress``, a cosine schedule and gradient clipping at 10;
    ``extra`` adds or replaces fields (e.g. ``ema_decay``)."""
    return TrainConfig(**{"epochs": config.epochs, "batch_size": config.batch_size, "lr": config.lr,
                          "weight_decay": config.weight_decay, "schedule": "cosine", "grad_clip": 10.0,
                          "checkpoint_every": config.checkpoint_every, "seed": config.seed,
                          "progress": config.progress, **extra})


def check_model_names(models: Sequence[str], valid: Sequence[str]) -> None:
    """Every name known (the message lists the valid ones), at least one, no repeats."""
    unknown = [m for m in models if m not in valid]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; valid models: {', '.join(valid)}")
    if not models or len(set(models)) != len(models):
        raise ValueError(f"models must be a non-empty list of distinct names from {tuple(valid)}, got {list(models)}")


def check_integers(config: Any, minimum: Mapping[str, int]) -> None:
    """``getattr(config, name)`` is an integer (not a bool) ``>= minimum[name]`` for every name."""
    for name, low in minimum.items():
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def check_numbers(config: Any, bounds: Iterable[tuple[str, float, bool]]) -> None:
    """For each ``(name, low, strict)``: a finite real number ``> low`` (strict) or ``>= low``."""
    for name, low, strict in bounds:
        value = getattr(config, name)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or value < low or (strict and value == low):
            raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {low}, got {value!r}")


def guard_run_folder(out: Path, config: Any, resumable: Sequence[str], kind: str) -> None:
    """Record ``config`` (a dataclass) in ``out/run_config.json``, or refuse to continue a ``kind`` run folder
    written with another configuration (only the ``resumable`` fields may differ)."""
    path = Path(out) / RUN_CONFIG_FILE
    current = {k: v for k, v in json.loads(json.dumps(asdict(config))).items() if k not in resumable}
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        clash = {k: (saved.get(k), v) for k, v in current.items() if saved.get(k) != v}
        if clash:
            details = ", ".join(f"{k}: saved {a!r} vs now {b!r}" for k, (a, b) in clash.items())
            raise ValueError(f"{out} holds a {kind} run with another configuration ({details}); use a new "
                             f"output_dir, or the same settings to resume (only {', '.join(resumable)} may change)")
    else:
        path.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")


def fit_models(names: Sequence[str], build: Callable[[str], torch.nn.Module], loss_fn: Callable[..., Any],
               train_set: Any, val_set: Any, config: TrainConfig, out: Path, max_steps: int = 0,
               collate_fn: Callable[[list[Any]], Any] | None = None, item_sizes: Sequence[float] | None = None
               ) -> tuple[dict[str, torch.nn.Module], dict[str, TrainResult], dict[str, Path]]:
    """Train ``build(name)`` for every name with :func:`workbench.train.fit` into ``out/<name>/`` (resuming from its
    checkpoint); ``max_steps > 0`` stops each model there; ``collate_fn`` combines dataset items into a batch
    (default: torch's); ``item_sizes`` (one cost per training item, e.g. atoms) balances the ranks of a torchrun
    run. Returns ``(models, fit results, files)`` with the files
    keyed ``<name>_<kind>`` plus ``run_config``."""
    models, fits = {}, {}
    for name in names:
        model = build(name)
        fits[name] = fit(model, loss_fn, train_set, val_set, config=config, output_dir=Path(out) / name,
                         max_steps=max_steps or None, collate_fn=collate_fn, item_sizes=item_sizes)
        models[name] = model
    files: dict[str, Path] = {"run_config": Path(out) / RUN_CONFIG_FILE}
    for name, result in fits.items():
        files.update({f"{name}_{k}": v for k, v in result.files.items()})
    return models, fits, files


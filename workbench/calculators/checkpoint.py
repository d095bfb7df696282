"""Potential checkpoints: a trained :class:`~workbench.models.potential.Potential` with what rebuilds it.

A checkpoint (``torch.save`` of a plain dict, loadable with ``weights_only=True``) holds the architecture name
and keyword arguments of :func:`workbench.models.build_model`, the weights, the per-element reference energies and
the energy scale, so :func:`load_potential` needs nothing but the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from workbench.models import MODELS, build_model
from workbench.models.potential import Potential

__all__ = ["POTENTIAL_CHECKPOINT_VERSION", "save_potential", "load_potential", "build_potential"]

POTENTIAL_CHECKPOINT_VERSION = 1


def build_potential(model: str, model_kwargs: Mapping[str, Any], atomic_energies: Any = None,
                    energy_scale: float = 1.0) -> Potential:
    """:class:`Potential` around ``build_model(model, **model_kwargs)`` (``output="scalar"``, ``reduce="sum"``)."""
    if str(model).lower() not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    kwargs = {**dict(model_kwargs), "output": "scalar", "reduce": "sum"}
    return Potential(build_model(model, **kwargs), atomic_energies, energy_scale)


def save_potential(path: str | Path, potential: Potential, model: str, model_kwargs: Mapping[str, Any],
                   metadata: Mapping[str, Any] | None = None) -> Path:
    """Write ``potential`` (built as ``build_potential(model, model_kwargs)``) to ``path``; returns the path.
    ``metadata`` (JSON-like: training set, metrics) is stored beside the weights."""
    if not isinstance(potential, Potential):
        raise TypeError(f"potential must be a Potential, got {type(potential).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in potential.state_dict().items()}
    torch.save({"version": POTENTIAL_CHECKPOINT_VERSION, "model": str(model).lower(),
                "model_kwargs": {k: (list(v) if isinstance(v, tuple) else v) for k, v in model_kwargs.items()},
                "state_dict": state, "metadata": dict(metadata or {})}, path)
    return path


def load_potential(path: str | Path, dtype: torch.dtype = torch.float64) -> Potential:
    """The :class:`Potential` saved by :func:`save_potential` at ``path``, in eval mode, in ``dtype``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no potential checkpoint at {path} (write one with save_potential)")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("version") != POTENTIAL_CHECKPOINT_VERSION:
        raise ValueError(f"{path} is not a workbench potential checkpoint (version {POTENTIAL_CHECKPOINT_VERSION})")
    kwargs = dict(ckpt["model_kwargs"])
    if "elements" in kwargs:
        kwargs["elements"] = tuple(kwargs["elements"])
    potential = build_potential(ckpt["model"], kwargs)
    potential.load_state_dict(ckpt["state_dict"])
    return potential.to(dtype).eval()

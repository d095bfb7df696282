"""Energy + force (+ stress) loss for :func:`workbench.train.fit`: training interatomic potentials.

:class:`EnergyForceLoss` is a ``loss_fn(potential, batch)`` for a :class:`workbench.models.potential.Potential` and
a :class:`workbench.data.potentials.PotentialBatch`. The forces are ``-dE/dr`` by autograd with
``create_graph=True`` while the model trains (so the force error is differentiated through), plain gradients when
it evaluates; this is the same mechanism for every model. The loss (MACE's weighted MSE)::

    L = w_E mean_s((E_s - E*_s) / N_s)^2 + w_F mean_{i,x}(F_ix - F*_ix)^2 + w_S mean_s,ab(S_sab - S*_sab)^2

Metrics (averaged by :func:`workbench.train.fit` over structures): ``energy_mae`` (eV per structure),
``energy_per_atom_mae`` (eV/atom), ``forces_mae`` (eV/Å per component, weighted by the batch's atoms so the
epoch mean is per component only approximately; :func:`potential_errors` gives the exact test figures),
``forces_rmse`` and ``stress_mae`` (eV/Å³) when stresses are trained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from workbench.data.potentials import PotentialBatch, PotentialItem, collate_potentials
from workbench.models.potential import Potential

__all__ = ["EnergyForceLoss", "potential_errors", "predict_potential"]


@dataclass
class EnergyForceLoss:
    """``loss_fn(potential, batch) -> (loss, metrics)`` for :func:`workbench.train.fit` (module docstring).

    Args:
        energy_weight: weight of the squared per-atom energy error (eV²/atom²), >= 0.
        forces_weight: weight of the squared force-component error (eV²/Å²), >= 0 (MACE's default ratio 1:100).
        stress_weight: weight of the squared stress error (eV²/Å⁶); needs periodic batches with stresses.
    """

    energy_weight: float = 1.0
    forces_weight: float = 100.0
    stress_weight: float = 0.0

    def __post_init__(self) -> None:
        for name in ("energy_weight", "forces_weight", "stress_weight"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.energy_weight == 0 and self.forces_weight == 0:
            raise ValueError("energy_weight and forces_weight cannot both be 0")

    def __call__(self, model: torch.nn.Module, batch: PotentialBatch) -> tuple[torch.Tensor, dict[str, float]]:
        if not isinstance(model, Potential):
            raise TypeError(f"model must be a workbench.models.potential.Potential, got {type(model).__name__}")
        if not isinstance(batch, PotentialBatch):
            raise TypeError(f"batch must be a PotentialBatch (collate_potentials), got {type(batch).__name__}")
        want_stress = self.stress_weight > 0
        if want_stress and batch.stress is None:
            raise ValueError("stress_weight > 0 but the batch carries no stresses")
        out = model(batch.z, batch.pos, batch.batch, batch.num_graphs, batch.cell if batch.periodic else None,
                    batch.pbc if batch.periodic else None, compute_forces=True, compute_stress=want_stress,
                    create_graph=model.training)
        atoms = (batch.ptr[1:] - batch.ptr[:-1]).to(out.energy.dtype)
        de = out.energy - batch.energy.to(out.energy.dtype)
        df = out.forces - batch.forces.to(out.forces.dtype)
        loss = self.energy_weight * (de / atoms).pow(2).mean() + self.forces_weight * df.pow(2).mean()
        metrics = {"energy_mae": float(de.detach().abs().mean()),
                   "energy_per_atom_mae": float((de.detach() / atoms).abs().mean()),
                   "forces_mae": float(df.detach().abs().mean()),
                   "forces_rmse": float(df.detach().pow(2).mean().sqrt())}
        if want_stress:
            ds = out.stress - batch.stress.to(out.stress.dtype)
            loss = loss + self.stress_weight * ds.pow(2).mean()
            metrics["stress_mae"] = float(ds.detach().abs().mean())
        return loss, metrics


def predict_potential(potential: Potential, items: Sequence[PotentialItem], batch_size: int = 32,
                      compute_stress: bool = False) -> dict[str, np.ndarray]:
    """Predictions of ``potential`` on ``items`` as float64 numpy arrays: ``energy [S]``, ``forces [A, 3]``
    (atoms of all items in order) and, when asked, ``stress [S, 3, 3]``. The model is put in eval mode."""
    if not items:
        raise ValueError("items must hold at least one structure")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    was_training = potential.training
    potential.eval()
    energies, forces, stresses = [], [], []
    try:
        for start in range(0, len(items), int(batch_size)):
            b = collate_potentials(items[start:start + int(batch_size)])
            out = potential(b.z, b.pos, b.batch, b.num_graphs, b.cell if b.periodic else None,
                            b.pbc if b.periodic else None, compute_stress=compute_stress)
            energies.append(out.energy.detach().double().numpy())
            forces.append(out.forces.detach().double().numpy())
            if compute_stress:
                stresses.append(out.stress.detach().double().numpy())
    finally:
        potential.train(was_training)
    result = {"energy": np.concatenate(energies), "forces": np.concatenate(forces)}
    if compute_stress:
        result["stress"] = np.concatenate(stresses)
    return result


def potential_errors(potential: Potential, items: Sequence[PotentialItem], batch_size: int = 32) -> dict[str, float]:
    """Test errors of ``potential`` on ``items``: ``energy_mae`` (eV per structure), ``energy_per_atom_mae``
    (eV/atom), ``energy_rmse``, ``forces_mae`` (eV/Å per component), ``forces_rmse``; exact means over
    structures and force components."""
    pred = predict_potential(potential, items, batch_size)
    e_ref = np.array([float(it.energy) for it in items])
    f_ref = np.concatenate([it.forces.double().numpy() for it in items])
    n = np.array([len(it.z) for it in items], dtype=np.float64)
    de, df = pred["energy"] - e_ref, pred["forces"] - f_ref
    return {"energy_mae": float(np.abs(de).mean()), "energy_per_atom_mae": float(np.abs(de / n).mean()),
            "energy_rmse": float(np.sqrt((de**2).mean())), "forces_mae": float(np.abs(df).mean()),
            "forces_rmse": float(np.sqrt((df**2).mean()))}

"""Target scaling for QM9: :class:`TargetNormalizer` (per-target standardisation) and per-element reference
energies (:class:`AtomReferences`, :func:`fit_atom_references`).

Atom reference energies (the usual QM9 practice)
    Total energies (``u0``, ``u298``, ``h298``, ``g298``; Hartree) are dominated by a per-element constant. A
    model learns the remainder much more easily, so :func:`fit_atom_references` fits ``E ≈ Σ_e n_e(mol) b_e`` by
    linear least squares on the *training split only* (``n_e`` = number of atoms of element ``e``; no intercept)
    and :meth:`AtomReferences.subtract` removes it. Report errors in meV with :data:`HARTREE_TO_MEV`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.checks import check_array, check_tensor
from workbench.data.qm9.conformers import ConformerSet
from workbench.data.qm9.units import ELEMENT_SYMBOLS, QM9_ENERGY_TARGETS, QM9_TARGETS

__all__ = ["TargetNormalizer", "AtomReferences", "fit_atom_references"]


class _JsonSaved:
    """``save(path)``: write the subclass's ``to_dict()`` as indented JSON (the file its ``load`` reads back)."""

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON; returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path


@dataclass(frozen=True)
class TargetNormalizer(_JsonSaved):
    """Per-target standardisation ``(y - mean) / std`` with statistics from the training split.

    Attributes:
        names: the ``T`` target names.
        mean: ``[T]`` float64 means.
        std: ``[T]`` float64 standard deviations (population, ``ddof=0``), all > 0.
    """

    names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        names = tuple(self.names)
        mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        check_array(mean, "mean", shape=(len(names),), finite=True, hint="T: one per target")
        check_array(std, "std", shape=(len(names),), finite=True, hint="T: one per target")
        if not np.all(std > 0):
            raise ValueError(f"std must be > 0, got std={std}")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @classmethod
    def fit(cls, values: np.ndarray, names: Sequence[str]) -> TargetNormalizer:
        """Statistics of ``values`` ``[M, T]`` (the training targets; ``M >= 2``) for targets ``names``."""
        v = np.asarray(values, dtype=np.float64)
        if v.ndim == 1:
            v = v[:, None]
        check_array(v, "values", shape=("M", len(names)), hint="M, T: one column per target")
        if v.shape[0] < 2:
            raise ValueError(f"values must hold at least 2 molecules to estimate a std, got {v.shape[0]}")
        check_array(v, "values", finite=True)
        std = v.std(axis=0)
        if np.any(std == 0):
            raise ValueError(f"target(s) {[n for n, s in zip(names, std) if s == 0]} are constant; cannot scale")
        return cls(tuple(names), v.mean(axis=0), std)

    def normalize(self, values: Any) -> Any:
        """``(values - mean) / std`` for ``[..., T]`` numpy arrays or torch tensors."""
        mean, std = self._like(values)
        return (values - mean) / std

    def denormalize(self, values: Any) -> Any:
        """``values * std + mean`` for ``[..., T]`` numpy arrays or torch tensors."""
        mean, std = self._like(values)
        return values * std + mean

    def _like(self, values: Any) -> tuple[Any, Any]:
        check = check_tensor if isinstance(values, torch.Tensor) else check_array
        check(values, "values", shape=(..., len(self.names)), hint="T: one column per target")
        if isinstance(values, torch.Tensor):
            return (torch.as_tensor(self.mean, dtype=values.dtype, device=values.device),
                    torch.as_tensor(self.std, dtype=values.dtype, device=values.device))
        return self.mean, self.std

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"names": list(self.names), "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def load(cls, path: str | Path) -> TargetNormalizer:
        """Read a file written by :meth:`save`."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(tuple(d["names"]), np.array(d["mean"]), np.array(d["std"]))


@dataclass(frozen=True)
class AtomReferences(_JsonSaved):
    """Per-element reference energies ``b_e`` of one target: ``E_ref(mol) = Σ_atoms b_{z}``.

    Attributes:
        target: the target name (e.g. ``"u0"``).
        unit: its unit (Hartree for the QM9 energies).
        elements: atomic numbers the fit covered.
        energies: ``[len(elements)]`` float64 coefficients ``b_e`` in ``unit``.
    """

    target: str
    unit: str
    elements: tuple[int, ...]
    energies: np.ndarray

    def __post_init__(self) -> None:
        e = check_array(np.asarray(self.energies, dtype=np.float64).reshape(-1), "energies",
                        shape=(len(self.elements),), finite=True, hint="one per element")
        object.__setattr__(self, "elements", tuple(int(x) for x in self.elements))
        object.__setattr__(self, "energies", e)

    def reference(self, z: Any, ptr: Any | None = None) -> np.ndarray:
        """Reference energy of one molecule (``z`` [N]; returns a 0-d array) or of a flat batch (``z`` [A] with
        ``ptr`` [M+1]; returns [M])."""
        z = np.asarray(z.detach().cpu() if hasattr(z, "detach") else z, dtype=np.int64).reshape(-1)
        unknown = sorted(set(np.unique(z).tolist()) - set(self.elements))
        if unknown:
            raise ValueError(f"no reference energy for element(s) {unknown}; fitted elements: {list(self.elements)}")
        lookup = np.zeros(max(self.elements) + 1)
        lookup[list(self.elements)] = self.energies
        per_atom = lookup[z]
        if ptr is None:
            return np.asarray(per_atom.sum())
        ptr = np.asarray(ptr, dtype=np.int64)
        return np.add.reduceat(per_atom, ptr[:-1]) if ptr.size > 1 else np.zeros(0)

    def subtract(self, conformers: ConformerSet) -> np.ndarray:
        """``[M]`` residual ``E - E_ref`` of :attr:`target` for every molecule of ``conformers``."""
        return conformers.target_column(self.target) - self.reference(conformers.z, conformers.ptr)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (element symbols as keys)."""
        return {"target": self.target, "unit": self.unit,
                "energies": {ELEMENT_SYMBOLS.get(e, str(e)): float(v) for e, v in zip(self.elements, self.energies)}}

    @classmethod
    def load(cls, path: str | Path) -> AtomReferences:
        """Read a file written by :meth:`save`."""
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        by_symbol = {s: z for z, s in ELEMENT_SYMBOLS.items()}
        elements = tuple(by_symbol[s] for s in d["energies"])
        return cls(d["target"], d["unit"], elements, np.array(list(d["energies"].values())))


def fit_atom_references(
    conformers: ConformerSet, target: str = "u0", train_indices: Sequence[int] | np.ndarray | None = None
) -> AtomReferences:
    """Least-squares per-element energies for an energy target (total or atomization), fitted on the training
    molecules only.

    Solves ``min_b || C b - E ||^2`` where ``C[m, e]`` counts atoms of element ``e`` in training molecule ``m`` and
    ``E`` is the target (no intercept; elements absent from the training set are left out of the fit).

    Args:
        conformers: the dataset (:class:`ConformerSet`, e.g. ``QM9Dataset(...).conformers``).
        target: one of :data:`QM9_ENERGY_TARGETS`.
        train_indices: rows used for the fit (default: all; pass the training split to avoid test leakage).
    """
    allowed = list(QM9_ENERGY_TARGETS) + [t for t in QM9_TARGETS if t.endswith("_atom")]
    if target not in allowed:
        raise ValueError(f"target must be an energy target {allowed}, got {target!r}")
    rows = np.arange(len(conformers)) if train_indices is None else np.asarray(train_indices, dtype=np.int64)
    if rows.ndim != 1 or rows.size == 0:
        raise ValueError("train_indices must be a non-empty 1-D sequence of molecule indices")
    elements_all = tuple(ELEMENT_SYMBOLS)
    counts = conformers.element_counts(elements_all)[rows]
    present = counts.sum(axis=0) > 0
    counts = counts[:, present]
    if np.linalg.matrix_rank(counts) < counts.shape[1]:
        raise ValueError("the training molecules do not determine every element's energy (rank-deficient counts)")
    energy = conformers.target_column(target)[rows]
    coef, *_ = np.linalg.lstsq(counts, energy, rcond=None)
    return AtomReferences(target, QM9_TARGETS[target][0], tuple(e for e, p in zip(elements_all, present) if p), coef)

"""QM9 label names and units, energy conversions (CODATA 2018) and the element set.

:data:`QM9_TARGETS` maps each label column to ``(unit, description)`` in the units of the original release
(Ramakrishnan et al., Sci. Data 1, 140022, 2014); :func:`validate_target_names` checks a selection of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["QM9_TARGETS", "QM9_ENERGY_TARGETS", "QM9_PUBLIC_URL", "HARTREE_TO_EV", "HARTREE_TO_MEV",
           "HARTREE_TO_KCAL_PER_MOL", "ELEMENT_SYMBOLS", "hartree_to_mev", "validate_target_names"]

#: QM9 label columns of ``qm9_small.csv``: name -> (unit, description). Units are those of the original release.
QM9_TARGETS: dict[str, tuple[str, str]] = {
    "A": ("GHz", "rotational constant A"),
    "B": ("GHz", "rotational constant B"),
    "C": ("GHz", "rotational constant C"),
    "mu": ("D", "dipole moment magnitude (Debye)"),
    "alpha": ("bohr^3", "isotropic polarizability"),
    "homo": ("Ha", "energy of the highest occupied molecular orbital"),
    "lumo": ("Ha", "energy of the lowest unoccupied molecular orbital"),
    "gap": ("Ha", "HOMO-LUMO gap (lumo - homo)"),
    "r2": ("bohr^2", "electronic spatial extent <R^2>"),
    "zpve": ("Ha", "zero-point vibrational energy"),
    "u0": ("Ha", "internal energy at 0 K"),
    "u298": ("Ha", "internal energy at 298.15 K"),
    "h298": ("Ha", "enthalpy at 298.15 K"),
    "g298": ("Ha", "free energy at 298.15 K"),
    "cv": ("cal/(mol K)", "heat capacity at 298.15 K"),
    "u0_atom": ("kcal/mol", "atomization energy at 0 K (u0 minus free-atom B3LYP energies)"),
    "u298_atom": ("kcal/mol", "atomization internal energy at 298.15 K"),
    "h298_atom": ("kcal/mol", "atomization enthalpy at 298.15 K"),
    "g298_atom": ("kcal/mol", "atomization free energy at 298.15 K"),
}

#: Total-energy targets (Hartree) for which atom reference energies are fitted.
QM9_ENERGY_TARGETS: tuple[str, ...] = ("u0", "u298", "h298", "g298")

#: Where users who are online can get the full QM9 release (never fetched by the workbench).
QM9_PUBLIC_URL: str = "https://doi.org/10.6084/m9.figshare.c.978904.v5"

#: 1 Hartree in eV (CODATA 2018).
HARTREE_TO_EV: float = 27.211386245988
#: 1 Hartree in meV (CODATA 2018).
HARTREE_TO_MEV: float = HARTREE_TO_EV * 1000.0
#: 1 Hartree in kcal/mol (CODATA 2018 Hartree energy times the Avogadro constant, 1 kcal = 4184 J).
HARTREE_TO_KCAL_PER_MOL: float = 627.5094740631

#: Atomic number -> symbol for the elements of QM9.
ELEMENT_SYMBOLS: dict[int, str] = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}


def hartree_to_mev(value: Any) -> Any:
    """Convert an energy (float, numpy array or torch tensor) from Hartree to meV."""
    return value * HARTREE_TO_MEV


def validate_target_names(names: str | Sequence[str], available: Sequence[str] | None = None) -> list[str]:
    """Check target names and return them as a list.

    Args:
        names: one name or a sequence of names, e.g. ``"u0"`` or ``["gap", "u0"]``.
        available: the valid names (default: the keys of :data:`QM9_TARGETS`).

    Raises:
        ValueError: for an empty selection, a duplicate or an unknown name (the message lists the valid ones).
    """
    valid = list(QM9_TARGETS) if available is None else list(available)
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"targets must be a str or a sequence of str, got {names!r}")
    names = list(names)
    if not names:
        raise ValueError(f"targets must name at least one target; valid targets: {', '.join(valid)}")
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown QM9 target(s) {unknown}; valid targets: {', '.join(valid)}")
    if len(set(names)) != len(names):
        raise ValueError(f"targets must not repeat a name, got {names}")
    return names

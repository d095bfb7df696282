"""QM9 atomization energies from total energies: the free-atom B3LYP/6-31G(2df,p) reference energies of the QM9
release and :func:`atomization_energies`.

The reference energies are the ``atomref`` table published with QM9 (Ramakrishnan et al., Sci. Data 1, 140022,
2014, file ``atomref.txt`` of the release): U0, U(298.15 K), H(298.15 K) and G(298.15 K) of the isolated H, C, N,
O and F atoms in Hartree. ``<target>_atom = (<target> - sum over the molecule's atoms of the atom's reference)``
converted to kcal/mol, which is how the ``*_atom`` columns of :data:`~workbench.data.qm9.QM9_TARGETS` are defined
(the tests check the result against ``qm9_small.csv`` for every molecule they share).
"""

from __future__ import annotations

import numpy as np

from workbench.data.qm9.units import ELEMENT_SYMBOLS, HARTREE_TO_KCAL_PER_MOL

__all__ = ["QM9_FREE_ATOM_ENERGIES", "ATOMIZATION_TARGETS", "atomization_energies"]

#: Free-atom energies (Hartree) of QM9's ``atomref.txt``: total-energy target -> {atomic number: energy}.
QM9_FREE_ATOM_ENERGIES: dict[str, dict[int, float]] = {
    "u0": {1: -0.500273, 6: -37.846772, 7: -54.583861, 8: -75.064579, 9: -99.718730},
    "u298": {1: -0.498857, 6: -37.845355, 7: -54.582445, 8: -75.063163, 9: -99.717314},
    "h298": {1: -0.497912, 6: -37.844411, 7: -54.581501, 8: -75.062219, 9: -99.716370},
    "g298": {1: -0.510927, 6: -37.861317, 7: -54.598897, 8: -75.079532, 9: -99.733544},
}

#: Atomization target -> the total-energy target it is derived from.
ATOMIZATION_TARGETS: dict[str, str] = {f"{name}_atom": name for name in QM9_FREE_ATOM_ENERGIES}


def atomization_energies(total: np.ndarray, element_counts: np.ndarray, target: str) -> np.ndarray:
    """Atomization energies in kcal/mol from total energies in Hartree.

    Args:
        total: ``[M]`` total energies (Hartree) of the target ``target`` (``"u0"``, ``"u298"``, ``"h298"`` or
            ``"g298"``).
        element_counts: ``[M, 5]`` number of H, C, N, O, F atoms per molecule (columns in the order of
            :data:`~workbench.data.qm9.ELEMENT_SYMBOLS`).
        target: the total-energy target ``total`` holds.

    Returns:
        ``[M]`` float64 ``(total - element_counts @ free-atom energies) * HARTREE_TO_KCAL_PER_MOL``.
    """
    if target not in QM9_FREE_ATOM_ENERGIES:
        raise ValueError(f"target must be one of {list(QM9_FREE_ATOM_ENERGIES)}, got {target!r}")
    total = np.asarray(total, dtype=np.float64)
    counts = np.asarray(element_counts, dtype=np.float64)
    if total.ndim != 1 or counts.shape != (total.shape[0], len(ELEMENT_SYMBOLS)):
        raise ValueError(f"total must be [M] and element_counts [M, {len(ELEMENT_SYMBOLS)}] (H, C, N, O, F), got "
                         f"{list(total.shape)} and {list(counts.shape)}")
    free = np.array([QM9_FREE_ATOM_ENERGIES[target][z] for z in ELEMENT_SYMBOLS])
    return (total - counts @ free) * HARTREE_TO_KCAL_PER_MOL

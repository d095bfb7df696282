"""Backmapping metrics: RMSD (optionally after Kabsch alignment), graph-edit ratio, sample diversity, steric
clashes, backbone dihedrals and the Jensen–Shannon divergence of Ramachandran histograms.

Every function takes positions in ångström, ``[..., n, 3]`` float arrays, atoms in the topology's order.
"""

from __future__ import annotations

import numpy as np

from workbench.cg.trajectory import COVALENT_RADII, covalent_bonds
from workbench.checks import check_array

__all__ = ["rmsd", "kabsch_align", "graph_edit_ratio", "sample_diversity", "steric_clashes", "dihedral",
           "ramachandran_js_divergence", "backbone_dihedrals", "PEPTIDE_RESIDUES"]


def _pair(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = check_array(np.asarray(pred, dtype=np.float64), "pred", shape=(..., "n", 3), finite=True)
    ref = check_array(np.asarray(ref, dtype=np.float64), "ref", shape=(..., pred.shape[-2], 3), finite=True)
    return pred, ref


def kabsch_align(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``pred [..., n, 3]`` moved by the proper rotation and translation that best fit it onto ``ref``."""
    pred, ref = _pair(pred, ref)
    pred, ref = np.broadcast_arrays(pred, ref)
    pc, rc = pred.mean(-2, keepdims=True), ref.mean(-2, keepdims=True)
    h = np.swapaxes(pred - pc, -1, -2) @ (ref - rc)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(u @ vt))
    u[..., :, -1] *= d[..., None]
    return (pred - pc) @ (u @ vt) + rc


def rmsd(pred: np.ndarray, ref: np.ndarray, atoms: np.ndarray | None = None, align: bool = False) -> np.ndarray:
    """Root-mean-square deviation ``[...]`` (Å) over ``atoms`` (a boolean mask or indices; all by default), in
    the frame given (``align=False``: the CG frame both share) or after Kabsch alignment (proper rotations).

    >>> x = np.zeros((1, 2, 3)); y = x + [0, 0, 1.0]
    >>> rmsd(x, y).tolist(), rmsd(x, y, align=True).round(9).tolist()
    ([1.0], [0.0])
    """
    pred, ref = _pair(pred, ref)
    if atoms is not None:
        pred, ref = pred[..., atoms, :], ref[..., atoms, :]
    if align:
        pred = kabsch_align(pred, ref)
    return np.sqrt(np.square(pred - ref).sum(-1).mean(-1))


def _bond_set(bonds: np.ndarray, keep: np.ndarray) -> set[tuple[int, int]]:
    return {(int(min(i, j)), int(max(i, j))) for i, j in np.asarray(bonds).reshape(-1, 2) if keep[i] and keep[j]}


def graph_edit_ratio(pred: np.ndarray, bonds: np.ndarray, elements: np.ndarray, atoms: np.ndarray | None = None,
                     tolerance: float = 1.2) -> np.ndarray:
    """Per frame ``|E_pred xor E_ref| / |E_ref|`` ``[T]``: bonds broken plus bonds created, relative to the
    reference bond graph ``bonds`` (restricted to ``atoms``, a boolean mask; all by default); ``E_pred`` from
    distances (:func:`workbench.cg.trajectory.covalent_bonds` with ``tolerance``). 0 means the bond graph is
    recovered exactly. Atom correspondence is known, so the graph edit distance is the size of the symmetric
    difference of the edge sets.
    """
    pred = check_array(np.asarray(pred, dtype=np.float64), "pred", shape=("T", len(elements), 3), finite=True)
    keep = np.ones(len(elements), bool) if atoms is None else np.asarray(atoms, bool)
    ref = _bond_set(bonds, keep)
    if not ref:
        raise ValueError("bonds: the reference graph has no bond among the selected atoms")
    sub = np.nonzero(keep)[0]
    out = np.empty(len(pred))
    for t, frame in enumerate(pred):
        found = {(int(sub[i]), int(sub[j])) for i, j in covalent_bonds(np.asarray(elements)[sub], frame[sub],
                                                                         tolerance)}
        out[t] = len(found ^ ref) / len(ref)
    return out


def sample_diversity(samples: np.ndarray, atoms: np.ndarray | None = None) -> np.ndarray:
    """Mean pairwise RMSD ``[T]`` (Å, no alignment) between the ``S`` samples ``[S, T, n, 3]`` of each frame."""
    samples = check_array(np.asarray(samples, dtype=np.float64), "samples", shape=("S", "T", "n", 3), finite=True)
    s = samples.shape[0]
    if s < 2:
        raise ValueError(f"samples must hold at least 2 samples per frame (axis 0), got {s}")
    i, j = np.triu_indices(s, k=1)
    return rmsd(samples[i], samples[j], atoms).mean(0)


def steric_clashes(pred: np.ndarray, bonds: np.ndarray, elements: np.ndarray, scale: float = 0.7) -> np.ndarray:
    """Per frame the number of atom pairs more than two bonds apart that sit closer than ``scale`` times the sum
    of their van der Waals-like radii (2 x covalent radius): ``[T]`` int."""
    elements = np.asarray(elements)
    pred = check_array(np.asarray(pred, dtype=np.float64), "pred", shape=("T", len(elements), 3), finite=True)
    n = len(elements)
    adj = np.zeros((n, n), bool)
    b = np.asarray(bonds).reshape(-1, 2)
    adj[b[:, 0], b[:, 1]] = adj[b[:, 1], b[:, 0]] = True
    near = adj | (adj.astype(int) @ adj.astype(int) > 0) | np.eye(n, dtype=bool)
    radii = np.array([2 * COVALENT_RADII.get(int(z), 0.76) for z in elements])
    limit = scale * (radii[:, None] + radii[None])
    d = np.linalg.norm(pred[:, :, None] - pred[:, None], axis=-1)
    mask = np.triu(~near, k=1)
    return ((d < limit) & mask).sum(axis=(1, 2))


def dihedral(positions: np.ndarray, quad: tuple[int, int, int, int]) -> np.ndarray:
    """Dihedral angle ``[...]`` (degrees, in (-180, 180]) of atoms ``quad`` in ``positions [..., n, 3]``."""
    positions = np.asarray(positions, dtype=np.float64)
    p0, p1, p2, p3 = (positions[..., k, :] for k in quad)
    b0, b1, b2 = p0 - p1, p2 - p1, p3 - p2
    b1 = b1 / np.linalg.norm(b1, axis=-1, keepdims=True)
    v = b0 - (b0 * b1).sum(-1, keepdims=True) * b1
    w = b2 - (b2 * b1).sum(-1, keepdims=True) * b1
    x = (v * w).sum(-1)
    y = (np.cross(b1, v) * w).sum(-1)
    return np.degrees(np.arctan2(y, x))


def ramachandran_js_divergence(phi_psi_a: np.ndarray, phi_psi_b: np.ndarray, bins: int = 36) -> float:
    """Jensen–Shannon divergence (natural log, in [0, ln 2]) between the 2-D (phi, psi) histograms of two sets of
    angles ``[M, 2]`` (degrees), ``bins x bins`` bins over [-180, 180)."""
    edges = np.linspace(-180.0, 180.0, bins + 1)
    hists = []
    for name, a in (("phi_psi_a", phi_psi_a), ("phi_psi_b", phi_psi_b)):
        a = check_array(np.asarray(a, dtype=np.float64), name, shape=("M", 2), finite=True)
        if len(a) == 0:
            raise ValueError(f"{name} must hold at least one (phi, psi) pair")
        h = np.histogram2d(a[:, 0], a[:, 1], bins=[edges, edges])[0].ravel()
        hists.append(h / h.sum())
    p, q = hists
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float((a[nz] * np.log(a[nz] / m[nz])).sum())

    return 0.5 * kl(p) + 0.5 * kl(q)


#: Residue names :func:`backbone_dihedrals` knows: the 20 standard amino acids (with common protonation variants)
#: and the ACE/NME caps.
PEPTIDE_RESIDUES = frozenset("ALA ARG ASN ASP CYS GLN GLU GLY HIS HID HIE HIP ILE LEU LYS MET PHE PRO SER THR TRP "
                             "TYR VAL ACE NME NH2".split())


def backbone_dihedrals(atom_names: np.ndarray, residue_names: np.ndarray, residue_index: np.ndarray
                       ) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The backbone dihedrals of a peptide as ``(label, atom quadruple)``: ``phi_k`` = C(k-1)-N(k)-CA(k)-C(k) and
    ``psi_k`` = N(k)-CA(k)-C(k)-N(k+1) for every residue ``k`` with a CA and both neighbours. Raises ValueError
    for a residue name outside :data:`PEPTIDE_RESIDUES` (not a peptide this function understands).

    For alanine dipeptide: ``[("phi_2", ...), ("psi_2", ...)]``.
    """
    names, resn, resi = (np.asarray(a) for a in (atom_names, residue_names, residue_index))
    if not (len(names) == len(resn) == len(resi)):
        raise ValueError("atom_names, residue_names and residue_index must have one entry per atom")
    unknown = sorted(set(resn.tolist()) - PEPTIDE_RESIDUES)
    if unknown:
        raise ValueError(f"unknown residue(s) {unknown}: backbone dihedrals need standard amino acids or ACE/NME "
                         "caps")
    where = {(int(r), str(a)): i for i, (r, a) in enumerate(zip(resi, names))}
    out = []
    for r in sorted(set(resi.tolist())):
        n, ca, c = where.get((r, "N")), where.get((r, "CA")), where.get((r, "C"))
        if ca is None or n is None or c is None:
            continue
        prev_c, next_n = where.get((r - 1, "C")), where.get((r + 1, "N"))
        if prev_c is not None:
            out.append((f"phi_{r + 1}", (prev_c, n, ca, c)))
        if next_n is not None:
            out.append((f"psi_{r + 1}", (n, ca, c, next_n)))
    return out

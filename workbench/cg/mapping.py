"""Coarse-grained (CG) mappings: which atoms form each bead, and the linear map from atoms to beads.

A :class:`CGMapping` of ``n`` atoms to ``N`` beads is an assignment ``[n]`` (bead of each atom; every atom in
exactly one bead, every bead non-empty) and weights ``[n]``; its matrix ``M [N, n]`` has
``M[I, i] = w_i / sum_{j in I} w_j`` for ``i`` in bead ``I`` and 0 elsewhere, so each row sums to 1 and
``X = M @ x`` (``x [..., n, 3]`` -> ``X [..., N, 3]``) is the centre of mass (weights = masses) or the centroid
(weights = 1) of each bead. A mapping built from a bond graph is checked: each bead's atoms must be connected
through bonds inside the bead.

Mappings for any resolution ``N`` (:func:`partition_mapping`): the Girvan–Newman partition of the molecular graph
(remove the edge of largest betweenness until ``N`` components; the CGVAE paper's choice), or
:func:`residue_mapping` (one bead per residue).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import torch

from workbench.checks import check_array

__all__ = ["CGMapping", "partition_mapping", "residue_mapping", "mapping_matrix"]

_METHODS = ("girvan_newman",)


def mapping_matrix(assignment: np.ndarray, weights: np.ndarray, n_beads: int) -> np.ndarray:
    """``M [n_beads, n]`` float64 of the module docstring (rows sum to 1).

    >>> mapping_matrix(np.array([0, 0, 1]), np.array([1.0, 3.0, 2.0]), 2).tolist()
    [[0.25, 0.75, 0.0], [0.0, 0.0, 1.0]]
    """
    matrix = np.zeros((n_beads, len(assignment)))
    matrix[assignment, np.arange(len(assignment))] = weights
    return matrix / matrix.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class CGMapping:
    """``n`` atoms onto ``n_beads`` beads (module docstring).

    Args:
        assignment: ``[n]`` int, bead index of each atom (``0 .. n_beads - 1``, every bead used).
        weights: ``[n]`` positive float: masses (centre of mass) or ones (centroid).
        bonds: optional ``[B, 2]`` atom pairs; when given, each bead must be connected through its own bonds.
    """

    assignment: np.ndarray
    weights: np.ndarray
    bonds: np.ndarray | None = None

    def __post_init__(self) -> None:
        assignment = np.asarray(self.assignment)
        if assignment.ndim != 1 or not np.issubdtype(assignment.dtype, np.integer):
            raise ValueError(f"assignment must be a 1-D integer array [n] (bead of each atom), got "
                             f"{assignment.dtype} {assignment.shape}")
        n = len(assignment)
        if n == 0:
            raise ValueError("assignment must map at least one atom")
        if assignment.min() < 0:
            raise ValueError("assignment leaves atom(s) unassigned (negative bead index at atom(s) "
                             f"{np.nonzero(assignment < 0)[0].tolist()}); every atom needs a bead")
        n_beads = int(assignment.max()) + 1
        missing = sorted(set(range(n_beads)) - set(assignment.tolist()))
        if missing:
            raise ValueError(f"assignment must use every bead 0..{n_beads - 1}; bead(s) {missing} hold no atom")
        weights = check_array(np.asarray(self.weights, dtype=np.float64), "weights", shape=(n,), finite=True)
        if not np.all(weights > 0):
            raise ValueError("weights must all be positive (masses for centre of mass, ones for centroid)")
        object.__setattr__(self, "assignment", assignment.astype(np.int64))
        object.__setattr__(self, "weights", weights)
        if self.bonds is not None:
            bonds = np.asarray(self.bonds, dtype=np.int64).reshape(-1, 2)
            if bonds.size and (bonds.min() < 0 or bonds.max() >= n):
                raise ValueError(f"bonds must index the {n} atoms of assignment")
            object.__setattr__(self, "bonds", bonds)
            graph = nx.Graph()
            graph.add_nodes_from(range(n))
            graph.add_edges_from(bonds.tolist())
            for bead in range(n_beads):
                atoms = np.nonzero(assignment == bead)[0].tolist()
                if not nx.is_connected(graph.subgraph(atoms)):
                    raise ValueError(f"disconnected mapping: bead {bead} holds atoms {atoms}, which are not "
                                     "connected through bonds inside the bead")

    @property
    def n_atoms(self) -> int:
        return len(self.assignment)

    @property
    def n_beads(self) -> int:
        return int(self.assignment.max()) + 1

    @property
    def matrix(self) -> np.ndarray:
        """``M [n_beads, n_atoms]`` float64, rows summing to 1."""
        return mapping_matrix(self.assignment, self.weights, self.n_beads)

    def beads(self) -> list[np.ndarray]:
        """Atom indices of each bead."""
        return [np.nonzero(self.assignment == b)[0] for b in range(self.n_beads)]

    def coarse(self, positions: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Bead positions ``[..., n_beads, 3]`` of atom positions ``[..., n_atoms, 3]`` (numpy or torch)."""
        if isinstance(positions, torch.Tensor):
            if positions.ndim < 2 or positions.shape[-2:] != (self.n_atoms, 3):
                raise ValueError(f"positions must have shape [..., {self.n_atoms}, 3], got {tuple(positions.shape)}")
            if not bool(torch.isfinite(positions).all()):
                raise ValueError("positions must be finite: NaN or inf found")
            return torch.as_tensor(self.matrix, dtype=positions.dtype, device=positions.device) @ positions
        positions = check_array(np.asarray(positions), "positions", shape=(..., self.n_atoms, 3), dtype="float",
                                finite=True)
        return self.matrix @ positions

    def permuted(self, order: np.ndarray) -> CGMapping:
        """The same beads renumbered: new bead ``k`` is old bead ``order[k]``."""
        order = np.asarray(order)
        if sorted(order.tolist()) != list(range(self.n_beads)):
            raise ValueError(f"order must be a permutation of 0..{self.n_beads - 1}")
        return CGMapping(np.argsort(order)[self.assignment], self.weights, self.bonds)


def _check_graph(n_atoms: int, bonds: np.ndarray, n_beads: int) -> nx.Graph:
    if isinstance(n_beads, bool) or not isinstance(n_beads, (int, np.integer)) or n_beads < 1:
        raise ValueError(f"n_beads must be an integer >= 1, got {n_beads!r}")
    if n_beads > n_atoms:
        raise ValueError(f"n_beads must be <= the number of atoms ({n_atoms}), got {n_beads}")
    bonds = np.asarray(bonds, dtype=np.int64).reshape(-1, 2)
    if bonds.size and (bonds.min() < 0 or bonds.max() >= n_atoms):
        raise ValueError(f"bonds must index atoms 0..{n_atoms - 1}")
    graph = nx.Graph()
    graph.add_nodes_from(range(n_atoms))
    graph.add_edges_from(bonds.tolist())
    if not nx.is_connected(graph):
        raise ValueError(f"bonds must connect all {n_atoms} atoms into one molecule; the bond graph has "
                         f"{nx.number_connected_components(graph)} components")
    return graph


def partition_mapping(bonds: np.ndarray, masses: np.ndarray, n_beads: int, method: str = "girvan_newman",
                      centre: str = "mass") -> CGMapping:
    """A mapping of the molecule with bond graph ``bonds [B, 2]`` and ``masses [n]`` into ``n_beads`` connected
    beads, by Girvan–Newman partitioning of the bond graph (deterministic: ties go to the first edge in networkx's
    order). Beads are numbered by their smallest atom index. ``centre``: ``"mass"`` (centre of mass) or
    ``"centroid"``.

    >>> m = partition_mapping(np.array([[0, 1], [1, 2], [2, 3]]), np.ones(4), 2)
    >>> m.assignment.tolist(), m.matrix.sum(axis=1).tolist()
    ([0, 0, 1, 1], [1.0, 1.0])
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if centre not in ("mass", "centroid"):
        raise ValueError(f"centre must be 'mass' or 'centroid', got {centre!r}")
    masses = check_array(np.asarray(masses, dtype=np.float64), "masses", shape=("n",), finite=True)
    graph = _check_graph(len(masses), bonds, n_beads)
    parts: tuple = (tuple(range(len(masses))),)
    if n_beads > 1:
        for level in nx.algorithms.community.girvan_newman(graph):
            if len(level) >= n_beads:
                parts = level
                break
    parts = sorted((sorted(p) for p in parts), key=min)
    assignment = np.empty(len(masses), dtype=np.int64)
    for bead, atoms in enumerate(parts):
        assignment[atoms] = bead
    weights = masses if centre == "mass" else np.ones_like(masses)
    return CGMapping(assignment, weights, np.asarray(bonds))


def residue_mapping(residue_index: np.ndarray, masses: np.ndarray, bonds: np.ndarray | None = None) -> CGMapping:
    """One bead per residue (centre of mass): the rule-based mapping of a peptide."""
    residue_index = np.asarray(residue_index)
    _, assignment = np.unique(residue_index, return_inverse=True)
    return CGMapping(assignment.astype(np.int64), masses, bonds)

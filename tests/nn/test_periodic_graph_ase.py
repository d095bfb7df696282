"""The periodic radius graph (workbench.nn.radius_graph with cell and pbc) against ASE's neighbour list: the same
(source, target, shift) triples for skewed cells, cells smaller than the cutoff, partial periodicity and positions
outside the cell."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.nn import radius_graph

ase = pytest.importorskip("ase")
from ase.neighborlist import neighbor_list  # noqa: E402


def _triples(src, dst, shifts) -> set[tuple[int, int, tuple[float, ...]]]:
    return {(int(s), int(d), tuple(np.round(v, 6) + 0.0)) for s, d, v in zip(src, dst, shifts)}


def _ase_triples(atoms, cutoff):
    i, j, shift = neighbor_list("ijS", atoms, cutoff)
    # ASE: D = pos[j] - pos[i] + S @ cell; ours: edge_vec = pos[dst] - pos[src] + shifts
    return _triples(i, j, shift @ atoms.cell[:])


@pytest.mark.parametrize("case", range(6))
def test_matches_ase_neighbor_list(case):
    rng = np.random.default_rng(case)
    n = int(rng.integers(1, 7))
    cell = np.diag(rng.uniform(2.0, 5.0, 3)) + rng.uniform(-1.0, 1.0, (3, 3))  # skewed
    pbc = [True, True, True] if case < 4 else [True, False, True]
    frac = rng.uniform(-1.5, 2.5, (n, 3))  # many atoms outside the cell
    if not all(pbc):
        frac[:, 1] = rng.uniform(0, 1, n)
    pos = frac @ cell
    atoms = ase.Atoms(numbers=[29] * n, positions=pos, cell=cell, pbc=pbc)
    cutoff = float(rng.uniform(3.0, 6.5))
    edge_index, shifts = radius_graph(torch.as_tensor(pos), cutoff, cell=torch.as_tensor(cell),
                                      pbc=torch.tensor(pbc))
    ours = _triples(edge_index[0].numpy(), edge_index[1].numpy(), shifts.numpy())
    assert len(ours) == edge_index.shape[1] and len(ours) > 0
    assert ours == _ase_triples(atoms, cutoff)
    vec = pos[edge_index[1]] - pos[edge_index[0]] + shifts.numpy()
    assert (np.linalg.norm(vec, axis=1) < cutoff).all()


def test_positions_outside_the_cell_change_nothing_but_the_shifts():
    rng = np.random.default_rng(7)
    cell = torch.as_tensor(np.diag([3.0, 3.5, 4.0]) + rng.uniform(-0.5, 0.5, (3, 3)))
    pos = torch.as_tensor(rng.uniform(0, 1, (4, 3))) @ cell
    moved = pos + torch.tensor([[2.0, -3.0, 1.0], [0, 0, 0], [-1.0, 0, 5.0], [7.0, 1.0, -2.0]],
                               dtype=torch.float64) @ cell
    e1, s1 = radius_graph(pos, 5.0, cell=cell, pbc=torch.tensor([True] * 3))
    e2, s2 = radius_graph(moved, 5.0, cell=cell, pbc=torch.tensor([True] * 3))
    v1 = sorted(map(tuple, torch.cat([e1.T.double(), pos[e1[1]] - pos[e1[0]] + s1], 1).numpy().round(8).tolist()))
    v2 = sorted(map(tuple, torch.cat([e2.T.double(), moved[e2[1]] - moved[e2[0]] + s2], 1).numpy().round(8).tolist()))
    assert v1 == v2

"""E(3) and cell invariance of the learned phonon-DOS model (workbench.models.phonon_dos), float64 <= 1e-10.

Each transformation is also applied to a baseline that is not invariant to it, and the baseline fails.
"""

from __future__ import annotations

import pytest
import torch

from workbench.groups import o3
from workbench.models.phonon_dos import CompositionDOSMLP, PeriodicDOSMACE, composition_fractions

TOL = 1e-10


def _crystals():
    """Two crystals: an 8-atom disordered cubic cell with thermal noise and a skewed 2-atom cell."""
    g = torch.Generator().manual_seed(0)
    sites = torch.tensor([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]], dtype=torch.float64)
    frac = torch.cat([sites, sites + torch.tensor([1.0, 0, 0])]) / torch.tensor([2.0, 1, 1])
    cell_a = torch.diag(torch.tensor([7.4, 3.7, 3.7], dtype=torch.float64))
    pos_a = frac @ cell_a + 0.05 * torch.randn(8, 3, generator=g, dtype=torch.float64)
    z_a = torch.tensor([29, 79, 29, 29, 28, 29, 79, 29])
    cell_b = torch.tensor([[0.0, 2.0, 2.0], [2.0, 0.0, 2.0], [2.1, 2.0, 0.1]], dtype=torch.float64)
    pos_b = torch.tensor([[0.0, 0, 0], [1.9, 2.1, 1.8]], dtype=torch.float64)
    z_b = torch.tensor([13, 47])
    return [(z_a, pos_a, cell_a), (z_b, pos_b, cell_b)]


def _batch(crystals):
    z = torch.cat([c[0] for c in crystals])
    pos = torch.cat([c[1] for c in crystals])
    cell = torch.stack([c[2] for c in crystals])
    batch = torch.cat([torch.full((len(c[0]),), i) for i, c in enumerate(crystals)])
    return z, pos, cell, batch, len(crystals)


class RawCoordinates(torch.nn.Module):
    """Not invariant to anything: reads the first atoms' coordinates and the cell in the given frame and order."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(15, 51)

    def forward(self, z, pos, cell, batch, num_graphs):
        rows = [torch.cat([pos[batch == b][:2].reshape(-1), cell[b].reshape(-1)]) for b in range(num_graphs)]
        return torch.tanh(self.lin(torch.stack(rows)))


class NonPeriodic(PeriodicDOSMACE):
    """The same network on the atoms of the cell as an isolated cluster (no images): E(3) invariant, but it sees
    the cell choice, the wrap and the supercell."""

    def forward(self, z, pos, cell, batch=None, num_graphs=None):
        far = torch.eye(3, dtype=pos.dtype).expand(num_graphs, 3, 3) * 1e3
        return super().forward(z, pos, far, batch, num_graphs)


def _transforms():
    q = o3.rand_matrix(generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    reflect = -q

    def rotate(c):
        return [(z, p @ q.T, cell @ q.T) for z, p, cell in c]

    def reflection(c):
        return [(z, p @ reflect.T, cell @ reflect.T) for z, p, cell in c]

    def translate(c):
        return [(z, p + torch.tensor([3.3, -1.2, 0.7], dtype=torch.float64), cell) for z, p, cell in c]

    def permute(c):
        out = []
        for z, p, cell in c:
            perm = torch.randperm(len(z), generator=torch.Generator().manual_seed(2))
            out.append((z[perm], p[perm], cell))
        return out

    def wrap(c):  # move atoms by lattice vectors (out of the cell)
        out = []
        for z, p, cell in c:
            n = torch.randint(-2, 3, (len(z), 3), generator=torch.Generator().manual_seed(3)).to(p.dtype)
            out.append((z, p + n @ cell, cell))
        return out

    def other_cell(c):  # an equivalent cell (unimodular integer combination of the lattice vectors), atoms in it
        m = torch.tensor([[1.0, 1, 0], [0, 1, 0], [1, 1, 1]], dtype=torch.float64)
        assert abs(float(torch.linalg.det(m))) == 1.0
        out = []
        for z, p, cell in c:
            new = m @ cell
            out.append((z, p - torch.floor(p @ torch.linalg.inv(new)) @ new, new))
        return out

    def supercell(c):  # 2 x 1 x 2 supercell: same crystal, four times the atoms
        out = []
        for z, p, cell in c:
            shifts = torch.tensor([[i, 0.0, k] for i in range(2) for k in range(2)], dtype=torch.float64) @ cell
            out.append((z.repeat(4), (p[None] + shifts[:, None]).reshape(-1, 3),
                        torch.diag(torch.tensor([2.0, 1, 2], dtype=torch.float64)) @ cell))
        return out

    return {"rotation": rotate, "reflection": reflection, "translation": translate, "permutation": permute,
            "wrap": wrap, "equivalent_cell": other_cell, "supercell": supercell}


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return PeriodicDOSMACE(channels=8, lmax=1, num_layers=2, correlation=2).double().eval()


@pytest.mark.parametrize("name", list(_transforms()))
def test_dos_model_invariance(model, name):
    crystals = _crystals()
    moved = _transforms()[name](crystals)
    with torch.no_grad():
        before = model(*_batch(crystals))
        after = model(*_batch(moved))
    assert before.shape == (2, 51)
    assert float((after - before).abs().max()) <= TOL, name
    # a baseline that is not invariant to this transformation fails the same check
    torch.manual_seed(0)
    baseline = (NonPeriodic(channels=8, num_layers=2).double() if name in ("wrap", "equivalent_cell", "supercell")
                else RawCoordinates().double())
    with torch.no_grad():
        change = float((baseline(*_batch(moved)) - baseline(*_batch(crystals))).abs().max())
    assert change > 1e-4, name


def test_composition_baseline_and_errors(model):
    z, pos, cell, batch, b = _batch(_crystals())
    frac = composition_fractions(z, batch, b, model.elements, torch.float64)
    assert torch.allclose(frac.sum(1), torch.ones(2, dtype=torch.float64))
    assert float(frac[0, model.elements.index(79)]) == 0.25
    assert CompositionDOSMLP().double()(z, pos, cell, batch, b).shape == (2, 51)
    with pytest.raises(ValueError, match=r"atomic numbers \[26\] are not among"):
        model(torch.tensor([26]), pos[:1], cell[:1])
    with pytest.raises(ValueError, match="cell"):
        model(z, pos, cell[:1], batch, b)
    with pytest.raises(ValueError, match="empty"):
        model(torch.zeros(0, dtype=torch.long), pos[:0], cell[:1])

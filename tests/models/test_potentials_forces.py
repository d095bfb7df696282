"""workbench.models.potential: forces are -dE/dr (finite differences) and rotate with the input, for every model;
periodic cells (supercell consistency, stress against finite strains); a non-equivariant baseline fails the
rotation check. All in float64 with tiny untrained models."""

from __future__ import annotations

import copy
import functools

import pytest
import torch

from workbench.groups import o3
from workbench.models import MODELS, MolecularModel, NodeFeatures, build_model
from workbench.models.potential import Potential

pytestmark = pytest.mark.unit

NAMES = tuple(MODELS)
ELEMENTS = (1, 6, 8)
# ethanol (Å), slightly distorted from its minimum
ETHANOL_Z = torch.tensor([6, 6, 8, 1, 1, 1, 1, 1, 1])
ETHANOL_POS = torch.tensor([
    [-0.886, 0.164, -0.073], [0.473, -0.504, -0.048], [1.385, 0.279, 0.707], [-0.821, 1.157, -0.529],
    [-1.606, -0.436, -0.637], [-1.264, 0.306, 0.945], [0.869, -0.626, -1.061], [0.405, -1.492, 0.417],
    [1.446, 1.151, 0.280]], dtype=torch.float64)


@functools.cache
def _built(name: str, elements: tuple[int, ...], r_max: float) -> Potential:
    torch.manual_seed(1)
    model = build_model(name, channels=8, lmax=2, num_layers=2, elements=elements, r_max=r_max)
    return Potential(model, atomic_energies=[-13.6 * (k + 1) for k in range(len(elements))], energy_scale=0.7)


def _potential(name: str, elements=ELEMENTS, r_max: float = 4.0) -> Potential:
    return copy.deepcopy(_built(name, tuple(elements), r_max)).double()


class _CoordinateMLP(MolecularModel):
    """Not equivariant on purpose: per-atom energies from raw Cartesian coordinates (the baseline that must fail)."""

    def __init__(self):
        super().__init__(elements=ELEMENTS, r_max=4.0)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.SiLU(), torch.nn.Linear(16, 8))
        self._init_head(8)

    def node_features(self, species, pos, edge_index, shifts=None):
        return NodeFeatures(self.mlp(pos - pos.mean(0)))


def _fd_check(pot: Potential, z, pos, forces, eps: float = 1e-6, directions: int = 4, atol: float = 1e-6, **kw):
    """``-dE/dt`` along random displacement directions ``v`` (all atoms at once) equals ``F . v``, by central
    differences; plus the single component with the largest force. ``eps`` is small because Equiformer's
    attention MLP has a LeakyReLU, whose kinks make its energy only piecewise smooth."""
    g = torch.Generator().manual_seed(0)
    vs = [torch.randn(pos.shape, generator=g, dtype=pos.dtype) for _ in range(directions)]
    a, x = divmod(int(forces.abs().argmax()), 3)
    single = torch.zeros_like(pos)
    single[a, x] = 1.0
    for v in [*vs, single]:
        plus = pot(z, pos + eps * v, compute_forces=False, **kw).energy.detach().sum()
        minus = pot(z, pos - eps * v, compute_forces=False, **kw).energy.detach().sum()
        fd = -float(plus - minus) / (2 * eps)
        exact = float((forces * v).sum())
        assert abs(fd - exact) <= atol + 1e-6 * abs(exact), (fd, exact)


@pytest.mark.parametrize("name", NAMES)
def test_forces_are_the_negative_gradient(name):
    pot = _potential(name)
    out = pot(ETHANOL_Z, ETHANOL_POS)
    assert out.forces.dtype == torch.float64
    assert float(out.forces.abs().max()) > 1e-3  # not trivially zero
    _fd_check(pot, ETHANOL_Z, ETHANOL_POS, out.forces)
    # a free molecule: no net force
    assert float(out.forces.sum(0).abs().max()) < 1e-10


@pytest.mark.parametrize("name", NAMES)
def test_forces_rotate_with_the_input(name):
    pot = _potential(name)
    out = pot(ETHANOL_Z, ETHANOL_POS)
    for seed in range(2):
        torch.manual_seed(seed)
        rot = o3.rand_matrix(dtype=torch.float64)
        if seed == 1:
            rot = -rot  # an improper rotation: reflections too
        shift = torch.randn(3, dtype=torch.float64)
        moved = pot(ETHANOL_Z, ETHANOL_POS @ rot.T + shift)
        assert float((moved.energy - out.energy).abs().max()) <= 1e-10
        assert float((moved.forces - out.forces @ rot.T).abs().max()) <= 1e-10


def test_non_equivariant_baseline_fails_the_rotation_check():
    torch.manual_seed(0)
    pot = Potential(_CoordinateMLP()).double()
    out = pot(ETHANOL_Z, ETHANOL_POS)
    rot = o3.rand_matrix(dtype=torch.float64)
    moved = pot(ETHANOL_Z, ETHANOL_POS @ rot.T)
    assert float((moved.forces - out.forces @ rot.T).abs().max()) > 1e-4
    # ... while its forces are still its exact negative gradient (the mechanism is model-agnostic)
    _fd_check(pot, ETHANOL_Z, ETHANOL_POS, out.forces)


@pytest.mark.parametrize("name", NAMES)
def test_training_graph_reaches_the_parameters_through_the_forces(name):
    pot = _potential(name)
    pos = ETHANOL_POS.clone()
    out = pot(ETHANOL_Z, pos, create_graph=True)
    loss = out.forces.pow(2).sum()
    grads = torch.autograd.grad(loss, [p for p in pot.parameters() if p.requires_grad], allow_unused=True)
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0


def _copper(seed: int = 0, a: float = 3.61):
    g = torch.Generator().manual_seed(seed)
    cell = torch.eye(3, dtype=torch.float64) * a
    base = torch.tensor([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]], dtype=torch.float64) * a
    pos = base + 0.1 * torch.randn(4, 3, generator=g, dtype=torch.float64)
    return torch.full((4,), 29), pos, cell, torch.ones(3, dtype=torch.bool)


@pytest.mark.parametrize("name", NAMES)
def test_periodic_supercell_and_stress(name):
    pot = _potential(name, elements=(29,), r_max=4.0)
    z, pos, cell, pbc = _copper()
    out = pot(z, pos, cell=cell, pbc=pbc, compute_stress=True)
    # a 2x1x1 supercell: twice the energy, the same forces and stress
    z2, pos2 = torch.cat([z, z]), torch.cat([pos, pos + cell[0]])
    cell2 = cell.clone()
    cell2[0] *= 2
    out2 = pot(z2, pos2, cell=cell2, pbc=pbc, compute_stress=True)
    assert abs(float(out2.energy - 2 * out.energy)) < 1e-10
    assert float((out2.forces[:4] - out.forces).abs().max()) < 1e-10
    assert float((out2.stress - out.stress).abs().max()) < 1e-12
    # forces: -dE/dr with images (an atom moved across the cell boundary sees its images move too)
    _fd_check(pot, z, pos, out.forces, directions=2, cell=cell, pbc=pbc)
    # stress: (1/V) dE/d(strain) by central differences of a symmetric strain
    vol = float(torch.linalg.det(cell))
    for a_, b_ in ((0, 0), (0, 1), (1, 2)):
        eps = 1e-6
        d = torch.zeros(3, 3, dtype=torch.float64)
        d[a_, b_] += eps / 2
        d[b_, a_] += eps / 2
        plus, minus = torch.eye(3, dtype=torch.float64) + d, torch.eye(3, dtype=torch.float64) - d
        ep = pot(z, pos @ plus, cell=cell @ plus, pbc=pbc, compute_forces=False).energy
        em = pot(z, pos @ minus, cell=cell @ minus, pbc=pbc, compute_forces=False).energy
        num = float((ep - em).detach()) / (2 * eps) / vol
        assert abs(float(out.stress[0, a_, b_]) - num) < 1e-6 * max(1.0, abs(num)) + 1e-8, (a_, b_, num)
    # stress is symmetric and rotates as a rank-2 tensor
    assert float((out.stress[0] - out.stress[0].T).abs().max()) < 1e-12
    rot = o3.rand_matrix(dtype=torch.float64)
    rotated = pot(z, pos @ rot.T, cell=cell @ rot.T, pbc=pbc, compute_stress=True)
    assert float((rotated.forces - out.forces @ rot.T).abs().max()) <= 1e-10
    assert float((rotated.stress[0] - rot @ out.stress[0] @ rot.T).abs().max()) <= 1e-10


def test_bad_input_is_refused():
    pot = _potential("schnet")
    with pytest.raises(ValueError, match=r"atomic numbers \[7\] are not among"):
        pot(torch.tensor([7, 1]), torch.tensor([[0.0, 0, 0], [1.0, 0, 0]], dtype=torch.float64))
    bad = ETHANOL_POS.clone()
    bad[2, 1] = float("nan")
    with pytest.raises(ValueError, match="pos must be finite"):
        pot(ETHANOL_Z, bad)
    with pytest.raises(ValueError, match="cell"):
        pot(ETHANOL_Z, ETHANOL_POS, pbc=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="stress needs a periodic cell"):
        pot(ETHANOL_Z, ETHANOL_POS, compute_stress=True)
    with pytest.raises(ValueError, match="output='scalar' and reduce='sum'"):
        Potential(build_model("schnet", channels=4, output="dipole"))
    with pytest.raises(ValueError, match="atomic_energies must have shape"):
        Potential(build_model("schnet", channels=4, elements=(1, 8)), [1.0, 2.0, 3.0])

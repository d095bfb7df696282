"""workbench.dynamics simulators: exact references against RK4, conserved quantities, analytic normal modes,
the dataset protocol, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.dynamics import (
    SYSTEMS,
    DoublePendulum,
    Kepler,
    check_jumps,
    coupled_oscillators,
    make_dynamics_dataset,
    make_system,
    uncoupled_oscillators,
)
from workbench.dynamics.integrators import rk4_trajectory

pytestmark = pytest.mark.unit


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_chain_frequencies_match_the_textbook_uniform_chain():
    # n equal masses, n + 1 equal springs k: omega_j = 2 sqrt(k) sin(j pi / (2 (n + 1)))
    n, k = 5, 0.7
    chain = coupled_oscillators(n, springs=[k] * (n + 1))
    expected = 2 * math.sqrt(k) * torch.sin(torch.arange(1, n + 1, dtype=torch.float64) * math.pi / (2 * (n + 1)))
    assert torch.allclose(chain.frequencies, expected, atol=1e-13)
    assert torch.allclose(uncoupled_oscillators(2, stiffness=[0.25, 4.0]).frequencies,
                          torch.tensor([0.5, 2.0], dtype=torch.float64), atol=1e-14)


@pytest.mark.parametrize("system", [coupled_oscillators(3), uncoupled_oscillators(2), Kepler()],
                         ids=["coupled", "uncoupled", "kepler"])
def test_exact_reference_agrees_with_fine_rk4_and_conserves(system):
    state0 = system.sample_initial_states(4, _gen(1))
    exact = system.reference_trajectory(state0, 40, 1.0)
    rk4 = rk4_trajectory(system.vector_field, state0, 1.0, 40, substeps=200)
    assert (exact - rk4).abs().max() < 1e-7
    # a coarse RK4 is visibly off: the comparison can fail
    assert (exact - rk4_trajectory(system.vector_field, state0, 1.0, 40, substeps=2)).abs().max() > 1e-4
    for name, value in system.conserved(exact).items():
        assert (value - value[:, :1]).abs().max() < 1e-11, name


def test_oscillator_actions_conserved_one_by_one_but_coordinates_exchange_energy():
    chain = coupled_oscillators(3)
    traj = chain.reference_trajectory(chain.sample_initial_states(2, _gen(2)), 200, 1.0)
    actions = chain.mode_actions(traj)
    assert (actions - actions[:, :1]).abs().max() < 1e-12
    q, p = chain.split(traj)
    site_energy = 0.5 * (p**2 + q**2)  # per-mass energies (ignoring the coupling) do change: the modes matter
    assert (site_energy - site_energy[:, :1]).abs().max() > 0.1


def test_kepler_runge_lenz_points_at_pericentre_and_frequency_is_the_period():
    kepler = Kepler()
    state0 = kepler.sample_initial_states(3, _gen(3))
    n = kepler.mean_motion(state0)
    period = 2 * math.pi / n
    back = torch.stack([kepler.evolve(state0[i], period[i]) for i in range(3)])
    assert (back - state0).abs().max() < 1e-10   # one period later: the same state
    assert (kepler.evolve(state0, period / 2) - state0).abs().max() > 0.1
    e = kepler.runge_lenz(state0).norm(dim=-1)
    traj = kepler.reference_trajectory(state0, 200, 0.1)
    r = traj[..., :2].norm(dim=-1)
    a = -kepler.gm / (2 * kepler.energy(state0))
    assert torch.allclose(r.min(1).values, a * (1 - e), rtol=1e-3)  # pericentre distance a (1 - e)
    with pytest.raises(ValueError, match="bound orbits"):
        kepler.mean_motion(torch.tensor([[1.0, 0.0, 0.0, 2.0]], dtype=torch.float64))


def test_double_pendulum_field_is_hamiltons_equations_and_rk4_converges():
    pend = DoublePendulum(m1=1.3, m2=0.7, l1=0.9, l2=1.2, g=1.1)
    state = torch.randn(6, 4, dtype=torch.float64, generator=_gen(4)).requires_grad_(True)
    (grad,) = torch.autograd.grad(pend.energy(state).sum(), state)
    assert torch.allclose(pend.vector_field(state.detach()), torch.cat([grad[:, 2:], -grad[:, :2]], -1), atol=1e-13)
    state0 = pend.sample_initial_states(3, _gen(5))
    coarse = rk4_trajectory(pend.vector_field, state0, 1.0, 6, substeps=20)
    fine = rk4_trajectory(pend.vector_field, state0, 1.0, 6, substeps=40)
    finest = rk4_trajectory(pend.vector_field, state0, 1.0, 6, substeps=80)
    ratio = (coarse - finest).abs().max() / (fine - finest).abs().max()
    assert 10 < ratio < 25   # fourth order: halving the step divides the error by ~16
    traj = pend.reference_trajectory(state0, 30, 1.0)
    energy = pend.energy(traj)
    assert (energy - energy[:, :1]).abs().max() < 1e-5
    assert pend.analytic_frequencies(state0) is None and not pend.integrable


def test_dataset_follows_the_protocol_and_pairs_are_jumps_apart():
    data = make_dynamics_dataset("coupled_harmonic", n_trajectories=3, n_samples=1000, seed=7)
    assert data.states.shape == (3, 1000, 6) and data.states.dtype == torch.float64
    assert data.sections == {"train": (0, 100), "val": (100, 500), "test": (500, 1000)}
    x0, jump, x1 = data.pairs("test", [1, 50])
    assert len(x0) == 3 * (499 + 450)
    sys = data.system
    assert (sys.evolve(x0, jump * data.dt) - x1).abs().max() < 1e-10
    again = make_dynamics_dataset("coupled_harmonic", n_trajectories=3, n_samples=1000, seed=7)
    assert torch.equal(again.states, data.states)
    assert not torch.equal(make_dynamics_dataset("coupled_harmonic", 3, 1000, seed=8).states, data.states)


def test_bad_input_is_refused_with_clear_errors():
    with pytest.raises(ValueError, match="unknown system 'pendulum'; valid systems: harmonic, coupled_harmonic"):
        make_system("pendulum")
    assert set(SYSTEMS) == {"harmonic", "coupled_harmonic", "kepler", "double_pendulum"}
    for bad in ([0], [-1], [1.5], [2.0], [True], [], "1,2", [1, 1]):
        with pytest.raises(ValueError, match="jumps"):
            check_jumps(bad)
    assert check_jumps([1, 2, 50]) == (1, 2, 50)
    chain = coupled_oscillators(2)
    with pytest.raises(ValueError, match="state0 must be finite"):
        chain.reference_trajectory(torch.tensor([[0.0, math.nan, 0.0, 0.0]], dtype=torch.float64), 3, 1.0)
    with pytest.raises(ValueError, match=r"state must have shape \[\.\.\., 4\]"):
        chain.energy(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="positive-definite"):
        uncoupled_oscillators(2, stiffness=[1.0, -1.0])
    with pytest.raises(ValueError, match="springs must be positive"):
        coupled_oscillators(2, springs=[1.0, -5.0, 1.0])
    data = make_dynamics_dataset("harmonic", n_trajectories=1, n_samples=100, seed=0)
    with pytest.raises(ValueError, match="does not fit"):
        data.pairs("train", [10])
    with pytest.raises(ValueError, match="fewer than 2 samples"):
        make_dynamics_dataset("harmonic", n_samples=10, train_fraction=0.1)

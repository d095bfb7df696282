"""Learned simulators of workbench.dynamics: the encoder is symplectic (J^T Omega J = Omega to 1e-6 in float64)
and exactly invertible while a non-symplectic coupling fails the same test; Action-Angle predictions conserve the
learned actions and cost one pass for any jump; the baselines' contracts; bad input."""

from __future__ import annotations

import math

import pytest
import scipy.linalg
import torch

from workbench.dynamics import (
    ActionAngleNetwork,
    EulerUpdateNetwork,
    HamiltonianNetwork,
    NeuralODE,
    SymplecticEncoder,
    coupled_oscillators,
    symplecticity_error,
    uncoupled_oscillators,
)
from workbench.dynamics.extras import require_torchdiffeq
from workbench.dynamics.symplectic import AdditiveCoupling, PointTransform, ScalarPotential

pytestmark = pytest.mark.unit


def _states(n: int, dim: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("n_dof", [1, 3])
def test_encoder_is_symplectic_and_exactly_invertible(n_dof):
    torch.manual_seed(n_dof)
    encoder = SymplecticEncoder(n_dof, n_layers=3, hidden=16, init_scale=0.7).double()
    x = _states(4, 2 * n_dof)
    assert (encoder(x) - x).abs().max() > 0.1          # far from the identity: the test is not vacuous
    assert symplecticity_error(encoder, x) < 1e-6
    assert (encoder.inverse(encoder(x)) - x).abs().max() < 1e-12
    assert (encoder(encoder.inverse(x)) - x).abs().max() < 1e-12


def test_non_symplectic_coupling_fails_the_same_test_though_invertible():
    torch.manual_seed(0)
    coupling = torch.nn.Sequential(AdditiveCoupling(3, "q", 16), AdditiveCoupling(3, "p", 16)).double()
    x = _states(4, 6)
    assert symplecticity_error(coupling, x) > 1e-2
    back = coupling[0].inverse(coupling[1].inverse(coupling(x)))
    assert (back - x).abs().max() < 1e-12
    # a plain linear map with det 1 but not symplectic fails too; a point transform passes
    shear = torch.nn.Linear(6, 6, bias=False).double()
    assert symplecticity_error(shear, x) > 1e-2
    assert symplecticity_error(PointTransform(3, init_scale=1.0).double(), x) < 1e-10


def test_point_transform_represents_the_exact_action_angle_map_of_oscillators():
    """With A = diag(sqrt omega) V^T the Action-Angle Network is exact for harmonic chains: the architecture can
    express the answer it should learn."""
    chain = coupled_oscillators(3)
    model = ActionAngleNetwork(3, n_layers=0).double()
    modes = chain.modes * torch.linalg.det(chain.modes).sign()  # a rotation (det +1): A = exp(X) has det > 0
    a = torch.diag(chain.frequencies.sqrt()) @ modes.T
    with torch.no_grad():
        model.encoder.layers[0].generator.copy_(torch.from_numpy(scipy.linalg.logm(a.numpy()).real))
        model.base_frequency.copy_(chain.frequencies)
    x0 = chain.sample_initial_states(5, torch.Generator().manual_seed(1))
    for jump in (1.0, 50.0, 2.5):
        assert (model(x0, jump) - chain.evolve(x0, jump)).abs().max() < 1e-9
    actions, _ = model.to_action_angle(x0)
    assert torch.allclose(actions, chain.mode_actions(x0), atol=1e-10)
    # along true trajectories the learned actions are conserved; a perturbed encoder's are not (non-vacuous)
    traj = chain.reference_trajectory(x0, 300, 1.0)
    learned = model.to_action_angle(traj)[0]
    assert (learned - learned[:, :1]).abs().max() < 1e-10
    with torch.no_grad():
        model.encoder.layers[0].generator.add_(0.05 * torch.randn(3, 3, dtype=torch.float64))
    learned = model.to_action_angle(traj)[0]
    assert (learned - learned[:, :1]).abs().max() > 1e-3


def test_action_angle_network_conserves_actions_and_round_trips():
    torch.manual_seed(0)
    model = ActionAngleNetwork(2, hidden=8).double()
    for layer in model.encoder.layers[1:]:
        torch.nn.init.normal_(layer.potential.amplitude, std=0.5)
    x = _states(6, 4)
    actions, angles = model.to_action_angle(x)
    assert (model.from_action_angle(actions, angles) - x).abs().max() < 1e-12
    for jump in (1.0, 7.0, 50.0, 0.3):
        later = model(x, jump)
        assert (model.to_action_angle(later)[0] - actions).abs().max() < 1e-10
    assert (model(x, 0.0) - x).abs().max() < 1e-12
    # jumping twice by 5 is jumping once by 10 (actions fixed, so the frequencies are the same)
    assert (model(model(x, 5.0), 5.0) - model(x, 10.0)).abs().max() < 1e-10


@pytest.mark.parametrize("cls", [EulerUpdateNetwork, NeuralODE, HamiltonianNetwork])
def test_baselines_take_mixed_jumps_and_zero_is_identity(cls):
    torch.manual_seed(0)
    model = cls(2).double()
    for p in model.parameters():  # leave the zero-initialised read-outs: perturb everything
        torch.nn.init.normal_(p, std=0.3)
    x = _states(4, 4)
    jump = torch.tensor([0.0, 1.0, 3.0, 2.0], dtype=torch.float64)
    y = model(x, jump)
    assert (y[0] - x[0]).abs().max() < 1e-12  # (encoder then its inverse: rounding)
    single = torch.stack([model(x[i : i + 1], jump[i : i + 1])[0] for i in range(4)])
    assert (y - single).abs().max() < 1e-12
    if cls is not NeuralODE:
        assert (model(model(x, 1.0), 2.0) - model(x, 3.0)).abs().max() < 1e-12  # a stepper composes exactly


def test_hamiltonian_network_conserves_its_own_energy_to_second_order():
    torch.manual_seed(0)
    model = HamiltonianNetwork(2, substeps=4).double()
    x = _states(3, 4)
    energy0 = model.hamiltonian(x)
    drift = (model.hamiltonian(model(x, 50.0)) - energy0).abs().max()
    assert drift < 1e-2 * energy0.abs().max().clamp_min(1.0)


def test_bad_input_names_the_argument():
    model = ActionAngleNetwork(2).double()
    x = _states(3, 4)
    with pytest.raises(ValueError, match="state must be finite"):
        model(torch.tensor([[0.0, math.inf, 0.0, 0.0]], dtype=torch.float64), 1.0)
    with pytest.raises(ValueError, match=r"state must have shape \[\.\.\., 4\]"):
        model(_states(3, 6), 1.0)
    with pytest.raises(ValueError, match="jump must be finite and >= 0"):
        model(x, -1.0)
    with pytest.raises(ValueError, match="jump must be a number or have shape"):
        model(x, torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="whole number of steps"):
        EulerUpdateNetwork(2).double()(x, 1.5)
    with pytest.raises(ValueError, match="whole number of steps"):
        HamiltonianNetwork(2).double()(x, 0.5)
    NeuralODE(2).double()(x, 0.5)  # continuous in time


def test_missing_torchdiffeq_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "torchdiffeq":
            raise ImportError("no torchdiffeq")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"'dynamics' extra"):
        require_torchdiffeq()


def _fit_hamiltonian_network(model, pairs, steps, lr=3e-2):
    x0, jump, x1 = pairs
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(len(x0), (64,), generator=gen)
        loss = ((model(x0[idx], jump[idx]) - x1[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(((model(x0, jump) - x1) ** 2).mean())


def test_hamiltonian_network_fits_a_harmonic_oscillator_and_the_old_start_does_not():
    """One oscillator (omega = 0.7) sampled at dt = 1, jumps 1-10 as in the pipeline: from its start (H of an
    oscillator at omega 0.3) 100 Adam steps fit the state map and its H is conserved along true trajectories;
    started near H = 0 (the earlier initialization: tiny random quadratic forms) the same budget leaves it on the
    plateau (state MSE about 2.5)."""
    chain = uncoupled_oscillators(1, stiffness=[0.49])
    x0 = chain.sample_initial_states(4, torch.Generator().manual_seed(0))
    traj = chain.reference_trajectory(x0, 60, 1.0)
    pairs = [torch.cat(t) for t in zip(*[(traj[:, : -j].reshape(-1, 2), torch.full((4 * (60 - j),), float(j),
                                                                                    dtype=torch.float64),
                                          traj[:, j:].reshape(-1, 2)) for j in range(1, 11)])]
    torch.manual_seed(0)
    model = HamiltonianNetwork(1, hidden=16).double()
    mse = _fit_hamiltonian_network(model, pairs, 100)
    assert mse < 2e-3
    with torch.no_grad():
        learned = model.hamiltonian(traj)                     # [4, 60]
        spread = (learned.std(1) / (learned - model.hamiltonian(torch.zeros(1, 2, dtype=torch.float64))).mean(1))
    assert spread.abs().max() < 0.06   # a leapfrog of step 0.5 conserves a shadow H, not exactly the true one
    torch.manual_seed(0)
    old = HamiltonianNetwork(1, hidden=16).double()
    old.kinetic, old.potential = (ScalarPotential(1, 16, init_scale=0.1).double() for _ in range(2))
    assert _fit_hamiltonian_network(old, pairs, 100) > 0.5

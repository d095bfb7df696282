"""workbench.dynamics.calibration: the Action-Angle Network's closed-form frequency refit from unwrapped encoded
angles. On a model whose encoder is the exact action-angle map of a coupled chain but whose omega(J) is wrong (an
offset and a spurious action dependence) the refit recovers the normal-mode frequencies and the long-jump
prediction, leaving the encoder (and so the actions and symplecticity) untouched; angles advancing by more than pi
per step are unwrapped correctly where a plain unwrap aliases; bad input is refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from workbench.dynamics import ActionAngleNetwork, coupled_oscillators, symplecticity_error, uncoupled_oscillators
from workbench.dynamics.calibration import calibrate_frequencies, measured_frequencies, unwrapped_angles

pytestmark = pytest.mark.unit


def _exact_model(chain, seed: int = 0) -> ActionAngleNetwork:
    """Encoder = the exact action-angle map of ``chain`` (normal modes scaled by sqrt(omega)); omega(J) wrong."""
    torch.manual_seed(seed)
    model = ActionAngleNetwork(chain.n_dof, n_layers=0).double()
    modes = chain.modes * torch.linalg.det(chain.modes).sign()
    a = torch.diag(chain.frequencies.sqrt()) @ modes.T
    with torch.no_grad():
        model.encoder.layers[0].generator.copy_(torch.from_numpy(scipy.linalg.logm(a.numpy()).real))
        model.base_frequency.copy_(chain.frequencies * 1.01 + 0.002)
        torch.nn.init.normal_(model.frequency_net[-1].weight, std=3e-3)   # omega depends on J: wrong here
    return model


def _mse(model, chain, x0, jump):
    with torch.no_grad():
        return float(((model(x0, jump) - chain.evolve(x0, jump)) ** 2).mean())


def test_refit_recovers_normal_mode_frequencies_and_long_jumps():
    chain = coupled_oscillators(3)
    model = _exact_model(chain)
    x0 = chain.sample_initial_states(8, torch.Generator().manual_seed(3))
    train = chain.reference_trajectory(x0, 100, 1.0)                       # the training window only
    test = chain.evolve(x0, 500.0)                                          # far later states
    before = _mse(model, chain, test, 50.0)
    encoder = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    report = calibrate_frequencies(model, train)
    after = _mse(model, chain, test, 50.0)
    assert before > 1e-3 and after < 1e-9, (before, after)    # non-vacuous: wrong before, exact after (to ridge)
    assert torch.allclose(report.measured, chain.frequencies.expand(8, 3), rtol=0, atol=1e-12)
    assert (report.before - report.measured).abs().max() > 1e-3
    assert (report.after - report.measured).abs().max() < 1e-6                # the ridge (1e-6) leaves ~1e-7
    learned = model.frequencies(model.to_action_angle(test)[0])
    assert (learned - chain.frequencies).abs().max() < 1e-6
    assert report.fit_rms.max() < 1e-10                                    # exact encoder: straight angle lines
    assert all(torch.equal(v, encoder[k]) for k, v in model.encoder.state_dict().items())
    assert symplecticity_error(model.encoder, x0[:3]) < 1e-12


def test_unwrapping_follows_the_model_beyond_pi_per_step():
    omega = 4.0                                                            # > pi per unit step: aliased samples
    osc = uncoupled_oscillators(1, stiffness=[omega**2])
    model = ActionAngleNetwork(1, n_layers=0, initial_frequencies=(3.7, 3.7)).double()
    with torch.no_grad():                                                  # exact map: q -> sqrt(omega) q
        model.encoder.layers[0].generator.fill_(0.5 * math.log(omega))
    traj = osc.reference_trajectory(osc.sample_initial_states(2, torch.Generator().manual_seed(0)), 40, 1.0)
    _, slopes, rms = measured_frequencies(model, traj)
    assert torch.allclose(slopes, torch.full_like(slopes, omega), atol=1e-10) and rms.max() < 1e-10
    plain = np.unwrap(model.to_action_angle(traj)[1].detach().numpy(), axis=1)   # control: numpy aliases
    assert abs(np.polyfit(np.arange(40.0), plain[0, :, 0], 1)[0] - omega) > 1.0
    actions, angles = unwrapped_angles(model, traj)
    assert angles.shape == actions.shape == (2, 40, 1)


def test_bad_input_names_the_argument():
    model = ActionAngleNetwork(2).double()
    good = torch.zeros(2, 5, 4, dtype=torch.float64)
    cases = [
        ((torch.nn.Linear(2, 2), good), "model must be an ActionAngleNetwork"),
        ((model, torch.zeros(5, 4, dtype=torch.float64)), r"trajectories must have shape \[B, T, 4\]"),
        ((model, torch.zeros(2, 2, 4, dtype=torch.float64)), "T >= 3"),
        ((model, torch.zeros(2, 5, 6, dtype=torch.float64)), "trajectories must have shape"),
        ((model, torch.full((2, 5, 4), math.nan, dtype=torch.float64)), "trajectories must be finite"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            calibrate_frequencies(*args)
    with pytest.raises(ValueError, match="ridge must be a finite number >= 0"):
        calibrate_frequencies(model, good + 0.1, ridge=-1.0)
    with pytest.raises(ValueError, match=r"actions and targets must both have shape \[M, 2\]"):
        model.refit_frequencies(torch.ones(3, 2, dtype=torch.float64), torch.ones(4, 2, dtype=torch.float64))


def test_validation_keeps_a_refit_that_helps_and_restores_one_that_does_not():
    chain = coupled_oscillators(3)
    x0 = chain.sample_initial_states(8, torch.Generator().manual_seed(3))
    train = chain.reference_trajectory(x0, 100, 1.0)
    held = chain.evolve(x0, 300.0)
    jump = torch.full((8,), 7.0, dtype=torch.float64)
    model = _exact_model(chain)
    report = calibrate_frequencies(model, train, validation=(held, jump, chain.evolve(held, 7.0)))
    assert report.accepted and report.validation_after < 1e-3 * report.validation_before
    # validation targets made by the uncalibrated model itself: any refit raises their MSE from 0, so it is refused
    model = _exact_model(chain)
    with torch.no_grad():
        own = model(held, jump)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    report = calibrate_frequencies(model, train, validation=(held, jump, own))
    assert not report.accepted and report.validation_before == 0.0 < report.validation_after
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())
    assert report.summary()["accepted"] is False
    with pytest.raises(ValueError, match="validation must be a triple"):
        calibrate_frequencies(model, train, validation=(held, jump))
    with pytest.raises(ValueError, match="same number of pairs"):
        calibrate_frequencies(model, train, validation=(held, jump, own[:3]))

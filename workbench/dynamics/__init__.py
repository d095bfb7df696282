"""workbench.dynamics: physical simulators with exact references, and learned simulators that jump in time.

Simulators (float64, states ``[..., 2n]`` = ``(q, p)``, conserved quantities exposed, :mod:`.systems`):
``"harmonic"`` and ``"coupled_harmonic"`` oscillators (exact by normal modes, :mod:`.oscillators`), ``"kepler"``
(exact by Kepler's equation, :mod:`.kepler`), ``"double_pendulum"`` (RK4, chaotic, :mod:`.pendulum`); datasets with
the Action-Angle Networks protocol (:mod:`.dataset`). Learned simulators, all ``model(state, jump)``:
:class:`ActionAngleNetwork` (symplectic encoder, actions and angles, one-shot jumps; its training ends with
:func:`calibrate_frequencies`, :mod:`.calibration`), and the baselines
:class:`EulerUpdateNetwork`, :class:`NeuralODE` (the ``dynamics`` extra: torchdiffeq) and
:class:`HamiltonianNetwork` (:mod:`.baselines`).

Examples:
    >>> from workbench.dynamics import make_system
    >>> make_system("coupled_harmonic", n_oscillators=2).frequencies
    tensor([0.4200, 0.7897], dtype=torch.float64)
"""

from workbench.dynamics.action_angle import ActionAngleNetwork
from workbench.dynamics.baselines import EulerUpdateNetwork, HamiltonianNetwork, NeuralODE
from workbench.dynamics.calibration import FrequencyCalibration, calibrate_frequencies
from workbench.dynamics.dataset import SYSTEMS, DynamicsDataset, check_jumps, make_dynamics_dataset, make_system
from workbench.dynamics.kepler import Kepler
from workbench.dynamics.oscillators import HarmonicOscillators, coupled_oscillators, uncoupled_oscillators
from workbench.dynamics.pendulum import DoublePendulum
from workbench.dynamics.symplectic import SymplecticEncoder, symplecticity_error
from workbench.dynamics.systems import DynamicalSystem

__all__ = [
    "SYSTEMS",
    "ActionAngleNetwork",
    "DoublePendulum",
    "DynamicalSystem",
    "DynamicsDataset",
    "EulerUpdateNetwork",
    "FrequencyCalibration",
    "HamiltonianNetwork",
    "HarmonicOscillators",
    "Kepler",
    "NeuralODE",
    "SymplecticEncoder",
    "calibrate_frequencies",
    "check_jumps",
    "coupled_oscillators",
    "make_dynamics_dataset",
    "make_system",
    "symplecticity_error",
    "uncoupled_oscillators",
]

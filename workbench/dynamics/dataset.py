"""Trajectory datasets with the protocol of Action-Angle Networks (Daigavane et al. 2022), generated on the fly.

:func:`make_dynamics_dataset` draws ``n_trajectories`` initial states from a seeded generator and samples each
reference trajectory at ``n_samples`` times ``0, dt, 2 dt, ...`` (the paper: 1,000 samples, ``dt = 1``). The time
axis is split, not the trajectories: the first ``train_fraction`` of the samples (10%) trains, the last
``test_fraction`` (50%) tests, and the samples in between validate (model selection). A learning example is a pair
``(state at t, jump k, state at t + k dt)`` with both times in the same section (:meth:`DynamicsDataset.pairs`).
Jumps are counted in sampling steps: positive integers (the paper trains on jumps 1-10 and tests on 1, 2, 5, 10,
20, 50); :func:`check_jumps` refuses anything else.

Examples:
    >>> from workbench.dynamics.dataset import make_dynamics_dataset
    >>> data = make_dynamics_dataset("coupled_harmonic", n_trajectories=2, n_samples=100, seed=0)
    >>> data.states.shape, data.sections["train"], data.sections["test"]
    (torch.Size([2, 100, 6]), (0, 10), (50, 100))
    >>> x0, jump, x1 = data.pairs("train", [1, 2])
    >>> x0.shape, jump.unique().tolist()     # 2 trajectories x (9 + 8) pairs
    (torch.Size([34, 6]), [1.0, 2.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from workbench.dynamics.kepler import Kepler
from workbench.dynamics.oscillators import coupled_oscillators, uncoupled_oscillators
from workbench.dynamics.pendulum import DoublePendulum
from workbench.dynamics.systems import DynamicalSystem, check_count, check_positive

__all__ = ["DynamicsDataset", "SECTIONS", "SYSTEMS", "check_jumps", "make_dynamics_dataset", "make_system"]

#: System name -> builder; the oscillators take ``n_oscillators``.
SYSTEMS: dict[str, Callable[..., DynamicalSystem]] = {
    "harmonic": uncoupled_oscillators,
    "coupled_harmonic": coupled_oscillators,
    "kepler": Kepler,
    "double_pendulum": DoublePendulum,
}
#: The time sections of a dataset, in time order.
SECTIONS = ("train", "val", "test")


def make_system(name: str, n_oscillators: int = 3, **kwargs: Any) -> DynamicalSystem:
    """The system ``name`` (one of :data:`SYSTEMS`); ``n_oscillators`` applies to the two oscillator systems only,
    ``kwargs`` go to the builder.

    Raises:
        ValueError: unknown ``name`` (the message lists the valid systems).
    """
    if name not in SYSTEMS:
        raise ValueError(f"unknown system {name!r}; valid systems: {', '.join(SYSTEMS)}")
    if name in ("harmonic", "coupled_harmonic"):
        kwargs["n_oscillators"] = n_oscillators
    return SYSTEMS[name](**kwargs)


def check_jumps(jumps: Sequence[int], name: str = "jumps") -> tuple[int, ...]:
    """``jumps`` as a non-empty tuple of distinct positive integers (numbers of sampling steps ``dt``); a float
    (even ``2.0``), bool, zero or negative entry raises ValueError naming ``name``."""
    if isinstance(jumps, (str, bytes)) or not isinstance(jumps, Sequence) or len(jumps) == 0:
        raise ValueError(f"{name} must be a non-empty list of positive integers (steps of dt), got {jumps!r}")
    for j in jumps:
        if isinstance(j, (bool, np.bool_)) or not isinstance(j, (int, np.integer)) or j < 1:
            raise ValueError(f"{name} must hold positive integers (jumps in steps of dt; a jump of 1.5 dt has no "
                             f"reference sample), got {j!r} in {list(jumps)!r}")
    if len(set(jumps)) != len(jumps):
        raise ValueError(f"{name} must be distinct, got {list(jumps)!r}")
    return tuple(int(j) for j in jumps)


@dataclass
class DynamicsDataset:
    """Reference trajectories and their time split (module docstring).

    ``states [B, T, 2n]`` float64 (``q`` then ``p``), ``times [T]`` = ``arange(T) * dt``; ``sections`` maps
    ``"train"``, ``"val"``, ``"test"`` to ``(start, stop)`` sample indices.
    """

    system: DynamicalSystem
    states: torch.Tensor
    times: torch.Tensor
    dt: float
    sections: dict[str, tuple[int, int]]
    seed: int

    def section(self, name: str) -> torch.Tensor:
        """The states ``[B, stop - start, 2n]`` of one section."""
        start, stop = self._bounds(name)
        return self.states[:, start:stop]

    def _bounds(self, name: str) -> tuple[int, int]:
        if name not in self.sections:
            raise ValueError(f"unknown section {name!r}; valid sections: {', '.join(SECTIONS)}")
        return self.sections[name]

    def pairs(self, section: str, jumps: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x0 [P, 2n], jump [P] float64, x1 [P, 2n])``: every state of ``section`` with the state ``jump``
        samples later in the same section, for every jump; ordered by jump, trajectory, time.

        Raises:
            ValueError: bad jumps (:func:`check_jumps`), or a jump as long as the section (no pair).
        """
        jumps = check_jumps(jumps)
        start, stop = self._bounds(section)
        x0, jump, x1 = [], [], []
        for j in jumps:
            if j >= stop - start:
                raise ValueError(f"jump {j} does not fit in the {section!r} section of {stop - start} samples")
            a, b = self.states[:, start : stop - j], self.states[:, start + j : stop]
            x0.append(a.reshape(-1, a.shape[-1]))
            x1.append(b.reshape(-1, b.shape[-1]))
            jump.append(torch.full((a.shape[0] * a.shape[1],), float(j), dtype=torch.float64))
        return torch.cat(x0), torch.cat(jump), torch.cat(x1)


def make_dynamics_dataset(system: str | DynamicalSystem, n_trajectories: int = 8, n_samples: int = 1000,
                          dt: float = 1.0, train_fraction: float = 0.1, test_fraction: float = 0.5, seed: int = 0,
                          n_oscillators: int = 3) -> DynamicsDataset:
    """Sample ``n_trajectories`` reference trajectories of ``system`` (a name of :data:`SYSTEMS` or a
    :class:`DynamicalSystem`) and split their time axis (module docstring).

    Raises:
        ValueError: unknown system, bad counts or fractions (each section needs at least 2 samples).
    """
    sys = make_system(system, n_oscillators) if isinstance(system, str) else system
    if not isinstance(sys, DynamicalSystem):
        raise ValueError(f"system must be a name ({', '.join(SYSTEMS)}) or a DynamicalSystem, got {system!r}")
    check_count(n_trajectories, "n_trajectories")
    check_count(n_samples, "n_samples", 6)
    dt = check_positive(dt, "dt")
    for name, frac in (("train_fraction", train_fraction), ("test_fraction", test_fraction)):
        if not (isinstance(frac, (int, float)) and 0 < frac < 1):
            raise ValueError(f"{name} must be a number in (0, 1), got {frac!r}")
    train_end = round(train_fraction * n_samples)
    test_start = n_samples - round(test_fraction * n_samples)
    if train_end < 2 or test_start - train_end < 2 or n_samples - test_start < 2:
        raise ValueError(f"train_fraction={train_fraction} and test_fraction={test_fraction} of {n_samples} samples "
                         "leave a section (train, val, test) with fewer than 2 samples")
    gen = torch.Generator().manual_seed(int(seed))
    state0 = sys.sample_initial_states(n_trajectories, gen)
    states = sys.reference_trajectory(state0, n_samples, dt)
    times = torch.arange(n_samples, dtype=torch.float64) * dt
    sections = {"train": (0, train_end), "val": (train_end, test_start), "test": (test_start, n_samples)}
    return DynamicsDataset(sys, states, times, dt, sections, int(seed))

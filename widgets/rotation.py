"""Rotation sliders: three Euler angles (alpha, beta, gamma) -> a rotation matrix, optionally driving a viewer.

The convention is the workbench's (e3nn 0.6): ``R = R_y(alpha) R_x(beta) R_y(gamma)``, computed by
:func:`workbench.groups.o3.angles_to_matrix` in float64. Angles are in radians.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ipywidgets
import numpy as np
import torch

from widgets.molecule_viewer import MoleculeViewer, dipole_arrow
from workbench.data.molecules import Molecule
from workbench.groups.o3 import angles_to_matrix

__all__ = ["rotation_matrix", "RotationSliders"]


def rotation_matrix(alpha: float, beta: float, gamma: float) -> np.ndarray:
    """``R_y(alpha) R_x(beta) R_y(gamma)`` as a ``[3, 3]`` float64 numpy array (angles in radians)."""
    angles = []
    for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise TypeError(f"{name} must be a real number (radians), got {type(value).__name__}")
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be finite, got {value}")
        angles.append(torch.tensor(float(value), dtype=torch.float64))
    return angles_to_matrix(*angles).numpy()


class RotationSliders:
    """Three sliders (alpha, beta, gamma in radians, each in ``[-pi, pi]``) that define a rotation.

    Attributes:
        alpha, beta, gamma: the ``ipywidgets.FloatSlider`` controls.
        widget: an ``ipywidgets.VBox`` holding them (display this).

    Use :meth:`observe` to be called with the new ``[3, 3]`` matrix on every change, or :meth:`link` to rotate a
    molecule shown in a :class:`~widgets.molecule_viewer.MoleculeViewer`.
    """

    def __init__(self, alpha: float = 0.0, beta: float = 0.0, gamma: float = 0.0, *, step: float = 0.01) -> None:
        rotation_matrix(alpha, beta, gamma)  # validates the angles
        if not (isinstance(step, (int, float)) and 0 < step <= 1):
            raise ValueError(f"step must be a number in (0, 1] radians, got {step!r}")
        wrap = lambda a: float((a + math.pi) % (2 * math.pi) - math.pi) if abs(a) > math.pi else float(a)
        kw = {"min": -math.pi, "max": math.pi, "step": step, "readout_format": ".2f", "continuous_update": True}
        self.alpha = ipywidgets.FloatSlider(value=wrap(alpha), description="alpha (y)", **kw)
        self.beta = ipywidgets.FloatSlider(value=wrap(beta), description="beta (x)", **kw)
        self.gamma = ipywidgets.FloatSlider(value=wrap(gamma), description="gamma (y)", **kw)
        self.widget = ipywidgets.VBox([self.alpha, self.beta, self.gamma])
        self._callbacks: list[Callable[[np.ndarray], None]] = []
        for slider in (self.alpha, self.beta, self.gamma):
            slider.observe(self._changed, names="value")

    @property
    def angles(self) -> tuple[float, float, float]:
        """Current ``(alpha, beta, gamma)`` in radians."""
        return float(self.alpha.value), float(self.beta.value), float(self.gamma.value)

    @angles.setter
    def angles(self, values: tuple[float, float, float]) -> None:
        alpha, beta, gamma = values
        rotation_matrix(alpha, beta, gamma)  # validates
        for slider, value in zip((self.alpha, self.beta, self.gamma), (alpha, beta, gamma)):
            if abs(value) > math.pi:
                raise ValueError(f"{slider.description.split()[0]} must lie in [-pi, pi], got {value}")
            slider.value = float(value)

    @property
    def matrix(self) -> np.ndarray:
        """The current rotation ``R_y(alpha) R_x(beta) R_y(gamma)``, ``[3, 3]`` float64."""
        return rotation_matrix(*self.angles)

    def observe(self, callback: Callable[[np.ndarray], None]) -> None:
        """Call ``callback(matrix)`` after every slider change."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        self._callbacks.append(callback)

    def link(self, viewer: MoleculeViewer, molecule: Molecule, *, dipole_scale: float = 2.0) -> None:
        """Show ``molecule`` rotated by the sliders in ``viewer`` (now and on every change).

        Positions are rotated about the origin (shipped molecules are centred); if the viewer shows arrows, the
        dipole arrow of the rotated molecule replaces them, so it turns with the molecule.
        """
        if not isinstance(viewer, MoleculeViewer):
            raise TypeError(f"viewer must be a MoleculeViewer, got {type(viewer).__name__}")
        if not isinstance(molecule, Molecule):
            raise TypeError(f"molecule must be a Molecule, got {type(molecule).__name__}")
        show_dipole = bool(viewer.arrows)

        def update(matrix: np.ndarray) -> None:
            turned = molecule.rotated(matrix)
            with viewer.hold_sync():
                viewer.positions = turned.positions
                viewer.arrows = [dipole_arrow(turned, dipole_scale)] if show_dipole else []

        self.observe(update)
        update(self.matrix)

    def _changed(self, _change: Any) -> None:
        matrix = self.matrix
        for callback in self._callbacks:
            callback(matrix)

"""Rotation sliders: three Euler angles (alpha, beta, gamma) -> a rotation matrix, optionally driving a viewer;
:class:`RotationDemo` wires them to a viewer, a readout and two plots (START_HERE's live demo).

The convention is the workbench's (e3nn 0.6): ``R = R_y(alpha) R_x(beta) R_y(gamma)``, computed by
:func:`workbench.groups.o3.angles_to_matrix` in float64. Angles are in radians.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ipywidgets
import numpy as np
import plotly.graph_objects as go
import torch

from widgets.molecule_viewer import DIPOLE_SCALE, MoleculeViewer, dipole_arrow
from widgets.plots import dipole_figure, distances_figure
from workbench.data.molecules import E_ANGSTROM_TO_DEBYE, Molecule, RotationCheck, rotation_check
from workbench.groups.o3 import angles_to_matrix

__all__ = ["rotation_matrix", "RotationSliders", "RotationDemo"]


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

    def link(self, viewer: MoleculeViewer, molecule: Molecule, *, dipole_scale: float = DIPOLE_SCALE) -> None:
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


class RotationDemo:
    """START_HERE's live demo: sliders rotate the molecule's coordinates, and the 3D view, a readout of numbers
    and two plots follow (the invariant stays, the equivariant turns).

    Args:
        molecule: the :class:`Molecule` (rotated about the origin; the shipped ones are centred).
        alpha, beta, gamma: start angles in radians (``R = R_y(alpha) R_x(beta) R_y(gamma)``).
        height: 3D view height in pixels; dipole_scale: Å of dipole arrow per Debye.

    Attributes:
        sliders: the :class:`RotationSliders`; viewer: the :class:`MoleculeViewer` (rotated positions, dipole arrow);
        readout: an ``ipywidgets.HTML`` table of :meth:`RotationCheck.metrics` and the dipole components (Debye)
        before and after; distances_figure, dipole_figure: plotly ``FigureWidget`` s of
        :func:`widgets.plots.distances_figure` and :func:`widgets.plots.dipole_figure`; check: the current
        :class:`RotationCheck`. Every slider move recomputes ``check`` and updates all of them.
    """

    def __init__(self, molecule: Molecule, alpha: float = 0.0, beta: float = 0.0, gamma: float = 0.0, *,
                 height: int = 380, dipole_scale: float = DIPOLE_SCALE) -> None:
        if not isinstance(molecule, Molecule):
            raise TypeError(f"molecule must be a Molecule, got {type(molecule).__name__}")
        self.molecule = molecule
        self.sliders = RotationSliders(alpha, beta, gamma)
        self.viewer = MoleculeViewer.from_molecule(molecule, show_dipole=True, dipole_scale=dipole_scale,
                                                   height=height)
        self.sliders.link(self.viewer, molecule, dipole_scale=dipole_scale)
        self.check = rotation_check(molecule, self.sliders.matrix)
        self.readout = ipywidgets.HTML()
        self.distances_figure = go.FigureWidget(distances_figure(self.check))
        self.dipole_figure = go.FigureWidget(dipole_figure(self.check))
        self._show()
        self.sliders.observe(self.update)

    def update(self, matrix: np.ndarray | None = None) -> RotationCheck:
        """Recompute the check for ``matrix`` (default: the sliders' rotation) and refresh readout and plots."""
        self.check = rotation_check(self.molecule, self.sliders.matrix if matrix is None else matrix)
        self._show()
        return self.check

    def metrics(self) -> dict[str, float | str]:
        """The molecule, the angles and :meth:`RotationCheck.metrics` of the current rotation (for metrics.json)."""
        alpha, beta, gamma = self.sliders.angles
        out: dict[str, float | str] = {"molecule": self.molecule.name, "n_atoms": self.molecule.n_atoms,
                                       "alpha": alpha, "beta": beta, "gamma": gamma}
        out.update(self.check.metrics())
        return out

    def _show(self) -> None:
        check = self.check
        fresh_distances = distances_figure(check)
        with self.distances_figure.batch_update():
            for trace, new in zip(self.distances_figure.data, fresh_distances.data):
                trace.y = new.y
            self.distances_figure.layout.title.text = fresh_distances.layout.title.text
        fresh_dipole = dipole_figure(check)
        with self.dipole_figure.batch_update():
            for trace, new in zip(self.dipole_figure.data, fresh_dipole.data):
                trace.y = new.y
            self.dipole_figure.layout.title.text = fresh_dipole.layout.title.text
        before = E_ANGSTROM_TO_DEBYE * check.dipole_before
        after = E_ANGSTROM_TO_DEBYE * check.dipole_after
        alpha, beta, gamma = self.sliders.angles
        rows = [
            ("angles (alpha, beta, gamma)", f"{alpha:+.2f}, {beta:+.2f}, {gamma:+.2f} rad", "angles"),
            ("shortest distance before / after", f"{check.distances_before[0]:.6f} / "
                                                 f"{check.distances_after[0]:.6f} Å", "shortest-distance"),
            ("max |distance change| (invariant)", f"{check.invariant_max_abs_change:.1e} Å", "invariant-change"),
            ("dipole before (x, y, z)", ", ".join(f"{v:+.3f}" for v in before) + " D", "dipole-before"),
            ("dipole after (x, y, z)", ", ".join(f"{v:+.3f}" for v in after) + " D", "dipole-after"),
            ("|μ(R x) − R μ(x)| (equivariance)", f"{E_ANGSTROM_TO_DEBYE * check.dipole_equivariance_error:.1e} D",
             "equivariance-error"),
            ("|μ| (invariant again)", f"{np.linalg.norm(after):.4f} D", "dipole-norm"),
        ]
        body = "".join(f"<tr data-key='{key}'><td>{label}</td><td style='font-family:monospace'>{value}</td></tr>"
                       for label, value, key in rows)
        self.readout.value = (
            f"<table class='wb-rotation-readout' data-dipole-after-x='{after[0]:.6e}' "
            f"data-invariant-change='{check.invariant_max_abs_change:.6e}' "
            f"data-shortest-distance='{check.distances_after[0]:.12f}'>{body}</table>"
        )

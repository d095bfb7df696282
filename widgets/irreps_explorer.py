"""IrrepsExplorer: real spherical harmonics on the sphere, rotated through their Wigner D matrices.

The numbers the widget shows come from small pure functions (unit-tested in ``tests/teaching/``); the widget
class only wires sliders to them and redraws plotly figures. Figures are shown in ``ipywidgets.Output`` areas
as plotly's JSON mimetype (``application/vnd.plotly.v1+json``), drawn by the ``jupyterlab-plotly`` extension
that ships with plotly and carries its own plotly.js — the offline route of ``widgets.plots``; nothing is
fetched from a CDN.

Conventions (e3nn 0.6, see ``workbench.groups.o3``):

* ``Y^l(x)`` is the real spherical-harmonics vector of degree ``l``: ``2l+1`` components indexed by
  ``m = -l..l`` (component index ``m + l``). For ``l = 1`` the components are proportional to ``(x, y, z)``.
* Rotations are given by Y-X-Y Euler angles ``(alpha, beta, gamma)``; ``R = angles_to_matrix(alpha, beta, gamma)``
  and ``D^l(R) = wigner_D(l, alpha, beta, gamma)`` satisfy ``Y^l(R x) = D^l(R) Y^l(x)``.
* The group element ``g`` is ``R`` or, with ``parity=True``, the improper rotation ``-R`` (inversion then ``R``).
  Spherical harmonics of degree ``l`` carry the O(3) irrep ``l`` with parity ``(-1)**l`` ("0e", "1o", "2e", ...),
  so ``D(-R) = (-1)**l D(R)``.
* Acting with ``g`` on the function ``f = Y^l_m`` gives ``(g.f)(x) = f(g^{-1} x)``, which is again a combination of
  degree-``l`` harmonics: ``(g.f)(x) = sum_k c_k Y^l_k(x)`` with ``c = D(g)[:, m + l]`` — the bar chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import torch

from widgets.rotation import rotation_matrix
from workbench.groups import o3

__all__ = [
    "NORMALIZATIONS",
    "MAX_DEGREE",
    "HarmonicView",
    "sphere_points",
    "spherical_harmonic_values",
    "rotation_matrix",
    "group_element_wigner_D",
    "rotated_coefficients",
    "harmonic_view",
    "show_figure",
    "IrrepsExplorer",
]

#: Normalizations of ``workbench.groups.o3.spherical_harmonics`` (e3nn's names).
NORMALIZATIONS: tuple[str, ...] = ("integral", "component", "norm")
#: Largest degree the explorer accepts (the surface stays readable and fast up to here).
MAX_DEGREE = 12


def _check_degree(l: object) -> int:
    if isinstance(l, bool) or not isinstance(l, (int, np.integer)):
        raise TypeError(f"l must be an int in 0..{MAX_DEGREE}, got {type(l).__name__} {l!r}")
    if not 0 <= int(l) <= MAX_DEGREE:
        raise ValueError(f"l must be in 0..{MAX_DEGREE}, got l={l}")
    return int(l)


def _check_order(l: int, m: object) -> int:
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
        raise TypeError(f"m must be an int with -l <= m <= l, got {type(m).__name__} {m!r}")
    if not -l <= int(m) <= l:
        raise ValueError(f"m must satisfy -l <= m <= l (l={l}), got m={m}")
    return int(m)


def _check_normalization(normalization: object) -> str:
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    return str(normalization)


def _check_angle(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number (radians), got {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite (radians), got {value!r}")
    return float(value)


def sphere_points(resolution: int = 40) -> np.ndarray:
    """Unit vectors on a latitude-longitude grid, shape ``[resolution, 2 * resolution, 3]`` (float64).

    Rows run over the polar angle ``theta`` in ``[0, pi]`` (measured from +z), columns over the azimuth ``phi`` in
    ``[0, 2 pi]`` (the seam is duplicated so a plotted surface closes).
    """
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)):
        raise TypeError(f"resolution must be an int >= 4, got {type(resolution).__name__} {resolution!r}")
    if resolution < 4:
        raise ValueError(f"resolution must be an int >= 4, got {resolution}")
    theta = np.linspace(0.0, np.pi, int(resolution))
    phi = np.linspace(0.0, 2.0 * np.pi, 2 * int(resolution))
    theta, phi = np.meshgrid(theta, phi, indexing="ij")
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], axis=-1)


def spherical_harmonic_values(l: int, points: np.ndarray, normalization: str = "component") -> np.ndarray:
    """Real spherical harmonics ``Y^l`` at ``points``: ``[..., 3]`` -> ``[..., 2l+1]`` (float64, e3nn basis).

    ``points`` are normalized to the unit sphere first (zero vectors are rejected). ``normalization`` is one of
    :data:`NORMALIZATIONS` with e3nn's meaning ("component": each component has mean square 1 over the sphere;
    "norm": ``|Y^l(x)| = 1``; "integral": ``int |Y^l_m|^2 = 1``).
    """

    l = _check_degree(l)
    normalization = _check_normalization(normalization)
    points = np.asarray(points, dtype=np.float64)
    if points.ndim < 1 or points.shape[-1] != 3:
        raise ValueError(f"points must have shape [..., 3], got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError("points must be finite (found NaN or inf)")
    if np.any(np.linalg.norm(points, axis=-1) == 0.0):
        raise ValueError("points must be non-zero vectors (the direction of the zero vector is undefined)")
    values = o3.spherical_harmonics(l, torch.from_numpy(points), normalize=True, normalization=normalization)
    return values.detach().cpu().numpy().astype(np.float64)


def group_element_wigner_D(l: int, alpha: float, beta: float, gamma: float, parity: bool = False) -> np.ndarray:
    """``D(g)`` of the O(3) irrep carried by degree-``l`` harmonics, ``[2l+1, 2l+1]`` float64.

    ``g = R(alpha, beta, gamma)``, or ``-R`` when ``parity`` is true; the irrep is ``l`` with parity ``(-1)**l``,
    so the improper element multiplies ``D^l(R)`` by ``(-1)**l``.
    """

    l = _check_degree(l)
    if not isinstance(parity, (bool, np.bool_)):
        raise TypeError(f"parity must be a bool, got {type(parity).__name__} {parity!r}")
    angles = [torch.tensor(_check_angle(v, n), dtype=torch.float64)
              for v, n in ((alpha, "alpha"), (beta, "beta"), (gamma, "gamma"))]
    D = o3.wigner_D(l, *angles).numpy()
    return (-1.0) ** l * D if parity else D


def rotated_coefficients(D: np.ndarray, m: int) -> np.ndarray:
    """Coefficients ``c = D[:, m + l]`` of ``g.Y^l_m`` in the basis ``Y^l_{-l..l}``; ``D`` is ``[2l+1, 2l+1]``."""
    D = np.asarray(D, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != D.shape[1] or D.shape[0] % 2 != 1:
        raise ValueError(f"D must be a square [2l+1, 2l+1] matrix, got shape {D.shape}")
    l = (D.shape[0] - 1) // 2
    m = _check_order(l, m)
    return D[:, m + l].copy()


@dataclass(frozen=True)
class HarmonicView:
    """Everything :class:`IrrepsExplorer` displays for one setting of its controls.

    Attributes:
        l, m, normalization, parity: the controls.
        irrep: the O(3) irrep label of degree-``l`` harmonics, e.g. ``"2e"``.
        element: the group element ``g`` (``R`` or ``-R``), ``[3, 3]``.
        wigner_D: ``D(g)``, ``[2l+1, 2l+1]``.
        coefficients: ``D(g)[:, m + l]``, ``[2l+1]``: ``g.Y_m = sum_k coefficients[k] Y_k``.
        points: unit vectors of the grid, ``[n_theta, n_phi, 3]``.
        values: ``(g.Y_m)(x)`` on the grid, ``[n_theta, n_phi]`` (the surface colour).
        surface: ``|values| * points``, ``[n_theta, n_phi, 3]`` (the plotted surface).
        check_error: ``max_x |sum_k c_k Y_k(x) - Y_m(g^{-1} x)|`` — zero up to rounding when ``D`` is right.
    """

    l: int
    m: int
    normalization: str
    parity: bool
    irrep: str
    element: np.ndarray
    wigner_D: np.ndarray
    coefficients: np.ndarray
    points: np.ndarray
    values: np.ndarray
    surface: np.ndarray
    check_error: float


def harmonic_view(l: int, m: int, normalization: str = "component", alpha: float = 0.0, beta: float = 0.0,
                  gamma: float = 0.0, parity: bool = False, resolution: int = 40) -> HarmonicView:
    """Compute the rotated harmonic ``g.Y^l_m`` two ways and everything needed to draw it.

    ``values`` are evaluated through the Wigner D coefficients (``sum_k c_k Y_k(x)``); ``check_error`` compares them
    with the direct evaluation ``Y_m(g^{-1} x)``, so a wrong ``D`` or a wrong basis shows up as a large error.
    """
    l = _check_degree(l)
    m = _check_order(l, m)
    normalization = _check_normalization(normalization)
    D = group_element_wigner_D(l, alpha, beta, gamma, parity)
    R = rotation_matrix(alpha, beta, gamma)
    element = -R if parity else R
    coefficients = rotated_coefficients(D, m)
    points = sphere_points(resolution)
    basis = spherical_harmonic_values(l, points, normalization)  # [nt, np, 2l+1]
    values = basis @ coefficients
    # g^{-1} x = element^T x for an orthogonal element; as row vectors: x @ element.
    direct = spherical_harmonic_values(l, points @ element, normalization)[..., m + l]
    check_error = float(np.max(np.abs(values - direct)))
    irrep = f"{l}{'e' if l % 2 == 0 else 'o'}"
    surface = np.abs(values)[..., None] * points
    return HarmonicView(l=l, m=m, normalization=normalization, parity=bool(parity), irrep=irrep, element=element,
                        wigner_D=D, coefficients=coefficients, points=points, values=values, surface=surface,
                        check_error=check_error)


def show_figure(output: Any, figure: Any) -> None:
    """Replace the content of the ``ipywidgets.Output`` ``output`` by the plotly ``figure`` (offline mimetype)."""

    bundle = pio.renderers["plotly_mimetype"].to_mimebundle(figure.to_dict())
    output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)


def _component_labels(l: int) -> list[str]:
    return [f"m={k}" for k in range(-l, l + 1)]


class IrrepsExplorer:
    """Interactive view of a real spherical harmonic under O(3).

    Controls: degree ``l``, order ``m``, normalization, Euler angles ``alpha, beta, gamma`` (radians, Y-X-Y) and
    a parity toggle (compose with the inversion ``-I``). Views: the rotated harmonic as a surface (radius
    ``|Y|``, colour = sign and size), its ``2l+1`` coefficients (bar chart) and ``D(g)`` (heatmap), plus the
    numerical check that the two ways of rotating agree. Display it as the last expression of a cell (or with
    ``IPython.display.display(explorer)``).

    Attributes:
        view: the current :class:`HarmonicView`.
        surface_figure, coefficients_figure, wigner_figure: the plotly figures (``go.Figure``), kept in sync with
            the view and shown in the ``outputs`` ("surface", "coefficients", "wigner": ``ipywidgets.Output``).
        controls: the ipywidgets controls by name ("l", "m", "normalization", "alpha", "beta", "gamma", "parity").
        widget: the top-level ipywidgets container.
    """

    def __init__(self, l: int = 2, m: int = 0, normalization: str = "component", alpha: float = 0.0,
                 beta: float = 0.0, gamma: float = 0.0, parity: bool = False, l_max: int = 6,
                 resolution: int = 36) -> None:

        l_max = _check_degree(l_max)
        l = _check_degree(l)
        if l > l_max:
            raise ValueError(f"l={l} exceeds l_max={l_max}")
        self._resolution = resolution
        self.view = harmonic_view(l, m, normalization, alpha, beta, gamma, parity, resolution)
        slider = dict(min=-math.pi, max=math.pi, step=0.05, continuous_update=False, readout_format=".2f")
        self.controls = {
            "l": w.IntSlider(value=l, min=0, max=l_max, description="l", continuous_update=False),
            "m": w.IntSlider(value=m, min=-l, max=l, description="m", continuous_update=False),
            "normalization": w.Dropdown(options=list(NORMALIZATIONS), value=normalization,
                                        description="normalization"),
            "alpha": w.FloatSlider(value=alpha, description="alpha", **slider),
            "beta": w.FloatSlider(value=beta, description="beta", **slider),
            "gamma": w.FloatSlider(value=gamma, description="gamma", **slider),
            "parity": w.Checkbox(value=bool(parity), description="parity (compose with -I)"),
        }
        self.status = w.HTML()
        view = self.view
        self.surface_figure = go.Figure(
            data=[go.Surface(x=view.surface[..., 0], y=view.surface[..., 1], z=view.surface[..., 2],
                             surfacecolor=view.values, colorscale="RdBu", cmid=0.0, showscale=True,
                             colorbar=dict(title="value", len=0.6))],
            layout=go.Layout(width=420, height=400, margin=dict(l=0, r=0, t=30, b=0),
                             scene=dict(aspectmode="cube", xaxis_title="x", yaxis_title="y", zaxis_title="z")),
        )
        self.coefficients_figure = go.Figure(
            data=[go.Bar(x=_component_labels(view.l), y=view.coefficients, marker_color="#4c72b0")],
            layout=go.Layout(width=380, height=300, margin=dict(l=40, r=10, t=40, b=40),
                             yaxis=dict(range=[-1.05, 1.05], title="coefficient")),
        )
        self.wigner_figure = go.Figure(
            data=[go.Heatmap(z=view.wigner_D, x=_component_labels(view.l), y=_component_labels(view.l),
                             colorscale="RdBu", zmin=-1.0, zmax=1.0, zmid=0.0)],
            layout=go.Layout(width=380, height=340, margin=dict(l=50, r=10, t=40, b=40),
                             yaxis=dict(autorange="reversed")),
        )
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        c = self.controls
        self.outputs = {name: w.Output() for name in ("surface", "coefficients", "wigner")}
        for name, output in self.outputs.items():
            output.add_class(f"workbench-irreps-{name}")
        self.widget = w.VBox([
            w.HBox([c["l"], c["m"], c["normalization"]]),
            w.HBox([c["alpha"], c["beta"], c["gamma"], c["parity"]]),
            w.HBox([self.outputs["surface"], w.VBox([self.outputs["coefficients"], self.outputs["wigner"]])]),
            self.status,
        ])
        self.widget.add_class("workbench-irreps-explorer")
        self._draw()

    def _on_change(self, change: dict) -> None:
        c = self.controls
        if change["owner"] is c["l"]:
            new_l = c["l"].value
            c["m"].unobserve(self._on_change, names="value")
            try:  # widen before narrowing so min <= max holds at every step
                c["m"].min, c["m"].max = -max(new_l, c["m"].max), max(new_l, c["m"].max)
                c["m"].value = max(-new_l, min(new_l, c["m"].value))
                c["m"].min, c["m"].max = -new_l, new_l
            finally:
                c["m"].observe(self._on_change, names="value")
        self.update()

    def update(self) -> HarmonicView:
        """Recompute the view from the controls and redraw the figures; returns the new view."""
        c = self.controls
        self.view = harmonic_view(c["l"].value, c["m"].value, c["normalization"].value, c["alpha"].value,
                                  c["beta"].value, c["gamma"].value, c["parity"].value, self._resolution)
        self._draw()
        return self.view

    def _draw(self) -> None:
        view = self.view
        labels = _component_labels(view.l)
        element = "-R" if view.parity else "R"
        surface = self.surface_figure.data[0]
        surface.x, surface.y, surface.z = view.surface[..., 0], view.surface[..., 1], view.surface[..., 2]
        surface.surfacecolor = view.values
        self.surface_figure.layout.title = f"g.Y(l={view.l}, m={view.m}), g = {element}"
        bound = max(1.05, 1.05 * float(np.max(np.abs(view.coefficients))))
        self.coefficients_figure.data[0].x = labels
        self.coefficients_figure.data[0].y = view.coefficients
        self.coefficients_figure.layout.yaxis.range = [-bound, bound]
        self.coefficients_figure.layout.title = f"coefficients of g.Y_m: column m={view.m} of D(g)"
        heat = self.wigner_figure.data[0]
        heat.z, heat.x, heat.y = view.wigner_D, labels, labels
        self.wigner_figure.layout.title = f"D(g) of irrep {view.irrep} ({2 * view.l + 1}x{2 * view.l + 1})"
        for name, figure in (("surface", self.surface_figure), ("coefficients", self.coefficients_figure),
                             ("wigner", self.wigner_figure)):
            show_figure(self.outputs[name], figure)
        self.status.value = (
            f"<span class='workbench-irreps-status'>irrep <b>{view.irrep}</b>, normalization "
            f"<b>{view.normalization}</b>; check max|sum_k c_k Y_k(x) - Y_m(g<sup>-1</sup>x)| = "
            f"<b>{view.check_error:.2e}</b>; coefficients = "
            f"[{', '.join(f'{c:+.3f}' for c in view.coefficients)}]</span>"
        )

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        return self.widget._repr_mimebundle_(**kwargs)

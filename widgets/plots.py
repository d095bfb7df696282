"""Plotly figures for "what a rotation does", rendered and saved without any network access.

In JupyterLab, :func:`use_offline_plotly` selects plotly's ``plotly_mimetype`` renderer: the figure travels as
JSON (``application/vnd.plotly.v1+json``) and is drawn by the ``jupyterlab-plotly`` extension that ships with the
plotly package, which carries its own plotly.js (no CDN, no trusted notebook needed). Saved figures
(:func:`write_figure_html`) load plotly.js from a ``plotly.min.js`` copied next to them out of the installed
plotly package.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from workbench.data.molecules import E_ANGSTROM_TO_DEBYE, RotationCheck

__all__ = ["OFFLINE_RENDERER", "use_offline_plotly", "distances_figure", "dipole_figure", "write_figure_html"]

#: The plotly renderer used in notebooks: JSON mimetype, drawn by the bundled JupyterLab extension.
OFFLINE_RENDERER = "plotly_mimetype"


def use_offline_plotly() -> str:
    """Make ``fig.show()`` use :data:`OFFLINE_RENDERER` (never a CDN renderer); returns the renderer name."""
    pio.renderers.default = OFFLINE_RENDERER
    return OFFLINE_RENDERER


def distances_figure(check: RotationCheck, title: str | None = None) -> go.Figure:
    """Sorted interatomic distances before (line) and after (markers) the rotation: they coincide."""
    _require_check(check)
    index = np.arange(1, check.distances_before.size + 1)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=index, y=check.distances_before, mode="lines", name="before rotation",
                             line={"width": 3, "color": "#1f77b4"}))
    fig.add_trace(go.Scatter(x=index, y=check.distances_after, mode="markers", name="after rotation",
                             marker={"size": 7, "color": "#ff7f0e", "symbol": "x"}))
    fig.update_layout(
        title=title or f"Invariant: sorted distances (max change {check.invariant_max_abs_change:.1e} Å)",
        xaxis_title="pair rank", yaxis_title="distance (Å)", template="plotly_white", height=360,
    )
    return fig


def dipole_figure(check: RotationCheck, title: str | None = None, debye: bool = True) -> go.Figure:
    """Dipole components: of the molecule, of the rotated molecule, and the original dipole rotated by ``R``.

    The second and third bar groups agree (the dipole is equivariant); they differ from the first unless ``R``
    happens to fix the dipole direction.
    """
    _require_check(check)
    unit, factor = ("D", E_ANGSTROM_TO_DEBYE) if debye else ("e·Å", 1.0)
    components = ["x", "y", "z"]
    fig = go.Figure()
    series = [
        ("μ(x): before rotation", check.dipole_before, "#1f77b4"),
        ("μ(R x): after rotation", check.dipole_after, "#ff7f0e"),
        ("R μ(x): rotated original", check.rotation @ check.dipole_before, "#2ca02c"),
    ]
    for name, vector, color in series:
        fig.add_trace(go.Bar(x=components, y=factor * np.asarray(vector), name=name, marker_color=color))
    error = factor * check.dipole_equivariance_error
    fig.update_layout(
        barmode="group",
        title=title or f"Equivariant: dipole (|μ(R x) − R μ(x)| = {error:.1e} {unit})",
        xaxis_title="component", yaxis_title=f"dipole ({unit})", template="plotly_white", height=360,
    )
    return fig


def write_figure_html(fig: go.Figure, path: str | Path) -> Path:
    """Save ``fig`` as standalone HTML that loads ``plotly.min.js`` from its own folder (written there once).

    plotly.js comes from the installed plotly package, never from a CDN, and MathJax is not referenced.
    """
    if not isinstance(fig, go.Figure):
        raise TypeError(f"fig must be a plotly.graph_objects.Figure, got {type(fig).__name__}")
    path = Path(path)
    if path.suffix != ".html":
        raise ValueError(f"path must end in .html, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs="directory", include_mathjax=False, full_html=True)
    return path


def _require_check(check: RotationCheck) -> None:
    if not isinstance(check, RotationCheck):
        raise TypeError(f"check must be a RotationCheck (workbench.data.molecules.rotation_check), got "
                        f"{type(check).__name__}")

"""Plotly figures for "what a rotation does", rendered and saved without any network access.

In JupyterLab, :func:`use_offline_plotly` selects plotly's ``plotly_mimetype`` renderer: the figure travels as
JSON (``application/vnd.plotly.v1+json``) and is drawn by the ``jupyterlab-plotly`` extension that ships with the
plotly package, which carries its own plotly.js (no CDN, no trusted notebook needed). Saved figures
(:func:`write_figure_html`) load plotly.js from one ``plotly.min.js`` per run folder, copied out of the installed
plotly package: in a headless run (``workbench run`` sets ``WORKBENCH_RUN_DIR``) it sits at the top of the run
folder and figures in subfolders reference it relatively; elsewhere it sits next to the figures, once per folder.
With the ``figures`` extra (kaleido, which drives the system's Chromium, e.g. Debian's ``/usr/bin/chromium``;
nothing is downloaded) every saved figure is also written as PNG and SVG.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from workbench.data.molecules import E_ANGSTROM_TO_DEBYE, RotationCheck

__all__ = ["OFFLINE_RENDERER", "IMAGE_FORMATS", "FIGURE_FORMATS_ENV", "use_offline_plotly", "distances_figure",
           "dipole_figure", "write_figure_html"]

#: The plotly renderer used in notebooks: JSON mimetype, drawn by the bundled JupyterLab extension.
OFFLINE_RENDERER = "plotly_mimetype"
#: Image formats :func:`write_figure_html` can add next to the HTML (needs the ``figures`` extra: kaleido).
IMAGE_FORMATS: tuple[str, ...] = ("png", "svg")
#: Comma-separated image formats to write with each figure (``"png,svg"``, ``"png"``, ``""`` for none); unset:
#: both when kaleido is installed, none otherwise.
FIGURE_FORMATS_ENV = "WORKBENCH_FIGURE_FORMATS"
#: Set by ``workbench run`` (``workbench.runner.RUN_DIR_ENV``): the run folder that holds the one plotly.min.js.
_RUN_DIR_ENV = "WORKBENCH_RUN_DIR"
_PLOTLY_JS = "plotly.min.js"


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


def write_figure_html(fig: go.Figure, path: str | Path, images: Sequence[str] | None = None) -> Path:
    """Save ``fig`` as standalone HTML that loads a local ``plotly.min.js`` (one copy per run folder); returns it.

    plotly.js comes from the installed plotly package, never from a CDN, and MathJax is not referenced. Inside a
    headless run (``WORKBENCH_RUN_DIR`` set by ``workbench run`` and ``path`` under it) the copy sits at the top
    of the run folder and is referenced relatively; otherwise it sits next to ``path`` (written once per folder).

    Args:
        fig: the figure.
        path: the ``.html`` file to write.
        images: image formats to write next to it (``path`` with suffix ``.png`` / ``.svg``), a subset of
            :data:`IMAGE_FORMATS`. None: ``$WORKBENCH_FIGURE_FORMATS`` if set, else both when kaleido (the
            ``figures`` extra) is installed and none otherwise; then a failing export only warns. Formats asked
            for explicitly raise when they cannot be written (after the HTML is saved).
    """
    if not isinstance(fig, go.Figure):
        raise TypeError(f"fig must be a plotly.graph_objects.Figure, got {type(fig).__name__}")
    path = Path(path)
    if path.suffix != ".html":
        raise ValueError(f"path must end in .html, got {path}")
    formats, explicit = _image_formats(images)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs=_plotly_js_reference(path), include_mathjax=False, full_html=True)
    if formats:
        _write_images(fig, path, formats, explicit)
    return path


def _image_formats(images: Sequence[str] | None) -> tuple[tuple[str, ...], bool]:
    """(formats, explicit): what to write, and whether the caller (argument or environment) asked for it."""
    explicit = images is not None or FIGURE_FORMATS_ENV in os.environ
    if images is None:
        if FIGURE_FORMATS_ENV in os.environ:
            images = [f.strip() for f in os.environ[FIGURE_FORMATS_ENV].split(",") if f.strip()]
        else:
            images = IMAGE_FORMATS if importlib.util.find_spec("kaleido") is not None else ()
    if isinstance(images, str) or not all(isinstance(f, str) for f in images):
        raise TypeError(f"images must be a sequence of format names from {IMAGE_FORMATS}, got {images!r}")
    unknown = [f for f in images if f not in IMAGE_FORMATS]
    if unknown:
        source = "images" if FIGURE_FORMATS_ENV not in os.environ else f"${FIGURE_FORMATS_ENV}"
        raise ValueError(f"{source}: unknown image format(s) {unknown}; expected some of {IMAGE_FORMATS}")
    return tuple(dict.fromkeys(images)), explicit


def _plotly_js_reference(path: Path) -> str:
    """``include_plotlyjs`` for ``path``: a relative link to the run folder's copy, or "directory"."""
    run_dir = os.environ.get(_RUN_DIR_ENV)
    if not run_dir:
        return "directory"
    root = Path(run_dir).resolve()
    here = path.resolve().parent
    if here == root or root not in here.parents:
        return "directory"  # at the top of the run folder, or outside it: plotly writes it next to the file
    bundle = root / _PLOTLY_JS
    if not bundle.exists():
        bundle.write_text(get_plotlyjs(), encoding="utf-8")
    return Path(os.path.relpath(bundle, here)).as_posix()


def _write_images(fig: go.Figure, path: Path, formats: tuple[str, ...], explicit: bool) -> None:
    targets = [path.with_suffix(f".{f}") for f in formats]
    if importlib.util.find_spec("kaleido") is None:
        raise ImportError(f"writing {', '.join(formats)} figures needs kaleido: install the 'figures' extra "
                          f"(pip install 'equivariant-workbench[figures]'); {path.name} was written as HTML only")
    try:
        pio.write_images([fig] * len(targets), targets)  # one browser session for all formats
    except Exception as exc:  # kaleido/choreographer: no Chromium found, or it failed to start
        message = (f"could not write {', '.join(t.name for t in targets)} with kaleido ({type(exc).__name__}: "
                   f"{exc}); kaleido drives a local Chrome/Chromium (Debian: apt-get install chromium, or point "
                   f"BROWSER_PATH at one) and never downloads one here; {path.name} was written as HTML only")
        if explicit:
            raise RuntimeError(message) from exc
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _require_check(check: RotationCheck) -> None:
    if not isinstance(check, RotationCheck):
        raise TypeError(f"check must be a RotationCheck (workbench.data.molecules.rotation_check), got "
                        f"{type(check).__name__}")

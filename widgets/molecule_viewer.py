"""``MoleculeViewer``: an offline 3D molecule view for JupyterLab (anywidget + bundled 3Dmol.js).

The widget's front-end module is the bundled 3Dmol.js ES module (``widgets/static/3Dmol.es6-min.js``) with
``widgets/static/molecule_viewer.js`` appended, sent to the browser through the widget comm. Nothing is fetched
from a CDN, and because anywidget renders through the widget manager (not an HTML output with a ``<script>``),
the view works in an untrusted notebook.

    viewer = MoleculeViewer.from_molecule(load_molecule("ethanol"), show_dipole=True)
    viewer                                    # renders in JupyterLab
    viewer.positions = new_positions          # [N, 3] in Angstrom: the view re-renders, the camera stays
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from workbench.data.molecules import Molecule

__all__ = ["STATIC_DIR", "STYLES", "MoleculeViewer", "arrow", "dipole_arrow", "library_source", "viewer_source"]

#: Bundled front-end assets.
STATIC_DIR: Path = Path(__file__).resolve().parent / "static"
#: Rendering presets understood by the front end.
STYLES: tuple[str, ...] = ("ball_and_stick", "stick", "sphere", "line")

_LIBRARY = "3Dmol.es6-min.js"
_VIEWER = "molecule_viewer.js"


@lru_cache(maxsize=1)
def library_source() -> str:
    """Text of the bundled 3Dmol.js ES module (``widgets/static/3Dmol.es6-min.js``)."""
    path = STATIC_DIR / _LIBRARY
    if not path.is_file():
        raise FileNotFoundError(f"bundled 3Dmol.js missing at {path}; see widgets/static/README.md to restore it")
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def viewer_source() -> str:
    """Text of the widget's own front-end code (expects ``createViewer`` in module scope)."""
    return (STATIC_DIR / _VIEWER).read_text(encoding="utf-8")


def arrow(start: Any, end: Any, color: str = "red", radius: float = 0.08) -> dict[str, Any]:
    """An arrow spec for :attr:`MoleculeViewer.arrows` from ``start`` to ``end`` (each ``[3]``, Å)."""
    s, e = _vec3(start, "start"), _vec3(end, "end")
    if not isinstance(color, str) or not color:
        raise TypeError(f"color must be a non-empty CSS colour string, got {color!r}")
    if not (isinstance(radius, (int, float)) and radius > 0):
        raise ValueError(f"radius must be a positive number, got {radius!r}")
    return {"start": s, "end": e, "color": color, "radius": float(radius)}


def dipole_arrow(molecule: Molecule, scale: float = 2.0, color: str = "red") -> dict[str, Any]:
    """Arrow from the molecule's centroid along its dipole (e·Å), ``scale`` Å of arrow per e·Å."""
    if not isinstance(molecule, Molecule):
        raise TypeError(f"molecule must be a Molecule, got {type(molecule).__name__}")
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    centroid = molecule.positions.mean(axis=0)
    return arrow(centroid, centroid + scale * molecule.dipole(), color=color)


class MoleculeViewer(anywidget.AnyWidget):
    """3D view of a molecule (3Dmol.js, bundled) with optional arrows.

    Traits (all synced to the browser; assigning one re-renders the view, keeping the camera):
        positions: ``[N, 3]`` Cartesian coordinates in Å (a list of ``[x, y, z]``; numpy arrays are accepted).
        symbols: ``N`` element symbols; bonds are inferred from distances by 3Dmol.js.
        style: one of :data:`STYLES`.
        arrows: list of arrow specs (see :func:`arrow`), e.g. a dipole from :func:`dipole_arrow`.
        height: view height in pixels.
        background: CSS colour of the background.
    """

    _esm = library_source() + "\n" + viewer_source()

    positions = traitlets.Any([]).tag(sync=True)  # validated into a list of [x, y, z]
    symbols = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # Synced as ``draw_style`` (read and set it as ``style``): ipywidgets' DOMWidgetView treats a synced ``style`` as
    # a reference to a style model and calls create_child_view on it, which threw an uncaught TypeError ("Cannot
    # read properties of undefined (reading 'then')") in the page every time a viewer was shown.
    draw_style = traitlets.Unicode("ball_and_stick").tag(sync=True)
    arrows = traitlets.List(traitlets.Dict()).tag(sync=True)
    height = traitlets.Int(360).tag(sync=True)
    background = traitlets.Unicode("white").tag(sync=True)

    def __init__(self, symbols: Any = (), positions: Any = (), style: str | None = None, **kwargs: Any) -> None:
        if style is not None:
            kwargs["draw_style"] = style
        super().__init__(symbols=list(symbols), positions=positions, **kwargs)

    @property
    def style(self) -> str:
        """Rendering preset, one of :data:`STYLES` (the synced trait ``draw_style``)."""
        return self.draw_style

    @style.setter
    def style(self, value: str) -> None:
        self.draw_style = value

    @classmethod
    def from_molecule(cls, molecule: Molecule, *, show_dipole: bool = False, dipole_scale: float = 2.0,
                      **kwargs: Any) -> MoleculeViewer:
        """A viewer of ``molecule``; with ``show_dipole`` it draws the dipole arrow (``dipole_scale`` Å per e·Å)."""
        if not isinstance(molecule, Molecule):
            raise TypeError(f"molecule must be a Molecule, got {type(molecule).__name__}")
        arrows = [dipole_arrow(molecule, dipole_scale)] if show_dipole else []
        return cls(symbols=molecule.symbols, positions=molecule.positions, arrows=arrows, **kwargs)

    def show_molecule(self, molecule: Molecule, *, show_dipole: bool | None = None, dipole_scale: float = 2.0) -> None:
        """Replace the displayed atoms (and the dipole arrow; ``show_dipole=None`` keeps whether one is shown)."""
        if not isinstance(molecule, Molecule):
            raise TypeError(f"molecule must be a Molecule, got {type(molecule).__name__}")
        if show_dipole is None:
            show_dipole = bool(self.arrows)
        with self.hold_sync():
            self.symbols = list(molecule.symbols)
            self.positions = molecule.positions
            self.arrows = [dipole_arrow(molecule, dipole_scale)] if show_dipole else []

    @property
    def positions_array(self) -> np.ndarray:
        """The current positions as a ``[N, 3]`` float64 array."""
        return np.asarray(self.positions, dtype=np.float64).reshape(-1, 3)

    @traitlets.validate("positions")
    def _validate_positions(self, proposal: dict[str, Any]) -> list[list[float]]:
        value = proposal["value"]
        array = np.asarray(value, dtype=np.float64)
        if array.size == 0:
            return []
        if array.ndim != 2 or array.shape[1] != 3:
            raise traitlets.TraitError(f"positions must have shape [N, 3], got {list(array.shape)}")
        if not np.all(np.isfinite(array)):
            raise traitlets.TraitError("positions must be finite (found NaN or inf)")
        return array.tolist()

    @traitlets.validate("draw_style")
    def _validate_style(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in STYLES:
            raise traitlets.TraitError(f"style must be one of {STYLES}, got {proposal['value']!r}")
        return proposal["value"]

    @traitlets.validate("arrows")
    def _validate_arrows(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for i, spec in enumerate(proposal["value"]):
            if not isinstance(spec, dict) or "start" not in spec or "end" not in spec:
                raise traitlets.TraitError(f"arrows[{i}] must be a dict with 'start' and 'end' (see widgets.arrow)")
            try:
                out.append(arrow(spec["start"], spec["end"], spec.get("color", "red"), spec.get("radius", 0.08)))
            except (TypeError, ValueError) as err:
                raise traitlets.TraitError(f"arrows[{i}]: {err}") from err
        return out

    @traitlets.validate("height")
    def _validate_height(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 50:
            raise traitlets.TraitError(f"height must be at least 50 pixels, got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("symbols")
    def _validate_symbols(self, proposal: dict[str, Any]) -> list[str]:
        bad = [s for s in proposal["value"] if not (s.isalpha() and 1 <= len(s) <= 3)]
        if bad:
            raise traitlets.TraitError(f"symbols must be element symbols like 'C' or 'Cl', got {bad[:3]}")
        return list(proposal["value"])


def _vec3(value: Any, name: str) -> list[float]:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (3,) or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be 3 finite numbers [x, y, z], got {value!r}")
    return array.tolist()

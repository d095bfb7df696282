"""``MoleculeViewer``: an offline 3D molecule view for JupyterLab (anywidget + bundled 3Dmol.js).

The widget's front-end module is the bundled 3Dmol.js ES module (``widgets/static/3Dmol.es6-min.js``) with
``widgets/static/molecule_viewer.js`` appended, sent to the browser through the widget comm. Nothing is fetched
from a CDN, and because anywidget renders through the widget manager (not an HTML output with a ``<script>``),
the view works in an untrusted notebook.

    viewer = MoleculeViewer.from_molecule(load_molecule("ethanol"), show_dipole=True)
    viewer                                    # renders in JupyterLab
    viewer.positions = new_positions          # [N, 3] in Angstrom: the view re-renders, the camera stays

Your own structures: ``MoleculeViewer.from_file("my.xyz")`` (XYZ, extended XYZ, SDF/MOL, PDB, CIF; a multi-frame
file becomes a trajectory), ``MoleculeViewer.from_ase(atoms)`` (an ``ase.Atoms`` or a list of them: a trajectory),
``MoleculeViewer.from_rdkit(mol)``. A trajectory shows a frame slider under the view (trait ``frame``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from workbench.data.molecules import E_ANGSTROM_TO_DEBYE, Molecule, read_molecules

__all__ = ["STATIC_DIR", "STYLES", "DIPOLE_COLOR", "DIPOLE_SCALE", "HIGHLIGHT_COLOR", "MoleculeViewer", "arrow",
           "dipole_arrow", "library_source", "viewer_source"]

#: Bundled front-end assets.
STATIC_DIR: Path = Path(__file__).resolve().parent / "static"
#: Rendering presets understood by the front end.
STYLES: tuple[str, ...] = ("ball_and_stick", "stick", "sphere", "line")

#: Colour of the dipole arrow: magenta, which no element colour of 3Dmol.js (grey C, white H, red O, blue N,
#: yellow S, green Cl) comes close to, on white or dark backgrounds.
DIPOLE_COLOR: str = "#ff00ff"
#: Colour of highlighted atoms (trait ``highlight``): the same magenta, unlike any element colour of 3Dmol.js.
HIGHLIGHT_COLOR: str = "#ff00ff"
#: Default length of the dipole arrow: Å of arrow per Debye (ethanol's 1.6 D gives 3.2 Å, out of the molecule).
DIPOLE_SCALE: float = 2.0

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


def dipole_arrow(molecule: Molecule, scale: float = DIPOLE_SCALE, color: str = DIPOLE_COLOR,
                 radius: float = 0.15) -> dict[str, Any]:
    """Arrow from the molecule's centroid along its dipole, ``scale`` Å of arrow per Debye of dipole.

    The dipole is :meth:`Molecule.dipole` (e·Å) times :data:`~workbench.data.molecules.E_ANGSTROM_TO_DEBYE`; the
    arrow is ``scale * mu_D`` long (ethanol: 1.6 D -> 3.2 Å), drawn in :data:`DIPOLE_COLOR` so it stands out.
    """
    if not isinstance(molecule, Molecule):
        raise TypeError(f"molecule must be a Molecule, got {type(molecule).__name__}")
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise ValueError(f"scale must be a positive number (Å per Debye), got {scale!r}")
    centroid = molecule.positions.mean(axis=0)
    return arrow(centroid, centroid + scale * E_ANGSTROM_TO_DEBYE * molecule.dipole(), color=color, radius=radius)


class MoleculeViewer(anywidget.AnyWidget):
    """3D view of a molecule (3Dmol.js, bundled) with optional arrows.

    Traits (all synced to the browser; assigning one re-renders the view, keeping the camera):
        positions: ``[N, 3]`` Cartesian coordinates in Å (a list of ``[x, y, z]``; numpy arrays are accepted).
        symbols: ``N`` element symbols; bonds are inferred from distances by 3Dmol.js.
        style: one of :data:`STYLES`.
        arrows: list of arrow specs (see :func:`arrow`), e.g. a dipole from :func:`dipole_arrow`.
        frames: a trajectory: one ``[N, 3]`` position list per frame (empty: a single structure); the front end
            then shows a frame slider.
        frame: the frame shown (index into ``frames``); setting it (or moving the slider) sets ``positions``.
        highlight: indices of atoms drawn in :data:`HIGHLIGHT_COLOR` (e.g. one element's atoms); empty: none.
        volumes: isosurfaces of volumetric data, each ``{"cube": Gaussian cube text, "isoval", "color",
            "opacity"}`` (e.g. a molecular orbital at +iso and -iso; :class:`widgets.OrbitalViewer`).
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
    frames = traitlets.List().tag(sync=True)  # validated into a list of [N, 3] position lists
    frame = traitlets.Int(0).tag(sync=True)
    highlight = traitlets.List(traitlets.Int()).tag(sync=True)
    # isosurfaces of volumetric data: [{"cube": Gaussian cube text, "isoval": float, "color": str, "opacity": float}]
    # (e.g. molecular orbitals, workbench.hamiltonian.orbitals.cube_text); drawn by 3Dmol's addVolumetricData
    volumes = traitlets.List(traitlets.Dict()).tag(sync=True)
    height = traitlets.Int(360).tag(sync=True)
    background = traitlets.Unicode("white").tag(sync=True)

    def __init__(self, symbols: Any = (), positions: Any = (), style: str | None = None, **kwargs: Any) -> None:
        if style is not None:
            kwargs["draw_style"] = style
        super().__init__(symbols=list(symbols), positions=positions, **kwargs)
        self._frame_molecules: list[Molecule] = []
        self._dipole_scale: float | None = None
        self.observe(self._show_frame, names="frame")

    @property
    def style(self) -> str:
        """Rendering preset, one of :data:`STYLES` (the synced trait ``draw_style``)."""
        return self.draw_style

    @style.setter
    def style(self, value: str) -> None:
        self.draw_style = value

    @classmethod
    def from_molecule(cls, molecule: Molecule, *, show_dipole: bool = False, dipole_scale: float = DIPOLE_SCALE,
                      **kwargs: Any) -> MoleculeViewer:
        """A viewer of ``molecule``; with ``show_dipole`` it draws the dipole arrow (``dipole_scale`` Å per Debye)."""
        if not isinstance(molecule, Molecule):
            raise TypeError(f"molecule must be a Molecule, got {type(molecule).__name__}")
        arrows = [dipole_arrow(molecule, dipole_scale)] if show_dipole else []
        return cls(symbols=molecule.symbols, positions=molecule.positions, arrows=arrows, **kwargs)

    @classmethod
    def from_trajectory(cls, molecules: Any, *, show_dipole: bool = False, dipole_scale: float = DIPOLE_SCALE,
                        **kwargs: Any) -> MoleculeViewer:
        """A viewer with a frame slider over ``molecules`` (a non-empty sequence of :class:`Molecule` with the
        same symbols, e.g. from :func:`~workbench.data.molecules.read_molecules`); frame 0 is shown first."""
        frames = list(molecules) if not isinstance(molecules, Molecule) else [molecules]
        if not frames or not all(isinstance(m, Molecule) for m in frames):
            raise TypeError("molecules must be a non-empty sequence of Molecule")
        if any(m.symbols != frames[0].symbols for m in frames):
            raise ValueError("every frame of a trajectory must have the same atoms (symbols) in the same order")
        viewer = cls.from_molecule(frames[0], show_dipole=show_dipole, dipole_scale=dipole_scale, **kwargs)
        if len(frames) > 1:
            viewer._frame_molecules = frames
            viewer._dipole_scale = dipole_scale if show_dipole else None
            viewer.frames = [m.positions for m in frames]
        return viewer

    @classmethod
    def from_file(cls, path: Any, **kwargs: Any) -> MoleculeViewer:
        """A viewer of a molecule file (XYZ, extended XYZ, SDF/MOL, PDB, CIF; see
        :func:`~workbench.data.molecules.read_molecules`); several frames make a trajectory with a frame slider."""
        return cls.from_trajectory(read_molecules(path), **kwargs)

    @classmethod
    def from_ase(cls, atoms: Any, **kwargs: Any) -> MoleculeViewer:
        """A viewer of an ``ase.Atoms``, or of a list of them as a trajectory (needs ase, the ``chem`` extra)."""
        images = atoms if isinstance(atoms, (list, tuple)) else [atoms]
        if not images:
            raise ValueError("atoms must be an ase.Atoms or a non-empty list of them")
        return cls.from_trajectory([Molecule.from_ase(a) for a in images], **kwargs)

    @classmethod
    def from_rdkit(cls, mol: Any, **kwargs: Any) -> MoleculeViewer:
        """A viewer of an RDKit ``Mol`` with a 3D conformer (Gasteiger charges for the dipole; the ``chem`` extra)."""
        return cls.from_molecule(Molecule.from_rdkit(mol), **kwargs)

    def show_molecule(self, molecule: Molecule, *, show_dipole: bool | None = None,
                      dipole_scale: float = DIPOLE_SCALE) -> None:
        """Replace the displayed atoms (and the dipole arrow; ``show_dipole=None`` keeps whether one is shown); clears
        ``highlight``."""
        if not isinstance(molecule, Molecule):
            raise TypeError(f"molecule must be a Molecule, got {type(molecule).__name__}")
        if show_dipole is None:
            show_dipole = bool(self.arrows)
        self._frame_molecules, self._dipole_scale = [], None
        with self.hold_sync():
            self.frames = []
            self.frame = 0
            self.highlight = []
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

    def _show_frame(self, change: dict[str, Any]) -> None:
        if not self.frames:
            return
        index = change["new"]
        with self.hold_sync():
            self.positions = self.frames[index]
            if self._dipole_scale is not None and self._frame_molecules:
                self.arrows = [dipole_arrow(self._frame_molecules[index], self._dipole_scale)]

    @traitlets.validate("frames")
    def _validate_frames(self, proposal: dict[str, Any]) -> list[list[list[float]]]:
        out = []
        for i, value in enumerate(proposal["value"]):
            array = np.asarray(value, dtype=np.float64)
            if array.ndim != 2 or array.shape[1] != 3 or not np.all(np.isfinite(array)):
                raise traitlets.TraitError(f"frames[{i}] must be finite positions of shape [N, 3], got "
                                           f"{list(array.shape)}")
            if out and array.shape[0] != len(out[0]):
                raise traitlets.TraitError(f"frames[{i}] has {array.shape[0]} atoms, frame 0 has {len(out[0])}")
            out.append(array.tolist())
        return out

    @traitlets.validate("frame")
    def _validate_frame(self, proposal: dict[str, Any]) -> int:
        n = len(self.frames)
        if proposal["value"] < 0 or (n and proposal["value"] >= n) or (not n and proposal["value"] != 0):
            raise traitlets.TraitError(f"frame must be in [0, {max(n - 1, 0)}] (frames has {n}), "
                                       f"got {proposal['value']}")
        return proposal["value"]

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

    @traitlets.validate("volumes")
    def _validate_volumes(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for i, spec in enumerate(proposal["value"]):
            if not isinstance(spec, dict) or not isinstance(spec.get("cube"), str) or "isoval" not in spec:
                raise traitlets.TraitError(f"volumes[{i}] must be a dict with 'cube' (Gaussian cube text) and "
                                           "'isoval' (and optional 'color', 'opacity')")
            iso, opacity = float(spec["isoval"]), float(spec.get("opacity", 0.8))
            if not np.isfinite(iso) or not 0 <= opacity <= 1:
                raise traitlets.TraitError(f"volumes[{i}]: isoval must be finite and opacity in [0, 1], got "
                                           f"{spec['isoval']!r}, {spec.get('opacity')!r}")
            out.append({"cube": spec["cube"], "isoval": iso, "color": str(spec.get("color", "red")),
                        "opacity": opacity})
        return out

    @traitlets.validate("highlight")
    def _validate_highlight(self, proposal: dict[str, Any]) -> list[int]:
        n = len(self.symbols)
        bad = [i for i in proposal["value"] if not 0 <= i < n]
        if bad:
            raise traitlets.TraitError(f"highlight must hold atom indices in [0, {n - 1}] ({n} atoms), got {bad[:3]}")
        return sorted(set(proposal["value"]))

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

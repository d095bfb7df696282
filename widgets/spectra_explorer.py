"""SpectraExplorer: a structure in 3D beside its scattering spectra, with the controls a user turns every day.

The numbers come from :mod:`workbench.scattering` through the pure function :func:`spectra_state` (unit-tested
without a browser); the widget only wires controls to it and pushes the results into one plotly ``FigureWidget``
with a 2 x 2 grid of panels (plotly.js ships with the installed plotly package, drawn by its JupyterLab extension:
nothing is fetched from a CDN), below the project's :class:`~widgets.molecule_viewer.MoleculeViewer` (bundled 3Dmol.js).

Panels (conventions of :mod:`workbench.scattering`):

* S(Q) by the Debye equation (X-ray Waasmaier–Kirfel form factors or neutron Sears lengths) on ``n_q`` points of
  the Q range, with the contribution of each species pair ``ab`` to ``S(Q) - 1``,
  ``(2 - delta_ab) c_a c_b f_a f_b (S_ab(Q) - 1) / <f>^2`` (Faber–Ziman ``S_ab``; the contributions add up to
  ``S(Q) - 1``);
* G(r) from the pair distances (Gaussian pair peaks of width ``sqrt(pdf_sigma^2 + B / (4 pi^2))``, so the ADP
  broadens them as it damps S(Q)), its pair contributions ``(2 - delta_ab) c_a c_b f_a f_b G_ab(r) / <f>^2`` (``f``
  at Q = 0), and G(r) by the sine transform of the F(Q) shown (Q-range termination);
* the powder pattern of the periodic cell (pseudo-Voigt peaks of FWHM ``fwhm`` degrees 2theta at ``wavelength``,
  2theta range = the Q range through ``Q = 4 pi sin(theta) / lambda``, at most 175 degrees); absent for a
  structure without a cell;
* a phonon DOS, when given (``dos=``: arrays or a callable; the explorer computes none itself).

A periodic structure is shown and scattered as a finite crystallite of ``supercell^3`` cells (the Debye equation
sums over its atoms, so a larger crystallite gives sharper S(Q) peaks; G(r) peaks lose height with r as the
crystallite ends); the powder pattern is that of the infinite crystal. Choosing an element shows its pair
contributions in S(Q) and G(r) and colours its atoms in the viewer.

    explorer = SpectraExplorer.from_file("my.cif")       # or .from_ase(atoms), or SpectraExplorer(structure)
    explorer                                            # renders in JupyterLab
    explorer.set_prediction("sq", model_sq)             # overlay [n_q] values on the S(Q) panel's grid
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from widgets.molecule_viewer import MoleculeViewer
from workbench.checks import check_array
from workbench.data.extras import require_ase
from workbench.data.molecules import read_molecules
from workbench.scattering import (
    CU_KALPHA,
    atomic_numbers,
    debye_scattering,
    element_symbols,
    pair_distribution,
    pdf_from_structure_factor,
    powder_pattern,
    powder_profile,
    scattering_factors,
)

__all__ = ["PANELS", "RADIATIONS", "SpectraExplorer", "SpectraSettings", "SpectraState", "SpectraStructure",
           "spectra_state"]

#: The radiations of the explorer (as in :mod:`workbench.scattering`).
RADIATIONS: tuple[str, ...] = ("xray", "neutron")
#: The panels a prediction can be overlaid on: S(Q), G(r), powder pattern, phonon DOS.
PANELS: tuple[str, ...] = ("sq", "gr", "powder", "dos")
#: Largest 2theta of the powder panel (degrees): the Lorentz factor diverges at 180.
MAX_TWO_THETA = 175.0
#: Suffixes read without ASE (numpy only); everything else (CIF, POSCAR, ...) goes through ASE.
_PLAIN_XYZ = (".xyz", ".extxyz")
_N_PROFILE = 1200


@dataclass(frozen=True)
class SpectraStructure:
    """Atoms and, for a crystal, its cell: what the explorer scatters.

    Attributes:
        symbols: ``N`` element symbols (every one in :func:`workbench.scattering.supported_elements`).
        positions: ``[N, 3]`` float64 Cartesian positions in Å.
        cell: ``[3, 3]`` float64 lattice vectors as rows (Å) of a periodic crystal, or ``None`` (a finite
            structure: molecule, cluster).
        name: a label for titles.
    """

    symbols: tuple[str, ...]
    positions: np.ndarray
    cell: np.ndarray | None = None
    name: str = "structure"

    def __post_init__(self) -> None:
        if isinstance(self.symbols, str) or not isinstance(self.symbols, Sequence):
            raise TypeError(f"symbols must be a sequence of element symbols, got {type(self.symbols).__name__}")
        symbols = tuple(element_symbols(atomic_numbers(list(self.symbols)))) if len(self.symbols) else ()
        if not symbols:
            raise ValueError("the structure is empty: symbols must name at least one atom")
        positions = np.array(self.positions, dtype=np.float64)
        check_array(positions, "positions", shape=(len(symbols), 3), hint="N, 3: one row per symbol, Å")
        cell = None
        if self.cell is not None:
            cell = np.array(self.cell, dtype=np.float64)
            check_array(cell, "cell", shape=(3, 3), hint="lattice vectors as rows, Å; None for a finite structure")
            if abs(np.linalg.det(cell)) < 1e-6:
                raise ValueError(f"cell must have a non-zero volume, got {np.linalg.det(cell):.3g} Å^3 (use "
                                 "cell=None for a finite structure)")
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "cell", cell)

    @property
    def periodic(self) -> bool:
        """Whether the structure has a cell."""
        return self.cell is not None

    @property
    def n_atoms(self) -> int:
        return len(self.symbols)

    @property
    def fractional(self) -> np.ndarray:
        """``[N, 3]`` fractional coordinates (ValueError without a cell)."""
        if self.cell is None:
            raise ValueError("fractional coordinates need a periodic structure (cell is None)")
        return self.positions @ np.linalg.inv(self.cell)

    def repeat(self, n: int) -> SpectraStructure:
        """The ``n x n x n`` supercell (``n**3 * N`` atoms, cell ``n * cell``); ``n = 1`` returns ``self``."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"supercell must be an int >= 1, got {n!r}")
        if n == 1:
            return self
        if self.cell is None:
            raise ValueError(f"a supercell needs a periodic structure (cell is None); got supercell={n}")
        shifts = np.array(list(itertools.product(range(n), repeat=3)), dtype=np.float64) @ self.cell  # [n^3, 3]
        positions = (shifts[:, None, :] + self.positions[None]).reshape(-1, 3)
        return SpectraStructure(self.symbols * len(shifts), positions, self.cell * n, f"{self.name} x{n}")

    @classmethod
    def from_ase(cls, atoms: Any, name: str | None = None) -> SpectraStructure:
        """From an ``ase.Atoms``: the cell is kept when all three directions are periodic (``atoms.pbc``) and the
        cell has a volume; otherwise the structure is finite. Needs ase (the ``chem`` extra)."""
        ase = require_ase()
        if not isinstance(atoms, ase.Atoms):
            raise TypeError(f"atoms must be an ase.Atoms, got {type(atoms).__name__}")
        if len(atoms) == 0:
            raise ValueError("the structure is empty: atoms must hold at least one atom")
        cell = np.asarray(atoms.cell.array, dtype=np.float64)
        periodic = bool(np.all(atoms.pbc)) and abs(np.linalg.det(cell)) > 1e-6
        label = name if name is not None else str(atoms.info.get("name", atoms.get_chemical_formula()))
        return cls(tuple(atoms.get_chemical_symbols()), atoms.positions, cell if periodic else None, label)

    @classmethod
    def from_file(cls, path: str | Path, index: int = 0) -> SpectraStructure:
        """Frame ``index`` of a structure file: CIF, POSCAR/CONTCAR/``.vasp``, extended XYZ (a ``Lattice`` makes it
        periodic) and whatever else ``ase.io.read`` reads (the ``chem`` extra). Without ASE, plain and extended XYZ
        are still read (as finite structures); any other file raises an ImportError naming the extra."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no structure file at {path}")
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"index must be an int (a frame number), got {type(index).__name__}")
        try:
            ase = require_ase()
        except ImportError:
            if path.suffix.lower() not in _PLAIN_XYZ:
                raise
            ase = None
        if ase is None:
            frames = [cls(m.symbols, m.positions, None, m.name) for m in read_molecules(path)]
        else:
            try:
                images = ase.io.read(str(path), index=":")
            except Exception as err:  # ase raises many types for unreadable files; name the file and the cause
                raise ValueError(f"ASE could not read {path} as a structure: {err}") from err
            frames = [cls.from_ase(a, name=path.stem) for a in images]
        if not frames:
            raise ValueError(f"no structure found in {path}")
        if not -len(frames) <= index < len(frames):
            raise ValueError(f"index must be in [-{len(frames)}, {len(frames) - 1}] for {path}, got {index}")
        return frames[index]


@dataclass(frozen=True)
class SpectraSettings:
    """The controls of the explorer.

    Attributes:
        radiation: ``"xray"`` or ``"neutron"``.
        q_range: ``(Q_min, Q_max)`` in 1/Å, ``0 < Q_min < Q_max``.
        n_q: Q points of the S(Q) panel.
        pdf_sigma: instrument/static broadening of the G(r) pair peaks (Å, > 0).
        r_max: largest r of the G(r) panel (Å); ``n_r`` points from ``r_max / n_r``.
        n_r: r points.
        fwhm: powder peak full width at half maximum (degrees 2theta, > 0).
        biso: isotropic displacement parameter B (Å^2, >= 0), the temperature proxy: damps S(Q) by
            ``exp(-Q^2 B / (8 pi^2))``, weakens powder peaks by ``exp(-2 B s^2)`` and broadens G(r).
        supercell: crystallite of ``supercell^3`` cells (periodic structures; 1 for finite ones).
        element: the highlighted element, or ``None``.
        wavelength: powder wavelength (Å; Cu K-alpha by default, for X-rays and neutrons alike).
    """

    radiation: str = "xray"
    q_range: tuple[float, float] = (1.0, 12.0)
    n_q: int = 400
    pdf_sigma: float = 0.05
    r_max: float = 12.0
    n_r: int = 500
    fwhm: float = 0.2
    biso: float = 0.0
    supercell: int = 3
    element: str | None = None
    wavelength: float = CU_KALPHA

    def checked(self, structure: SpectraStructure) -> SpectraSettings:
        """``self`` after validating every field against ``structure`` (ValueError naming the field)."""
        if self.radiation not in RADIATIONS:
            raise ValueError(f"radiation must be one of {list(RADIATIONS)}, got {self.radiation!r}")
        lo, hi = _pair(self.q_range, "q_range")
        if not 0 < lo < hi:
            raise ValueError(f"q_range must be (Q_min, Q_max) with 0 < Q_min < Q_max in 1/Å, got {self.q_range}")
        for name in ("n_q", "n_r", "supercell"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (1 if name ==
                                                                                              "supercell" else 2):
                raise ValueError(f"{name} must be an int >= {1 if name == 'supercell' else 2}, got {value!r}")
        for name in ("pdf_sigma", "r_max", "fwhm", "wavelength"):
            if not _finite(getattr(self, name)) or not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a finite number > 0, got {getattr(self, name)!r}")
        if not _finite(self.biso) or self.biso < 0:
            raise ValueError(f"biso must be a finite number >= 0 (Å^2), got {self.biso!r}")
        if self.supercell > 1 and not structure.periodic:
            raise ValueError(f"supercell must be 1 for a structure without a cell, got {self.supercell}")
        if self.element is not None and self.element not in structure.symbols:
            raise ValueError(f"element must be None or one of the structure's elements "
                             f"{sorted(set(structure.symbols))}, got {self.element!r}")
        return self


@dataclass(frozen=True)
class SpectraState:
    """Everything the explorer shows for one structure and one :class:`SpectraSettings` (numpy float64).

    Attributes:
        structure: the structure scattered and shown (the crystallite of ``supercell^3`` cells).
        species: the ``T`` species, in order of Z (the order of the pair labels).
        q, structure_factor, reduced_structure_factor: ``[n_q]`` Q (1/Å), S(Q), F(Q).
        sq_contributions: pair label ``"A-B"`` -> ``[n_q]`` its contribution to S(Q) - 1 (they add up to it).
        r, reduced_pdf, pdf_from_fq: ``[n_r]`` r (Å), direct G(r), G(r) by the sine transform of F(Q).
        pdf_contributions: pair label -> ``[n_r]`` its contribution to G(r) (they add up to it).
        two_theta, powder: ``[_N_PROFILE]`` 2theta grid (degrees) and powder profile; ``None`` without a cell
            or when the Q range lies beyond 2theta = :data:`MAX_TWO_THETA`.
        peaks: the :class:`~workbench.scattering.PowderPeaks` of the unit cell (or ``None``).
        highlighted: indices of the atoms of ``settings.element`` in ``structure``.
        settings: the settings this state was computed for.
    """

    structure: SpectraStructure
    species: list[str]
    q: np.ndarray
    structure_factor: np.ndarray
    reduced_structure_factor: np.ndarray
    sq_contributions: dict[str, np.ndarray]
    r: np.ndarray
    reduced_pdf: np.ndarray
    pdf_from_fq: np.ndarray
    pdf_contributions: dict[str, np.ndarray]
    two_theta: np.ndarray | None
    powder: np.ndarray | None
    peaks: Any
    highlighted: list[int]
    settings: SpectraSettings = field(repr=False)

    def grid(self, panel: str) -> np.ndarray | None:
        """The x grid of ``panel`` (``"sq"``: Q, ``"gr"``: r, ``"powder"``: 2theta; ``"dos"`` has none here)."""
        return {"sq": self.q, "gr": self.r, "powder": self.two_theta}.get(_panel(panel))


def pair_labels(species: Sequence[str]) -> list[tuple[int, int, str]]:
    """``(a, b, "A-B")`` for every unordered species pair ``a <= b``."""
    return [(a, b, f"{species[a]}-{species[b]}") for a in range(len(species)) for b in range(a, len(species))]


def spectra_state(structure: SpectraStructure, settings: SpectraSettings | None = None) -> SpectraState:
    """Compute every panel of the explorer for ``structure`` and ``settings`` (float64, CPU).

    Example:
        >>> import numpy as np
        >>> cu = SpectraStructure(("Cu",) * 4, 3.615 * np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]]),
        ...                       np.eye(3) * 3.615, "Cu")
        >>> state = spectra_state(cu, SpectraSettings(supercell=2, n_q=50, n_r=60))
        >>> state.structure.n_atoms, state.structure_factor.shape, list(state.sq_contributions)
        (32, (50,), ['Cu-Cu'])
        >>> [round(float(t), 2) for t in state.peaks.two_theta[:2]]  # fcc (111), (200)
        [43.35, 50.49]
    """
    if not isinstance(structure, SpectraStructure):
        raise TypeError(f"structure must be a SpectraStructure, got {type(structure).__name__}")
    settings = (settings or SpectraSettings(supercell=3 if structure.periodic else 1)).checked(structure)
    shown = structure.repeat(settings.supercell)
    symbols = list(shown.symbols)
    pos = torch.tensor(shown.positions, dtype=torch.float64)
    q = torch.linspace(*map(float, settings.q_range), settings.n_q, dtype=torch.float64)
    debye = debye_scattering(symbols, pos, q, radiation=settings.radiation, biso=float(settings.biso))
    species = list(debye.symbols)
    z = atomic_numbers(species)
    c = debye.fractions

    f_q = scattering_factors(z, q, settings.radiation)  # [T, n_q]
    mean_f_q = (c[:, None] * f_q).sum(0)
    sq_contributions = {}
    for a, b, label in pair_labels(species):
        weight = (1.0 if a == b else 2.0) * c[a] * c[b] * f_q[a] * f_q[b] / mean_f_q**2
        sq_contributions[label] = (weight * (debye.partial_structure_factors[a, b] - 1.0)).numpy()

    r = torch.linspace(settings.r_max / settings.n_r, settings.r_max, settings.n_r, dtype=torch.float64)
    sigma = math.sqrt(settings.pdf_sigma**2 + settings.biso / (4 * math.pi**2))
    pdf = pair_distribution(symbols, pos, r, sigma=sigma, radiation=settings.radiation)
    f_0 = scattering_factors(z, torch.full((1,), 1e-12, dtype=torch.float64), settings.radiation)[:, 0]
    mean_f_0 = (c * f_0).sum()
    pdf_contributions = {}
    for a, b, label in pair_labels(species):
        weight = (1.0 if a == b else 2.0) * c[a] * c[b] * f_0[a] * f_0[b] / mean_f_0**2
        pdf_contributions[label] = (weight * pdf.partial_pdfs[a, b]).numpy()
    from_fq = pdf_from_structure_factor(q, debye.reduced_structure_factor, r)

    two_theta = profile = peaks = None
    if structure.periodic:
        lo, hi = (_two_theta(value, settings.wavelength) for value in settings.q_range)
        if lo < hi:
            peaks = powder_pattern(list(structure.symbols), torch.tensor(structure.fractional),
                                   torch.tensor(structure.cell), wavelength=settings.wavelength,
                                   two_theta_range=(lo, hi), radiation=settings.radiation,
                                   biso=float(settings.biso))
            grid = torch.linspace(lo, hi, _N_PROFILE, dtype=torch.float64)
            two_theta, profile = grid.numpy(), powder_profile(peaks, grid, fwhm=settings.fwhm).numpy()
    highlighted = [i for i, s in enumerate(symbols) if s == settings.element]
    return SpectraState(shown, species, q.numpy(), debye.structure_factor.numpy(),
                        debye.reduced_structure_factor.numpy(), sq_contributions, r.numpy(), pdf.reduced_pdf.numpy(),
                        from_fq.numpy(), pdf_contributions, two_theta, profile, peaks, highlighted, settings)


def _two_theta(q: float, wavelength: float) -> float:
    x = q * wavelength / (4 * math.pi)
    return MAX_TWO_THETA if x >= 1 else min(MAX_TWO_THETA, math.degrees(2 * math.asin(x)))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) and \
        math.isfinite(value)


def _pair(value: Any, name: str) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_finite(v) for v in value):
        raise ValueError(f"{name} must be two finite numbers (min, max), got {value!r}")
    return float(value[0]), float(value[1])


def _panel(panel: str) -> str:
    if panel not in PANELS:
        raise ValueError(f"panel must be one of {list(PANELS)}, got {panel!r}")
    return panel


def _curve(values: Any, name: str, length: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or (length is not None and array.shape[0] != length):
        expected = f"[{length}]" if length is not None else "[M]"
        raise ValueError(f"{name} must be a 1-D array of shape {expected} (aligned with the panel's grid), got "
                         f"shape {list(array.shape)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return array


def check_dos(dos: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(frequencies [M], dos [M])`` float64 after validating a DOS pair (increasing frequencies, finite)."""
    if not isinstance(dos, (tuple, list)) or len(dos) != 2:
        raise ValueError("dos must be a pair (frequencies [M], dos [M]) or a callable returning one, got "
                         f"{type(dos).__name__}")
    frequencies = _curve(dos[0], "dos frequencies")
    values = _curve(dos[1], "dos values", frequencies.shape[0])
    if frequencies.shape[0] < 2 or np.any(np.diff(frequencies) <= 0):
        raise ValueError("dos frequencies must be strictly increasing with at least two values")
    return frequencies, values


_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")
_PREDICTION_COLOR = "#000000"


class SpectraExplorer:
    """A structure in 3D (:class:`~widgets.molecule_viewer.MoleculeViewer`) beside its S(Q), G(r), powder pattern
    and (optional) phonon DOS, with controls for radiation, Q range, broadening, B_iso, supercell and element.

    Args:
        structure: a :class:`SpectraStructure` (or use :meth:`from_ase` / :meth:`from_file`).
        settings: the initial controls (default :class:`SpectraSettings`, supercell 1 for a finite structure).
        dos: a phonon DOS for the DOS panel: ``(frequencies [M], dos [M])`` or a callable
            ``dos(structure) -> (frequencies, dos)`` called once with the unit cell; ``None``: the panel says
            how to give one. ``dos_unit`` labels its frequency axis.
        prediction: panel -> overlay, as in :meth:`set_prediction`.

    Attributes:
        state: the current :class:`SpectraState`; controls: the control widgets by name; viewer: the 3D view;
        figure: one plotly ``FigureWidget`` with the four panels as 2 x 2 subplots (S(Q) top left, G(r) top
        right, powder pattern bottom left, DOS bottom right; each trace's ``meta`` names its panel, each panel
        has its own legend): reach a panel's traces by :meth:`traces` and its title by :meth:`panel_title`;
        widget: the container.
    """

    def __init__(self, structure: SpectraStructure, *, settings: SpectraSettings | None = None, dos: Any = None,
                 dos_unit: str = "THz", prediction: Mapping[str, Any] | None = None, viewer_height: int = 380
                 ) -> None:
        if not isinstance(structure, SpectraStructure):
            raise TypeError(f"structure must be a SpectraStructure, got {type(structure).__name__} (see "
                            "SpectraExplorer.from_ase / from_file)")
        settings = (settings or SpectraSettings(supercell=3 if structure.periodic else 1)).checked(structure)
        self.structure = structure
        self.dos = check_dos(dos(structure) if callable(dos) else dos) if dos is not None else None
        self.dos_unit = str(dos_unit)
        self._predictions: dict[str, tuple[str, Any, np.ndarray | None]] = {}
        self._notes: list[str] = []
        self.state = spectra_state(structure, settings)

        style = dict(continuous_update=False, style={"description_width": "initial"})
        self.controls: dict[str, w.Widget] = {
            "radiation": w.ToggleButtons(options=[("X-ray", "xray"), ("neutron", "neutron")],
                                         value=settings.radiation, description="radiation",
                                         style={"button_width": "80px"}),
            "q_range": w.FloatRangeSlider(value=tuple(settings.q_range), min=0.1, max=30.0, step=0.1,
                                          description="Q range (1/Å)", readout_format=".1f", **style),
            "pdf_sigma": w.FloatSlider(value=settings.pdf_sigma, min=0.01, max=0.5, step=0.01,
                                       description="G(r) σ (Å)", readout_format=".2f", **style),
            "fwhm": w.FloatSlider(value=settings.fwhm, min=0.02, max=2.0, step=0.02, description="peak FWHM (°2θ)",
                                  readout_format=".2f", **style),
            "biso": w.FloatSlider(value=settings.biso, min=0.0, max=5.0, step=0.1, description="B_iso (Å²)",
                                  readout_format=".1f", **style),
            "supercell": w.IntSlider(value=settings.supercell, min=1, max=max(6, settings.supercell),
                                     description="supercell n³", disabled=not structure.periodic, **style),
            "element": w.Dropdown(options=[("none", None)] + [(s, s) for s in self.state.species],
                                  value=settings.element, description="highlight element",
                                  style={"description_width": "initial"}),
        }
        self.status = w.HTML()
        self.viewer = MoleculeViewer(symbols=list(self.state.structure.symbols),
                                     positions=self.state.structure.positions,
                                     style="sphere" if structure.periodic else "ball_and_stick",
                                     height=viewer_height)
        pairs = pair_labels(self.state.species)
        model = dict(name="model", line=dict(color=_PREDICTION_COLOR, dash="dash"), visible=False)
        curves = {
            "sq": [go.Scatter(name="S(Q)", line=dict(color="#222222", width=2))]
            + [go.Scatter(name=f"{label} contribution to S(Q) − 1", line=dict(color=_COLORS[i % len(_COLORS)]))
               for i, (_, _, label) in enumerate(pairs)] + [go.Scatter(**model)],
            "gr": [go.Scatter(name="G(r) from pair distances", line=dict(color="#222222", width=2)),
                   go.Scatter(name="G(r) = sine transform of F(Q), Q ≤ Qmax", line=dict(color="#999999", width=1))]
            + [go.Scatter(name=f"{label} contribution", line=dict(color=_COLORS[i % len(_COLORS)]))
               for i, (_, _, label) in enumerate(pairs)] + [go.Scatter(**model)],
            "powder": [go.Scatter(name="powder pattern", line=dict(color="#4c72b0")), go.Scatter(**model)],
            "dos": [go.Scatter(name="phonon DOS", line=dict(color="#55a868"), fill="tozeroy"), go.Scatter(**model)],
        }
        axes = {"sq": ("Q (1/Å)", "S(Q)"), "gr": ("r (Å)", "G(r) (1/Å²)"),
                "powder": ("2θ (degrees)", "intensity (arb. units)"), "dos": (f"frequency ({self.dos_unit})", "DOS")}
        # One FigureWidget with a 2 x 2 grid, not one per panel: several FigureWidgets in one output were seen to
        # leave all but the last ones undrawn in JupyterLab under load (plotly 7.1).
        figure = make_subplots(rows=2, cols=2, subplot_titles=[" "] * len(PANELS), horizontal_spacing=0.1,
                               vertical_spacing=0.16)
        self._traces: dict[str, list[int]] = {}
        for k, panel in enumerate(PANELS):
            row, col = divmod(k, 2)
            legend = "legend" if k == 0 else f"legend{k + 1}"
            start = len(figure.data)
            for trace in curves[panel]:
                trace.update(meta=panel, legend=legend)
                figure.add_trace(trace, row=row + 1, col=col + 1)
            self._traces[panel] = list(range(start, len(figure.data)))
            figure.update_xaxes(title_text=axes[panel][0], row=row + 1, col=col + 1)
            figure.update_yaxes(title_text=axes[panel][1], row=row + 1, col=col + 1)
            x_domain = figure.layout[f"xaxis{k + 1 if k else ''}"].domain
            y_domain = figure.layout[f"yaxis{k + 1 if k else ''}"].domain
            figure.layout[legend] = dict(x=x_domain[1], y=y_domain[1], xanchor="right", yanchor="top",
                                         bgcolor="rgba(255,255,255,0.6)", font=dict(size=9))
        self._titles = {panel: k for k, panel in enumerate(PANELS)}  # subplot titles are annotations, in order
        figure.update_layout(width=940, height=800, margin=dict(l=60, r=15, t=50, b=50), template="plotly_white")
        self.figure: go.FigureWidget | go.Figure = figure
        for name, values in (prediction or {}).items():
            self.set_prediction(name, values, redraw=False)
        # Draw into the plain figure first and wrap it afterwards: the FigureWidget then starts with its full data,
        # and no update messages are sent for a figure whose view does not exist yet.
        self._draw()
        self.figure = go.FigureWidget(self.figure)
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        c = self.controls
        # The 3D view beside the controls, the 2 x 2 panels below: 940 px wide, so it fits a notebook column.
        column = w.VBox([c["radiation"], c["element"], c["supercell"], c["q_range"], c["biso"], c["pdf_sigma"],
                         c["fwhm"], self.status], layout=w.Layout(width="420px", padding="0 0 0 10px"))
        self.widget = w.VBox([w.HBox([self.viewer, column]), self.figure])
        self.viewer.layout = w.Layout(width="510px", flex="0 0 510px")
        self.widget.add_class("workbench-spectra-explorer")

    # -- construction ------------------------------------------------------------------------------------------
    @classmethod
    def from_ase(cls, atoms: Any, **kwargs: Any) -> SpectraExplorer:
        """An explorer of an ``ase.Atoms`` (periodic when ``atoms.pbc`` is all True; the ``chem`` extra)."""
        return cls(SpectraStructure.from_ase(atoms), **kwargs)

    @classmethod
    def from_file(cls, path: str | Path, index: int = 0, **kwargs: Any) -> SpectraExplorer:
        """An explorer of a structure file (CIF, POSCAR, XYZ, ...; see :meth:`SpectraStructure.from_file`)."""
        return cls(SpectraStructure.from_file(path, index), **kwargs)

    # -- state ---------------------------------------------------------------------------------------------------
    @property
    def settings(self) -> SpectraSettings:
        """The :class:`SpectraSettings` the controls describe now."""
        c = self.controls
        previous = self.state.settings
        return SpectraSettings(
            radiation=c["radiation"].value, q_range=tuple(float(v) for v in c["q_range"].value), n_q=previous.n_q,
            pdf_sigma=float(c["pdf_sigma"].value), r_max=previous.r_max, n_r=previous.n_r,
            fwhm=float(c["fwhm"].value), biso=float(c["biso"].value), supercell=int(c["supercell"].value),
            element=c["element"].value, wavelength=previous.wavelength)

    def update(self) -> SpectraState:
        """Recompute for the current controls and redraw; returns the new state (errors propagate)."""
        self.state = spectra_state(self.structure, self.settings)
        self._draw()
        return self.state

    def set(self, **values: Any) -> SpectraState:
        """Set several controls at once (names of :class:`SpectraSettings` that have a control), recompute once."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; the controls are {sorted(self.controls)}")
        trial = {f.name: getattr(self.settings, f.name) for f in fields(SpectraSettings)}
        trial.update({k: tuple(v) if k == "q_range" else v for k, v in values.items()})
        SpectraSettings(**trial).checked(self.structure)  # a bad value raises before any control moves
        for control in self.controls.values():
            control.unobserve(self._on_change, names="value")
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            for control in self.controls.values():
                control.observe(self._on_change, names="value")
        return self.update()

    def set_prediction(self, panel: str, values: Any, name: str = "model", *, redraw: bool = True) -> None:
        """Overlay a model prediction on ``panel`` (one of :data:`PANELS`).

        ``values``: an array aligned with the panel's current grid (``state.q`` for ``"sq"``, ``state.r`` for
        ``"gr"``, ``state.two_theta`` for ``"powder"``, the DOS frequencies for ``"dos"``); it is hidden (and the
        status says so) while the grid differs from the one it was given on. Or a callable
        ``values(structure, grid) -> [len(grid)]``, evaluated on the shown structure at every update.
        """
        grid = self._grid(_panel(panel))
        if grid is None:
            raise ValueError(f"panel {panel!r} has no grid for this structure (no cell for a powder pattern, or no "
                             "DOS given)")
        if callable(values):
            _curve(values(self.state.structure, grid), f"prediction({panel!r})", grid.shape[0])
            self._predictions[panel] = (str(name), values, None)
        else:
            self._predictions[panel] = (str(name), _curve(values, f"prediction for {panel!r}", grid.shape[0]),
                                        grid.copy())
        if redraw:
            self._draw()

    def clear_prediction(self, panel: str) -> None:
        """Remove the overlay of ``panel``."""
        self._predictions.pop(_panel(panel), None)
        self._draw()

    # -- the figure ------------------------------------------------------------------------------------------------
    def traces(self, panel: str) -> tuple[go.Scatter, ...]:
        """The traces of ``panel`` (one of :data:`PANELS`) in :attr:`figure`, in drawing order, the model overlay
        last: ``"sq"``: S(Q), the pair contributions to S(Q) - 1, model; ``"gr"``: G(r) from pair distances, G(r)
        from F(Q), the pair contributions, model; ``"powder"``: pattern, model; ``"dos"``: DOS, model."""
        data = self.figure.data
        return tuple(data[i] for i in self._traces[_panel(panel)])

    def panel_title(self, panel: str) -> str:
        """The title shown above ``panel`` (one of :data:`PANELS`)."""
        return self.figure.layout.annotations[self._titles[_panel(panel)]].text

    def _grid(self, panel: str) -> np.ndarray | None:
        if panel == "dos":
            return None if self.dos is None else self.dos[0]
        return self.state.grid(panel)

    def _on_change(self, change: dict) -> None:
        try:
            self.update()
        except ValueError as err:  # a control combination the compute refuses: say so, keep the last figures
            self.status.value = f"<span class='workbench-spectra-error' style='color:#c44e52'>{err}</span>"

    # -- drawing -------------------------------------------------------------------------------------------------
    def _prediction(self, panel: str) -> tuple[str, np.ndarray, np.ndarray] | None:
        if panel not in self._predictions:
            return None
        name, values, grid_then = self._predictions[panel]
        grid = self._grid(panel)
        if grid is None:
            self._notes.append(f"{panel} prediction hidden: the panel has no grid now")
            return None
        if callable(values):
            return name, grid, _curve(values(self.state.structure, grid), f"prediction({panel!r})", grid.shape[0])
        if grid_then is None or grid.shape != grid_then.shape or not np.allclose(grid, grid_then):
            self._notes.append(f"{panel} prediction hidden: it was given on another grid (set it again)")
            return None
        return name, grid, values

    def _draw_prediction(self, panel: str) -> None:
        trace = self.traces(panel)[-1]
        found = self._prediction(panel)
        if found is None:
            trace.visible, trace.x, trace.y = False, [], []
        else:
            trace.name, trace.x, trace.y = found
            trace.visible = True

    def _set_title(self, panel: str, text: str) -> None:
        self.figure.layout.annotations[self._titles[panel]].text = text

    def _draw(self) -> None:
        s = self.state
        settings = s.settings
        self._notes = []
        chosen = settings.element
        radiation = "X-ray" if settings.radiation == "xray" else "neutron"
        sq, gr, powder, dos = (self.traces(panel) for panel in PANELS)
        with self.figure.batch_update():
            sq[0].x, sq[0].y = s.q, s.structure_factor
            for trace, (label, values) in zip(sq[1:-1], s.sq_contributions.items()):
                trace.x, trace.y = s.q, values
                trace.visible = True if chosen is not None and chosen in label.split("-") else "legendonly"
            self._draw_prediction("sq")
            cells = f", {settings.supercell}³ cells" if self.structure.periodic else ""
            self._set_title("sq", f"S(Q), {radiation}: {s.structure.n_atoms} atoms{cells}")

            gr[0].x, gr[0].y = s.r, s.reduced_pdf
            gr[1].x, gr[1].y = s.r, s.pdf_from_fq
            for trace, (label, values) in zip(gr[2:-1], s.pdf_contributions.items()):
                trace.x, trace.y = s.r, values
                trace.visible = True if chosen is not None and chosen in label.split("-") else "legendonly"
            self._draw_prediction("gr")
            self._set_title("gr", f"G(r), {radiation} weights")

            if s.powder is None:
                powder[0].x, powder[0].y = [], []
                self._set_title("powder", "no powder pattern: the structure has no cell" if not
                                self.structure.periodic else "no powder pattern: the Q range lies beyond "
                                f"2θ = {MAX_TWO_THETA:g}°")
            else:
                powder[0].x, powder[0].y = s.two_theta, s.powder
                self._set_title("powder", f"powder pattern, {radiation}, λ = {settings.wavelength:g} Å: "
                                          f"{len(s.peaks.two_theta)} peaks")
            self._draw_prediction("powder")

            if self.dos is None:
                dos[0].x, dos[0].y = [], []
                self._set_title("dos", "no phonon DOS given: SpectraExplorer(..., dos=(frequencies, dos))")
            else:
                dos[0].x, dos[0].y = self.dos
                self._set_title("dos", "phonon DOS")
            self._draw_prediction("dos")
        with self.viewer.hold_sync():
            self.viewer.highlight = []
            self.viewer.symbols = list(s.structure.symbols)
            self.viewer.positions = s.structure.positions
            self.viewer.highlight = s.highlighted
        notes = "".join(f"<br><i>{n}</i>" for n in self._notes)
        self.status.value = (
            f"<span class='workbench-spectra-status' data-radiation='{settings.radiation}' "
            f"data-atoms='{s.structure.n_atoms}' data-highlighted='{len(s.highlighted)}'>{self.structure.name}: "
            f"{radiation}, {s.structure.n_atoms} atoms, Q = {settings.q_range[0]:g}–{settings.q_range[1]:g} 1/Å, "
            f"B_iso = {settings.biso:g} Å²"
            + (f"; {chosen}: {len(s.highlighted)} atoms highlighted" if chosen else "") + f"</span>{notes}")

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        return self.widget._repr_mimebundle_(**kwargs)

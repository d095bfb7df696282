"""Phonons of periodic crystals: density of states, dispersion and the neutron-weighted DOS, via phonopy.

:func:`compute_phonons` takes an ASE ``Atoms`` (periodic in all three directions) and any ASE calculator (default: ASE's
EMT, which knows :data:`EMT_ELEMENTS`), computes harmonic force constants by finite displacements in a supercell
(phonopy), and evaluates the frequencies on a Gamma-centred q mesh and, optionally, along the standard band path of
the cell (ASE's ``cell.bandpath()``). phonopy and ase come with the ``spectra`` extra.

Conventions:

* frequencies ``nu`` in THz (phonopy's factor for eV, Å and amu); imaginary modes are negative numbers;
* DOS on :data:`DOS_BINS` = 51 equal bins of ``[0, f_max]`` THz (default :data:`DOS_MAX_THZ` = 12 THz, above the
  highest EMT frequency, Ni at ~10 THz), the 51-point convention of Chen et al. (Adv. Sci. 8, 2004214, 2021);
  :func:`bin_dos` gives states per THz per cell, integrating to ``3 N`` (every mode in range);
  :func:`normalize_dos` scales to maximum 1 as Chen et al. do;
* neutron-weighted DOS: the partial DOS of each species weighted by ``sigma_coh / M`` (Sears coherent cross
  section ``4 pi b_coh^2`` in barn from :mod:`workbench.scattering.elements`, mass in amu from the structure), the
  usual incoherent approximation for a measured generalized DOS.

:func:`bin_dos`, :func:`normalize_dos`, :func:`average_frequency` and :func:`heat_capacity` need numpy only.

Examples:
    >>> import numpy as np
    >>> from workbench.scattering.phonons import bin_dos, heat_capacity
    >>> centres, dos = bin_dos(np.array([[1.0, 2.0, 2.0]]))      # one q point, three modes
    >>> round(float(dos.sum() * (centres[1] - centres[0])), 12)   # integrates to the number of modes
    3.0
    >>> round(float(heat_capacity(np.ones(51), centres, 1e6)), 4) # classical limit: 1 k_B per mode
    1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from workbench.scattering.elements import atomic_numbers, neutron_scattering_lengths

__all__ = ["DOS_BINS", "DOS_MAX_THZ", "EMT_ELEMENTS", "PhononBands", "PhononResult", "average_frequency",
           "bin_dos", "dos_bin_centres", "heat_capacity", "compute_phonons", "normalize_dos", "require_spectra_extra"]

#: Elements ASE's EMT potential parametrizes (the default calculator).
EMT_ELEMENTS: tuple[str, ...] = ("Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt")
#: Number of DOS bins (Chen et al.) and the default upper frequency in THz.
DOS_BINS, DOS_MAX_THZ = 51, 12.0
#: Frequencies above ``-IMAGINARY_TOL`` THz count as real (acoustic modes at Gamma are ~1e-6 from zero).
IMAGINARY_TOL = 1e-3
# h / k_B in K per THz
_H_OVER_KB = 6.62607015e-34 * 1e12 / 1.380649e-23


def require_spectra_extra() -> tuple[Any, Any]:
    """``(phonopy, ase)``; ImportError naming the ``spectra`` extra when either is missing."""
    try:
        import ase  # optional heavy dependency (the 'spectra' extra): structures and calculators
        import phonopy  # optional heavy dependency (the 'spectra' extra): force constants and phonon frequencies
    except ImportError as err:
        raise ImportError("phonon spectra need phonopy and ase (the 'spectra' extra): pip install "
                          "'equivariant-workbench[spectra]' or pip install phonopy ase") from err
    return phonopy, ase


def dos_bin_centres(bins: int = DOS_BINS, f_max: float = DOS_MAX_THZ) -> np.ndarray:
    """``[bins]`` centres (THz) of the equal bins of ``[0, f_max]``."""
    _check_bins(bins, f_max)
    width = f_max / bins
    return (np.arange(bins) + 0.5) * width


def _check_bins(bins: int, f_max: float) -> None:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}")
    if not (isinstance(f_max, (int, float)) and math.isfinite(f_max) and f_max > 0):
        raise ValueError(f"f_max must be a positive finite frequency in THz, got {f_max!r}")


def bin_dos(frequencies: np.ndarray, weights: np.ndarray | None = None, bins: int = DOS_BINS,
            f_max: float = DOS_MAX_THZ, sigma: float = 0.0, mode_weights: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Density of states of mesh frequencies on equal bins of ``[0, f_max]`` THz.

    Args:
        frequencies: ``[nq, M]`` THz (M modes per q point); values in ``(-IMAGINARY_TOL, 0)`` count as 0, more
            negative (imaginary) ones are left out.
        weights: ``[nq]`` q-point weights (default equal); normalized to sum 1.
        bins, f_max: number of bins and upper edge (THz).
        sigma: Gaussian broadening in THz (0: plain histogram); each mode's Gaussian mass is integrated over the
            bins, so the broadened DOS loses only what spills outside ``[0, f_max]``.
        mode_weights: ``[nq, M]`` per-mode weights (default 1; e.g. projections for a partial DOS).

    Returns:
        ``(centres [bins], dos [bins])``: states per THz per cell, ``dos.sum() * f_max / bins == M`` when every mode
        lies in range and ``sigma == 0``.
    """
    freq = np.asarray(frequencies, dtype=np.float64)
    if freq.ndim != 2 or freq.size == 0 or not np.isfinite(freq).all():
        raise ValueError(f"frequencies must be a finite [nq, modes] array in THz, got shape {freq.shape}")
    _check_bins(bins, f_max)
    if not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite broadening >= 0 THz, got {sigma!r}")
    w = np.ones(freq.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (freq.shape[0],) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be [nq] = [{freq.shape[0]}] non-negative with a positive sum")
    mw = np.ones_like(freq) if mode_weights is None else np.asarray(mode_weights, dtype=np.float64)
    if mw.shape != freq.shape:
        raise ValueError(f"mode_weights must have the shape of frequencies {freq.shape}, got {mw.shape}")
    mass = (w / w.sum())[:, None] * mw
    real = freq > -IMAGINARY_TOL
    f, m = np.clip(freq[real], 0.0, None), mass[real]
    edges = np.linspace(0.0, f_max, bins + 1)
    width = f_max / bins
    if sigma == 0:
        counts, _ = np.histogram(f, bins=edges, weights=m)
        # the top edge belongs to the last bin in numpy; keep [0, f_max) semantics consistent with it
    else:
        cdf = torch.special.ndtr(torch.as_tensor((edges[None, :] - f[:, None]) / sigma)).numpy()
        counts = (m[:, None] * np.diff(cdf, axis=1)).sum(0)
    return (edges[:-1] + edges[1:]) / 2, counts / width


def normalize_dos(dos: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """``dos [..., bins]`` scaled to maximum 1 along the last axis (Chen et al.'s normalization)."""
    top = dos.max(-1, keepdims=True) if isinstance(dos, np.ndarray) else dos.amax(-1, keepdim=True)
    if (top <= 0).any():
        raise ValueError("dos has a row without a positive value; cannot normalize to maximum 1")
    return dos / top


def _weighted_mean(dos, centres, values):
    torch_in = isinstance(dos, torch.Tensor)
    g = dos if torch_in else torch.as_tensor(np.asarray(dos, dtype=np.float64))
    c = torch.as_tensor(np.asarray(centres), dtype=g.dtype, device=g.device)
    if g.shape[-1] != c.shape[0]:
        raise ValueError(f"dos has {g.shape[-1]} bins on its last axis but centres has {c.shape[0]}")
    g = g.clamp(min=0)
    out = (g * values(c)).sum(-1) / g.sum(-1).clamp(min=torch.finfo(g.dtype).tiny)
    return out if torch_in else out.numpy()


def average_frequency(dos: np.ndarray | torch.Tensor, centres: np.ndarray) -> np.ndarray | torch.Tensor:
    """DOS-weighted mean frequency ``sum nu g / sum g`` (THz) of ``dos [..., bins]`` on bin ``centres`` (THz);
    negative DOS values (a model's) count as 0."""
    return _weighted_mean(dos, centres, lambda c: c)


def heat_capacity(dos: np.ndarray | torch.Tensor, centres: np.ndarray, temperature: float = 300.0
                  ) -> np.ndarray | torch.Tensor:
    """Harmonic heat capacity per mode in units of ``k_B`` at ``temperature`` K from ``dos [..., bins]``:
    ``sum g(nu) x^2 e^x / (e^x - 1)^2 / sum g`` with ``x = h nu / k_B T`` (1 in the classical limit)."""
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive number of kelvin, got {temperature!r}")

    def einstein(c: torch.Tensor) -> torch.Tensor:
        x = (c * (_H_OVER_KB / temperature)).clamp(min=1e-12)
        return x**2 * torch.exp(-x) / (-torch.expm1(-x)) ** 2

    return _weighted_mean(dos, centres, einstein)


@dataclass
class PhononBands:
    """Frequencies along the cell's standard band path: ``distances [K]`` (1/Å, cumulative), ``frequencies [K, M]``
    (THz), ``qpoints [K, 3]`` (fractional, reciprocal cell), ``label_distances [L]`` and ``labels [L]``."""

    distances: np.ndarray
    frequencies: np.ndarray
    qpoints: np.ndarray
    label_distances: np.ndarray
    labels: list[str]


@dataclass
class PhononResult:
    """What :func:`compute_phonons` computed for a cell of ``N`` atoms (``M = 3 N`` modes).

    ``qpoints [nq, 3]`` (fractional), ``weights [nq]`` (sum 1), ``frequencies [nq, M]`` THz on the mesh;
    ``gamma_frequencies [M]``; ``centres [bins]`` THz; ``dos [bins]`` states/THz/cell (integral ``M`` up to modes
    outside the range); ``dos_normalized`` (max 1); ``neutron_dos [bins]`` (barn/amu per THz per cell);
    ``num_imaginary``: mesh modes below ``-IMAGINARY_TOL`` (left out of the DOS); ``bands`` or None;
    ``supercell`` and ``mesh`` used.
    """

    qpoints: np.ndarray
    weights: np.ndarray
    frequencies: np.ndarray
    gamma_frequencies: np.ndarray
    centres: np.ndarray
    dos: np.ndarray
    dos_normalized: np.ndarray
    neutron_dos: np.ndarray
    num_imaginary: int
    bands: PhononBands | None
    supercell: tuple[int, int, int]
    mesh: tuple[int, int, int]


def _default_supercell(cell: np.ndarray, min_length: float) -> tuple[int, int, int]:
    """Smallest repeats making every perpendicular height of the supercell >= ``min_length`` Å."""
    vol = abs(np.linalg.det(cell))
    heights = [vol / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)]
    return tuple(max(1, math.ceil(min_length / h - 1e-9)) for h in heights)  # type: ignore[return-value]


def _default_mesh(cell: np.ndarray, density: float) -> tuple[int, int, int]:
    """``ceil(density * |b_k| / (2 pi))`` q points along each reciprocal vector (at least 2)."""
    recip = np.linalg.inv(cell).T  # rows b_k / (2 pi)
    return tuple(max(2, math.ceil(density * np.linalg.norm(b) - 1e-9)) for b in recip)  # type: ignore[return-value]


def _int_triple(value: Any, name: str) -> tuple[int, int, int]:
    arr = np.asarray(value)
    if arr.shape != (3,) or not np.issubdtype(arr.dtype, np.integer) or (arr < 1).any():
        raise ValueError(f"{name} must be three positive integers, got {value!r}")
    return tuple(int(v) for v in arr)  # type: ignore[return-value]


def compute_phonons(atoms: Any, calculator: Any = None, *, supercell: Sequence[int] | None = None,
            min_supercell_length: float = 7.0, mesh: Sequence[int] | None = None, mesh_density: float = 25.0,
            displacement: float = 0.01, bins: int = DOS_BINS, f_max: float = DOS_MAX_THZ, sigma: float = 0.0,
            band_points: int = 0) -> PhononResult:
    """Harmonic phonons of the periodic structure ``atoms`` (ASE ``Atoms``) by finite displacements (phonopy).

    Args:
        atoms: periodic in all three directions, with a non-singular cell; its positions are taken as the
            equilibrium (relax first: forces at rest show up as imaginary or shifted modes).
        calculator: any ASE calculator, used on every displaced supercell (default: a fresh ``EMT()``; then every
            element must be in :data:`EMT_ELEMENTS`).
        supercell: repeats ``(n1, n2, n3)`` of the force-constant supercell; default the smallest with every
            height >= ``min_supercell_length`` Å.
        mesh: Gamma-centred q mesh; default ``ceil(mesh_density * |b_k| / 2 pi)`` points along each reciprocal
            vector.
        displacement: finite displacement in Å.
        bins, f_max, sigma: DOS binning (:func:`bin_dos`).
        band_points: > 0: also the dispersion at this many q points along ``atoms.cell.bandpath()``.

    Raises:
        ImportError: phonopy or ase missing (names the ``spectra`` extra).
        ValueError: a non-periodic structure (names the non-periodic directions), an empty one, an element EMT
            does not know (lists :data:`EMT_ELEMENTS`), or bad numbers.
    """
    phonopy, ase = require_spectra_extra()
    from ase.calculators.emt import EMT  # optional heavy dependency (the 'spectra' extra): the default calculator
    from phonopy.structure.atoms import PhonopyAtoms  # optional heavy dependency (the 'spectra' extra)

    if not isinstance(atoms, ase.Atoms):
        raise TypeError(f"atoms must be an ase.Atoms, got {type(atoms).__name__}")
    if len(atoms) == 0:
        raise ValueError("atoms is empty; phonons need at least one atom")
    if not atoms.pbc.all():
        missing = [ax for ax, p in zip("xyz", atoms.pbc) if not p]
        raise ValueError(f"phonons need a structure periodic in all three directions; atoms.pbc is False along "
                         f"{', '.join(missing)} (set atoms.pbc = True and give a cell)")
    cell = np.asarray(atoms.cell[:], dtype=np.float64)
    if abs(np.linalg.det(cell)) < 1e-6:
        raise ValueError("atoms.cell is singular; phonons need three lattice vectors")
    symbols = atoms.get_chemical_symbols()
    atomic_numbers(symbols)  # unknown element -> ValueError listing the supported ones
    if calculator is None:
        unknown = sorted(set(symbols) - set(EMT_ELEMENTS))
        if unknown:
            raise ValueError(f"the default EMT calculator knows {', '.join(EMT_ELEMENTS)}; got {unknown} "
                             "(pass another ASE calculator)")
        calculator = EMT()
    for name, value in (("displacement", displacement), ("min_supercell_length", min_supercell_length),
                        ("mesh_density", mesh_density)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if isinstance(band_points, bool) or not isinstance(band_points, int) or band_points < 0:
        raise ValueError(f"band_points must be an integer >= 0, got {band_points!r}")
    _check_bins(bins, f_max)
    sc = _default_supercell(cell, min_supercell_length) if supercell is None else _int_triple(supercell, "supercell")
    qmesh = _default_mesh(cell, mesh_density) if mesh is None else _int_triple(mesh, "mesh")

    masses = atoms.get_masses()
    unit = PhonopyAtoms(symbols=symbols, cell=cell, scaled_positions=atoms.get_scaled_positions(wrap=True),
                        masses=masses)
    ph = phonopy.Phonopy(unit, supercell_matrix=np.diag(sc), primitive_matrix="P")
    ph.generate_displacements(distance=float(displacement))
    forces = []
    for displaced in ph.supercells_with_displacements:
        sup = ase.Atoms(displaced.symbols, cell=displaced.cell, scaled_positions=displaced.scaled_positions,
                        masses=displaced.masses, pbc=True)
        sup.calc = calculator
        forces.append(np.asarray(sup.get_forces(), dtype=np.float64))
    ph.forces = np.asarray(forces)
    ph.produce_force_constants()
    ph.symmetrize_force_constants()  # enforces the acoustic sum rule (translational invariance)

    result = ph.run_mesh(list(qmesh), is_gamma_center=True, with_eigenvectors=True)
    mesh_result = ph.mesh if result is None else result
    freq = np.asarray(mesh_result.frequencies, dtype=np.float64)
    weights = np.asarray(mesh_result.weights, dtype=np.float64)
    weights = weights / weights.sum()
    eig = np.asarray(mesh_result.eigenvectors)  # [nq, 3N, 3N], column nu is mode nu
    proj = (np.abs(eig) ** 2).reshape(freq.shape[0], len(atoms), 3, -1).sum(2)  # [nq, N, 3N]
    b = neutron_scattering_lengths(atomic_numbers(symbols)).numpy()  # fm
    sigma_coh = 4 * np.pi * b**2 / 100.0  # barn
    centres, dos = bin_dos(freq, weights, bins, f_max, sigma)
    neutron_modes = np.einsum("n,qnm->qm", sigma_coh / masses, proj)
    _, neutron = bin_dos(freq, weights, bins, f_max, sigma, mode_weights=neutron_modes)
    ph.run_qpoints([[0.0, 0.0, 0.0]])
    gamma = np.asarray(ph.qpoints.frequencies, dtype=np.float64)[0]
    bands = None
    if band_points:
        path = atoms.cell.bandpath(npoints=band_points)
        ph.run_qpoints(path.kpts)
        x, label_x, labels = path.get_linear_kpoint_axis()
        bands = PhononBands(np.asarray(x), np.asarray(ph.qpoints.frequencies, dtype=np.float64),
                            np.asarray(path.kpts), np.asarray(label_x), list(labels))
    top = dos.max()
    return PhononResult(np.asarray(mesh_result.qpoints), weights, freq, gamma, centres, dos,
                        dos / top if top > 0 else dos.copy(), neutron, int((freq <= -IMAGINARY_TOL).sum()), bands,
                        sc, qmesh)

"""The generated spectra dataset: ordered and disordered fcc cells of the EMT elements with their phonon DOS, X-ray
S(Q) and reduced PDF G(r).

:func:`build_spectra_dataset` (``workbench build-data spectra``, needs the ``spectra`` extra) draws, from one seed:

* ``elemental``: one-atom primitive fcc cells of each of :data:`~workbench.scattering.phonons.EMT_ELEMENTS`;
* ``L1_2``: four-atom cubic ``A3B`` cells (B on the corner), every ordered pair of elements;
* ``L1_0``: four-atom cubic ``AB`` cells (alternating (001) planes), every unordered pair;
* ``random``: random substitutional alloys of 2 or 3 elements on the four-atom cubic cell or its 2x1x1 (8-atom)
  supercell, positions relaxed with the calculator (ASE BFGS, cell fixed).

The lattice parameter is Vegard's law over ASE's reference fcc lattice parameters of the elements, times a random
``1 + delta`` (``delta`` uniform in ``+-strain``). Targets per structure:

* ``dos [51]``: phonon DOS on 51 bins of 0-12 THz (bin centres ``dos_centres``), Gaussian broadening
  ``sigma = 0.15`` THz, normalized to maximum 1 (Chen et al.'s convention), by :func:`~workbench.scattering.phonons.
  compute_phonons` with EMT; ``dos_states [51]`` the same before normalization (states/THz per atom);
* ``sq [nq]`` X-ray S(Q) on ``q`` (1/Å) and ``gr [nr]`` X-ray-weighted G(r) on ``r`` (Å) of a spherical particle of
  radius ``particle_radius`` Å cut from the cell (Debye equation: :func:`~workbench.scattering.debye_scattering`
  and :func:`~workbench.scattering.pair_distribution`, isolated cluster, ``biso`` = 0.5 Å^2).

A structure with an imaginary mode (below -1e-3 THz; some random cells after relaxation) is skipped and another is
drawn; the manifest counts them. :func:`load_spectra_dataset` reads the shipped set (sha256-checked) without phonopy
or ase.
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.data.manifest import MANIFEST_NAME, read_verified_npz, sha256_file, write_npz_reproducible
from workbench.scattering.debye import debye_scattering
from workbench.scattering.elements import atomic_numbers, element_symbols
from workbench.scattering.pdf import pair_distribution
from workbench.scattering.phonons import DOS_BINS, DOS_MAX_THZ, EMT_ELEMENTS, compute_phonons, require_spectra_extra

__all__ = ["DEFAULT_SPECTRA_DIR", "KINDS", "SpectraDataset", "build_spectra_dataset", "fcc_structures",
           "load_spectra_dataset"]

DEFAULT_SPECTRA_DIR: Path = Path(__file__).resolve().parents[2] / "data" / "spectra"
KINDS: tuple[str, ...] = ("elemental", "L1_2", "L1_0", "random")
_NPZ = "spectra.npz"
_REBUILD = "rebuild with `workbench build-data spectra` (needs the 'spectra' extra)"
# the cubic fcc cell's four sites, fractional
_FCC_SITES = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]], dtype=np.float64)


@dataclass
class SpectraDataset:
    """Structures and spectra, atoms of all structures concatenated (``S`` structures, ``A`` atoms).

    ``numbers [A]`` int64 atomic numbers; ``positions [A, 3]`` float64 Å; ``ptr [S + 1]`` int64 (structure ``s``
    owns atoms ``ptr[s]:ptr[s+1]``); ``cells [S, 3, 3]`` float64 (rows are lattice vectors, all periodic);
    ``kinds [S]`` (one of :data:`KINDS`); ``dos [S, 51]`` float64 (max 1), ``dos_states [S, 51]`` (states/THz per
    atom), ``dos_centres [51]`` THz; ``sq [S, nq]`` on ``q [nq]``; ``gr [S, nr]`` on ``r [nr]``; ``manifest``.
    """

    numbers: np.ndarray
    positions: np.ndarray
    ptr: np.ndarray
    cells: np.ndarray
    kinds: np.ndarray
    dos: np.ndarray
    dos_states: np.ndarray
    dos_centres: np.ndarray
    sq: np.ndarray
    q: np.ndarray
    gr: np.ndarray
    r: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cells)

    def structure(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(numbers [n], positions [n, 3], cell [3, 3])`` of structure ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"index must be in [0, {len(self)}), got {index}")
        a, b = self.ptr[index], self.ptr[index + 1]
        return self.numbers[a:b], self.positions[a:b], self.cells[index]

    def formula(self, index: int) -> str:
        """Chemical formula of structure ``index`` (e.g. ``"AuCu3"``)."""
        numbers = self.structure(index)[0]
        symbols = element_symbols(numbers.tolist())
        return "".join(f"{s}{symbols.count(s) if symbols.count(s) > 1 else ''}" for s in sorted(set(symbols)))


def _vegard(symbols: list[str]) -> float:
    from ase.data import reference_states  # optional heavy dependency (the 'spectra' extra): fcc lattice parameters

    return float(np.mean([reference_states[int(atomic_numbers([s])[0])]["a"] for s in symbols]))


def fcc_structures(n_random: int, seed: int = 0, strain: float = 0.015, variants: int = 2) -> list[tuple[Any, str]]:
    """The ``(Atoms, kind)`` list of the module docstring: ``variants`` strained copies of every elemental, L1_2
    and L1_0 cell and ``n_random`` random alloys (unrelaxed), from ``numpy.random.default_rng(seed)``."""
    _, ase = require_spectra_extra()
    rng = np.random.default_rng(seed)
    out: list[tuple[Any, str]] = []

    def scale(symbols: list[str]) -> float:
        return _vegard(symbols) * (1 + rng.uniform(-strain, strain))

    for _ in range(variants):
        for el in EMT_ELEMENTS:
            a = scale([el])
            out.append((ase.Atoms(el, cell=(np.ones((3, 3)) - np.eye(3)) * a / 2, pbc=True), "elemental"))
    for _ in range(max(1, variants // 2)):
        for a_el in EMT_ELEMENTS:
            for b_el in EMT_ELEMENTS:
                if a_el != b_el:
                    symbols = [b_el, a_el, a_el, a_el]
                    out.append((ase.Atoms(symbols, scaled_positions=_FCC_SITES, cell=np.eye(3) * scale(symbols),
                                          pbc=True), "L1_2"))
    for _ in range(variants):
        for i, a_el in enumerate(EMT_ELEMENTS):
            for b_el in EMT_ELEMENTS[i + 1:]:
                symbols = [a_el, a_el, b_el, b_el]  # z = 0 plane A, z = 1/2 plane B
                out.append((ase.Atoms(symbols, scaled_positions=_FCC_SITES, cell=np.eye(3) * scale(symbols),
                                      pbc=True), "L1_0"))
    for _ in range(n_random):
        k = int(rng.integers(2, 4))
        elements = list(rng.choice(EMT_ELEMENTS, size=k, replace=False))
        repeat = [(1, 1, 1), (2, 1, 1)][int(rng.integers(0, 2))]
        base = ase.Atoms("X4", scaled_positions=_FCC_SITES, cell=np.eye(3), pbc=True).repeat(repeat)
        symbols = [str(s) for s in rng.choice(elements, size=len(base))]
        if len(set(symbols)) < 2:
            symbols[0], symbols[-1] = elements[0], elements[1]
        atoms = ase.Atoms(symbols, scaled_positions=base.get_scaled_positions(),
                          cell=base.cell[:] * scale(symbols), pbc=True)
        out.append((atoms, "random"))
    return out


def _particle(atoms: Any, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Numbers and positions of the atoms of the periodic crystal within ``radius`` of an atom at the origin."""
    cell = atoms.cell[:]
    vol = abs(np.linalg.det(cell))
    reps = [math.ceil(radius / (vol / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])))) + 1
            for k in range(3)]
    grid = np.stack(np.meshgrid(*[np.arange(-n, n + 1) for n in reps], indexing="ij"), -1).reshape(-1, 3) @ cell
    pos = (atoms.positions[None, :, :] - atoms.positions[0] + grid[:, None, :]).reshape(-1, 3)
    numbers = np.tile(atoms.numbers, len(grid))
    keep = np.linalg.norm(pos, axis=1) <= radius
    return numbers[keep], pos[keep]


def _relax(atoms: Any, calculator: Any, fmax: float) -> Any:
    from ase.optimize import BFGS  # optional heavy dependency (the 'spectra' extra): relaxing disordered cells

    atoms = atoms.copy()
    atoms.calc = calculator
    BFGS(atoms, logfile=None).run(fmax=fmax, steps=200)
    atoms.calc = None
    return atoms


def build_spectra_dataset(out_dir: str | Path | None = None, *, seed: int = 0, n_random: int = 200,
                          variants: int = 2, strain: float = 0.015, sigma: float = 0.15,
                          particle_radius: float = 10.0, nq: int = 100, nr: int = 100,
                          limit: int | None = None) -> Path:
    """Build the dataset into ``out_dir`` (default :data:`DEFAULT_SPECTRA_DIR`): ``spectra.npz`` and
    ``manifest.json`` (generator, seed, versions of phonopy/ase/torch/numpy, counts, timings, sha256). ``limit``
    keeps only the first ``limit`` structures of a shuffled list (for timing). Returns the manifest path."""
    phonopy, ase = require_spectra_extra()
    from ase.calculators.emt import EMT  # optional heavy dependency (the 'spectra' extra): the EMT calculator

    for name, value in (("n_random", n_random), ("variants", variants), ("nq", nq), ("nr", nr)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "n_random" else 1):
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    out = Path(out_dir) if out_dir is not None else DEFAULT_SPECTRA_DIR
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed + 1)
    candidates = fcc_structures(n_random, seed, strain, variants)
    order = rng.permutation(len(candidates))
    if limit is not None:
        order = order[:limit]
    q = torch.linspace(1.0, 12.0, nq, dtype=torch.float64)
    r = torch.linspace(1.5, 10.0, nr, dtype=torch.float64)
    rows: dict[str, list] = {k: [] for k in ("numbers", "positions", "cells", "kinds", "dos", "dos_states", "sq",
                                             "gr", "n")}
    skipped = {k: 0 for k in KINDS}
    calc = EMT()
    seconds = {"phonons": 0.0, "relax": 0.0, "scattering": 0.0}
    for idx in order:
        atoms, kind = candidates[int(idx)]
        if kind == "random":
            t = time.perf_counter()
            atoms = _relax(atoms, calc, 1e-3)
            seconds["relax"] += time.perf_counter() - t
        t = time.perf_counter()
        result = compute_phonons(atoms, calc, sigma=sigma)
        seconds["phonons"] += time.perf_counter() - t
        if result.num_imaginary:
            skipped[kind] += 1
            continue
        t = time.perf_counter()
        numbers, pos = _particle(atoms, particle_radius)
        species = numbers.tolist()
        pos_t = torch.as_tensor(pos, dtype=torch.float64)
        sq = debye_scattering(species, pos_t, q, radiation="xray", biso=0.5).structure_factor
        gr = pair_distribution(species, pos_t, r, sigma=0.08, radiation="xray").reduced_pdf
        seconds["scattering"] += time.perf_counter() - t
        rows["numbers"].append(atoms.numbers.astype(np.int64))
        rows["positions"].append(atoms.positions.astype(np.float64))
        rows["cells"].append(np.asarray(atoms.cell[:], dtype=np.float64))
        rows["kinds"].append(kind)
        rows["dos"].append(result.dos_normalized)
        rows["dos_states"].append(result.dos / len(atoms))
        rows["sq"].append(sq.numpy())
        rows["gr"].append(gr.numpy())
        rows["n"].append(len(atoms))
    if not rows["n"]:
        raise ValueError(f"every one of the {len(order)} structures had an imaginary mode; raise limit")
    arrays = {
        "numbers": np.concatenate(rows["numbers"]),
        "positions": np.concatenate(rows["positions"]),
        "ptr": np.concatenate([[0], np.cumsum(rows["n"])]).astype(np.int64),
        "cells": np.stack(rows["cells"]),
        "kinds": np.array(rows["kinds"], dtype="U9"),
        "dos": np.stack(rows["dos"]).astype(np.float32),
        "dos_states": np.stack(rows["dos_states"]).astype(np.float32),
        "dos_centres": result.centres,
        "sq": np.stack(rows["sq"]).astype(np.float32),
        "q": q.numpy(),
        "gr": np.stack(rows["gr"]).astype(np.float32),
        "r": r.numpy(),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_npz_reproducible(out / _NPZ, arrays)
    kinds = arrays["kinds"].tolist()
    manifest = {
        "builder": "workbench.scattering.spectra_data.build_spectra_dataset",
        "generator": "ASE EMT + phonopy finite displacements (workbench.scattering.phonons.compute_phonons); "
                     "Debye S(Q) and G(r) of a spherical particle (workbench.scattering)",
        "seed": seed,
        "config": {"n_random": n_random, "variants": variants, "strain": strain, "dos_sigma_thz": sigma,
                   "dos_bins": DOS_BINS, "dos_range_thz": [0.0, DOS_MAX_THZ], "particle_radius": particle_radius,
                   "biso": 0.5, "pdf_sigma": 0.08, "q_range": [1.0, 12.0, nq], "r_range": [1.5, 10.0, nr],
                   "limit": limit, "relax_fmax": 1e-3, "displacement": 0.01, "min_supercell_length": 7.0,
                   "mesh_density": 25.0},
        "versions": {"phonopy": phonopy.__version__, "ase": ase.__version__, "torch": torch.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "counts": {"structures": len(kinds), "atoms": int(arrays["ptr"][-1]),
                   **{k: kinds.count(k) for k in KINDS}, "skipped_imaginary": skipped},
        "seconds": {"total": round(time.perf_counter() - t0, 2), **{k: round(v, 2) for k, v in seconds.items()}},
        "units": {"dos_centres": "THz", "q": "1/Angstrom", "r": "Angstrom", "positions": "Angstrom",
                  "dos": "max-normalized", "dos_states": "states/THz per atom"},
        "files": {_NPZ: {"file": _NPZ, "sha256": sha256_file(out / _NPZ), "bytes": (out / _NPZ).stat().st_size}},
    }
    path = out / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_spectra_dataset(path: str | Path | None = None, *, verify: bool = True) -> SpectraDataset:
    """Read a folder written by :func:`build_spectra_dataset` (default :data:`DEFAULT_SPECTRA_DIR`, the shipped set),
    its npz checked against the manifest's sha256 (``verify``).

    Raises:
        FileNotFoundError: no manifest in the folder (says how to build one).
        ValueError: a file that does not match its sha256, or arrays of inconsistent shapes.
    """
    folder = Path(path) if path is not None else DEFAULT_SPECTRA_DIR
    if folder.is_file():
        folder = folder.parent
    manifest, arrays, _ = read_verified_npz(
        folder, _NPZ, f"the workbench ships the spectra set in {DEFAULT_SPECTRA_DIR}; {_REBUILD}", _REBUILD, verify)
    needed = ("numbers", "positions", "ptr", "cells", "kinds", "dos", "dos_states", "dos_centres", "sq", "q", "gr",
              "r")
    missing = [k for k in needed if k not in arrays]
    if missing:
        raise ValueError(f"{folder / _NPZ} lacks arrays {missing}; {_REBUILD}")
    s = len(arrays["cells"])
    if (arrays["ptr"].shape != (s + 1,) or arrays["dos"].shape != (s, DOS_BINS) or len(arrays["sq"]) != s
            or int(arrays["ptr"][-1]) != len(arrays["numbers"])):
        raise ValueError(f"{folder / _NPZ} has inconsistent array shapes; {_REBUILD}")
    return SpectraDataset(arrays["numbers"].astype(np.int64), arrays["positions"].astype(np.float64),
                          arrays["ptr"].astype(np.int64), arrays["cells"].astype(np.float64),
                          arrays["kinds"].astype(str), arrays["dos"].astype(np.float64),
                          arrays["dos_states"].astype(np.float64), arrays["dos_centres"].astype(np.float64),
                          arrays["sq"].astype(np.float64), arrays["q"].astype(np.float64),
                          arrays["gr"].astype(np.float64), arrays["r"].astype(np.float64), manifest)

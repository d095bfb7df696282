"""The shipped Hamiltonian dataset (``data/hamiltonians``): PBE/def2-SVP Fock (``H``) and overlap (``S``) matrices
with energies, forces and orbital energies, for conformations of water and ammonia; builder and loader.

**Generation** (:func:`build_hamiltonians`, ``workbench build-data hamiltonians``, the ``qc`` extra): for each
molecule, the reference geometry is relaxed (BFGS, PBE/def2-SVP), the harmonic modes are computed there, and
conformations are drawn from the classical harmonic Boltzmann distribution at :data:`TEMPERATURE` K
(:func:`workbench.hamiltonian.pyscf_labels.normal_mode_samples`, seed from the manifest); every conformation is
labelled by one restricted Kohn-Sham PySCF calculation. ``water.npz`` also holds a rotation check: the first
conformation rotated by a random ``R`` and labelled again, so that the AO convention can be tested without PySCF.
A user's own XYZ trajectory (one molecule, many frames) is labelled by ``build_hamiltonians(out, xyz=PATH)``.

**Files**, one npz per molecule (``water.npz``, ``ammonia.npz`` or the XYZ's stem): ``z [A]``, ``positions
[N, A, 3]`` (Å), ``H``, ``S`` as their upper triangles ``[N, n(n+1)/2]`` (float64, Eh; project AO order, see
:mod:`workbench.hamiltonian.ao_convention`), ``energy [N]`` (Eh), ``forces [N, A, 3]`` (Eh/Å),
``orbital_energies [N, n]`` (Eh), ``nocc`` (doubly occupied orbitals), ``scf_seconds [N]``.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from workbench.data.manifest import MANIFEST_NAME, read_verified_npz, sha256_file, write_npz_reproducible
from workbench.data.molecules import read_molecules
from workbench.hamiltonian.basis import DEF2_SVP, OrbitalBasis
from workbench.hamiltonian.pyscf_labels import (
    label_geometry,
    label_trajectory,
    normal_mode_samples,
    pyscf_version,
    relax_and_hessian,
)

__all__ = ["TEMPERATURE", "SHIPPED_MOLECULES", "HamiltonianData", "build_hamiltonians", "load_hamiltonians",
           "triu_to_full", "full_to_triu", "default_folder"]

#: Sampling temperature of the shipped conformations (K).
TEMPERATURE = 500.0
XC = "pbe"
#: name -> (atomic numbers, starting geometry in Å, number of conformations)
SHIPPED_MOLECULES: dict[str, tuple[tuple[int, ...], tuple[tuple[float, float, float], ...], int]] = {
    "water": ((8, 1, 1), ((0.0, 0.0, 0.1173), (0.0, 0.7572, -0.4692), (0.0, -0.7572, -0.4692)), 100),
    "ammonia": ((7, 1, 1, 1), ((0.0, 0.0, 0.1), (0.94, 0.0, -0.27), (-0.47, 0.81, -0.27), (-0.47, -0.81, -0.27)),
                40),
}


def default_folder() -> Path:
    return Path(__file__).resolve().parents[2] / "data" / "hamiltonians"


def full_to_triu(m: np.ndarray) -> np.ndarray:
    """``[..., n, n]`` symmetric -> its upper triangle (row-major, diagonal included) ``[..., n(n+1)/2]``."""
    n = m.shape[-1]
    i, j = np.triu_indices(n)
    return m[..., i, j]


def triu_to_full(t, n: int):
    """Inverse of :func:`full_to_triu` (numpy or torch)."""
    i, j = np.triu_indices(n)
    if isinstance(t, torch.Tensor):
        out = t.new_zeros(*t.shape[:-1], n, n)
        out[..., i, j] = t
        out[..., j, i] = t
        return out
    out = np.zeros(t.shape[:-1] + (n, n), dtype=t.dtype)
    out[..., i, j] = t
    out[..., j, i] = t
    return out


@dataclass
class HamiltonianData:
    """One molecule's conformations and labels as float64 tensors (project AO order).

    ``z [A]`` (long), ``pos [N, A, 3]`` (Å), ``H``, ``S`` ``[N, n, n]`` (Eh), ``energy [N]`` (Eh), ``forces
    [N, A, 3]`` (Eh/Å), ``orbital_energies [N, n]`` (Eh), ``nocc`` (doubly occupied orbitals), ``basis``, and the
    optional rotation check (``rotation``: dict with ``R [3, 3]``, ``pos``, ``H``, ``S`` of the rotated first
    conformation).
    """

    name: str
    z: torch.Tensor
    pos: torch.Tensor
    H: torch.Tensor
    S: torch.Tensor
    energy: torch.Tensor
    forces: torch.Tensor
    orbital_energies: torch.Tensor
    nocc: int
    basis: OrbitalBasis
    rotation: dict | None = None

    def __len__(self) -> int:
        return self.pos.shape[0]


def _arrays(z, pos, lab) -> dict[str, np.ndarray]:
    return {"z": np.asarray(z, dtype=np.int64), "positions": np.asarray(pos, dtype=np.float64),
            "H": full_to_triu(lab["H"]), "S": full_to_triu(lab["S"]), "energy": lab["energy"],
            "forces": lab["forces"], "orbital_energies": lab["orbital_energies"],
            "nocc": np.asarray(lab["nocc"], dtype=np.int64), "scf_seconds": lab["scf_seconds"]}


def build_hamiltonians(out_dir: str | Path | None = None, seed: int = 0, xyz: str | Path | None = None,
                       molecules: tuple[str, ...] | None = None, progress: bool = True,
                       conformations: int | None = None) -> dict:
    """Generate the dataset into ``out_dir`` (default ``data/hamiltonians``) and write its manifest; returns it.

    Without ``xyz``: the shipped molecules (module docstring; ``molecules`` picks a subset of
    :data:`SHIPPED_MOLECULES`; ``conformations`` replaces each one's shipped count: same protocol and seed, so a
    larger set starts with the same draws). With ``xyz``: every frame of that XYZ file (one molecule, H/C/N/O) is
    labelled as is (no sampling) into ``<stem>.npz``. Needs PySCF (the ``qc`` extra). A few minutes on one core.
    """
    out = Path(out_dir) if out_dir is not None else default_folder()
    if conformations is not None and (isinstance(conformations, bool) or not isinstance(conformations, int)
                                      or conformations < 1):
        raise ValueError(f"conformations must be an int >= 1 (per molecule), got {conformations!r}")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files, records = {}, {}
    if xyz is not None:
        frames = read_molecules(xyz)
        symbols = frames[0].symbols
        if any(f.symbols != symbols for f in frames):
            raise ValueError(f"xyz: every frame of {xyz} must hold the same atoms in the same order")
        z = [_atomic_number(s) for s in symbols]
        DEF2_SVP.check_elements(z)
        pos = np.stack([f.positions for f in frames])
        lab = label_trajectory(z, pos, DEF2_SVP, XC, progress=progress)
        name = Path(xyz).stem
        write_npz_reproducible(out / f"{name}.npz", _arrays(z, pos, lab))
        files[f"{name}.npz"] = {"file": f"{name}.npz", "sha256": sha256_file(out / f"{name}.npz")}
        records[name] = {"source": str(xyz), "conformations": len(pos), "atoms": len(z)}
    else:
        names = tuple(SHIPPED_MOLECULES) if molecules is None else tuple(molecules)
        for name in names:
            if name not in SHIPPED_MOLECULES:
                raise ValueError(f"molecules: unknown name {name!r}; available {list(SHIPPED_MOLECULES)}")
            z, start, count = SHIPPED_MOLECULES[name]
            count = count if conformations is None else conformations
            pos0, hess = relax_and_hessian(z, np.array(start), DEF2_SVP, XC)
            pos = normal_mode_samples(z, pos0, hess, TEMPERATURE, count, seed=int(rng.integers(2**31)))
            lab = label_trajectory(z, pos, DEF2_SVP, XC, progress=progress)
            arrays = _arrays(z, pos, lab)
            arrays["relaxed_positions"] = pos0
            if name == "water":
                R = _random_rotation(rng)
                rot = label_geometry(z, pos[0] @ R.T, DEF2_SVP, XC, forces=False)
                arrays.update({"rotation_R": R, "rotation_positions": pos[0] @ R.T, "rotation_H": rot["H"],
                               "rotation_S": rot["S"]})
            write_npz_reproducible(out / f"{name}.npz", arrays)
            files[f"{name}.npz"] = {"file": f"{name}.npz", "sha256": sha256_file(out / f"{name}.npz")}
            records[name] = {"conformations": count, "atoms": len(z), "ao": DEF2_SVP.num_orbitals(z),
                             "scf_seconds_mean": float(lab["scf_seconds"].mean())}
    manifest = {
        "builder": "workbench.hamiltonian.dataset.build_hamiltonians",
        "method": f"restricted Kohn-Sham {XC.upper()}/{DEF2_SVP.name} (PySCF defaults: grids level 3, conv_tol "
                  f"1e-10); conformations: classical harmonic normal-mode sampling at {TEMPERATURE} K around the "
                  "BFGS-relaxed geometry (workbench.hamiltonian.pyscf_labels)" if xyz is None else
                  f"restricted Kohn-Sham {XC.upper()}/{DEF2_SVP.name} of the frames of a user XYZ file",
        "units": {"positions": "angstrom", "H": "hartree", "energy": "hartree", "forces": "hartree/angstrom",
                  "orbital_energies": "hartree"},
        "ao_order": "project (e3nn) basis, see workbench.hamiltonian.ao_convention",
        "seed": int(seed), "temperature_K": TEMPERATURE, "xc": XC, "basis": DEF2_SVP.name,
        "molecules": records,
        "versions": {"pyscf": pyscf_version(), "numpy": np.__version__, "torch": torch.__version__,
                     "python": platform.python_version()},
        "files": files,
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _atomic_number(symbol: str) -> int:
    table = {"H": 1, "C": 6, "N": 7, "O": 8}
    if symbol not in table:
        raise ValueError(f"xyz: element {symbol!r} is not in basis {DEF2_SVP.name!r} as described here "
                         f"(H, C, N, O)")
    return table[symbol]


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def load_hamiltonians(name: str = "water", folder: str | Path | None = None, verify: bool = True
                      ) -> HamiltonianData:
    """One molecule of the dataset in ``folder`` (default ``data/hamiltonians``), sha256-checked.

    Example:
        >>> data = load_hamiltonians("water")
        >>> data.H.shape[1:], data.nocc
        (torch.Size([24, 24]), 5)
    """
    folder = Path(folder) if folder is not None else default_folder()
    manifest, a, _ = read_verified_npz(folder, f"{name}.npz", "build it with `workbench build-data hamiltonians`",
                                       "rebuild with `workbench build-data hamiltonians`", verify)
    z = torch.as_tensor(a["z"], dtype=torch.long)
    basis = DEF2_SVP
    if manifest.get("basis") != basis.name:
        raise ValueError(f"{folder}: basis {manifest.get('basis')!r}, but only {basis.name!r} is described")
    n = basis.num_orbitals(z)
    t = lambda k: torch.as_tensor(a[k], dtype=torch.float64)  # noqa: E731
    rotation = None
    if "rotation_R" in a:
        rotation = {"R": t("rotation_R"), "pos": t("rotation_positions"), "H": t("rotation_H"),
                    "S": t("rotation_S")}
    return HamiltonianData(name=name, z=z, pos=t("positions"), H=triu_to_full(t("H"), n), S=triu_to_full(t("S"), n),
                           energy=t("energy"), forces=t("forces"), orbital_energies=t("orbital_energies"),
                           nocc=int(np.asarray(a["nocc"]).reshape(-1)[0]), basis=basis, rotation=rotation)

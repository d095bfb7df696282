"""Kohn-Sham labels from PySCF (the ``qc`` extra): Fock and overlap matrices in the project's AO basis, energies,
forces, orbital energies; and normal-mode sampling of conformations at a temperature.

Units: positions in Å, energies and matrix elements in hartree (Eh), forces in Eh/Å. Matrices are converted to
the project's (e3nn) AO order with :func:`workbench.hamiltonian.ao_convention.pyscf_to_e3nn`.

**Normal-mode sampling.** The reference geometry is relaxed with a few Newton steps (PySCF gradient and Hessian,
translations and rotations projected out); with the harmonic frequencies ``omega_k`` and mass-weighted modes
``e_k`` there, a conformation is ``x = x0 + M^-1/2 sum_k q_k e_k`` with independent ``q_k ~ N(0, kT / omega_k^2)``:
the classical Boltzmann distribution of the harmonic model at temperature ``T`` (no zero-point motion).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.optimize
from tqdm.auto import tqdm

from workbench.hamiltonian.ao_convention import e3nn_to_pyscf, pyscf_to_e3nn
from workbench.hamiltonian.basis import OrbitalBasis

__all__ = ["require_pyscf", "label_geometry", "label_trajectory", "relax_and_hessian", "normal_mode_samples",
           "BOHR", "pyscf_version", "energy_from_density", "scf_seconds"]

BOHR = 0.52917721092  # Å per bohr
_AMU = 1822.888486  # electron masses per atomic mass unit
_KB_HARTREE = 3.166811563e-6  # Boltzmann constant in Eh/K


def require_pyscf() -> Any:
    """The ``pyscf`` module; ImportError naming the ``qc`` extra when it is missing."""
    try:
        import pyscf  # optional heavy dependency (the 'qc' extra): labels from DFT only
        import pyscf.dft  # noqa: F401
        import pyscf.grad  # noqa: F401
        import pyscf.hessian  # noqa: F401
    except ImportError as err:
        raise ImportError("DFT labels need PySCF (the 'qc' extra): pip install 'equivariant-workbench[qc]' or "
                          "pip install pyscf") from err
    return pyscf


def pyscf_version() -> str:
    return require_pyscf().__version__


def _symbols(z: Sequence[int]) -> list[str]:
    pyscf = require_pyscf()
    return [pyscf.data.elements.ELEMENTS[int(v)] for v in z]


def _mol(z: Sequence[int], pos: np.ndarray, basis: str):
    pyscf = require_pyscf()
    pos = np.asarray(pos, dtype=np.float64)
    if pos.shape != (len(z), 3) or not np.isfinite(pos).all():
        raise ValueError(f"positions must be a finite array [{len(z)}, 3] in Å, got shape {list(pos.shape)}")
    return pyscf.gto.M(atom=list(zip(_symbols(z), pos.tolist())), basis=basis, unit="Angstrom", verbose=0)


def _scf(z, pos, basis: str, xc: str, dm0=None, conv_tol: float = 1e-10):
    pyscf = require_pyscf()
    mol = _mol(z, pos, basis)
    mf = pyscf.dft.RKS(mol)
    mf.xc, mf.conv_tol = xc, conv_tol
    mf.kernel(dm0=dm0)
    if not mf.converged:
        raise RuntimeError(f"PySCF SCF did not converge for the geometry {np.asarray(pos).tolist()}")
    return mol, mf


def label_geometry(z: Sequence[int], pos: np.ndarray, basis: OrbitalBasis, xc: str = "pbe", dm0=None,
                   forces: bool = True) -> dict[str, Any]:
    """One restricted Kohn-Sham calculation (``xc``/``basis.name``) at ``pos [A, 3]`` (Å).

    Returns a dict: ``H``, ``S`` ``[n_ao, n_ao]`` (float64, project AO order, Eh), ``energy`` (Eh), ``forces``
    ``[A, 3]`` (Eh/Å; omitted when ``forces=False``), ``orbital_energies [n_ao]`` (Eh), ``nocc``, ``dm`` (PySCF
    order, a good initial guess for a nearby geometry) and ``scf_seconds``.
    """
    basis.check_elements(z)
    t0 = time.perf_counter()
    mol, mf = _scf(z, pos, basis.name, xc, dm0)
    scf_seconds = time.perf_counter() - t0
    if mol.nao != basis.num_orbitals(z):
        raise ValueError(f"PySCF gives {mol.nao} AOs for basis {basis.name!r} but the OrbitalBasis describes "
                         f"{basis.num_orbitals(z)}; its shells do not match PySCF's")
    fock = mf.get_fock()
    out = {"H": pyscf_to_e3nn(fock, basis, z), "S": pyscf_to_e3nn(mol.intor("int1e_ovlp"), basis, z),
           "energy": float(mf.e_tot), "orbital_energies": np.asarray(mf.mo_energy, dtype=np.float64),
           "nocc": int(mol.nelectron // 2), "dm": mf.make_rdm1(), "scf_seconds": scf_seconds}
    if forces:
        out["forces"] = -np.asarray(mf.nuc_grad_method().kernel(), dtype=np.float64) / BOHR
    return out


def label_trajectory(z: Sequence[int], positions: np.ndarray, basis: OrbitalBasis, xc: str = "pbe",
                     progress: bool = False) -> dict[str, np.ndarray]:
    """Labels of every frame of ``positions [N, A, 3]`` (Å), each SCF started from the previous density.

    Returns stacked arrays ``H``, ``S`` ``[N, n_ao, n_ao]``, ``energy [N]``, ``forces [N, A, 3]``,
    ``orbital_energies [N, n_ao]``, ``nocc`` (int), ``scf_seconds [N]``.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[1:] != (len(z), 3):
        raise ValueError(f"positions must have shape [N, {len(z)}, 3] (Å), got {list(positions.shape)}")
    frames = range(len(positions))
    if progress:
        frames = tqdm(frames, desc="PySCF labels")
    rows, dm = [], None
    for i in frames:
        lab = label_geometry(z, positions[i], basis, xc, dm0=dm)
        dm = lab.pop("dm")
        rows.append(lab)
    return {"H": np.stack([r["H"] for r in rows]), "S": np.stack([r["S"] for r in rows]),
            "energy": np.array([r["energy"] for r in rows]), "forces": np.stack([r["forces"] for r in rows]),
            "orbital_energies": np.stack([r["orbital_energies"] for r in rows]), "nocc": rows[0]["nocc"],
            "scf_seconds": np.array([r["scf_seconds"] for r in rows])}


def _masses(z: Sequence[int]) -> np.ndarray:
    pyscf = require_pyscf()
    return np.array([pyscf.data.elements.MASSES[int(v)] for v in z])


def _vibrational_modes(hess_cart: np.ndarray, masses: np.ndarray, pos_bohr: np.ndarray):
    """Frequencies^2 (a.u.) and mass-weighted modes with translations and rotations projected out."""
    n = len(masses)
    m = np.repeat(masses * _AMU, 3)
    hw = hess_cart / np.sqrt(np.outer(m, m))
    # projector onto the complement of translations and rotations (mass-weighted)
    com = (masses[:, None] * pos_bohr).sum(0) / masses.sum()
    r = pos_bohr - com
    vecs = []
    for k in range(3):
        t = np.zeros((n, 3))
        t[:, k] = 1.0
        vecs.append((t * np.sqrt(masses)[:, None]).ravel())
        rot = np.cross(np.eye(3)[k], r)
        vecs.append((rot * np.sqrt(masses)[:, None]).ravel())
    q, _ = np.linalg.qr(np.array(vecs).T)
    keep = np.abs(np.linalg.svd(np.array(vecs).T, compute_uv=False)) > 1e-8
    q = q[:, : int(keep.sum())]
    proj = np.eye(3 * n) - q @ q.T
    w2, modes = np.linalg.eigh(proj @ hw @ proj)
    vib = np.abs(w2) > 1e-7
    return w2[vib], modes[:, vib]


def relax_and_hessian(z: Sequence[int], pos: np.ndarray, basis: OrbitalBasis, xc: str = "pbe",
                      gtol: float = 2e-4, max_iter: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Relaxed geometry ``[A, 3]`` (Å; BFGS on the PySCF energy and gradient until max |gradient| < ``gtol``
    Eh/bohr) and its Cartesian Hessian ``[3A, 3A]`` (Eh/bohr^2, one analytic PySCF Hessian)."""
    shape = np.asarray(pos).shape
    state = {"dm": None}

    def energy_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        mol, mf = _scf(z, x.reshape(shape), basis.name, xc, state["dm"])
        state["dm"] = mf.make_rdm1()
        return float(mf.e_tot), np.asarray(mf.nuc_grad_method().kernel()).ravel() * BOHR  # Eh/Å

    res = scipy.optimize.minimize(energy_gradient, np.asarray(pos, dtype=np.float64).ravel(), jac=True,
                                  method="BFGS", options={"gtol": gtol / BOHR, "maxiter": int(max_iter)})
    pos = res.x.reshape(shape)
    _, mf = _scf(z, pos, basis.name, xc, state["dm"])
    hess = mf.Hessian().kernel().transpose(0, 2, 1, 3).reshape(3 * len(z), 3 * len(z))
    return pos, hess


def normal_mode_samples(z: Sequence[int], pos0: np.ndarray, hessian: np.ndarray, temperature: float, n: int,
                        seed: int) -> np.ndarray:
    """``n`` conformations ``[n, A, 3]`` (Å) from the classical harmonic Boltzmann distribution at
    ``temperature`` (K) around ``pos0`` (module docstring)."""
    if not temperature > 0 or int(n) < 1:
        raise ValueError(f"temperature must be > 0 K and n >= 1, got {temperature}, {n}")
    masses = _masses(z)
    w2, modes = _vibrational_modes(hessian, masses, np.asarray(pos0) / BOHR)
    if (w2 <= 0).any():
        raise ValueError(f"the Hessian has imaginary modes (omega^2 = {w2[w2 <= 0].tolist()}); relax first")
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(int(n), len(w2))) * np.sqrt(_KB_HARTREE * temperature / w2)
    m = np.repeat(masses * _AMU, 3)
    disp = (q @ modes.T) / np.sqrt(m)
    return np.asarray(pos0)[None] + disp.reshape(int(n), len(z), 3) * BOHR


def energy_from_density(z: Sequence[int], pos: np.ndarray, density_e3nn: np.ndarray, basis: OrbitalBasis,
                        xc: str = "pbe") -> float:
    """Kohn-Sham total energy (Eh) of the density matrix ``density_e3nn [n_ao, n_ao]`` (project AO order, e.g.
    ``2 C_occ C_occ^T`` from predicted orbitals) at ``pos [A, 3]`` (Å): the energy functional evaluated once, no
    SCF."""
    pyscf = require_pyscf()
    mol = _mol(z, pos, basis.name)
    dm = e3nn_to_pyscf(density_e3nn, basis, z)
    mf = pyscf.dft.RKS(mol)
    mf.xc = xc
    return float(mf.energy_tot(dm=dm))


def scf_seconds(z: Sequence[int], pos: np.ndarray, basis: OrbitalBasis, xc: str = "pbe") -> float:
    """Wall seconds of one PySCF SCF (default settings, no initial guess) at ``pos [A, 3]`` (Å)."""
    t0 = time.perf_counter()
    _scf(z, pos, basis.name, xc)
    return time.perf_counter() - t0

"""Phonon DOS, dispersion and neutron-weighted DOS (workbench.scattering.phonons).

Checked against an analytic lattice (simple cubic, harmonic nearest-neighbour springs: a closed-form dispersion),
against ASE's own finite-displacement phonons for fcc Cu with EMT (an independent implementation), and on sum
rules: three zero modes at Gamma, a DOS integrating to 3N modes, the neutron weighting of an element.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from workbench.scattering import phonons as ph

ase = pytest.importorskip("ase")
pytest.importorskip("phonopy")
from ase.build import bulk  # noqa: E402
from ase.calculators.calculator import Calculator, all_changes  # noqa: E402

# sqrt(eV / (Å^2 amu)) / (2 pi) in THz, from CODATA constants
_THZ = math.sqrt(1.602176634e-19 / (1e-20 * 1.66053906660e-27)) / (2 * math.pi) / 1e12


class CubicSprings(Calculator):
    """Harmonic springs ``E = k/2 sum_<ij> |u_i - u_j|^2`` between nearest neighbours of a simple cubic lattice of
    spacing ``a`` (``u``: displacement from the nearest site). Its dispersion is analytic:
    ``omega^2 = (4 k / m) sum_a sin^2(q_a a / 2)`` for each of the three polarizations."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, a: float, k: float) -> None:
        super().__init__()
        self.a, self.k = a, k

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        n = np.rint(np.diag(self.atoms.cell[:]) / self.a).astype(int)
        pos = self.atoms.positions
        sites = np.rint(pos / self.a).astype(int)
        u = np.zeros((*n, 3))
        idx = tuple((sites % n).T)
        u[idx] = pos - sites * self.a
        lap = sum(2 * u - np.roll(u, 1, axis=ax) - np.roll(u, -1, axis=ax) for ax in range(3))
        self.results["forces"] = -self.k * lap[idx]
        self.results["energy"] = 0.5 * self.k * sum(((u - np.roll(u, 1, axis=ax)) ** 2).sum() for ax in range(3))


@pytest.fixture(scope="module")
def copper():
    return ph.compute_phonons(bulk("Cu", "fcc"), band_points=60)


def test_simple_cubic_springs_match_the_analytic_dispersion():
    a, k = 2.5, 1.3
    atoms = ase.Atoms("Cu", positions=[[0, 0, 0]], cell=np.eye(3) * a, pbc=True)
    result = ph.compute_phonons(atoms, CubicSprings(a, k), band_points=40, f_max=20.0)
    mass = atoms.get_masses()[0]
    for q, freq in ((result.bands.qpoints, result.bands.frequencies), (result.qpoints, result.frequencies)):
        omega2 = 4 * k / mass * (np.sin(np.pi * q) ** 2).sum(1)
        expected = np.repeat((np.sqrt(omega2) * _THZ)[:, None], 3, axis=1)
        np.testing.assert_allclose(np.sort(freq, axis=1), expected, atol=1e-5)
    assert result.supercell == (3, 3, 3)
    assert result.bands.labels[0] == "G" and "R" in result.bands.labels


def test_copper_emt_sum_rules(copper):
    assert np.abs(copper.gamma_frequencies).max() < 1e-4  # acoustic sum rule: three zero modes at Gamma
    assert copper.num_imaginary == 0
    width = ph.DOS_MAX_THZ / ph.DOS_BINS
    assert copper.dos.shape == (51,) and copper.centres.shape == (51,)
    assert copper.dos.sum() * width == pytest.approx(3.0, abs=1e-12)  # 3N modes, N = 1
    assert copper.dos_normalized.max() == 1.0
    np.testing.assert_allclose(copper.dos_normalized * copper.dos.max(), copper.dos)


def test_copper_emt_matches_ase_phonons(copper, tmp_path):
    # ASE's own finite-displacement phonons (independent code) on the same supercell
    from ase.calculators.emt import EMT
    from ase.phonons import Phonons

    atoms = bulk("Cu", "fcc")
    peer = Phonons(atoms, EMT(), supercell=copper.supercell, delta=0.01, name=str(tmp_path / "phonon"))
    peer.run()
    peer.read(acoustic=True)
    bands = peer.get_band_structure(atoms.cell.bandpath(npoints=60))
    peer_thz = bands.energies[0] * 1.602176634e-19 / 6.62607015e-34 / 1e12
    # ASE does not symmetrize the force constants (its transverse branches split slightly along G-X), so the
    # comparison is of the band maximum and of the path-averaged frequencies
    assert copper.bands.frequencies.max() == pytest.approx(peer_thz.max(), rel=1e-3)
    assert copper.bands.frequencies.mean() == pytest.approx(peer_thz.mean(), rel=1e-2)
    assert 7.0 < copper.frequencies.max() < 8.5  # EMT Cu: 7.8 THz (experiment ~7.3 THz)


def test_neutron_weighted_dos_of_an_element_is_the_scaled_dos(copper):
    b = 7.718  # Sears b_coh of Cu, fm
    factor = 4 * np.pi * b**2 / 100 / bulk("Cu").get_masses()[0]
    np.testing.assert_allclose(copper.neutron_dos, factor * copper.dos, rtol=1e-10, atol=1e-14)


def test_neutron_weighting_separates_the_species_of_an_alloy():
    atoms = bulk("Cu", "fcc", cubic=True)
    atoms.symbols[0] = "Au"  # L1_2 Cu3Au
    result = ph.compute_phonons(atoms)
    width = ph.DOS_MAX_THZ / ph.DOS_BINS
    assert result.dos.sum() * width == pytest.approx(12.0, abs=1e-9)
    masses = atoms.get_masses()
    sig = {s: 4 * np.pi * bl**2 / 100 for s, bl in (("Cu", 7.718), ("Au", 7.63))}
    # each mode's projections sum to 1: the neutron DOS integrates to sum over atoms of 3 sigma/M
    expected = sum(3 * sig[s] / m for s, m in zip(atoms.get_chemical_symbols(), masses))
    assert result.neutron_dos.sum() * width == pytest.approx(expected, rel=1e-9)
    # per mode the weight is a convex mix of the species' sigma/M (projections sum to 1): between Au's and Cu's,
    # and varying with frequency (a DOS proportional to the total would be wrong)
    low, high = sig["Au"] / masses[0], sig["Cu"] / masses[1]
    ratio = result.neutron_dos[result.dos > 0] / result.dos[result.dos > 0]
    assert (ratio >= low - 1e-12).all() and (ratio <= high + 1e-12).all()
    assert ratio.max() - ratio.min() > 0.2 * (high - low)


def test_bin_dos_broadening_and_derived_quantities():
    rng = np.random.default_rng(0)
    freq = rng.uniform(1.0, 9.0, size=(20, 6))
    centres, plain = ph.bin_dos(freq)
    _, smooth = ph.bin_dos(freq, sigma=0.2)
    width = centres[1] - centres[0]
    assert plain.sum() * width == pytest.approx(6.0, abs=1e-12)
    assert smooth.sum() * width == pytest.approx(6.0, abs=1e-6)  # Gaussians far from the edges keep their mass
    assert ph.average_frequency(plain, centres) == pytest.approx(np.sum(centres * plain) / plain.sum())
    # heat capacity: 0 when h nu >> k T, 1 k_B per mode in the classical limit, torch and numpy agree
    assert ph.heat_capacity(plain, centres, 1.0) < 1e-10
    assert ph.heat_capacity(plain, centres, 1e7) == pytest.approx(1.0, abs=1e-6)
    as_torch = ph.heat_capacity(torch.as_tensor(plain[None]), centres, 300.0)
    assert float(as_torch[0]) == pytest.approx(float(ph.heat_capacity(plain, centres, 300.0)), rel=1e-12)
    assert ph.normalize_dos(plain).max() == 1.0
    # imaginary modes are left out, tiny negative acoustic ones count as zero
    _, dos = ph.bin_dos(np.array([[-1e-6, -2.0, 3.0]]))
    assert dos.sum() * width == pytest.approx(2.0)


def test_bad_input():
    with pytest.raises(ValueError, match="periodic in all three directions.*along z"):
        ph.compute_phonons(ase.Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]], cell=np.eye(3) * 5, pbc=[1, 1, 0]))
    with pytest.raises(ValueError, match="empty"):
        ph.compute_phonons(ase.Atoms(cell=np.eye(3) * 3, pbc=True))
    with pytest.raises(ValueError, match="EMT calculator knows Al, Cu"):
        ph.compute_phonons(bulk("Fe", "bcc"))
    with pytest.raises(ValueError, match="supercell must be three positive integers"):
        ph.compute_phonons(bulk("Cu"), supercell=(2, 0, 2))
    with pytest.raises(TypeError, match="ase.Atoms"):
        ph.compute_phonons(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="frequencies must be"):
        ph.bin_dos(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="bins must be"):
        ph.bin_dos(np.ones((1, 3)), bins=0)
    with pytest.raises(ValueError, match="without a positive value"):
        ph.normalize_dos(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="temperature"):
        ph.heat_capacity(np.ones(51), ph.dos_bin_centres(), -3.0)


def test_missing_extra_names_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_phonopy(name, *args, **kwargs):
        if name == "phonopy":
            raise ImportError("No module named 'phonopy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_phonopy)
    with pytest.raises(ImportError, match=r"'spectra' extra"):
        ph.compute_phonons(bulk("Cu"))

"""workbench.calculators: the ASE calculator passes ASE's own finite-difference checks (forces, stress), float32
agrees with float64, batches agree with single structures, checkpoints round-trip, bad structures raise clear
errors, and a short NVE run conserves energy (a calculator whose forces are not the gradient does not)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress

from workbench.calculators import (
    WorkbenchCalculator,
    build_potential,
    energy_drift,
    load_potential,
    pair_distance_distribution,
    run_md,
    save_potential,
)

pytestmark = pytest.mark.unit

MOLECULE_KW = {"channels": 8, "lmax": 1, "num_layers": 2, "elements": [1, 6, 8], "r_max": 4.0}
COPPER_KW = {"channels": 8, "lmax": 1, "num_layers": 1, "elements": [29], "r_max": 3.0}


def _potential(name="mace", kwargs=None, seed=0):
    torch.manual_seed(seed)
    return build_potential(name, kwargs or MOLECULE_KW, atomic_energies=[-13.0, -1000.0, -2000.0], energy_scale=0.5)


def _ethanol():
    return Atoms("C2OH6", positions=[
        [-0.886, 0.164, -0.073], [0.473, -0.504, -0.048], [1.385, 0.279, 0.707], [-0.821, 1.157, -0.529],
        [-1.606, -0.436, -0.637], [-1.264, 0.306, 0.945], [0.869, -0.626, -1.061], [0.405, -1.492, 0.417],
        [1.446, 1.151, 0.280]])


def _copper():
    atoms = bulk("Cu", "fcc", a=3.6)  # primitive cell, 1 atom: every neighbour is a periodic image
    atoms = atoms.repeat((2, 1, 1))
    atoms.rattle(0.05, seed=1)
    return atoms


def test_ase_force_consistency_molecule():
    atoms = _ethanol()
    atoms.calc = WorkbenchCalculator(_potential())
    forces = atoms.get_forces()
    numerical = calculate_numerical_forces(atoms, eps=1e-5)
    assert np.abs(forces).max() > 1e-3
    assert np.abs(forces - numerical).max() < 1e-6
    assert atoms.get_potential_energy() == pytest.approx(atoms.calc.results["free_energy"])


def test_ase_force_and_stress_consistency_periodic():
    atoms = _copper()
    torch.manual_seed(0)
    atoms.calc = WorkbenchCalculator(build_potential("nequip", {**COPPER_KW, "lmax": 1}, [-3.5], 0.3))
    forces, stress = atoms.get_forces(), atoms.get_stress()
    assert np.abs(forces - calculate_numerical_forces(atoms, eps=1e-5)).max() < 1e-6
    assert stress.shape == (6,)
    assert np.abs(stress - calculate_numerical_stress(atoms, eps=1e-6)).max() < 1e-6
    # a molecule has no stress
    mol = _ethanol()
    mol.calc = WorkbenchCalculator(_potential())
    with pytest.raises(Exception, match="stress needs a structure periodic"):
        mol.get_stress()


def test_float32_matches_float64_and_batches_match_singles():
    pot = _potential()
    calc64, calc32 = WorkbenchCalculator(pot, "float64"), WorkbenchCalculator(pot, "float32")
    structures = []
    for seed in range(3):
        a = _ethanol()
        a.rattle(0.05, seed=seed)
        structures.append(a)
    batched = calc64.evaluate(structures, batch_size=2)
    for a, res in zip(structures, batched):
        single = calc64.evaluate([a])[0]
        assert res["energy"] == pytest.approx(single["energy"], abs=1e-10)
        assert np.abs(res["forces"] - single["forces"]).max() < 1e-10
        r32 = calc32.evaluate([a])[0]
        assert abs(r32["energy"] - single["energy"]) < 1e-3  # float32 of energies ~ -2100 eV
        assert np.abs(r32["forces"] - single["forces"]).max() < 1e-4
    assert calc32.evaluate([structures[0]])[0]["energy"] != calc64.evaluate([structures[0]])[0]["energy"]


def test_checkpoint_round_trip(tmp_path):
    pot = _potential()
    path = save_potential(tmp_path / "pot.pt", pot, "mace", MOLECULE_KW, metadata={"note": "test"})
    loaded = load_potential(path)
    atoms = _ethanol()
    e1 = WorkbenchCalculator(pot).evaluate([atoms])[0]
    e2 = WorkbenchCalculator(path).evaluate([atoms])[0]
    assert e1["energy"] == e2["energy"] and np.array_equal(e1["forces"], e2["forces"])
    assert loaded.elements == (1, 6, 8)
    with pytest.raises(FileNotFoundError, match="no potential checkpoint"):
        load_potential(tmp_path / "missing.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a workbench potential checkpoint"):
        load_potential(tmp_path / "other.pt")


def test_bad_structures_raise_clear_errors():
    calc = WorkbenchCalculator(_potential())
    close = _ethanol()
    close.positions[8] = close.positions[2] + [0.0, 0.0, 0.3]
    with pytest.raises(ValueError, match=r"atoms 2 and 8 are 0.300 Å apart, closer than min_distance"):
        calc.evaluate([close])
    # the same structure passes when the threshold is lowered on purpose
    assert np.isfinite(WorkbenchCalculator(_potential(), min_distance=0.2).evaluate([close])[0]["energy"])
    with pytest.raises(ValueError, match=r"atomic numbers \[7\] are not in the potential's training set"):
        calc.evaluate([Atoms("NH3", positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])])
    nan = _ethanol()
    nan.positions[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"positions must be finite: NaN or inf at atom\(s\) \[3\]"):
        calc.evaluate([nan])
    periodic = _ethanol()
    periodic.pbc = True  # a periodic request without a cell
    with pytest.raises(ValueError, match="cell is missing or singular"):
        calc.evaluate([periodic])
    with pytest.raises(ValueError, match="dtype must be"):
        WorkbenchCalculator(_potential(), dtype="float16")
    with pytest.raises(ValueError, match="min_distance must be"):
        WorkbenchCalculator(_potential(), min_distance=0)
    # periodic images count for the distance check: a 1-atom cell smaller than min_distance
    tiny = Atoms("Cu", cell=np.eye(3) * 0.4, pbc=True)
    with pytest.raises(ValueError, match="closer than min_distance"):
        WorkbenchCalculator(build_potential("schnet", {"channels": 4, "elements": [29], "r_max": 3.0})).evaluate([tiny])


class _NonConservative(WorkbenchCalculator):
    """Forces that are not the gradient of the energy (scaled by 1.3): the baseline whose NVE energy must drift."""

    def calculate(self, *args, **kwargs):
        super().calculate(*args, **kwargs)
        self.results["forces"] = 1.3 * self.results["forces"]


def test_nve_energy_is_conserved_and_non_conservative_forces_are_caught():
    atoms = _ethanol()
    good = run_md(atoms, WorkbenchCalculator(_potential("schnet", {**MOLECULE_KW, "channels": 16})), steps=200,
                  timestep_fs=0.25, ensemble="nve", temperature_K=300, save_every=10, seed=0)
    bad = run_md(atoms, _NonConservative(_potential("schnet", {**MOLECULE_KW, "channels": 16})), steps=200,
                 timestep_fs=0.25, ensemble="nve", temperature_K=300, save_every=10, seed=0)
    assert good.positions.shape == (21, 9, 3) and good.time_ps[-1] == pytest.approx(0.05)
    fluctuation_good = np.ptp(good.total) / 9
    fluctuation_bad = np.ptp(bad.total) / 9
    assert fluctuation_good < 5e-4, fluctuation_good  # eV/atom over 50 fs
    assert fluctuation_bad > 10 * fluctuation_good
    assert abs(energy_drift(good)) < 1e-2  # eV/atom/ps
    assert np.isfinite(good.steps_per_second) and good.steps_per_second > 0
    # NVT holds the temperature roughly (a short run: loose bound)
    nvt = run_md(atoms, WorkbenchCalculator(_potential("schnet", {**MOLECULE_KW, "channels": 16})), steps=40,
                 timestep_fs=0.25, ensemble="nvt", temperature_K=300, friction_per_fs=0.05, save_every=20, seed=0)
    assert np.isfinite(nvt.temperature).all() and nvt.ensemble == "nvt"
    with pytest.raises(ValueError, match="ensemble must be one of"):
        run_md(atoms, WorkbenchCalculator(_potential()), steps=1, ensemble="npt")
    # an untrained potential pulls two H atoms together within 100 steps at 300 K: the run stops with the step
    # and the pair named, not with NaN
    with pytest.raises(ValueError, match=r"MD step \d+ of 100 failed: atoms \d+ and \d+ are 0.\d+ Å apart"):
        run_md(atoms, WorkbenchCalculator(_potential("schnet", {**MOLECULE_KW, "channels": 16})), steps=100,
               timestep_fs=0.5, ensemble="nvt", temperature_K=300, friction_per_fs=0.05, save_every=50, seed=0)


def test_pair_distance_distribution():
    bins = np.linspace(0.5, 3.0, 26)
    pos = np.array([[0.0, 0, 0], [1.05, 0, 0], [0, 2.05, 0]])  # distances 1.05, 2.05, 2.31
    hist = pair_distance_distribution(pos, bins)
    assert hist.sum() * 0.1 == pytest.approx(1.0)
    assert set(np.flatnonzero(hist)) == {5, 15, 18}
    cu = bulk("Cu", "fcc", a=3.6)
    h = pair_distance_distribution(cu.positions, np.linspace(2.0, 3.0, 11), cell=cu.cell[:], pbc=cu.pbc)
    nn = 3.6 / np.sqrt(2)  # 12 nearest neighbours at a / sqrt(2) = 2.546 Å
    assert np.argmax(h) == int((nn - 2.0) / 0.1)
    with pytest.raises(ValueError, match="bins must be"):
        pair_distance_distribution(pos, [1.0])

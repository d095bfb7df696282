"""workbench.data.potentials / potential_data: the shipped ethanol (GFN2-xTB) and copper (EMT) sets (manifest,
labels recomputed by the reference methods, the builder reproduces the shipped frames), extended-XYZ and rMD17
loaders, least-squares reference energies, batching, and the energy + force loss."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from workbench.data.manifest import sha256_file
from workbench.data.potential_data import (
    DEFAULT_POTENTIALS_DIR,
    build_potentials,
    load_potential_dataset,
    potential_atoms,
)
from workbench.data.potentials import (
    KCAL_PER_MOL_IN_EV,
    PotentialItem,
    collate_potentials,
    fit_atomic_energies,
    force_rms,
    read_extxyz,
    read_rmd17_npz,
)
from workbench.models import build_model
from workbench.models.potential import Potential
from workbench.train import EnergyForceLoss

pytestmark = pytest.mark.unit


def test_shipped_files_match_their_manifest_and_are_small():
    manifest = json.loads((DEFAULT_POTENTIALS_DIR / "manifest.json").read_text())
    total = 0
    for entry in manifest["files"].values():
        path = DEFAULT_POTENTIALS_DIR / entry["file"]
        assert sha256_file(path) == entry["sha256"]
        total += path.stat().st_size
    assert total < 2_000_000
    assert manifest["versions"]["tblite"] != "not installed" and manifest["seed"] == 0


def test_shipped_ethanol_labels_are_gfn2_xtb():
    tblite_ase = pytest.importorskip("tblite.ase")
    frames = potential_atoms("ethanol")
    assert len(frames) == 600 and frames[0].get_chemical_formula() == "C2H6O"
    for k in (0, 599):
        atoms = Atoms(numbers=frames[k].numbers, positions=frames[k].positions)
        atoms.calc = tblite_ase.TBLite(method="GFN2-xTB", verbosity=0)
        assert atoms.get_potential_energy() == pytest.approx(frames[k].get_potential_energy(), abs=1e-6)
        # the MD reused each step's converged charges as the next guess: labels agree to the SCC tolerance
        assert np.abs(atoms.get_forces() - frames[k].get_forces()).max() < 5e-4


def test_shipped_copper_is_periodic_with_emt_labels_and_stresses():
    items = load_potential_dataset("copper")
    assert len(items) == 180 and all(it.pbc.all() for it in items) and all(it.stress is not None for it in items)
    frames = potential_atoms("copper")
    for k in (0, 179):
        atoms = frames[k].copy()
        atoms.calc = EMT()
        assert atoms.get_potential_energy() == pytest.approx(float(items[k].energy), abs=1e-6)
        assert np.abs(atoms.get_forces() - items[k].forces.numpy()).max() < 1e-6
        stress = atoms.get_stress(voigt=False)
        assert np.abs(stress - items[k].stress.numpy()).max() < 1e-7
    # three volumes x three temperatures
    assert len({round(float(torch.linalg.det(it.cell)), 3) for it in items}) == 3
    assert sorted({f.info["temperature_K"] for f in frames}) == [300.0, 600.0, 900.0]


def test_builder_reproduces_the_shipped_frames(tmp_path):
    pytest.importorskip("tblite")
    build_potentials(tmp_path, ethanol_frames=2, copper_frames=1)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["builder"] == "workbench.data.potential_data.build_potentials"
    shipped_ethanol, shipped_copper = potential_atoms("ethanol"), potential_atoms("copper")
    rebuilt_ethanol = potential_atoms("ethanol", tmp_path)
    rebuilt_copper = potential_atoms("copper", tmp_path)
    assert len(rebuilt_ethanol) == 2 and len(rebuilt_copper) == 9
    for a, b in zip(rebuilt_ethanol, shipped_ethanol[:2]):
        assert np.abs(a.positions - b.positions).max() < 1e-6
        assert a.get_potential_energy() == pytest.approx(b.get_potential_energy(), abs=1e-6)
    for k, a in enumerate(rebuilt_copper):  # the first frame of each (temperature, volume) run
        b = shipped_copper[20 * k]
        assert np.abs(a.positions - b.positions).max() < 1e-6


def test_modified_shipped_file_is_refused(tmp_path):
    for name in ("manifest.json", "ethanol_xtb.xyz"):
        (tmp_path / name).write_bytes((DEFAULT_POTENTIALS_DIR / name).read_bytes())
    (tmp_path / "ethanol_xtb.xyz").write_text((tmp_path / "ethanol_xtb.xyz").read_text().replace("C", "N", 1))
    with pytest.raises(ValueError, match="does not match its manifest sha256"):
        load_potential_dataset("ethanol", tmp_path)
    with pytest.raises(ValueError, match="name must be one of"):
        load_potential_dataset("aspirin")


def test_read_extxyz_with_user_keys_and_missing_labels(tmp_path):
    import ase.io

    frames = []
    for k in range(3):
        atoms = Atoms("OH2", positions=[[0, 0, 0.1 * k], [0, 0.76, -0.47], [0, -0.76, -0.47]])
        atoms.info["REF_energy"] = -14.0 - k
        atoms.arrays["REF_forces"] = np.full((3, 3), 0.1 * k)
        frames.append(atoms)
    ase.io.write(tmp_path / "water.xyz", frames, format="extxyz")
    items = read_extxyz(tmp_path / "water.xyz", energy_key="REF_energy", forces_key="REF_forces")
    assert [float(it.energy) for it in items] == [-14.0, -15.0, -16.0]
    assert torch.allclose(items[2].forces, torch.full((3, 3), 0.2, dtype=torch.float64))
    assert items[0].z.tolist() == [8, 1, 1] and not items[0].pbc.any()
    with pytest.raises(ValueError, match=r"structure 0 has no energy \(info\['energy'\]\)"):
        read_extxyz(tmp_path / "water.xyz")
    with pytest.raises(FileNotFoundError, match="no extended-XYZ file"):
        read_extxyz(tmp_path / "missing.xyz")
    # a calculator's results (what ase writes for a SinglePointCalculator) are found too
    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])
    atoms.calc = SinglePointCalculator(atoms, energy=-31.5, forces=np.zeros((2, 3)))
    ase.io.write(tmp_path / "h2.xyz", atoms, format="extxyz")
    assert float(read_extxyz(tmp_path / "h2.xyz")[0].energy) == -31.5


def test_read_rmd17_npz_converts_units(tmp_path):
    z = np.array([6, 1, 1, 1, 1])
    coords = np.random.default_rng(0).normal(size=(4, 5, 3))
    np.savez(tmp_path / "rmd17_methane.npz", nuclear_charges=z, coords=coords, energies=np.arange(4.0) - 25000.0,
             forces=np.ones((4, 5, 3)))
    items = read_rmd17_npz(tmp_path / "rmd17_methane.npz", indices=[1, 3])
    assert [it.index for it in items] == [1, 3]
    assert float(items[0].energy) == pytest.approx((1.0 - 25000.0) * KCAL_PER_MOL_IN_EV)
    assert float(items[1].forces[0, 0]) == pytest.approx(KCAL_PER_MOL_IN_EV)
    np.savez(tmp_path / "bad.npz", coords=coords)
    with pytest.raises(ValueError, match="is not an rMD17 file"):
        read_rmd17_npz(tmp_path / "bad.npz")


def _item(z, e, n_forces=None):
    n = len(z)
    return PotentialItem(z=torch.tensor(z), pos=torch.randn(n, 3, dtype=torch.float64), energy=torch.tensor(e),
                         forces=torch.ones(n if n_forces is None else n_forces, 3, dtype=torch.float64))


def test_reference_energies_scale_and_collate():
    items = [_item([1, 1], -2.0), _item([8], -5.0), _item([8, 1, 1], -7.0)]
    assert np.allclose(fit_atomic_energies(items, [1, 8]), [-1.0, -5.0])
    with pytest.raises(ValueError, match="not among elements"):
        fit_atomic_energies(items, [1])
    assert force_rms(items) == pytest.approx(1.0)
    batch = collate_potentials(items)
    assert batch.energy.tolist() == [-2.0, -5.0, -7.0] and batch.forces.shape == (6, 3)
    assert batch.ptr.tolist() == [0, 2, 3, 6] and batch.cell.shape == (3, 3, 3) and not batch.periodic
    with pytest.raises(ValueError, match=r"items\[0\].forces must have shape"):
        collate_potentials([_item([1, 1], -1.0, n_forces=3)])
    with pytest.raises(TypeError, match="must all be PotentialItem"):
        collate_potentials([object()])


def test_energy_force_loss_is_zero_on_its_own_predictions_and_trains_through_forces():
    torch.manual_seed(0)
    pot = Potential(build_model("schnet", channels=8, num_layers=1, elements=(1, 8)), [-13.6, -2040.0]).double()
    structures = [_item([8, 1, 1], 0.0), _item([8, 1], 0.0)]
    batch = collate_potentials(structures)
    pot.eval()
    out = pot(batch.z, batch.pos, batch.batch, batch.num_graphs)
    labelled = [PotentialItem(z=s.z, pos=s.pos, energy=out.energy[k], forces=out.forces[batch.ptr[k]:batch.ptr[k + 1]])
                for k, s in enumerate(structures)]
    loss_fn = EnergyForceLoss(energy_weight=1.0, forces_weight=10.0)
    loss, metrics = loss_fn(pot, collate_potentials(labelled))
    assert float(loss) < 1e-20 and metrics["forces_mae"] < 1e-12
    pot.train()
    loss, _ = loss_fn(pot, batch)
    loss.backward()  # the force term reaches the parameters (create_graph in training mode)
    assert all(p.grad is not None for p in pot.model.interactions.parameters())
    with pytest.raises(ValueError, match="cannot both be 0"):
        EnergyForceLoss(0.0, 0.0)
    with pytest.raises(ValueError, match="stress_weight > 0 but the batch carries no stresses"):
        EnergyForceLoss(stress_weight=1.0)(pot, batch)

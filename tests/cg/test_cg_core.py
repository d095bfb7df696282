"""workbench.cg: trajectories, mappings, the linear lift, metrics and their bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.cg import (
    CGMapping,
    LinearBackmapping,
    Trajectory,
    backbone_dihedrals,
    covalent_bonds,
    dihedral,
    graph_edit_ratio,
    load_cg_alanine,
    partition_mapping,
    ramachandran_js_divergence,
    read_trajectory,
    residue_mapping,
    rmsd,
    sample_diversity,
    steric_clashes,
)
from workbench.groups import o3


@pytest.fixture(scope="module")
def traj() -> Trajectory:
    return load_cg_alanine()


def test_shipped_trajectory_is_alanine_dipeptide(traj):
    assert traj.n_atoms == 22 and traj.n_frames == 2000 and int(traj.heavy.sum()) == 10
    assert len(traj.bonds) == 21
    assert traj.info["force_field"] == ["amber14-all.xml", "implicit/obc2.xml"]
    # the simulated bonds agree with the distance rule in every frame checked (no broken molecule)
    for frame in traj.positions[::250]:
        assert {tuple(b) for b in covalent_bonds(traj.elements, frame)} == {tuple(b) for b in traj.bonds.tolist()}
    # it visits both main Ramachandran basins (alpha_R and beta/C7eq)
    (_, phi_q), (_, psi_q) = backbone_dihedrals(traj.atom_names, traj.residue_names, traj.residue_index)
    phi, psi = dihedral(traj.positions, phi_q), dihedral(traj.positions, psi_q)
    alpha = np.mean((phi < 0) & (psi > -120) & (psi < 50))
    assert 0.1 < alpha < 0.9
    # L-alanine: the improper N-CA-C-CB dihedral keeps one sign (no inversion in the simulation)
    names = [f"{r}:{a}" for r, a in zip(traj.residue_names, traj.atom_names)]
    chi = dihedral(traj.positions, tuple(names.index(s) for s in ("ALA:N", "ALA:CA", "ALA:C", "ALA:CB")))
    assert np.all(np.sign(chi) == np.sign(chi[0]))


@pytest.mark.parametrize("n_beads", [1, 3, 4, 6, 8, 12, 22])
def test_partition_mapping_rows_sum_to_one_and_beads_connected(traj, n_beads):
    m = partition_mapping(traj.bonds, traj.masses, n_beads)
    assert m.n_beads == n_beads and m.matrix.shape == (n_beads, 22)
    np.testing.assert_allclose(m.matrix.sum(axis=1), 1.0, atol=1e-12)
    assert np.all((m.matrix > 0).sum(axis=0) == 1)  # every atom in exactly one bead
    com = m.coarse(traj.positions[:3])
    for bead, atoms in enumerate(m.beads()):
        w = traj.masses[atoms] / traj.masses[atoms].sum()
        np.testing.assert_allclose(com[:, bead], np.einsum("a,tad->td", w, traj.positions[:3][:, atoms]), atol=1e-9)
    centroid = partition_mapping(traj.bonds, traj.masses, n_beads, centre="centroid")
    np.testing.assert_array_equal(centroid.assignment, m.assignment)
    np.testing.assert_allclose(centroid.matrix.sum(axis=1), 1.0, atol=1e-12)


def test_residue_mapping_and_torch_coarse(traj):
    m = residue_mapping(traj.residue_index, traj.masses, traj.bonds)
    assert m.n_beads == 3
    x = torch.as_tensor(traj.positions[:2])
    np.testing.assert_allclose(m.coarse(x).numpy(), m.coarse(traj.positions[:2]), atol=1e-12)


def test_mapping_bad_inputs(traj):
    with pytest.raises(ValueError, match="n_beads must be <= the number of atoms"):
        partition_mapping(traj.bonds, traj.masses, 23)
    with pytest.raises(ValueError, match="n_beads must be an integer"):
        partition_mapping(traj.bonds, traj.masses, 0)
    with pytest.raises(ValueError, match="unassigned"):
        CGMapping(np.array([0, -1, 1]), np.ones(3))
    with pytest.raises(ValueError, match="hold no atom"):
        CGMapping(np.array([0, 2, 2]), np.ones(3))
    with pytest.raises(ValueError, match="disconnected mapping: bead 0"):
        CGMapping(np.array([0, 1, 0]), np.ones(3), bonds=np.array([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match="one molecule"):
        partition_mapping(np.array([[0, 1]]), np.ones(3), 2)
    with pytest.raises(ValueError, match="weights must all be positive"):
        CGMapping(np.array([0, 1]), np.array([1.0, 0.0]))
    m = partition_mapping(traj.bonds, traj.masses, 4)
    bad = traj.positions[:2].copy()
    bad[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="positions must be finite"):
        m.coarse(bad)
    with pytest.raises(ValueError, match="positions must be finite"):
        m.coarse(torch.as_tensor(bad))
    with pytest.raises(ValueError, match=r"positions must have shape \[\.\.\., 22, 3\]"):
        m.coarse(traj.positions[:, :20])


def test_trajectory_bad_inputs(traj):
    with pytest.raises(ValueError, match="topology and coordinates do not match"):
        Trajectory(traj.positions[:, :20], traj.elements, traj.bonds, traj.masses, traj.atom_names,
                   traj.residue_names, traj.residue_index, traj.time_ps)
    with pytest.raises(ValueError, match="bonds must index atoms"):
        Trajectory(traj.positions, traj.elements, np.array([[0, 30]]), traj.masses, traj.atom_names,
                   traj.residue_names, traj.residue_index, traj.time_ps)
    bad = traj.positions[:2].copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="positions must be finite"):
        Trajectory(bad, traj.elements, traj.bonds, traj.masses, traj.atom_names, traj.residue_names,
                   traj.residue_index, traj.time_ps[:2])
    with pytest.raises(ValueError, match=r"unknown residue\(s\) \['XYZ'\]"):
        backbone_dihedrals(traj.atom_names, np.where(traj.residue_names == "ALA", "XYZ", traj.residue_names),
                           traj.residue_index)


def test_read_trajectory_pdb_roundtrip(traj, tmp_path):
    ase_io = pytest.importorskip("ase.io")
    from ase import Atoms

    frames = [Atoms(numbers=traj.elements, positions=p) for p in traj.positions[:3]]
    ase_io.write(tmp_path / "ala.xyz", frames)
    back = read_trajectory(tmp_path / "ala.xyz")
    assert back.n_frames == 3 and back.n_atoms == 22
    np.testing.assert_allclose(back.positions, traj.positions[:3], atol=1e-5)
    assert {tuple(b) for b in back.bonds.tolist()} == {tuple(b) for b in traj.bonds.tolist()}
    with pytest.raises(FileNotFoundError, match="no such trajectory file"):
        read_trajectory(tmp_path / "missing.pdb")
    (tmp_path / "x.dcd").write_bytes(b"")
    with pytest.raises(ValueError, match="topology"):
        read_trajectory(tmp_path / "x.dcd")


def test_linear_lift_exact_on_rigid_data_and_equivariant(traj):
    m = partition_mapping(traj.bonds, traj.masses, 6)
    lift = LinearBackmapping(m).fit(traj.positions[:1400])
    test = traj.positions[1400:]
    pred = lift(m.coarse(test))
    assert rmsd(pred, test, traj.heavy).mean() < 0.3
    # rigid copies of one frame: the lift is exact
    rng = np.random.default_rng(0)
    rigid = np.stack([traj.positions[0] @ o3.rand_matrix(dtype=torch.float64).numpy().T + rng.normal(size=3)
                      for _ in range(40)])
    exact = LinearBackmapping(m).fit(rigid)
    np.testing.assert_allclose(exact(m.coarse(rigid)), rigid, atol=1e-8)
    # E(3): rotating/reflecting + translating the beads moves the lifted atoms the same way
    q = o3.rand_matrix(dtype=torch.float64).numpy() * -1.0  # an improper rotation
    t = rng.normal(size=3)
    coarse = m.coarse(test[:5])
    np.testing.assert_allclose(lift(coarse @ q.T + t), lift(coarse) @ q.T + t, atol=1e-9)
    with pytest.raises(RuntimeError, match="fit"):
        LinearBackmapping(m)(coarse)


def test_metrics_values():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 6, 3))
    q = o3.rand_matrix(dtype=torch.float64).numpy()
    assert np.allclose(rmsd(x @ q.T + 1.0, x, align=True), 0.0, atol=1e-9)
    assert np.all(rmsd(x @ q.T + 1.0, x) > 0.5)
    # a reflection cannot be aligned away by proper rotations
    mirror = x * np.array([1, 1, -1.0])
    assert np.all(rmsd(mirror, x, align=True) > 1e-3)
    # water: the two O-H bonds; stretch one -> one bond broken of two
    elements = np.array([8, 1, 1])
    water = np.array([[[0.0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]])
    bonds = np.array([[0, 1], [0, 2]])
    assert graph_edit_ratio(water, bonds, elements).tolist() == [0.0]
    stretched = water.copy()
    stretched[0, 1, 0] = 3.0
    assert graph_edit_ratio(stretched, bonds, elements).tolist() == [0.5]
    samples = np.stack([water[0], water[0] + [0, 0, 1.0]])[:, None]
    assert sample_diversity(samples).tolist() == [1.0]
    assert steric_clashes(water, bonds, elements).tolist() == [0]
    a = rng.uniform(-180, 180, size=(500, 2))
    assert ramachandran_js_divergence(a, a) == 0.0
    assert ramachandran_js_divergence(a, np.full((10, 2), 60.0)) > 0.5
    with pytest.raises(ValueError, match="at least 2 samples"):
        sample_diversity(samples[:1])
    with pytest.raises(ValueError, match="pred must be finite"):
        rmsd(np.full((1, 2, 3), np.nan), np.zeros((1, 2, 3)))

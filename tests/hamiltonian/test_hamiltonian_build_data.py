"""`workbench build-data hamiltonians --xyz FILE` labels a user's own XYZ trajectory (PySCF, the 'qc' extra): the npz
and manifest load back through load_hamiltonians, the labels are those of a direct PySCF calculation; bad input
(missing file, element outside the basis) gives clear errors; the figures of widgets.hamiltonian_plots."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.cli import main
from workbench.hamiltonian import DEF2_SVP, load_hamiltonians
from workbench.hamiltonian.dataset import build_hamiltonians

pytestmark = pytest.mark.unit

XYZ = """3
water frame 0
O 0.0 0.0 0.1173
H 0.0 0.7572 -0.4692
H 0.0 -0.7572 -0.4692
3
water frame 1
O 0.0 0.0 0.1200
H 0.0 0.7700 -0.4700
H 0.0 -0.7500 -0.4650
"""


def test_label_user_xyz(tmp_path):
    pytest.importorskip("pyscf")
    pytest.importorskip("pyscf.dft")
    path = tmp_path / "mytraj.xyz"
    path.write_text(XYZ)
    out = tmp_path / "out"
    assert main(["build-data", "hamiltonians", "--xyz", str(path), "--out", str(out)]) == 0
    data = load_hamiltonians("mytraj", out)
    assert data.H.shape == (2, 24, 24) and data.nocc == 5
    assert torch.allclose(data.H, data.H.transpose(1, 2))
    assert data.forces.shape == (2, 3, 3) and np.isfinite(data.energy.numpy()).all()
    # the first frame is the shipped water's starting geometry: a sensible energy and an S with unit diagonal
    assert -76.4 < float(data.energy[0]) < -76.2
    assert torch.allclose(data.S[0].diagonal(), torch.ones(24, dtype=torch.float64), atol=1e-10)


def test_bad_input(tmp_path):
    assert main(["build-data", "hamiltonians", "--xyz", str(tmp_path / "missing.xyz"), "--out",
                 str(tmp_path / "o")]) == 2
    bad = tmp_path / "hf.xyz"
    bad.write_text("2\n\nH 0 0 0\nF 0 0 0.92\n")
    with pytest.raises(ValueError, match="'F' is not in basis 'def2-svp'"):
        build_hamiltonians(tmp_path / "o2", xyz=bad)
    with pytest.raises(ValueError, match="unknown name"):
        build_hamiltonians(tmp_path / "o3", molecules=("benzene",))
    with pytest.raises(FileNotFoundError, match="workbench build-data hamiltonians"):
        load_hamiltonians("water", tmp_path)


def test_figures():
    from widgets.hamiltonian_plots import hamiltonian_matrix_figure, orbital_energy_figure

    data = load_hamiltonians("water")
    fig = hamiltonian_matrix_figure(data.H[0], data.H[1])
    assert len(fig.data) == 3
    assert np.allclose(np.asarray(fig.data[2].z), (data.H[1] - data.H[0]).numpy())
    with pytest.raises(ValueError, match="same shape"):
        hamiltonian_matrix_figure(data.H[0], data.H[0, :23, :23])
    with pytest.raises(ValueError, match="labels must name the 24 AOs"):
        hamiltonian_matrix_figure(data.H[0], data.H[0], labels=["a"])
    fig = orbital_energy_figure(data.orbital_energies[:3], data.orbital_energies[:3], data.nocc)
    assert len(fig.data[0].x) == 3 * data.nocc
    assert DEF2_SVP.num_orbitals(data.z) == 24


def test_orbitals_on_grid_are_normalized():
    pytest.importorskip("pyscf")
    from workbench.hamiltonian.eigen import generalized_eigh
    from workbench.hamiltonian.orbitals import orbitals_on_grid

    data = load_hamiltonians("water")
    _, C = generalized_eigh(data.H[0], data.S[0])
    grid = orbitals_on_grid(data.z.tolist(), data.pos[0].numpy(), C[:, :6].numpy(), data.basis, spacing=0.15,
                            padding=4.0)
    bohr3 = (grid.spacing / 0.52917721092) ** 3
    norms = (grid.values**2).sum(axis=(1, 2, 3)) * bohr3
    # orbitals 1..5 (valence) integrate to 1 on this grid; the O 1s core (orbital 0) is too sharp for it
    assert np.allclose(norms[1:], 1.0, atol=0.03)
    with pytest.raises(ValueError, match=r"coefficients must have shape \[24, K\]"):
        orbitals_on_grid(data.z.tolist(), data.pos[0].numpy(), np.zeros((23, 1)), data.basis)


def test_orbital_viewer_and_volumes_validation():
    pytest.importorskip("pyscf")
    import traitlets

    from widgets import MoleculeViewer, OrbitalViewer
    from workbench.hamiltonian.eigen import generalized_eigh
    from workbench.hamiltonian.orbitals import cube_text, orbitals_on_grid

    data = load_hamiltonians("water")
    _, C = generalized_eigh(data.H[0], data.S[0])
    grid = orbitals_on_grid(data.z.tolist(), data.pos[0].numpy(), C[:, 3:5].numpy(), data.basis, spacing=0.4)
    text = cube_text(grid, 1, data.z.tolist(), data.pos[0].numpy())
    lines = text.splitlines()
    assert lines[2].split()[0] == "3" and int(lines[3].split()[0]) == grid.shape[0]
    values = np.array(" ".join(lines[9:]).split(), dtype=float)
    assert np.allclose(values, grid.values[1].ravel(), atol=1e-5 * np.abs(grid.values[1]).max())
    flipped = type(grid)(grid.origin, grid.spacing, grid.shape, -grid.values)
    viewer = OrbitalViewer(data.z.tolist(), data.pos[0].numpy(), grid, flipped, ["a", "b"])
    assert np.allclose(viewer.predicted.values, grid.values)  # the arbitrary eigenvector sign is aligned
    viewer.selector.value = 1
    assert viewer.orbital == 1 and [v["isoval"] for v in viewer.views[0].volumes] == [0.05, -0.05]
    with pytest.raises(ValueError, match="names must label the 2 orbitals"):
        OrbitalViewer(data.z.tolist(), data.pos[0].numpy(), grid, grid, ["a"])
    with pytest.raises(traitlets.TraitError, match="'cube'"):
        MoleculeViewer(["O"], [[0.0, 0.0, 0.0]]).volumes = [{"isoval": 0.1}]


def test_conformations_option_bad_input(tmp_path, capsys):
    """`--conformations N` (a larger set, same protocol) is for 'hamiltonians' only; bad counts are refused before
    any PySCF work."""
    assert main(["build-data", "normals", "--conformations", "10", "--out", str(tmp_path / "x")]) == 2
    assert "--conformations applies to 'hamiltonians' only" in capsys.readouterr().err
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="conformations must be an int >= 1"):
            build_hamiltonians(tmp_path / "y", molecules=("water",), conformations=bad)

"""The PySCF <-> project AO convention (workbench.hamiltonian.ao_convention): per shell against PySCF's own AO values
(l = 0..5), and whole matrices of a rotated molecule become D(R) H D(R)^T after conversion, with PySCF when it is
installed and with the rotation check shipped in data/hamiltonians/water.npz always. Without the conversion (a
baseline that treats PySCF's order as the project's) the same checks fail."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.groups import o3
from workbench.hamiltonian import DEF2_SVP, OrbitalBasis, load_hamiltonians
from workbench.hamiltonian.ao_convention import conversion_matrix, e3nn_to_pyscf, pyscf_to_e3nn, shell_conversion

pytestmark = pytest.mark.unit

WATER = np.array([[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]])


def _pyscf():
    pyscf = pytest.importorskip("pyscf")
    pytest.importorskip("pyscf.dft")
    return pyscf


@pytest.mark.parametrize("l", range(6))
def test_shell_conversion_matches_pyscf_ao_values(l):
    pyscf = _pyscf()
    mol = pyscf.gto.Mole()
    mol.atom, mol.basis, mol.spin, mol.verbose = "He 0 0 0", {"He": [[l, [1.0, 1.0]]]}, 0, 0
    mol.build()
    pts = np.random.default_rng(l).normal(size=(200, 3))
    ao = mol.eval_gto("GTOval_sph", pts)  # [200, 2l+1], PySCF's order and signs
    Y = o3.spherical_harmonics(l, torch.tensor(pts), normalize=True).numpy()  # project basis, unit-sphere values
    radial = np.linalg.norm(ao, axis=1) / np.linalg.norm(Y, axis=1)
    converted = ao @ shell_conversion(l).T / radial[:, None]
    assert np.abs(converted - Y).max() < 1e-10
    if l >= 2:  # the baseline: PySCF's components taken as the project's
        assert np.abs(ao / radial[:, None] - Y).max() > 0.1


def test_conversion_is_orthogonal_and_round_trips():
    z = [8, 1, 1]
    C = conversion_matrix(DEF2_SVP, z)
    assert np.allclose(C @ C.T, np.eye(24), atol=1e-13)
    M = np.random.default_rng(0).normal(size=(24, 24))
    assert np.allclose(e3nn_to_pyscf(pyscf_to_e3nn(M, DEF2_SVP, z), DEF2_SVP, z), M, atol=1e-13)


def _check_rotated(H0, H1, z, R, tol):
    D = DEF2_SVP.wigner_D(z, torch.as_tensor(R, dtype=torch.float64)).numpy()
    return np.abs(D @ H0 @ D.T - H1).max()


def test_pyscf_matrices_of_a_rotated_molecule():
    pyscf = _pyscf()
    z = [8, 1, 1]
    R = o3.rand_matrix(generator=torch.Generator().manual_seed(3), dtype=torch.float64).numpy()

    def matrices(pos):
        mol = pyscf.gto.M(atom=list(zip("OHH", pos.tolist())), basis="def2-svp", unit="Angstrom", verbose=0)
        mf = pyscf.dft.RKS(mol)
        mf.xc, mf.conv_tol = "pbe", 1e-11
        mf.kernel()
        return mf.get_fock(), mol.intor("int1e_ovlp")

    (H0, S0), (H1, S1) = matrices(WATER), matrices(WATER @ R.T)
    conv = [pyscf_to_e3nn(m, DEF2_SVP, z) for m in (H0, S0, H1, S1)]
    # S is exact; H carries the DFT grid's small orientation dependence (~1e-6 Eh)
    assert _check_rotated(conv[1], conv[3], z, R, 0) < 1e-12
    assert _check_rotated(conv[0], conv[2], z, R, 0) < 1e-5
    # baseline: without the conversion the same comparison fails by orders of magnitude
    assert _check_rotated(S0, S1, z, R, 0) > 1e-2
    assert _check_rotated(H0, H1, z, R, 0) > 1e-2


def test_shipped_rotation_check():
    data = load_hamiltonians("water")
    rot = data.rotation
    assert rot is not None
    R = rot["R"]
    assert torch.allclose(rot["pos"], data.pos[0] @ R.T, atol=1e-12)
    D = data.basis.wigner_D(data.z, R)
    assert (D @ data.S[0] @ D.T - rot["S"]).abs().max() < 1e-10
    assert (D @ data.H[0] @ D.T - rot["H"]).abs().max() < 1e-5
    # baseline: undo the conversion (back to PySCF's order) and the rotated matrices no longer match
    H0p = torch.as_tensor(e3nn_to_pyscf(data.H[0], data.basis, data.z))
    H1p = torch.as_tensor(e3nn_to_pyscf(rot["H"], data.basis, data.z))
    assert (D @ H0p @ D.T - H1p).abs().max() > 1e-2


def test_bad_input():
    with pytest.raises(ValueError, match=r"shape \[\.\.\., 24, 24\]"):
        pyscf_to_e3nn(np.zeros((23, 23)), DEF2_SVP, [8, 1, 1])
    with pytest.raises(ValueError, match="Z=9 is not in basis 'def2-svp'"):
        DEF2_SVP.num_functions(9)
    with pytest.raises(ValueError, match=r"atomic numbers \[17\]"):
        conversion_matrix(DEF2_SVP, [8, 17])
    with pytest.raises(ValueError, match="l must be an integer"):
        shell_conversion(-1)
    with pytest.raises(ValueError, match="shells must map"):
        OrbitalBasis("x", {1: ()})

"""PhiSNet (workbench.models.phisnet): exact O(3) equivariance of the predicted H and S (float64 <= 1e-9, rotations
and reflections) with the Cartesian-MLP baseline failing the same check, permutation of atoms permutes blocks,
symmetry by construction, the CG block assembly, the on-site reference, the Löwdin eigensolver and its gradient,
and bad input (element or basis not in the model, overlapping atoms, wrong matrix sizes)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from workbench.groups import o3
from workbench.hamiltonian import DEF2_SVP
from workbench.hamiltonian.eigen import generalized_eigh, hamiltonian_loss, orbital_metrics
from workbench.models import CartesianHamiltonianMLP, PhiSNet
from workbench.models.phisnet import block_assembly_matrix, block_irreps

pytestmark = pytest.mark.unit

WATER = [[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]]
AMMONIA = [[0.0, 0.0, 0.1], [0.94, 0.0, -0.27], [-0.47, 0.81, -0.27], [-0.47, -0.81, -0.27]]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = PhiSNet(DEF2_SVP.shells, channels=4, pair_channels=2, num_layers=2).double()
    # a non-trivial (invariant) on-site reference and scales, fitted to random symmetric matrices of O, N, H
    A = torch.randn(2, 33, 33, dtype=torch.float64)
    m.fit_reference(torch.tensor([8, 7, 1]), A + A.transpose(1, 2), 2 * A + A.transpose(1, 2) * 2)
    assert m.reference_H.abs().max() > 0.1
    return m


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(1)
    pos = torch.tensor(WATER + AMMONIA, dtype=torch.float64) + 0.05 * torch.randn(7, 3, generator=g,
                                                                                  dtype=torch.float64)
    return torch.tensor([8, 1, 1, 7, 1, 1, 1]), pos, torch.tensor([0, 0, 0, 1, 1, 1, 1])


def _blocks_transform_error(model, z, pos, batch, R):
    with torch.no_grad():
        H, S = model(z, pos, batch)
        H2, S2 = model(z, pos @ R.T, batch)
    err = 0.0
    for b in range(2):
        zb = z[batch == b]
        D = DEF2_SVP.wigner_D(zb, R)
        n = D.shape[0]
        err = max(err, float((D @ H[b, :n, :n] @ D.T - H2[b, :n, :n]).abs().max()),
                  float((D @ S[b, :n, :n] @ D.T - S2[b, :n, :n]).abs().max()))
    return err, float(H.abs().max())


@pytest.mark.parametrize("reflect", [False, True])
def test_exact_equivariance_float64(model, batch, reflect):
    z, pos, b = batch
    R = o3.rand_matrix(generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    R = -R if reflect else R
    err, size = _blocks_transform_error(model, z, pos, b, R)
    assert size > 1e-2
    assert err <= 1e-9


def test_translation_invariance(model, batch):
    z, pos, b = batch
    H, S = model(z, pos, b)
    H2, S2 = model(z, pos + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64), b)
    assert (H - H2).abs().max() < 1e-10 and (S - S2).abs().max() < 1e-10


def test_cartesian_baseline_is_not_equivariant():
    torch.manual_seed(0)
    z = torch.tensor([8, 1, 1])
    base = CartesianHamiltonianMLP(z, 24, hidden=(16,)).double()
    pos = torch.tensor(WATER, dtype=torch.float64)
    R = o3.rand_matrix(generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    H, S = base(z, pos)
    H2, _ = base(z, pos @ R.T)
    D = DEF2_SVP.wigner_D(z, R)
    assert torch.allclose(H, H.transpose(1, 2))
    assert float((D @ H[0] @ D.T - H2[0]).detach().abs().max()) > 1e-3


def test_permutation_permutes_blocks(model):
    z = torch.tensor([8, 1, 1])
    pos = torch.tensor(WATER, dtype=torch.float64) + torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.05, 0.0],
                                                                   [0.0, 0.0, 0.0]], dtype=torch.float64)
    perm = [1, 0, 2]  # H, O, H
    H, S = model(z, pos)
    Hp, Sp = model(z[perm], pos[perm])
    # AO index map: atom order (H1, O, H2) -> AO slices of (H1, O, H2) in the original layout
    slices = {0: range(0, 14), 1: range(14, 19), 2: range(19, 24)}
    idx = torch.tensor([i for a in perm for i in slices[a]])
    assert (H[0][idx][:, idx] - Hp[0]).abs().max() < 1e-10
    assert (S[0][idx][:, idx] - Sp[0]).abs().max() < 1e-10
    # and a permutation that is not applied to the matrices is visible
    assert (H[0] - Hp[0]).abs().max() > 1e-3


def test_symmetric_and_padded(model, batch):
    z, pos, b = batch
    H, S = model(z, pos, b)
    assert H.shape == (2, 29, 29)
    assert torch.equal(H, H.transpose(1, 2)) and torch.equal(S, S.transpose(1, 2))
    assert H[0, 24:].abs().max() == 0 and H[0, :, 24:].abs().max() == 0
    assert model.num_orbitals(z, b).tolist() == [24, 29]


def test_block_assembly_transforms_like_the_shells():
    R = o3.rand_matrix(generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    shells_i, shells_j = (0, 1, 2), (1, 2, 3)
    irreps = block_irreps(shells_i, shells_j)
    M = block_assembly_matrix(shells_i, shells_j)
    f = torch.randn(irreps.dim, dtype=torch.float64)
    Di = torch.block_diag(*[o3.Irrep(l, (-1) ** l).D_from_matrix(R) for l in shells_i])
    Dj = torch.block_diag(*[o3.Irrep(l, (-1) ** l).D_from_matrix(R) for l in shells_j])
    B = (f @ M).reshape(Di.shape[0], Dj.shape[0])
    B_rot = (irreps.D_from_matrix(R) @ f @ M).reshape(B.shape)
    assert (Di @ B @ Dj.T - B_rot).abs().max() < 1e-12
    assert torch.linalg.matrix_rank(M) == irreps.dim  # every irrep reaches the block


def test_fit_reference_is_invariant_and_helps():
    torch.manual_seed(0)
    m = PhiSNet({1: (0, 0, 1), 8: (0, 0, 0, 1, 1, 2)}, channels=2, pair_channels=1, num_layers=1).double()
    z = torch.tensor([8, 1, 1])
    H = torch.randn(4, 24, 24, dtype=torch.float64)
    H = H + H.transpose(1, 2) + torch.diag(torch.linspace(-20, 1, 24, dtype=torch.float64))
    m.fit_reference(z, H, torch.eye(24, dtype=torch.float64).expand(4, 24, 24))
    ref = m.reference_H[m.elements.index(8), :14, :14]
    # the p-p reference on one shell is a multiple of the identity (invariant)
    assert torch.allclose(ref[3:6, 3:6], ref[3, 3] * torch.eye(3, dtype=torch.float64))
    assert float(m.scale_H) > 0


def test_generalized_eigh_matches_scipy_and_differentiates():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    H = A + A.T
    B = rng.normal(size=(6, 6))
    S = B @ B.T + 6 * np.eye(6)
    eps, C = generalized_eigh(torch.tensor(H), torch.tensor(S))
    ref = scipy.linalg.eigh(H, S, eigvals_only=True)
    assert np.allclose(eps.numpy(), ref, atol=1e-10)
    assert torch.allclose(C.T @ torch.tensor(S) @ C, torch.eye(6, dtype=torch.float64), atol=1e-10)
    Ht = torch.tensor(H, requires_grad=True)
    e, _ = generalized_eigh(Ht, torch.tensor(S))
    e[:2].sum().backward()
    assert Ht.grad is not None and torch.isfinite(Ht.grad).all() and Ht.grad.abs().sum() > 0


def test_metrics_zero_for_perfect_prediction():
    A = torch.randn(3, 8, 8, dtype=torch.float64)
    H = A + A.transpose(1, 2)
    S = torch.eye(8, dtype=torch.float64).expand(3, 8, 8) + 0.0
    m = orbital_metrics(H, S, H, S, nocc=3)
    assert m["H_mae_uEh"] == 0 and m["eps_occ_mae_uEh"] < 1e-6 and m["psi_cosine"] == pytest.approx(1.0)
    worse = orbital_metrics(H + 0.01, S, H, S, nocc=3)
    assert worse["H_mae_uEh"] == pytest.approx(1e4)


def test_bad_input(model):
    pos = torch.tensor(WATER, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"atomic numbers \[9\] are not in this model's AO basis"):
        model(torch.tensor([8, 1, 9]), pos)
    with pytest.raises(ValueError, match="overlapping atoms"):
        model(torch.tensor([8, 1, 1]), torch.tensor([[0.0, 0, 0], [0.0, 0.0, 0.1], [0.0, 1.0, 0.0]],
                                                    dtype=torch.float64))
    with pytest.raises(ValueError, match="pos must have shape"):
        model(torch.tensor([8, 1, 1]), pos[:2])
    with pytest.raises(ValueError, match="H must have shape"):
        model.fit_reference(torch.tensor([8, 1, 1]), torch.zeros(2, 23, 23, dtype=torch.float64),
                            torch.zeros(2, 24, 24, dtype=torch.float64))
    with pytest.raises(ValueError, match="same shape"):
        hamiltonian_loss(torch.zeros(1, 24, 24), torch.zeros(1, 24, 24), torch.zeros(1, 29, 29),
                         torch.zeros(1, 29, 29))
    with pytest.raises(ValueError, match="positive definite"):
        generalized_eigh(torch.eye(3, dtype=torch.float64), -torch.eye(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="shells must map"):
        PhiSNet({})
    with pytest.raises(ValueError, match="this baseline is for the molecule"):
        CartesianHamiltonianMLP(torch.tensor([8, 1, 1]), 24)(torch.tensor([7, 1, 1]), pos)


def test_equivariance_float32(batch):
    torch.manual_seed(0)
    m = PhiSNet(DEF2_SVP.shells, channels=4, pair_channels=2, num_layers=1)
    z, pos, b = batch
    R = o3.rand_matrix(generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    with torch.no_grad():
        H, _ = m(z, pos.float(), b)
        H2, _ = m(z, (pos @ R.T).float(), b)
    D = DEF2_SVP.wigner_D(z[b == 0], R).float()
    assert float((D @ H[0, :24, :24] @ D.T - H2[0, :24, :24]).abs().max() / H.abs().max()) <= 1e-4


def test_orbital_energy_loss_differentiates():
    torch.manual_seed(0)
    m = PhiSNet({1: (0, 0, 1), 8: (0, 0, 0, 1, 1, 2)}, channels=2, pair_channels=1, num_layers=1).double()
    z = torch.tensor([8, 1, 1])
    pos = torch.tensor(WATER, dtype=torch.float64)
    A = torch.randn(1, 24, 24, dtype=torch.float64)
    H_true = A + A.transpose(1, 2)
    S_true = torch.eye(24, dtype=torch.float64)[None] + 0.0
    eps_true = torch.linalg.eigvalsh(H_true)
    H, S = m(z, pos)
    loss = hamiltonian_loss(H, S, H_true, S_true, eps_true, nocc=5, eps_weight=1.0)
    loss.backward()
    grads = [p.grad for p in m.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    base = hamiltonian_loss(H.detach(), S.detach(), H_true, S_true)
    assert float(loss.detach()) > float(base)  # the orbital-energy term adds to the matrix MSE
    with pytest.raises(ValueError, match="eps_weight > 0 needs eps_true"):
        hamiltonian_loss(H, S, H_true, S_true, eps_weight=1.0)

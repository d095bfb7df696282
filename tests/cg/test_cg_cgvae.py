"""CGVAE: E(3) equivariance of the decoder (and a non-equivariant decoder failing the same test), encoder and
prior equivariance, invariance of the loss, bead permutations, sampling, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.cg import CGVAE, cgvae_loss, load_cg_alanine, partition_mapping
from workbench.groups import o3


@pytest.fixture(scope="module")
def setup():
    traj = load_cg_alanine()
    mapping = partition_mapping(traj.bonds, traj.masses, 4)
    torch.manual_seed(0)
    model = CGVAE(mapping, channels=6, latent_channels=3, num_layers=2).double().eval()
    fine = torch.as_tensor(traj.positions[[0, 700, 1500]], dtype=torch.float64)
    return traj, mapping, model, fine


def _transform(seed: int, improper: bool):
    gen = torch.Generator().manual_seed(seed)
    rot = o3.rand_matrix(generator=gen, dtype=torch.float64)
    if improper:
        rot = -rot
    return rot, 5.0 * torch.randn(3, generator=gen, dtype=torch.float64)


class FlatMLPDecoder(torch.nn.Module):
    """A non-equivariant decoder with the same interface: an MLP on the flattened beads and latents."""

    def __init__(self, n_beads: int, latent_dim: int, n_atoms: int) -> None:
        super().__init__()
        self.n_atoms = n_atoms
        self.net = torch.nn.Sequential(torch.nn.Linear(n_beads * (3 + latent_dim), 32), torch.nn.SiLU(),
                                       torch.nn.Linear(32, n_atoms * 3))

    def decode(self, coarse: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        flat = torch.cat([coarse, z], dim=-1).flatten(1)
        return coarse.mean(1, keepdim=True) + self.net(flat).reshape(-1, self.n_atoms, 3)


def _decoder_error(decoder, coarse, z, d_of, rot, shift):
    with torch.no_grad():
        out = decoder.decode(coarse, z)
        moved = decoder.decode(coarse @ rot.T + shift, z @ d_of(rot).T)
    return float((moved - (out @ rot.T + shift)).abs().max())


@pytest.mark.parametrize("improper", [False, True], ids=["rotation", "rotation+reflection"])
def test_decoder_is_e3_equivariant_float64_and_mlp_is_not(setup, improper):
    _, mapping, model, fine = setup
    coarse = model.coarse(fine)
    z = torch.randn(3, mapping.n_beads, model.irreps_latent.dim, dtype=torch.float64)
    d_of = model.irreps_latent.D_from_matrix
    for seed in range(3):
        rot, shift = _transform(seed, improper)
        assert _decoder_error(model, coarse, z, d_of, rot, shift) <= 1e-9
    torch.manual_seed(0)
    mlp = FlatMLPDecoder(mapping.n_beads, model.irreps_latent.dim, 22).double()
    rot, shift = _transform(0, improper)
    assert _decoder_error(mlp, coarse, z, d_of, rot, shift) > 1e-2


def test_decoder_float32_relative_error(setup):
    traj, mapping, model, fine = setup
    m32 = CGVAE(mapping, channels=6, latent_channels=3, num_layers=2).eval()
    m32.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    coarse = m32.coarse(fine.float())
    z = torch.randn(3, mapping.n_beads, model.irreps_latent.dim)
    rot, shift = _transform(4, False)
    err = _decoder_error(m32, coarse, z, lambda r: m32.irreps_latent.D_from_matrix(r.float()), rot.float(),
                         shift.float())
    assert err <= 1e-4 * float(fine.abs().max())


def test_encoder_prior_equivariant_and_loss_invariant(setup):
    _, mapping, model, fine = setup
    rot, shift = _transform(7, True)
    moved = fine @ rot.T + shift
    d = model.irreps_latent.D_from_matrix(rot)
    with torch.no_grad():
        mu, lv = model.encode(fine, model.coarse(fine))
        mu2, lv2 = model.encode(moved, model.coarse(moved))
        pm, plv = model.prior_params(model.coarse(fine))
        pm2, plv2 = model.prior_params(model.coarse(moved))
    assert float((mu2 - mu @ d.T).abs().max()) <= 1e-9 and float((lv2 - lv).abs().max()) <= 1e-9
    assert float((pm2 - pm @ d.T).abs().max()) <= 1e-9 and float((plv2 - plv).abs().max()) <= 1e-9
    with torch.no_grad():
        loss, parts = cgvae_loss(model, fine)
        loss2, parts2 = cgvae_loss(model, moved)
    assert abs(float(loss) - float(loss2)) <= 1e-9 * max(1.0, abs(float(loss)))


def test_bead_permutation_leaves_output_unchanged(setup):
    _, mapping, model, fine = setup
    order = np.array([2, 0, 3, 1])
    permuted = CGVAE(mapping.permuted(order), channels=6, latent_channels=3, num_layers=2).double().eval()
    permuted.load_state_dict(model.state_dict())
    coarse = model.coarse(fine)
    np.testing.assert_allclose(permuted.coarse(fine).numpy(), coarse[:, order].numpy(), atol=1e-12)
    z = torch.randn(3, mapping.n_beads, model.irreps_latent.dim, dtype=torch.float64)
    with torch.no_grad():
        a = model.decode(coarse, z)
        b = permuted.decode(coarse[:, order], z[:, order])
    assert float((a - b).abs().max()) <= 1e-9
    # a wrong pairing of beads and latents does change it (the test can fail)
    with torch.no_grad():
        c = permuted.decode(coarse[:, order], z)
    assert float((a - c).abs().max()) > 1e-3


def test_atoms_placed_relative_to_their_bead_and_samples(setup):
    _, mapping, model, fine = setup
    coarse = model.coarse(fine)
    gen = torch.Generator().manual_seed(3)
    samples = model.sample(coarse, num_samples=4, generator=gen)
    assert samples.shape == (4, 3, 22, 3)
    assert float((samples[0] - samples[1]).abs().max()) > 1e-6   # different latents, different structures
    # translating only the beads by t translates every atom by t (positions are relative to the beads)
    z = torch.randn(3, mapping.n_beads, model.irreps_latent.dim, dtype=torch.float64)
    with torch.no_grad():
        shifted = model.decode(coarse + 1.5, z)
        assert torch.allclose(shifted, model.decode(coarse, z) + 1.5, atol=1e-9)


def test_training_reduces_the_loss():
    traj = load_cg_alanine()
    mapping = partition_mapping(traj.bonds, traj.masses, 6)
    torch.manual_seed(0)
    model = CGVAE(mapping, channels=8, latent_channels=4, num_layers=1)
    data = torch.as_tensor(traj.positions[:64], dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(25):
        loss, _ = cgvae_loss(model, data)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]


def test_bad_inputs(setup):
    _, mapping, model, fine = setup
    coarse = model.coarse(fine)
    z = torch.zeros(3, mapping.n_beads, model.irreps_latent.dim, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"coarse must have shape \[B, 4, 3\]"):
        model.decode(coarse[:, :3], z)
    bad = coarse.clone()
    bad[0, 1, 2] = float("nan")
    with pytest.raises(ValueError, match="coarse must be finite"):
        model.decode(bad, z)
    with pytest.raises(ValueError, match="z must have shape"):
        model.decode(coarse, z[..., :-1])
    with pytest.raises(ValueError, match=r"fine must have shape \[B, 22, 3\]"):
        model.coarse(fine[:, :21])
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1"):
        model.sample(coarse, 0)
    with pytest.raises(TypeError, match="mapping must be a CGMapping"):
        CGVAE(np.zeros(22, dtype=int))
    with pytest.raises(ValueError, match="channels must be an integer >= 1"):
        CGVAE(mapping, channels=0)


def test_started_from_the_lift_the_decoder_is_the_lift():
    from workbench.cg import LinearBackmapping

    traj = load_cg_alanine()
    mapping = partition_mapping(traj.bonds, traj.masses, 6)
    lift = LinearBackmapping(mapping).fit(traj.positions[:500])
    model = CGVAE(mapping, channels=4, latent_channels=2, num_layers=1).double().init_linear_from(lift)
    fine = torch.as_tensor(traj.positions[1500:1510])
    with torch.no_grad():
        recon = model.reconstruct(fine)
        out = model(fine, sample=False)
    np.testing.assert_allclose(recon.numpy(), lift(mapping.coarse(traj.positions[1500:1510])), atol=1e-9)
    assert out["recon"].shape == (10, 22, 3)
    with torch.no_grad():
        _, logvar = model.encode(fine, model.coarse(fine))
    assert torch.allclose(logvar, torch.full_like(logvar, -4.0))
    assert not model.linear_term.requires_grad      # the lift stays fixed; the network learns the residual
    other = partition_mapping(traj.bonds, traj.masses, 4)
    with pytest.raises(ValueError, match="fitted LinearBackmapping of this mapping"):
        model.init_linear_from(LinearBackmapping(other).fit(traj.positions[:50]))


def test_kl_warmup_ramps_beta_and_counts_training_steps(setup):
    _, mapping, _, fine = setup
    model = CGVAE(mapping, channels=4, latent_channels=2, num_layers=1).double()
    betas = [cgvae_loss(model, fine, beta=0.1, kl_warmup_steps=4)[1]["beta"] for _ in range(6)]
    assert betas == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1, 0.1])
    assert int(model.train_steps) == 6 and "train_steps" in model.state_dict()
    model.eval()
    with torch.no_grad():
        assert cgvae_loss(model, fine, beta=0.1, kl_warmup_steps=4)[1]["beta"] == 0.1
    assert int(model.train_steps) == 6


def test_atom_weights_weight_the_mse(setup):
    traj, mapping, _, fine = setup
    model = CGVAE(mapping, channels=4, latent_channels=2, num_layers=1).double().eval()
    heavy = torch.as_tensor(traj.heavy)
    with torch.no_grad():
        plain = cgvae_loss(model, fine, beta=0.0, gamma=0.0)[1]["mse"]
        assert cgvae_loss(model, fine, 0.0, 0.0, atom_weights=torch.full((22,), 3.0))[1]["mse"] == pytest.approx(plain)
        recon = model.reconstruct(fine)
    sq = (recon - fine).square().sum(-1)
    w = torch.where(heavy, 10.0, 1.0).double()
    with torch.no_grad():
        weighted = cgvae_loss(model, fine, 0.0, 0.0, atom_weights=w)[1]["mse"]
        heavy_only = cgvae_loss(model, fine, 0.0, 0.0, atom_weights=heavy.double())[1]["mse"]
    assert weighted == pytest.approx(float((sq * w).mean() / w.mean()))
    assert heavy_only == pytest.approx(float(sq[:, heavy].mean()))
    assert abs(weighted - plain) > 1e-3 * plain          # the weights change the loss (the test can fail)
    for bad, match in ((torch.ones(21), "atom_weights must have shape"),
                       (-torch.ones(22), "non-negative"), (torch.zeros(22), "at least one positive")):
        with pytest.raises(ValueError, match=match):
            cgvae_loss(model, fine, atom_weights=bad.double())


def test_heavy_atom_weights_move_heavy_atoms_off_the_lift():
    """What the pipeline's heavy_weight relies on: started at the lift (5 beads), a short training with the MSE
    weighting heavy atoms 10x lowers the heavy-atom error below the lift's, where equal weights (the hydrogens
    dominating the loss) leave it about where the lift has it (here a little above)."""
    from workbench.cg import LinearBackmapping, rmsd

    traj = load_cg_alanine()
    mapping = partition_mapping(traj.bonds, traj.masses, 5)
    data = torch.as_tensor(traj.positions[:96], dtype=torch.float32)
    lift = LinearBackmapping(mapping).fit(traj.positions[:96])
    ref = traj.positions[:96]
    lift_err = rmsd(lift(mapping.coarse(ref)), ref, traj.heavy).mean()
    errors = {}
    for name, weights in (("equal", None), ("heavy", torch.where(torch.as_tensor(traj.heavy), 10.0, 1.0))):
        torch.manual_seed(0)
        model = CGVAE(mapping, channels=8, latent_channels=4, num_layers=1).init_linear_from(lift)
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
        for _ in range(40):
            loss, _ = cgvae_loss(model, data, beta=0.005, gamma=0.1, atom_weights=weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        errors[name] = rmsd(model.reconstruct(data).double().numpy(), ref, traj.heavy).mean()
    # measured: lift 0.126 Å, equal weights 0.132, heavy atoms 10x 0.117
    assert errors["heavy"] < 0.95 * lift_err
    assert errors["heavy"] < 0.95 * errors["equal"]

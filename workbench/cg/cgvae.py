"""CGVAE: a conditional VAE that generates fine (all-atom) structures from coarse-grained beads with equivariant
networks (Wang, Xu, Gómez-Bombarelli, "Generative Coarse-Graining of Molecular Conformations", ICML 2022,
arXiv 2201.12176), built from the project's layers (:class:`workbench.nn.EquivariantConvolution`,
:class:`workbench.models.blocks.MACELayer`, :class:`workbench.nn.FullyConnectedTensorProduct`).

For one molecule of ``n`` atoms and a :class:`~workbench.cg.mapping.CGMapping` onto ``N`` beads
(``X = M x``, positions in Å)::

    encoder  q(z | x, X):  atoms: embedding of the atom index, one EquivariantConvolution over the atom graph
                           (pairs closer than r_max_fine), plus each atom's offset x_i - X_bead(i) as a 1o channel;
                           summed into the beads; MACE layers over the bead graph; linear heads -> mean, log-var
    prior    p(z | X):     bead composition (which atoms the bead holds) -> MACE layers over the bead graph -> heads
    decoder  p(x | X, z):  [composition, z] -> MACE layers over the bead graph -> h_I;
                           x_i = X_bead(i) + sum_J C_iJ (X_J - X_bead(i))          (learned linear term)
                                           + TP(h_bead(i), onehot(i)) -> 1o        (equivariant network)

Atoms are placed relative to their bead. The linear term has the form of the least-squares lift
(:class:`~workbench.cg.linear.LinearBackmapping`); its coefficients ``C_iJ = sum_{j in J} A_ij`` come from a
weight ``A [n, n]`` over atom pairs (so they do not depend on how the beads are numbered) and can be started at the
fitted lift (:meth:`CGVAE.init_linear_from`), so training starts from the baseline and the network, with the
latent, learns what a linear map of the beads cannot express.

The latent is per bead, ``z_I`` with irreps ``k x 0e + k x 1o``: the ``0e`` part is invariant, the ``1o`` part
rotates with the molecule. Each channel is an isotropic Gaussian (one variance per scalar channel and per vector
channel), so ``q``, ``p`` and their KL divergence are invariant and the samples equivariant. Loss per frame::

    MSE(x_hat, x) (mean squared atom displacement, Å^2) + beta * KL(q || p) + gamma * mean_bonds (|x_hat_ij| - |x_ij|)^2

with optional per-atom weights in the MSE (:func:`cgvae_loss`; the backmapping pipeline weights heavy atoms 10x).

Symmetry: every part is O(3)-equivariant, so rotating **and reflecting** the beads and the latent vectors (with a
translation of the beads) moves the generated atoms the same way (tested at float64 <= 1e-9). Reflection therefore
maps an L-alanine to a D-alanine: chirality is not fixed by the network but carried by the input. A non-planar
set of beads (N >= 4) fixes its handedness; with 3 beads (always coplanar) the chirality of the output comes from
the latent vectors (``q`` reads it from the fine structure, the conditional prior has to learn it), which is why
samples at the coarsest resolutions may show the wrong enantiomer. Bead order does not matter (permuting beads
together with their latents leaves the output unchanged); atoms are identified by index (one model per molecule).
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from workbench.cg.mapping import CGMapping
from workbench.checks import check_tensor
from workbench.groups import o3
from workbench.models.blocks import MACELayer
from workbench.nn import EquivariantConvolution, FullyConnectedTensorProduct, Linear, scatter_sum

__all__ = ["CGVAE", "cgvae_loss"]


def _graph_edges(pos: torch.Tensor, r_max: float) -> torch.Tensor:
    """Edges ``[2, E]`` between different nodes of the same frame closer than ``r_max``, ``pos [B, m, 3]``,
    nodes numbered ``b * m + i``."""
    b, m, _ = pos.shape
    with torch.no_grad():
        d = torch.cdist(pos, pos)
        mask = (d < r_max) & ~torch.eye(m, dtype=torch.bool, device=pos.device)
        frame, i, j = mask.nonzero(as_tuple=True)
    return torch.stack([frame * m + j, frame * m + i])


class _BeadNet(torch.nn.Module):
    """MACE layers over the bead graph: ``h [B*N, irreps_in.dim] -> [B*N, hidden.dim]``."""

    def __init__(self, irreps_in: o3.Irreps, hidden: o3.Irreps, num_layers: int, correlation: int, sh_lmax: int,
                 r_max: float, avg_num_neighbors: float) -> None:
        super().__init__()
        conv = functools.partial(EquivariantConvolution, irreps_out=o3.Irreps.natural(hidden.count((0, 1)) or
                                                                                       hidden[0].mul, sh_lmax),
                                 lmax=sh_lmax, r_max=r_max, num_basis=8, radial_hidden=(32,),
                                 avg_num_neighbors=avg_num_neighbors, backend="torch")
        layers, irreps = [], irreps_in
        for _ in range(num_layers):
            layers.append(MACELayer(irreps_in=irreps, irreps_out=hidden, convolution=conv, correlation=correlation,
                                    num_elements=1, self_connection="linear",
                                    normalize_atomic_basis=True))
            irreps = hidden
        self.layers = torch.nn.ModuleList(layers)

    def forward(self, h: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        ones = h.new_ones(h.shape[0], 1)
        for layer in self.layers:
            h = layer(h, ones, pos, edge_index)
        return h


class CGVAE(torch.nn.Module):
    """The CGVAE of the module docstring for one molecule and one mapping.

    Args:
        mapping: the :class:`CGMapping` (``n`` atoms, ``N`` beads; its ``bonds`` feed the bond loss).
        channels: width of the hidden features (``channels x 0e + channels x 1o``).
        latent_channels: ``k``; the latent of each bead is ``k x 0e + k x 1o``.
        num_layers: MACE layers of the decoder (the encoder and the prior use one each).
        correlation: order of MACE's symmetric contraction.
        r_max_coarse: cutoff (Å) of the bead graph; r_max_fine: of the atom graph of the encoder.
        sh_lmax: spherical-harmonic degree of the edge attributes.

    Tensors: ``fine [B, n, 3]``, ``coarse [B, N, 3]`` (Å), latents ``[B, N, 4k]``, log-variances ``[B, N, 2k]``.

    Examples:
        >>> import numpy as np, torch
        >>> from workbench.cg.mapping import partition_mapping
        >>> bonds = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
        >>> mapping = partition_mapping(bonds, np.ones(5), 2)
        >>> _ = torch.manual_seed(0)
        >>> model = CGVAE(mapping, channels=4, latent_channels=2, num_layers=1).double()
        >>> fine = torch.randn(3, 5, 3, dtype=torch.float64) * 1.5
        >>> model.sample(mapping.coarse(fine), num_samples=4).shape       # [S, B, n, 3]
        torch.Size([4, 3, 5, 3])
    """

    def __init__(self, mapping: CGMapping, channels: int = 16, latent_channels: int = 8, num_layers: int = 2,
                 correlation: int = 2, r_max_coarse: float = 12.0, r_max_fine: float = 4.0, sh_lmax: int = 2) -> None:
        super().__init__()
        if not isinstance(mapping, CGMapping):
            raise TypeError(f"mapping must be a CGMapping, got {type(mapping).__name__}")
        for name, value, low in (("channels", channels, 1), ("latent_channels", latent_channels, 1),
                                 ("num_layers", num_layers, 1), ("correlation", correlation, 1),
                                 ("sh_lmax", sh_lmax, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        self.mapping = mapping
        n, nb, c, k = mapping.n_atoms, mapping.n_beads, channels, latent_channels
        self.n_atoms, self.n_beads, self.latent_channels = n, nb, k
        self.r_max_coarse, self.r_max_fine = float(r_max_coarse), float(r_max_fine)
        # mapping-dependent tensors are buffers outside the state dict: weights do not depend on bead numbering
        self.register_buffer("assignment", torch.as_tensor(mapping.assignment), persistent=False)
        self.register_buffer("matrix", torch.as_tensor(mapping.matrix), persistent=False)
        membership = torch.zeros(nb, n)
        membership[torch.as_tensor(mapping.assignment), torch.arange(n)] = 1.0
        self.register_buffer("membership", membership, persistent=False)
        bonds = torch.as_tensor(mapping.bonds if mapping.bonds is not None else torch.zeros(0, 2), dtype=torch.long)
        self.register_buffer("bonds", bonds.reshape(-1, 2), persistent=False)

        hidden = o3.Irreps(f"{c}x0e+{c}x1o")
        self.irreps_latent = o3.Irreps(f"{k}x0e+{k}x1o")
        self.irreps_hidden = hidden
        scalars = o3.Irreps(f"{c}x0e")
        bead_args = dict(correlation=correlation, sh_lmax=sh_lmax, r_max=self.r_max_coarse,
                         avg_num_neighbors=max(nb - 1, 1))
        # encoder
        self.atom_embedding = Linear(f"{n}x0e", scalars)
        self.atom_conv = EquivariantConvolution(scalars, hidden, lmax=sh_lmax, r_max=self.r_max_fine, num_basis=8,
                                                radial_hidden=(32,), avg_num_neighbors=8.0, backend="torch")
        self.encoder_in = Linear(o3.Irreps(f"{c}x0e+{c + 1}x1o") + o3.Irreps(f"{n}x0e"), hidden)
        self.encoder = _BeadNet(hidden, hidden, 1, **bead_args)
        self.encoder_mean = Linear(hidden, self.irreps_latent)
        self.encoder_logvar = Linear(hidden, f"{2 * k}x0e", biases=True)
        # prior
        self.prior = _BeadNet(o3.Irreps(f"{n}x0e"), hidden, 1, **bead_args)
        self.prior_mean = Linear(hidden, self.irreps_latent)
        self.prior_logvar = Linear(hidden, f"{2 * k}x0e")
        # decoder
        self.decoder_in = Linear(o3.Irreps(f"{n}x0e") + self.irreps_latent, hidden)
        self.decoder = _BeadNet(hidden, hidden, num_layers, **bead_args)
        self.readout = FullyConnectedTensorProduct(hidden, f"{n}x0e", "1x1o")
        self.linear_term = torch.nn.Parameter(torch.zeros(n, n))
        # optimizer steps taken (for the KL warm-up of cgvae_loss); in the state dict, so a resumed run continues it
        self.register_buffer("train_steps", torch.zeros((), dtype=torch.long))

    # ------------------------------------------------------------------------------------------- helpers
    def _check(self, x: torch.Tensor, name: str, count: int, what: str) -> torch.Tensor:
        return check_tensor(x, name, shape=("B", count, 3), dtype="float", finite=True, hint=what)

    def coarse(self, fine: torch.Tensor) -> torch.Tensor:
        """Bead positions ``[B, N, 3]`` of ``fine [B, n, 3]`` (the mapping's ``M @ x``)."""
        self._check(fine, "fine", self.n_atoms, f"{self.n_atoms} atoms")
        return self.matrix.to(fine.dtype) @ fine

    def _membership(self, batch: int, dtype: torch.dtype) -> torch.Tensor:
        return self.membership.to(dtype).repeat(batch, 1)                                   # [B*N, n]

    def _heads(self, h: torch.Tensor, mean: Linear, logvar: Linear, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        lv = logvar(h).clamp(-10.0, 6.0)
        return mean(h).reshape(batch, self.n_beads, -1), lv.reshape(batch, self.n_beads, -1)

    def expand_logvar(self, logvar: torch.Tensor) -> torch.Tensor:
        """Log-variances ``[..., 2k]`` (one per channel) repeated onto the latent's components ``[..., 4k]``."""
        k = self.latent_channels
        return torch.cat([logvar[..., :k], logvar[..., k:].repeat_interleave(3, dim=-1)], dim=-1)

    # -------------------------------------------------------------------------------------------- parts
    def encode(self, fine: torch.Tensor, coarse: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``q(z | fine, coarse)``: mean ``[B, N, 4k]`` and per-channel log-variance ``[B, N, 2k]``."""
        self._check(fine, "fine", self.n_atoms, f"{self.n_atoms} atoms")
        self._check(coarse, "coarse", self.n_beads, f"{self.n_beads} beads")
        b, n = fine.shape[0], self.n_atoms
        onehot = torch.eye(n, dtype=fine.dtype, device=fine.device).repeat(b, 1)          # [B*n, n]
        pos = fine.reshape(b * n, 3)
        h = self.atom_conv(self.atom_embedding(onehot), pos, _graph_edges(fine, self.r_max_fine))
        offset = (fine - coarse[:, self.assignment]).reshape(b * n, 3)
        c = self.irreps_hidden.count((0, 1))
        h = torch.cat([h[:, :c], h[:, c:], offset], dim=1)                                   # cx0e + (c+1)x1o
        bead_of = (self.assignment + self.n_beads * torch.arange(b, device=fine.device)[:, None]).reshape(-1)
        pooled = scatter_sum(h, bead_of, b * self.n_beads)
        h = self.encoder_in(torch.cat([pooled, self._membership(b, fine.dtype)], dim=1))
        h = self.encoder(h, coarse.reshape(-1, 3), _graph_edges(coarse, self.r_max_coarse))
        return self._heads(h, self.encoder_mean, self.encoder_logvar, b)

    def prior_params(self, coarse: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``p(z | coarse)``: mean ``[B, N, 4k]`` and per-channel log-variance ``[B, N, 2k]``."""
        self._check(coarse, "coarse", self.n_beads, f"{self.n_beads} beads")
        b = coarse.shape[0]
        h = self.prior(self._membership(b, coarse.dtype), coarse.reshape(-1, 3),
                       _graph_edges(coarse, self.r_max_coarse))
        return self._heads(h, self.prior_mean, self.prior_logvar, b)

    def decode(self, coarse: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Atom positions ``[B, n, 3]`` from beads ``coarse [B, N, 3]`` and latents ``z [B, N, 4k]``."""
        self._check(coarse, "coarse", self.n_beads, f"{self.n_beads} beads")
        b = coarse.shape[0]
        check_tensor(z, "z", shape=(b, self.n_beads, self.irreps_latent.dim), dtype="float", finite=True,
                     hint=self.irreps_latent)
        h = self.decoder_in(torch.cat([self._membership(b, coarse.dtype), z.reshape(b * self.n_beads, -1)], dim=1))
        h = self.decoder(h, coarse.reshape(-1, 3), _graph_edges(coarse, self.r_max_coarse))
        h = h.reshape(b, self.n_beads, -1)[:, self.assignment].reshape(b * self.n_atoms, -1)  # bead of each atom
        onehot = torch.eye(self.n_atoms, dtype=coarse.dtype, device=coarse.device).repeat(b, 1)
        own = coarse[:, self.assignment]                                                       # [B, n, 3]
        coeff = self.linear_term.to(coarse.dtype) @ self.membership.to(coarse.dtype).T         # C [n, N]
        linear = coeff @ coarse - coeff.sum(1, keepdim=True) * own
        return own + linear + self.readout(h, onehot).reshape(b, self.n_atoms, 3)

    @torch.no_grad()
    def init_linear_from(self, lift: Any, zero_network: bool = True, train_linear: bool = False,
                         init_logvar: float = -4.0) -> CGVAE:
        """Start the decoder's linear term at a fitted :class:`~workbench.cg.linear.LinearBackmapping` of the same
        mapping (module docstring). With ``zero_network`` the readout weights start at zero, so the untrained
        decoder equals the lift (its gradients are not zero), and the posterior's log-variance starts at
        ``init_logvar`` (a nearly deterministic encoder: the latent carries information from the first steps; use
        the KL warm-up of :func:`cgvae_loss` with it). Unless ``train_linear``, the linear term stays fixed at the
        lift (the least-squares optimum already; Adam's first steps, about ``lr`` on every coefficient, would only
        move it away) and the network learns the residual."""
        weight = getattr(lift, "weight", None)
        if weight is None or tuple(weight.shape) != (self.n_atoms, self.n_beads):
            raise ValueError(f"lift must be a fitted LinearBackmapping of this mapping (weight [{self.n_atoms}, "
                             f"{self.n_beads}]), got {None if weight is None else tuple(weight.shape)}")
        w = torch.as_tensor(weight, dtype=torch.float64)
        v = w + (1.0 - w.sum(1, keepdim=True)) / self.n_beads            # rows sum to 1: x_i - X_b = V (X - X_b)
        a = v[:, self.assignment] * self.matrix.to(torch.float64)[self.assignment, torch.arange(self.n_atoms)]
        self.linear_term.copy_(a.to(self.linear_term.dtype))
        self.linear_term.requires_grad_(bool(train_linear))
        if zero_network:
            for param in self.readout.parameters():
                param.zero_()
            for name, param in self.encoder_logvar.named_parameters():
                param.fill_(float(init_logvar)) if "bias" in name else param.zero_()
        return self

    # ---------------------------------------------------------------------------------------- generation
    def forward(self, fine: torch.Tensor, sample: bool = True) -> dict[str, torch.Tensor]:
        """Encode, draw ``z ~ q`` (its mean when ``sample=False``) and decode: ``recon [B, n, 3]``, ``kl [B]``,
        ``coarse``, ``z``."""
        coarse = self.coarse(fine)
        mu_q, lv_q = self.encode(fine, coarse)
        mu_p, lv_p = self.prior_params(coarse)
        lv_q, lv_p = self.expand_logvar(lv_q), self.expand_logvar(lv_p)
        z = mu_q + torch.exp(0.5 * lv_q) * torch.randn_like(mu_q) if sample else mu_q
        kl = 0.5 * (lv_p - lv_q + (lv_q.exp() + (mu_q - mu_p).square()) / lv_p.exp() - 1.0).sum(dim=(1, 2))
        return {"recon": self.decode(coarse, z), "kl": kl, "coarse": coarse, "z": z}

    @torch.no_grad()
    def reconstruct(self, fine: torch.Tensor) -> torch.Tensor:
        """``decode(coarse, mean of q(z | fine, coarse))``: ``[B, n, 3]``."""
        return self(fine, sample=False)["recon"]

    @torch.no_grad()
    def sample(self, coarse: torch.Tensor, num_samples: int = 1, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """``num_samples`` fine structures per CG frame from the conditional prior: ``[S, B, n, 3]``."""
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be an integer >= 1, got {num_samples!r}")
        mu, lv = self.prior_params(coarse)
        std = torch.exp(0.5 * self.expand_logvar(lv))
        out = []
        for _ in range(num_samples):
            eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
            out.append(self.decode(coarse, mu + std * eps))
        return torch.stack(out)


def cgvae_loss(model: CGVAE, fine: torch.Tensor, beta: float = 0.05, gamma: float = 1.0, kl_warmup_steps: int = 0,
               atom_weights: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
    """The CGVAE loss of a batch ``fine [B, n, 3]`` (module docstring) and its parts as floats: ``mse`` (Å^2),
    ``kl`` (nats per frame), ``bond`` (Å^2), ``rmsd`` (Å, all atoms, unweighted, in the CG frame), ``beta`` (the
    weight used).

    ``atom_weights [n]`` (non-negative, not all zero; default: all equal) weight each atom's squared displacement in
    the MSE; they are rescaled to mean 1, so equal weights give the plain MSE. Raising the heavy atoms' weight
    focuses the reconstruction on them: with equal weights the hydrogens, whose positions (methyl rotors) the beads
    do not fix, dominate the MSE and its gradient, and the heavy atoms barely move from the lift.

    KL warm-up: the KL weight is ``beta * min(1, steps / kl_warmup_steps)``, ``steps`` being the training calls so
    far (``model.train_steps``, counted here in training mode with gradients on); evaluation uses the full ``beta``.
    """
    if atom_weights is not None:
        atom_weights = check_tensor(atom_weights, "atom_weights", shape=(model.n_atoms,), dtype="float",
                                    finite=True, hint=f"one non-negative weight per atom ({model.n_atoms})")
        if bool((atom_weights < 0).any()) or not bool((atom_weights > 0).any()):
            raise ValueError("atom_weights must be non-negative with at least one positive weight")
    counting = model.training and torch.is_grad_enabled()
    if counting and kl_warmup_steps > 0:
        beta = beta * min(1.0, float(model.train_steps) / float(kl_warmup_steps))
    if counting:
        model.train_steps += 1
    out = model(fine, sample=model.training)
    recon = out["recon"]
    sq = (recon - fine).square().sum(-1)                                                  # [B, n]
    if atom_weights is None:
        mse = sq.mean()
    else:
        w = atom_weights.to(sq.dtype).to(sq.device)
        mse = (sq * w).mean() / w.mean()
    kl = out["kl"].mean()
    loss = mse + beta * kl
    bond = torch.zeros((), dtype=fine.dtype, device=fine.device)
    if model.bonds.numel():
        i, j = model.bonds[:, 0], model.bonds[:, 1]
        d_hat = (recon[:, i] - recon[:, j]).norm(dim=-1)
        d_ref = (fine[:, i] - fine[:, j]).norm(dim=-1)
        bond = (d_hat - d_ref).square().mean()
        loss = loss + gamma * bond
    return loss, {"mse": float(mse.detach()), "kl": float(kl.detach()), "bond": float(bond.detach()), "beta": beta,
                  "rmsd": float(sq.detach().mean(1).sqrt().mean())}

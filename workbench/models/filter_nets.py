"""Node-level networks for learning spectral filters ``x -> h(L) x`` (:mod:`workbench.spectral.filters`) with
and without eigenvector encodings: the filter-learning task of Lim et al. (arXiv 2202.13013).

Every model is the same message-passing backbone on ``[x_i, pe_i]``: ``layers`` residual layers
``h <- h + MLP(LayerNorm([h, A_sym h]))`` with ``A_sym = D^-1/2 A D^-1/2`` (so ``L_sym = I - A_sym``: a layer can
apply a degree-1 polynomial filter), and a linear head to ``[N, C]``; with an encoding, a linear read-out of the
pooled encoding ``z`` is added to the head (``rho`` = that read-out + the backbone), so that a filter the encoding
computes reaches the output unchanged. The encodings differ:

- ``"none"``: no encoding (a local polynomial-style filter of degree <= ``layers``);
- ``"lappe"``: ``z = pool_l phi(v_l, lambda_l, x)``, raw eigenvectors (LapPE), trained with every eigenvector's
  sign flipped at random per graph and step; not sign invariant;
- ``"signnet"``: ``z = pool_l phi(v_l, lambda_l, x) + phi(-v_l, lambda_l, x)``: the same ``phi`` made sign
  invariant (SignNet with the signal inside ``phi``, the form of the paper's result that SignNet can express any
  spectral filter);
- ``"basisnet"``: ``z = pool_s psi(P_s x, diag P_s, x, lambda_s)`` over the complete eigenspaces ``s`` of each
  graph, with ``P_s = V_s V_s^T`` the eigenspace projector: basis invariant (``P_s x`` and ``diag P_s`` are two of
  the linear 2-to-1 IGN operations BasisNet applies to ``P_s``).

``phi`` is one DeepSets layer over the nodes of a graph, one eigenvector at a time, conditioned on the eigenvalue.
With ``w = sqrt(n) v_l`` (entries O(1) at any graph size ``n``), ``u_i = (w_i, w_i x_i, x_i)``, ``a = A u_i``,
``g = mean_j B u_j`` (over the graph's nodes) and ``s = S e(lambda_l)`` (``e``: :func:`eigval_basis`, Gaussian bumps
of the eigenvalue), ``phi_i = (s * a * g, W silu(A' u_i + g + S' e(lambda_l)))``. The first half is bilinear in the
eigenvector: with ``a = w_i``, ``g = mean_j w_j x_j`` and ``s = h(lambda_l)`` it is ``h(lambda_l) v_l(i) v_l^T x``,
whose sum over ``l`` is ``h(L) x`` exactly, so SignNet (and LapPE, since that term is even in ``v_l``) can represent
every spectral filter of the eigenvectors it is given. ``psi`` has the same two halves with ``a = A (P_s x, diag P_s,
x)``, ``g = B (...)`` per node (``P_s x`` already holds ``V_s V_s^T x``): ``h(lambda_s) P_s x`` summed over ``s`` is
again ``h(L) x``. ``pool`` sums the bilinear half over the real eigenvectors (``eig_mask``; padding zeroed) and
averages the other half; both are independent of the eigenvectors' order.
(The earlier version fed ``phi``'s output through LayerNorm-ed set layers, a raw eigenvalue input and a mean over
eigenvectors, then only through the backbone: the product ``h(lambda) v(i) v^T x`` was out of easy reach, and its
SignNet did worse than no encoding on the filter task.)

Examples:
    >>> import torch
    >>> from workbench.models.filter_nets import SpectralFilterNet
    >>> from workbench.spectral import SignalGraph, collate_signal_graphs, cycle_graph, encode_graph
    >>> g = encode_graph(torch.zeros(6, dtype=torch.int64), cycle_graph(6), k=6)
    >>> batch = collate_signal_graphs([SignalGraph(g, torch.randn(6, 1), torch.zeros(6, 1))])
    >>> SpectralFilterNet("signnet", k=6, hidden=8)(batch).shape
    torch.Size([6, 1])
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.models.graph_blocks import mlp, sum_pool
from workbench.spectral import SignalBatch

__all__ = ["FILTER_ENCODINGS", "SpectralFilterNet"]

#: Encodings :class:`SpectralFilterNet` knows.
FILTER_ENCODINGS: tuple[str, ...] = ("none", "lappe", "signnet", "basisnet")


#: Number of Gaussian bumps that embed an eigenvalue (:func:`eigval_basis`).
EIGVAL_BASIS = 16


def eigval_basis(lam: torch.Tensor) -> torch.Tensor:
    """``[..., EIGVAL_BASIS]`` Gaussian bumps of the eigenvalues ``lam [...]``, centres evenly on ``[0, 2]`` (the
    normalized Laplacian's spectrum), width the centre spacing: a smooth, well-conditioned embedding from which a
    linear map gives any smooth response ``h(lambda)``."""
    centres = torch.linspace(0.0, 2.0, EIGVAL_BASIS, dtype=lam.dtype, device=lam.device)
    return torch.exp(-0.5 * ((lam[..., None] - centres) * ((EIGVAL_BASIS - 1) / 2.0)) ** 2)


class _GatedPhi(torch.nn.Module):
    """``(s * a * g, W silu(a' + g + s'))`` of the module docstring for node features ``u [N, k, F]``,
    eigenvalues ``lam [N, k]``; ``pool_nodes`` says whether ``g`` sums ``B u`` over each graph's nodes (``phi``) or
    is ``B u`` per node (``psi``, whose input already holds the projection)."""

    def __init__(self, in_dim: int, hidden: int, pool_nodes: bool) -> None:
        super().__init__()
        self.node, self.pool = torch.nn.Linear(in_dim, 2 * hidden), torch.nn.Linear(in_dim, hidden)
        self.gate, self.out = torch.nn.Linear(EIGVAL_BASIS, 2 * hidden), torch.nn.Linear(hidden, hidden)
        self.hidden, self.pool_nodes = hidden, pool_nodes

    def forward(self, u: torch.Tensor, lam: torch.Tensor, batch: torch.Tensor, num_graphs: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
        a, a2 = self.node(u).split(self.hidden, dim=-1)
        g = self.pool(u)
        if self.pool_nodes:
            sizes = torch.zeros(num_graphs, dtype=u.dtype, device=u.device).index_add_(
                0, batch, torch.ones(batch.shape[0], dtype=u.dtype, device=u.device))
            g = (sum_pool(g, batch, num_graphs) / sizes[:, None, None])[batch]
        s, s2 = self.gate(eigval_basis(lam)).split(self.hidden, dim=-1)
        return s * a * g, self.out(torch.nn.functional.silu(a2 + g + s2))


class SpectralFilterNet(torch.nn.Module):
    """``forward(batch: SignalBatch) -> [N, C]`` (module docstring).

    Args:
        encoding: one of :data:`FILTER_ENCODINGS`.
        k: eigenvectors per graph in the batches.
        channels: signal channels ``C``.
        hidden: width of the backbone, ``phi``/``psi`` and the encoding.
        layers: backbone layers.
        random_flips: ``"lappe"`` only: random sign flips in training.
        phi_hidden: width of ``phi``/``psi`` (default ``hidden``; their cost is ``N k phi_hidden`` per layer).
    """

    def __init__(self, encoding: str, k: int, channels: int = 1, hidden: int = 32, layers: int = 3,
                 random_flips: bool = True, phi_hidden: int | None = None) -> None:
        super().__init__()
        if encoding not in FILTER_ENCODINGS:
            raise ValueError(f"encoding must be one of {FILTER_ENCODINGS}, got {encoding!r}")
        phi_hidden = hidden if phi_hidden is None else phi_hidden
        for name, value in (("k", k), ("channels", channels), ("hidden", hidden), ("layers", layers),
                            ("phi_hidden", phi_hidden)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be >= 1 (an int), got {value!r}")
        self.encoding, self.k, self.channels, self.random_flips = encoding, k, channels, random_flips
        pe_dim = 0 if encoding == "none" else hidden
        if encoding in ("lappe", "signnet"):
            self.phi = _GatedPhi(1 + 2 * channels, phi_hidden, pool_nodes=True)
        if encoding == "basisnet":
            self.psi = _GatedPhi(1 + 2 * channels, phi_hidden, pool_nodes=False)
        if pe_dim:
            self.rho = mlp([2 * phi_hidden, hidden, pe_dim])
            self.direct = torch.nn.Linear(2 * phi_hidden, channels)
        self.inp = torch.nn.Linear(channels + pe_dim, hidden)
        self.mix = torch.nn.ModuleList(mlp([2 * hidden, hidden, hidden]) for _ in range(layers))
        self.norms = torch.nn.ModuleList(torch.nn.LayerNorm(2 * hidden) for _ in range(layers))
        self.head = torch.nn.Linear(hidden, channels)

    def pooled(self, batch: SignalBatch) -> torch.Tensor | None:
        """``z [N, 2 hidden]``: the bilinear half summed and the other half averaged over the eigenvectors or
        eigenspaces (None for ``"none"``)."""
        if self.encoding == "none":
            return None
        g = batch.graphs
        dtype = self.inp.weight.dtype
        x = batch.signal.to(dtype)
        v = check_tensor(g.eigvecs, "batch.graphs.eigvecs", shape=("N", self.k), dtype="float", finite=True,
                         hint=f"k = {self.k} eigenvectors per node").to(dtype)
        lam = g.eigvals.to(dtype)
        xk = x[:, None, :].expand(-1, self.k, -1)
        if self.encoding == "basisnet":
            use = (g.eig_mask & g.eig_complete).to(dtype)
            vu = v * use
            proj = sum_pool(vu[..., None] * x[:, None, :], g.batch, g.num_graphs)[g.batch]  # [N, k, C]: v^T x
            slot = g.eigenspace.clamp(min=0)  # [N, k]: eigenspace s of eigenvector l (a slot per eigenspace)

            def per_space(t: torch.Tensor) -> torch.Tensor:  # [N, k, F] summed into eigenspace slots [N, k, F]
                return torch.zeros_like(t).scatter_add_(1, slot[..., None].expand_as(t), t)

            px = per_space(vu[..., None] * proj)  # (P_s x)_i
            diag = per_space((vu**2)[..., None])[..., 0]  # (P_s)_ii
            count = per_space(use[..., None])[..., 0]
            lam_s = per_space((lam * use)[..., None])[..., 0] / count.clamp(min=1)
            mask = (count > 0).to(dtype)[..., None]
            bilinear, other = self.psi(torch.cat([px, diag[..., None], xk], -1), lam_s, g.batch, g.num_graphs)
        else:
            mask = g.eig_mask.to(dtype)[..., None]
            if self.encoding == "lappe" and self.training and self.random_flips:
                signs = torch.randint(0, 2, (g.num_graphs, self.k), device=v.device).to(dtype) * 2 - 1
                v = v * signs[g.batch]

            sizes = (g.ptr[1:] - g.ptr[:-1]).to(dtype)
            v = v * sizes.sqrt()[g.batch][:, None]  # entries O(1) at any graph size

            def phi(vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                return self.phi(torch.cat([vec[..., None], vec[..., None] * xk, xk], -1), lam, g.batch,
                                g.num_graphs)

            bilinear, other = phi(v)
            if self.encoding == "signnet":
                b2, o2 = phi(-v)
                bilinear, other = bilinear + b2, other + o2
        return torch.cat([(bilinear * mask).sum(dim=1), (other * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)],
                         dim=1)

    def encode(self, batch: SignalBatch) -> torch.Tensor | None:
        """The node encoding ``rho(z) [N, hidden]`` the backbone sees (None for ``"none"``)."""
        z = self.pooled(batch)
        return None if z is None else self.rho(z)

    def forward(self, batch: SignalBatch) -> torch.Tensor:
        g = batch.graphs
        check_tensor(batch.signal, "batch.signal", shape=(g.x.shape[0], self.channels), dtype="float", finite=True)
        dtype = self.inp.weight.dtype
        x = batch.signal.to(dtype)
        z = self.pooled(batch)
        h = self.inp(x if z is None else torch.cat([x, self.rho(z)], dim=1))
        src, dst = g.edge_index
        deg = torch.zeros(x.shape[0], dtype=dtype, device=x.device).index_add_(
            0, dst, torch.ones(dst.shape[0], dtype=dtype, device=x.device))
        inv_sqrt = torch.where(deg > 0, deg.clamp(min=1).rsqrt(), torch.zeros_like(deg))
        w = (inv_sqrt[src] * inv_sqrt[dst])[:, None]
        for norm, mix in zip(self.norms, self.mix):
            agg = torch.zeros_like(h).index_add_(0, dst, w * h[src])
            h = h + mix(norm(torch.cat([h, agg], dim=1)))
        return self.head(h) if z is None else self.head(h) + self.direct(z)

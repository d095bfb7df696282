"""Node-level networks for learning spectral filters ``x -> h(L) x`` (:mod:`workbench.spectral.filters`) with
and without eigenvector encodings: the filter-learning task of Lim et al. (arXiv 2202.13013).

Every model is the same message-passing backbone on ``[x_i, pe_i]``: ``layers`` residual layers
``h <- h + MLP(LayerNorm([h, A_sym h]))`` with ``A_sym = D^-1/2 A D^-1/2`` (so ``L_sym = I - A_sym``: a layer can
apply a degree-1 polynomial filter), and a linear head to ``[N, C]``. The encodings differ:

- ``"none"``: no encoding (a local polynomial-style filter of degree <= ``layers``);
- ``"lappe"``: ``pe = rho(mean_l phi(v_l, lambda_l, x))``, raw eigenvectors (LapPE), trained with every
  eigenvector's sign flipped at random per graph and step; not sign invariant;
- ``"signnet"``: ``pe = rho(mean_l phi(v_l, lambda_l, x) + phi(-v_l, lambda_l, x))``: the same ``phi`` and ``rho``
  made sign invariant (SignNet with the signal inside ``phi``, the form of the paper's result that SignNet can
  express any spectral filter);
- ``"basisnet"``: ``pe = rho(sum_s psi([(P_s x)_i, (P_s)_ii, x_i, lambda_s]))`` over the complete eigenspaces ``s``
  of each graph, with ``P_s = V_s V_s^T`` the eigenspace projector: basis invariant (``P_s x`` and ``diag P_s``
  are two of the linear 2-to-1 IGN operations BasisNet applies to ``P_s``).

``phi`` is a DeepSets over the nodes of each graph, one eigenvector at a time: its input per node is
``(v_l(i), lambda_l, x_i, v_l(i) x_i)`` and each layer is ``h + silu(W1 h' + W2 g) + (W3 h') * (W4 g)`` with
``h' = LayerNorm(h)`` and ``g = sum_j h_j`` over the graph's nodes (a multiplicative term, so
``v_l(i) (v_l^T x)`` is in reach). Padding eigenvectors (``eig_mask`` False) are zeroed after ``phi``; the mean
over the real eigenvectors makes ``rho``'s input independent of their order.

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


class _SetLayer(torch.nn.Module):
    """``h + silu(W1 h' + W2 g) + (W3 h') * (W4 g)``, ``h' = LayerNorm(h)``, ``g`` the sum of ``h [N, k, H]``
    over each graph's nodes."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.node, self.pool = torch.nn.Linear(hidden, 2 * hidden), torch.nn.Linear(hidden, 2 * hidden)
        self.norm, self.hidden = torch.nn.LayerNorm(hidden), hidden

    def forward(self, h: torch.Tensor, batch: torch.Tensor, num_graphs: int) -> torch.Tensor:
        g = sum_pool(h, batch, num_graphs)[batch]
        a1, a2 = self.node(self.norm(h)).split(self.hidden, dim=-1)
        b1, b2 = self.pool(g).split(self.hidden, dim=-1)
        return h + torch.nn.functional.silu(a1 + b1) + a2 * b2


class SpectralFilterNet(torch.nn.Module):
    """``forward(batch: SignalBatch) -> [N, C]`` (module docstring).

    Args:
        encoding: one of :data:`FILTER_ENCODINGS`.
        k: eigenvectors per graph in the batches.
        channels: signal channels ``C``.
        hidden: width of the backbone, ``phi``/``psi`` and the encoding.
        layers: backbone layers.
        phi_layers: DeepSets layers of ``phi`` (``"lappe"``, ``"signnet"``).
        random_flips: ``"lappe"`` only: random sign flips in training.
    """

    def __init__(self, encoding: str, k: int, channels: int = 1, hidden: int = 32, layers: int = 3,
                 phi_layers: int = 2, random_flips: bool = True) -> None:
        super().__init__()
        if encoding not in FILTER_ENCODINGS:
            raise ValueError(f"encoding must be one of {FILTER_ENCODINGS}, got {encoding!r}")
        if min(k, channels, hidden, layers, phi_layers) < 1:
            raise ValueError(f"k, channels, hidden, layers and phi_layers must be >= 1, got {k}, {channels}, "
                             f"{hidden}, {layers}, {phi_layers}")
        self.encoding, self.k, self.channels, self.random_flips = encoding, k, channels, random_flips
        pe_dim = 0 if encoding == "none" else hidden
        if encoding in ("lappe", "signnet"):
            self.phi_in = torch.nn.Linear(2 + 2 * channels, hidden)
            self.phi_layers = torch.nn.ModuleList(_SetLayer(hidden) for _ in range(phi_layers))
        if encoding == "basisnet":
            self.psi = mlp([2 + 2 * channels, hidden, hidden])
        if pe_dim:
            self.rho = mlp([hidden, hidden, pe_dim])
        self.inp = torch.nn.Linear(channels + pe_dim, hidden)
        self.mix = torch.nn.ModuleList(mlp([2 * hidden, hidden, hidden]) for _ in range(layers))
        self.norms = torch.nn.ModuleList(torch.nn.LayerNorm(2 * hidden) for _ in range(layers))
        self.head = torch.nn.Linear(hidden, channels)

    def _phi(self, v: torch.Tensor, lam: torch.Tensor, x: torch.Tensor, batch: torch.Tensor, num_graphs: int
             ) -> torch.Tensor:
        k = v.shape[1]
        xk = x[:, None, :].expand(-1, k, -1)
        h = self.phi_in(torch.cat([v[..., None], lam[..., None], xk, v[..., None] * xk], dim=-1))
        for layer in self.phi_layers:
            h = layer(h, batch, num_graphs)
        return h  # [N, k, H]

    def encode(self, batch: SignalBatch) -> torch.Tensor | None:
        """The node encoding ``[N, hidden]`` (None for ``"none"``)."""
        if self.encoding == "none":
            return None
        g = batch.graphs
        dtype = self.inp.weight.dtype
        x = batch.signal.to(dtype)
        v = check_tensor(g.eigvecs, "batch.graphs.eigvecs", shape=("N", self.k), dtype="float", finite=True,
                         hint=f"k = {self.k} eigenvectors per node").to(dtype)
        lam = g.eigvals.to(dtype)
        if self.encoding == "basisnet":
            use = (g.eig_mask & g.eig_complete).to(dtype)
            vu = v * use
            proj = sum_pool(vu[..., None] * x[:, None, :], g.batch, g.num_graphs)[g.batch]  # [N, k, C]: v^T x
            slots = torch.nn.functional.one_hot(g.eigenspace.clamp(min=0), self.k).to(dtype)  # [N, k, S]
            px = torch.einsum("nk,nkc,nks->nsc", vu, proj, slots)  # (P_s x)_i
            diag = torch.einsum("nk,nks->ns", vu**2, slots)  # (P_s)_ii
            count = torch.einsum("nk,nks->ns", use, slots)
            lam_s = torch.einsum("nk,nks->ns", lam * use, slots) / count.clamp(min=1)
            occupied = (count > 0).to(dtype)[..., None]
            feats = torch.cat([px, diag[..., None], x[:, None, :].expand(-1, self.k, -1), lam_s[..., None]], -1)
            return self.rho((self.psi(feats) * occupied).sum(dim=1))
        mask = g.eig_mask.to(dtype)[..., None]
        if self.encoding == "lappe":
            if self.training and self.random_flips:
                signs = torch.randint(0, 2, (g.num_graphs, self.k), device=v.device).to(dtype) * 2 - 1
                v = v * signs[g.batch]
            h = self._phi(v, lam, x, g.batch, g.num_graphs)
        else:
            h = self._phi(v, lam, x, g.batch, g.num_graphs) + self._phi(-v, lam, x, g.batch, g.num_graphs)
        return self.rho((h * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1))

    def forward(self, batch: SignalBatch) -> torch.Tensor:
        g = batch.graphs
        check_tensor(batch.signal, "batch.signal", shape=(g.x.shape[0], self.channels), dtype="float", finite=True)
        dtype = self.inp.weight.dtype
        x = batch.signal.to(dtype)
        pe = self.encode(batch)
        h = self.inp(x if pe is None else torch.cat([x, pe], dim=1))
        src, dst = g.edge_index
        deg = torch.zeros(x.shape[0], dtype=dtype, device=x.device).index_add_(
            0, dst, torch.ones(dst.shape[0], dtype=dtype, device=x.device))
        inv_sqrt = torch.where(deg > 0, deg.clamp(min=1).rsqrt(), torch.zeros_like(deg))
        w = (inv_sqrt[src] * inv_sqrt[dst])[:, None]
        for norm, mix in zip(self.norms, self.mix):
            agg = torch.zeros_like(h).index_add_(0, dst, w * h[src])
            h = h + mix(norm(torch.cat([h, agg], dim=1)))
        return self.head(h)

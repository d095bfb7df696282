"""BasisNet (Lim et al., arXiv 2202.13013): node positional encodings from the eigenspace projectors ``V_s V_s^T``,
invariant to any orthogonal change of basis within every eigenspace (sign flips are the 1-dimensional case).

For each complete eigenspace ``s`` of a graph (dimension ``d``, eigenvalue ``lambda_s``; eigenvectors of an
eigenspace cut by k are left out, see :mod:`workbench.spectral.eigen`), the projector ``P_s = V_s V_s^T [n, n]``
does not depend on the basis chosen. A permutation-equivariant set/graph function maps it to node features, as a
2-to-1 invariant graph network (IGN) would::

    phi_d(P_s)_i = MLP_d( sum_j psi_d(P_s[i, j], A[i, j], delta_ij, lambda_s) )      [n, C]

(``A`` the adjacency, ``delta`` the identity: so the diagonal and the edges are seen apart). There is one
``(psi_d, MLP_d)`` per multiplicity ``d = 1..max_multiplicity`` ("unique multiplicity handling": a 1-dimensional
and a 3-dimensional eigenspace are different objects); larger multiplicities share the last pair. The eigenspace
features are concatenated in eigenvalue order (slot = the eigenspace's index, padded to k) and ``rho`` (an MLP) gives
``[N, pe_dim]``. Dense per graph: ``O(B k n_max^2 C)`` memory, meant for molecule-sized graphs.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor
from workbench.models.graph_blocks import mlp, to_dense_nodes
from workbench.spectral import GraphBatch

__all__ = ["BasisNet"]


class BasisNet(torch.nn.Module):
    """Basis-invariant eigenspace encoder: ``forward(batch: GraphBatch) -> [N, pe_dim]`` (module docstring).

    Args:
        k: eigenvectors per graph in the batch (also the number of eigenspace slots).
        pe_dim: output channels.
        hidden: channels ``C`` of each eigenspace's features.
        max_multiplicity: separate networks for multiplicities ``1..max_multiplicity``.
    """

    def __init__(self, k: int, pe_dim: int = 16, hidden: int = 16, max_multiplicity: int = 3) -> None:
        super().__init__()
        if min(k, pe_dim, hidden, max_multiplicity) < 1:
            raise ValueError(f"k, pe_dim, hidden and max_multiplicity must be >= 1, got {k}, {pe_dim}, {hidden}, "
                             f"{max_multiplicity}")
        self.k, self.hidden, self.max_multiplicity = k, hidden, max_multiplicity
        self.psi = torch.nn.ModuleList(mlp([4, hidden, hidden], final_activation=True)
                                       for _ in range(max_multiplicity))
        self.node = torch.nn.ModuleList(mlp([hidden, hidden, hidden]) for _ in range(max_multiplicity))
        self.rho = mlp([k * hidden, hidden * 2, pe_dim])

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        dtype = self.rho[0].weight.dtype
        k = self.k
        v = check_tensor(batch.eigvecs, "batch.eigvecs", shape=("N", k), dtype="float", finite=True,
                         hint=f"k = {k} eigenvectors per node").to(dtype)
        lam = check_tensor(batch.eigvals, "batch.eigvals", shape=("N", k), dtype="float", finite=True).to(dtype)
        use = (batch.eig_mask & batch.eig_complete)
        vd, node_mask = to_dense_nodes(v * use.to(dtype), batch.batch, batch.ptr)  # [B, n, k]
        first = batch.ptr[:-1]
        space = batch.eigenspace[first]  # [B, k] eigenspace of each eigenvector (-1: padding)
        used = use[first]  # [B, k]
        lam_g = lam[first]
        mult = batch.eig_multiplicity[first]
        slots = torch.nn.functional.one_hot(space.clamp(min=0), k).to(dtype) * used[..., None].to(dtype)  # [B,k,S]
        proj = torch.einsum("bik,bjk,bks->bsij", vd, vd, slots)  # [B, S, n, n]
        n = vd.shape[1]
        adj = torch.zeros(len(first), n, n, dtype=dtype, device=v.device)
        local = torch.arange(v.shape[0], device=v.device) - batch.ptr[batch.batch]
        src, dst = batch.edge_index
        adj[batch.batch[src], local[src], local[dst]] = 1.0
        eye = torch.eye(n, dtype=dtype, device=v.device).expand_as(adj)
        # eigenvalue and multiplicity of each slot (from its first eigenvector; 0 when the slot is empty)
        slot_count = slots.sum(dim=1)  # [B, S] eigenvectors in the slot
        slot_lam = torch.einsum("bk,bks->bs", lam_g, slots) / slot_count.clamp(min=1)
        slot_mult = (torch.einsum("bk,bks->bs", mult.to(dtype), slots) / slot_count.clamp(min=1)).round().long()
        feats = torch.stack(torch.broadcast_tensors(proj, adj[:, None], eye[:, None],
                                                    slot_lam[:, :, None, None]), dim=-1)  # [B, S, n, n, 4]
        pair_mask = (node_mask[:, None, :, None] & node_mask[:, None, None, :]).to(dtype)[..., None]
        out = torch.zeros(*proj.shape[:3], self.hidden, dtype=dtype, device=v.device)
        which = slot_mult.clamp(max=self.max_multiplicity)  # 0: empty slot
        for d in range(1, self.max_multiplicity + 1):
            sel = which == d
            if not bool(sel.any()):
                continue
            h = (self.psi[d - 1](feats[sel]) * pair_mask.expand(-1, proj.shape[1], -1, -1, -1)[sel]).sum(dim=2)
            out[sel] = self.node[d - 1](h)
        out = out * (slot_count > 0).to(dtype)[:, :, None, None]
        per_node = out.permute(0, 2, 1, 3)[batch.batch, local]  # [N, S, C]
        return self.rho(per_node.reshape(per_node.shape[0], -1))

"""LorentzNet-style jet tagger (Gong et al., JHEP 2022, arXiv 2201.08187), without particle-type inputs.

``model(momenta [B, N, 4] GeV, mask [B, N] bool | None) -> logits [B, num_classes]`` (inputs as in
:mod:`workbench.models.jet_features`). LorentzNet's Lorentz group equivariant block: real invariant message passing
on Minkowski products, updating 4-vectors by invariant-weighted sums of 4-vectors; the output is Lorentz invariant.
"""

from __future__ import annotations

import torch

from workbench.models.jet_features import (
    MINKOWSKI_METRIC,
    MLP,
    check_jets,
    jet_invariants,
    masked_mean,
    minkowski_dot,
    psi,
)

__all__ = ["LorentzNetLite"]


class _LGEB(torch.nn.Module):
    """LorentzNet's Lorentz group equivariant block (real scalars ``h``, 4-vectors ``x``)."""

    def __init__(self, hidden: int, c_weight: float, update_x: bool) -> None:
        super().__init__()
        self.phi_e = MLP((2 * hidden + 2, hidden, hidden))
        self.phi_m = torch.nn.Sequential(torch.nn.Linear(hidden, 1), torch.nn.Sigmoid())
        self.phi_h = MLP((2 * hidden, hidden, hidden))
        self.phi_x = MLP((hidden, hidden, 1)) if update_x else None
        self.c_weight = c_weight

    def forward(self, h, x, mask, inv_scale):
        b, n, f = h.shape
        x64 = x.to(torch.float64)
        eta = torch.tensor(MINKOWSKI_METRIC, dtype=torch.float64, device=x.device)
        dots = torch.einsum("bia,a,bja->bij", x64, eta, x64)
        norm2 = minkowski_dot(x64, x64)
        sep = norm2[:, :, None] + norm2[:, None, :] - 2 * dots
        inv = torch.stack([psi(sep, inv_scale), psi(dots, inv_scale)], -1).to(h.dtype)
        m = self.phi_e(torch.cat([h[:, :, None].expand(b, n, n, f), h[:, None].expand(b, n, n, f), inv], -1))
        w = mask[:, None, :, None].to(h.dtype)  # sum over real j only
        agg = (self.phi_m(m) * m * w).sum(2)
        if self.phi_x is not None:
            x = x + self.c_weight * (self.phi_x(m) * w * x[:, None]).sum(2)
        return h + self.phi_h(torch.cat([h, agg], -1)), x


class LorentzNetLite(torch.nn.Module):
    """LorentzNet-style invariant message passing (Gong et al. 2022), without particle-type inputs.

    Scalars start from an MLP of particle invariants (as :class:`LorentzMACE`), 4-vectors from
    ``p / momentum_scale``; each block updates ``h`` with messages of ``psi((x_i - x_j)^2)``, ``psi(x_i·x_j)``
    and ``x_i <- x_i + c sum_j phi_x(m_ij) x_j`` (Minkowski products in float64, invariant_scale here in
    units of ``momentum_scale^2``). ``model(momenta, mask) -> [B, num_classes]``, Lorentz invariant.
    """

    def __init__(self, num_classes: int = 2, hidden: int = 32, num_layers: int = 3, c_weight: float = 1e-3,
                 momentum_scale: float = 100.0, invariant_scale: float = 1.0) -> None:
        super().__init__()
        if int(num_classes) < 1 or int(hidden) < 1 or int(num_layers) < 1:
            raise ValueError(f"num_classes, hidden, num_layers must be >= 1, got {num_classes}, {hidden}, "
                             f"{num_layers}")
        self.num_classes = int(num_classes)
        self.momentum_scale, self.invariant_scale = float(momentum_scale), float(invariant_scale)
        self.embedding = MLP((5, hidden, hidden))
        self.blocks = torch.nn.ModuleList(
            _LGEB(hidden, c_weight, update_x=i < int(num_layers) - 1) for i in range(int(num_layers))
        )
        self.head = MLP((hidden, hidden, self.num_classes))

    def forward(self, momenta: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        p, mask = check_jets(momenta, mask)
        dtype = self.embedding[0].weight.dtype
        node, _ = jet_invariants(p.to(torch.float64), mask, self.momentum_scale**2 * self.invariant_scale)
        h = self.embedding(node.to(dtype))
        x = p.to(dtype) / self.momentum_scale
        for block in self.blocks:
            h, x = block(h, x, mask, self.invariant_scale)
        return self.head(masked_mean(h, mask))

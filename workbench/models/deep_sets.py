"""Deep Sets jet tagger (Zaheer et al., NeurIPS 2017; the particle-flow form of Komiske et al., JHEP 2019): the
non-equivariant baseline of the jet pipeline.

``model(momenta [B, N, 4] GeV, mask [B, N] bool | None) -> logits [B, num_classes]`` (inputs as in
:mod:`workbench.models.jet_features`): per-particle MLP of ``log pT, log E, log pT/pT_jet, log E/E_jet, Δη, Δφ, ΔR``
relative to the jet axis -> masked mean -> MLP. It is rotation-invariant about the beam axis only, and its outputs
change under boosts.
"""

from __future__ import annotations

import torch

from workbench.models.jet_features import MLP, check_jets, jet_frame_features, masked_mean

__all__ = ["DeepSetsTagger"]


class DeepSetsTagger(torch.nn.Module):
    """Non-equivariant baseline: per-particle MLP of :func:`jet_frame_features` -> masked mean -> MLP.

    ``model(momenta [B, N, 4], mask [B, N] | None) -> [B, num_classes]``. Permutation and padding invariant,
    invariant under rotations about the beam (z) axis, but its outputs change under boosts and other rotations.
    """

    def __init__(self, num_classes: int = 2, hidden: int = 64) -> None:
        super().__init__()
        if int(num_classes) < 1 or int(hidden) < 1:
            raise ValueError(f"num_classes and hidden must be >= 1, got {num_classes}, {hidden}")
        self.num_classes = int(num_classes)
        self.phi = MLP((7, hidden, hidden, hidden))
        self.rho = MLP((hidden, hidden, self.num_classes))

    def forward(self, momenta: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        p, mask = check_jets(momenta, mask)
        dtype = self.phi[0].weight.dtype
        return self.rho(masked_mean(self.phi(jet_frame_features(p, mask).to(dtype)), mask))

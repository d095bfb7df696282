"""Physics baselines for top tagging: a jet-mass cut (no training) and a small classifier on N-subjettiness.

Both take the jet models' input (``momenta [B, N, 4]``, ``mask [B, N]``; :mod:`workbench.models.jet_features`) and
return one logit per jet ``[B, 1]`` (larger = more top-like), so they are scored and tested exactly like the learned
taggers.

- :class:`MassCutTagger`: the score is the jet mass ``m`` of the given constituents (``"mass"``) or its closeness to
  the top mass, ``-|m - TOP_MASS|`` (``"window"``). :meth:`MassCutTagger.fit` picks the variant with the larger
  AUC on the jets it is given (the training split) and the threshold with the best accuracy there; the logit is
  ``(score - threshold) / 10 GeV``, so ``logit > 0`` is the cut. Nothing is trained by gradient; it has no
  parameters. The jet mass is Lorentz invariant, so this tagger passes the boost test.
- :class:`SubstructureTagger`: an MLP on the standardized :func:`~workbench.models.jet_substructure.
  substructure_features` (jet mass, ``tau_1..3``, ``tau_21``, ``tau_32``; exclusive-kT axes, ``beta = 1``),
  trained like any other model. N-subjettiness is only invariant under rotations about and boosts along the beam
  axis, so it is not invariant under the boost test's boosts.
"""

from __future__ import annotations

import numpy as np
import torch

from workbench.models.jet_features import MLP
from workbench.models.jet_substructure import SUBSTRUCTURE_FEATURES, jet_mass, substructure_features

__all__ = ["MASS_CUT_MODES", "TOP_MASS", "MassCutTagger", "SubstructureTagger"]

#: Top-quark mass (GeV) of the ``"window"`` score.
TOP_MASS: float = 172.5
#: Scores of :class:`MassCutTagger`: the jet mass itself, or minus its distance to :data:`TOP_MASS`.
MASS_CUT_MODES: tuple[str, ...] = ("mass", "window")
_LOGIT_SCALE = 10.0  # GeV per unit of logit


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney AUC (ties count half)."""
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos - 1) / 2.0) / (n_pos * n_neg))


class MassCutTagger(torch.nn.Module):
    """Cut on the jet mass of the given constituents (module docstring). Build it with :meth:`fit`;
    ``MassCutTagger(mode, threshold)`` fixes both. ``forward(momenta [B, N, 4], mask [B, N]) -> [B, 1]``."""

    def __init__(self, mode: str = "window", threshold: float = -25.0) -> None:
        super().__init__()
        if mode not in MASS_CUT_MODES:
            raise ValueError(f"mode must be one of {MASS_CUT_MODES}, got {mode!r}")
        if not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number (GeV), got {threshold!r}")
        self.mode = mode
        self.register_buffer("threshold", torch.tensor(float(threshold), dtype=torch.float64))
        self.train_auc: dict[str, float] = {}

    def score(self, momenta: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The cut variable ``[B]`` (float64, GeV): ``m`` or ``-|m - TOP_MASS|``."""
        m = jet_mass(momenta, mask)
        return m if self.mode == "mass" else -(m - TOP_MASS).abs()

    def forward(self, momenta: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        logits = (self.score(momenta, mask) - self.threshold) / _LOGIT_SCALE
        return logits[:, None].to(momenta.dtype)

    @classmethod
    def fit(cls, momenta: torch.Tensor, mask: torch.Tensor | None, labels: torch.Tensor) -> MassCutTagger:
        """The variant of :data:`MASS_CUT_MODES` with the larger AUC on these jets (``labels [B]``: 1 = top), with
        the threshold of the best accuracy (midpoint between neighbouring scores). ``train_auc`` keeps both AUCs."""
        y = np.asarray(labels).reshape(-1)
        if len(y) != momenta.shape[0] or not np.all((y == 0) | (y == 1)) or len(np.unique(y)) < 2:
            raise ValueError(f"labels must hold 0 and 1 (1 = top), one per jet ({momenta.shape[0]}), got "
                             f"{len(y)} values {np.unique(y)[:5].tolist()}")
        mass = jet_mass(momenta, mask).numpy()
        scores = {"mass": mass, "window": -np.abs(mass - TOP_MASS)}
        aucs = {mode: _auc(s, y) for mode, s in scores.items()}
        mode = max(MASS_CUT_MODES, key=lambda k: aucs[k])
        s = scores[mode]
        order = np.argsort(-s, kind="stable")
        s_sorted, y_sorted = s[order], y[order]
        # accuracy of "score >= s_sorted[k]": top jets at or above plus QCD jets below
        tp = np.cumsum(y_sorted == 1)
        fp = np.cumsum(y_sorted == 0)
        accuracy = (tp + (len(y) - int((y == 1).sum())) - fp) / len(y)
        last = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), len(s) - 1]  # last of each run of equal scores
        k = last[int(np.argmax(accuracy[last]))]
        threshold = s_sorted[k] if k + 1 >= len(s) else 0.5 * (s_sorted[k] + s_sorted[k + 1])
        tagger = cls(mode, float(threshold))
        tagger.train_auc = aucs
        return tagger

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, threshold={float(self.threshold):.3f} GeV"


class SubstructureTagger(torch.nn.Module):
    """MLP ``6 -> hidden -> 1`` on the standardized substructure features (module docstring).

    ``feature_mean``/``feature_std`` (buffers, saved with the weights) come from :meth:`standardize_from` on the
    training jets; before that they are 0 and 1. ``forward(momenta [B, N, 4], mask [B, N]) -> [B, 1]``, in the
    dtype of the model's weights.
    """

    def __init__(self, hidden: int = 32, *, beta: float = 1.0, r0: float = 0.8) -> None:
        super().__init__()
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden must be an integer >= 1, got {hidden!r}")
        self.beta, self.r0 = float(beta), float(r0)
        n = len(SUBSTRUCTURE_FEATURES)
        self.register_buffer("feature_mean", torch.zeros(n, dtype=torch.float64))
        self.register_buffer("feature_std", torch.ones(n, dtype=torch.float64))
        self.mlp = MLP((n, hidden, hidden, 1))

    def features(self, momenta: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Standardized features ``[B, 6]`` (float64)."""
        raw = substructure_features(momenta, mask, beta=self.beta, r0=self.r0)
        return (raw - self.feature_mean) / self.feature_std

    @torch.no_grad()
    def standardize_from(self, momenta: torch.Tensor, mask: torch.Tensor | None = None) -> SubstructureTagger:
        """Set the feature mean and standard deviation from these (training) jets; returns ``self``."""
        raw = substructure_features(momenta, mask, beta=self.beta, r0=self.r0)
        self.feature_mean.copy_(raw.mean(0))
        self.feature_std.copy_(raw.std(0).clamp_min(1e-12))
        return self

    def forward(self, momenta: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        dtype = next(self.mlp.parameters()).dtype
        return self.mlp(self.features(momenta, mask).to(dtype))

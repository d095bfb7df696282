"""Binary-classifier metrics of the jet-tagging literature: ROC curve, AUC and background rejection.

Conventions (as in Kasieczka et al., arXiv 1902.09914): ``scores`` are larger for signal (label 1); the signal
efficiency ``eps_S`` is the true-positive rate and the background efficiency ``eps_B`` the false-positive rate at a
threshold; the background rejection at a working point is ``1 / eps_B`` at the threshold where ``eps_S`` reaches it
(the standard working point is ``eps_S = 0.3``). Ties between scores are handled exactly (one ROC point per distinct
score), and the AUC is the Mann-Whitney probability ``P(score_S > score_B) + P(score_S = score_B) / 2``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.checks import check_array

__all__ = ["roc_curve", "roc_auc", "background_rejection", "rejection_uncertainty"]


def _check(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1)
    if s.shape != y.shape:
        raise ValueError(f"scores and labels must have the same length, got {s.shape[0]} and {y.shape[0]}")
    check_array(s, "scores", finite=True)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 (background) or 1 (signal)")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("need both signal (1) and background (0) examples")
    return s, y


def roc_curve(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(eps_B, eps_S, thresholds)``: one point per distinct score (selection ``score >= threshold``), from
    ``(0, 0)`` (threshold ``+inf``) to ``(1, 1)``; both efficiencies non-decreasing."""
    s, y = _check(scores, labels)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # end of each group of equal scores
    tp = np.cumsum(y)[last_of_run]
    fp = np.cumsum(~y)[last_of_run]
    eps_s = np.r_[0.0, tp / y.sum()]
    eps_b = np.r_[0.0, fp / (~y).sum()]
    return eps_b, eps_s, np.r_[np.inf, s[last_of_run]]


def roc_auc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve (trapezoids over the exact curve = the Mann-Whitney statistic)."""
    eps_b, eps_s, _ = roc_curve(scores, labels)
    return float(np.sum(np.diff(eps_b) * (eps_s[1:] + eps_s[:-1]) / 2.0))


def background_rejection(scores: Any, labels: Any, signal_efficiency: float = 0.3) -> float:
    """``1 / eps_B`` at ``eps_S = signal_efficiency`` (linear interpolation on the ROC curve between the two
    points around it); ``inf`` when no background passes there."""
    if not 0.0 < signal_efficiency <= 1.0:
        raise ValueError(f"signal_efficiency must be in (0, 1], got {signal_efficiency}")
    eps_b, eps_s, _ = roc_curve(scores, labels)
    k = int(np.searchsorted(eps_s, signal_efficiency, side="left"))  # first point with eps_S >= target
    if eps_s[k] == signal_efficiency or k == 0:
        b = eps_b[k]
    else:
        w = (signal_efficiency - eps_s[k - 1]) / (eps_s[k] - eps_s[k - 1])
        b = eps_b[k - 1] + w * (eps_b[k] - eps_b[k - 1])
    return float("inf") if b == 0 else float(1.0 / b)


def rejection_uncertainty(rejection: float, n_background: int) -> float:
    """Binomial standard error of a background rejection ``R = 1/eps_B`` measured on ``n_background`` background
    examples: ``k = n_B eps_B`` pass the cut, ``sigma(eps_B) = sqrt(eps_B (1 - eps_B) / n_B)``, propagated to
    ``sigma(R) = sigma(eps_B) / eps_B^2 = R sqrt((1 - eps_B) / k)``. ``inf`` when no background passes
    (``R = inf``: only a lower bound of about ``n_B`` is known).

    Examples:
        >>> round(rejection_uncertainty(100.0, 10_000), 3)  # 100 background jets pass: 10% relative
        9.95
    """
    if isinstance(n_background, bool) or int(n_background) != n_background or n_background < 1:
        raise ValueError(f"n_background must be a positive integer, got {n_background!r}")
    if not (rejection >= 1.0):
        raise ValueError(f"rejection must be >= 1 (it is 1/eps_B), got {rejection!r}")
    if np.isinf(rejection):
        return float("inf")
    eps = 1.0 / rejection
    return float(rejection * np.sqrt((1.0 - eps) / (n_background * eps)))

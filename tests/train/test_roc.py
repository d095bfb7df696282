"""workbench.train.roc: ROC curve, AUC (against the brute-force Mann-Whitney count) and background rejection."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.train.roc import background_rejection, rejection_uncertainty, roc_auc, roc_curve

pytestmark = pytest.mark.unit


def _auc_pairs(scores, labels):
    """P(score_S > score_B) + P(tie) / 2 over every (signal, background) pair."""
    s, b = scores[labels == 1], scores[labels == 0]
    diff = s[:, None] - b[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


@pytest.mark.parametrize("ties", [False, True])
def test_auc_equals_mann_whitney(ties):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    scores = rng.normal(size=500) + 0.8 * labels
    if ties:
        scores = np.round(scores, 1)  # many equal scores across classes
    assert roc_auc(scores, labels) == pytest.approx(_auc_pairs(scores, labels), abs=1e-12)


def test_curve_shape_and_extremes():
    labels = np.array([1, 1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1])
    eps_b, eps_s, thr = roc_curve(scores, labels)
    assert (eps_b[0], eps_s[0], eps_b[-1], eps_s[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(eps_b) >= 0) and np.all(np.diff(eps_s) >= 0) and np.isinf(thr[0])
    # cut at 0.8: two of three tops, no QCD
    assert (eps_s[2], eps_b[2]) == (pytest.approx(2 / 3), 0.0)
    assert roc_auc(scores, labels) == pytest.approx(8 / 9)
    assert roc_auc(-scores, labels) == pytest.approx(1 / 9)


def test_rejection_working_point():
    # 10 tops scored 10..19, 100 QCD scored 0..99: eps_S = 0.3 keeps tops >= 17, i.e. QCD with score >= 17 -> 83
    tops, qcd = np.arange(10, 20), np.arange(100)
    scores = np.r_[tops, qcd].astype(float)
    labels = np.r_[np.ones(10), np.zeros(100)]
    eps_b, eps_s, _ = roc_curve(scores, labels)
    assert background_rejection(scores, labels, 0.3) == pytest.approx(1 / np.interp(0.3, eps_s, eps_b))
    perfect = np.r_[np.ones(10) * 5, np.zeros(100)]
    assert background_rejection(perfect, labels, 0.3) == np.inf
    random_scores = np.random.default_rng(0).random(20000)
    random_labels = np.random.default_rng(1).integers(0, 2, 20000)
    assert background_rejection(random_scores, random_labels, 0.3) == pytest.approx(1 / 0.3, rel=0.05)


@pytest.mark.parametrize(("scores", "labels", "match"), [
    ([0.1, 0.2], [1, 1], "both"),
    ([0.1, np.nan], [1, 0], "finite"),
    ([0.1, 0.2], [1, 2], "0 .background. or 1"),
    ([0.1, 0.2, 0.3], [1, 0], "same length"),
])
def test_bad_input(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        roc_auc(scores, labels)
    with pytest.raises(ValueError, match="signal_efficiency"):
        background_rejection([0.1, 0.2], [0, 1], 0.0)


def test_rejection_uncertainty_is_the_binomial_error_propagated():
    # 1000 background jets, 20 pass: eps_B = 0.02, sigma(eps_B) = sqrt(0.02 * 0.98 / 1000), sigma(R) = sigma / eps^2
    sigma_eps = np.sqrt(0.02 * 0.98 / 1000)
    assert rejection_uncertainty(50.0, 1000) == pytest.approx(sigma_eps / 0.02**2, rel=1e-12)
    assert rejection_uncertainty(50.0, 1000) == pytest.approx(50.0 * np.sqrt(0.98 / 20), rel=1e-12)
    assert rejection_uncertainty(1.0, 10) == 0.0  # everything passes: no spread
    assert rejection_uncertainty(float("inf"), 10) == float("inf")
    # a Monte Carlo check: the spread of 1/eps_B over binomial draws matches (many passing jets, small bias)
    rng = np.random.default_rng(0)
    k = rng.binomial(20000, 0.05, size=4000)
    assert np.std(20000 / k) == pytest.approx(rejection_uncertainty(20.0, 20000), rel=0.05)
    with pytest.raises(ValueError, match="n_background must be a positive integer"):
        rejection_uncertainty(10.0, 0)
    with pytest.raises(ValueError, match="rejection must be >= 1"):
        rejection_uncertainty(0.5, 100)

"""workbench.models.jet_substructure and jet_baselines: N-subjettiness against a brute-force exclusive-kT reference
(and FastJet's own kT clustering when installed), analytic prongs, symmetries, the mass cut and the substructure
tagger."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from workbench.data.jets import boost_jets, load_jets, random_boost_matrices
from workbench.models.jet_baselines import TOP_MASS, MassCutTagger, SubstructureTagger
from workbench.models.jet_substructure import (
    SUBSTRUCTURE_FEATURES,
    exclusive_kt_axes,
    jet_mass,
    nsubjettiness,
    substructure_features,
)

pytestmark = pytest.mark.unit


def _massless(pt: float, y: float, phi: float) -> list[float]:
    return [pt * math.cosh(y), pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(y)]


def _kin(p: np.ndarray) -> tuple[float, float, float]:
    e, px, py, pz = p
    return math.hypot(px, py), 0.5 * math.log((e + pz) / (e - pz)), math.atan2(py, px)


def _dr(a: np.ndarray, b: np.ndarray) -> float:
    _, ya, pa = _kin(a)
    _, yb, pb = _kin(b)
    dphi = (pa - pb + math.pi) % (2 * math.pi) - math.pi
    return math.hypot(ya - yb, dphi)


def _brute_force_tau(p: np.ndarray, n: int, beta: float = 1.0, r0: float = 0.8) -> float:
    """Naive O(n^3) exclusive kT (every pair, every step; E-scheme) and the tau_N sum, in plain Python."""
    if len(p) <= n:
        return 0.0
    jets = [row.copy() for row in p]
    while len(jets) > n:
        best, pair = math.inf, None
        for i in range(len(jets)):
            for j in range(i + 1, len(jets)):
                d = min(_kin(jets[i])[0], _kin(jets[j])[0]) ** 2 * _dr(jets[i], jets[j]) ** 2
                if d < best:
                    best, pair = d, (i, j)
        i, j = pair
        jets[i] = jets[i] + jets[j]
        del jets[j]
    num = sum(_kin(c)[0] * min(_dr(c, a) for a in jets) ** beta for c in p)
    return num / (sum(_kin(c)[0] for c in p) * r0**beta)


def _random_jets(n_jets: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = np.random.default_rng(seed)
    rows = []
    for _ in range(n_jets):
        y0, phi0 = g.uniform(-1.5, 1.5), g.uniform(-math.pi, math.pi)
        rows.append([_massless(g.exponential(20.0) + 1.0, y0 + g.normal(0, 0.3), phi0 + g.normal(0, 0.3))
                     for _ in range(n)])
    momenta = torch.tensor(rows, dtype=torch.float64)
    mask = torch.ones(n_jets, n, dtype=torch.bool)
    mask[1, n - 3 :] = False  # a shorter jet
    mask[2, 2:] = False  # two constituents: tau_2 = tau_3 = 0
    return momenta, mask


def test_nsubjettiness_matches_brute_force_exclusive_kt():
    momenta, mask = _random_jets(6, 9, seed=1)
    taus = nsubjettiness(momenta, mask, 3)
    for b in range(len(momenta)):
        p = momenta[b][mask[b]].numpy()
        for n in (1, 2, 3):
            assert float(taus[b, n - 1]) == pytest.approx(_brute_force_tau(p, n), rel=1e-10, abs=1e-12)
    assert float(taus[2, 1]) == float(taus[2, 2]) == 0.0
    # beta and R0 enter as documented
    b2 = nsubjettiness(momenta, mask, 2, beta=2.0, r0=1.0)
    p = momenta[0].numpy()
    assert float(b2[0, 1]) == pytest.approx(_brute_force_tau(p, 2, beta=2.0, r0=1.0), rel=1e-10)
    axes, axes_mask = exclusive_kt_axes(momenta, mask, 2)
    assert axes_mask.sum(1).tolist() == [2, 2, 2, 2, 2, 2]
    torch.testing.assert_close(axes.sum(1), (momenta * mask[..., None]).sum(1))  # E-scheme: 4-momentum conserved


def test_nsubjettiness_matches_fastjet_on_shipped_jets():
    fastjet = pytest.importorskip("fastjet")
    jets = load_jets()
    momenta, mask, _ = jets.padded(jets.indices("test")[:20], 30)
    taus = nsubjettiness(momenta, mask, 3)
    definition = fastjet.JetDefinition(fastjet.kt_algorithm, 100.0, fastjet.E_scheme)  # R >> jet size: no beam
    for b in range(len(momenta)):
        p = momenta[b][mask[b]].numpy()
        particles = [fastjet.PseudoJet(float(px), float(py), float(pz), float(e)) for e, px, py, pz in p]
        sequence = fastjet.ClusterSequence(particles, definition)
        for n in (1, 2, 3):
            axes = sequence.exclusive_jets(n)
            num = sum(c.pt() * min(c.delta_R(a) for a in axes) for c in particles)
            assert float(taus[b, n - 1]) == pytest.approx(num / (sum(c.pt() for c in particles) * 0.8), abs=1e-6)


def test_prongs_and_symmetries():
    """A two-prong jet has tau_21 << 1, a three-prong jet tau_32 << 1; a one-prong spray has tau_21 near 1.
    Rotations about z and boosts along z leave the taus unchanged; a general boost changes them but not the mass."""
    g = np.random.default_rng(3)

    def prongs(centres):
        return [_massless(50.0 * g.uniform(0.5, 1.5), y + g.normal(0, 0.01), phi + g.normal(0, 0.01))
                for y, phi in centres for _ in range(5)]

    two = prongs([(0.0, 0.0), (0.4, 0.3)])
    three = prongs([(0.0, 0.0), (0.4, 0.3), (-0.3, 0.4)])
    spray = [_massless(30.0, g.normal(0, 0.25), g.normal(0, 0.25)) for _ in range(15)]
    momenta = torch.tensor([two + two[:5], three, spray], dtype=torch.float64)
    feats = substructure_features(momenta)
    col = {name: feats[:, i] for i, name in enumerate(SUBSTRUCTURE_FEATURES)}
    assert float(col["tau_21"][0]) < 0.1 and float(col["tau_32"][1]) < 0.15 and float(col["tau_21"][2]) > 0.5
    assert float(col["tau_21"][1]) > 0.3  # three prongs are not two

    phi, y = 0.7, 0.9  # rotation about z, boost along z
    c, s = math.cos(phi), math.sin(phi)
    rot = torch.tensor([[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1]], dtype=torch.float64)
    ch, sh = math.cosh(y), math.sinh(y)
    boost_z = torch.tensor([[ch, 0, 0, sh], [0, 1, 0, 0], [0, 0, 1, 0], [sh, 0, 0, ch]], dtype=torch.float64)
    for lam in (rot, boost_z, boost_z @ rot):
        torch.testing.assert_close(substructure_features(momenta @ lam.T), feats, rtol=1e-9, atol=1e-9)
    mask = torch.ones(3, 15, dtype=torch.bool)
    lam, _, _ = random_boost_matrices(3, 2.0, seed=0)
    boosted = boost_jets(momenta, mask, lam)
    torch.testing.assert_close(jet_mass(boosted), jet_mass(momenta), rtol=1e-9, atol=1e-6)
    assert float((nsubjettiness(boosted) - nsubjettiness(momenta)).abs().max()) > 1e-3


def test_bad_input():
    momenta, mask = _random_jets(3, 5, seed=0)
    with pytest.raises(ValueError, match="n_max must be an integer >= 1"):
        nsubjettiness(momenta, mask, 0)
    with pytest.raises(ValueError, match="beta must be a positive"):
        nsubjettiness(momenta, mask, beta=0.0)
    with pytest.raises(ValueError, match="n_axes must be an integer >= 1"):
        exclusive_kt_axes(momenta, mask, 0)
    with pytest.raises(ValueError, match=r"momenta must have shape \[B, N, 4\]"):
        jet_mass(momenta[..., :3])
    with pytest.raises(ValueError, match="mode must be one of"):
        MassCutTagger("energy")
    with pytest.raises(ValueError, match="labels must hold 0 and 1"):
        MassCutTagger.fit(momenta, mask, torch.ones(3))
    with pytest.raises(ValueError, match="hidden must be an integer >= 1"):
        SubstructureTagger(hidden=0)


def _two_masses(masses: list[float]) -> torch.Tensor:
    """Jets of two back-to-back (in their rest frame) massless particles with these invariant masses, at pT ~ 600."""
    rows = []
    for m in masses:
        half = m / 2
        pair = torch.tensor([[half, half, 0, 0], [half, -half, 0, 0]], dtype=torch.float64)
        rows.append(pair)
    momenta = torch.stack(rows)
    lam, _, _ = random_boost_matrices(len(masses), 2.0, seed=1)
    return boost_jets(momenta, torch.ones(len(masses), 2, dtype=torch.bool), lam)


def test_mass_cut_tagger_picks_the_better_score_and_a_threshold():
    # top jets near 172.5, QCD jets both lighter and heavier: the window wins
    top = [165.0, 170.0, 175.0, 180.0, 172.0]
    qcd = [30.0, 60.0, 90.0, 250.0, 300.0, 120.0]
    momenta = _two_masses(top + qcd)
    labels = torch.tensor([1] * len(top) + [0] * len(qcd))
    torch.testing.assert_close(jet_mass(momenta), torch.tensor(top + qcd, dtype=torch.float64), rtol=1e-9, atol=1e-6)
    tagger = MassCutTagger.fit(momenta, None, labels)
    assert tagger.mode == "window" and tagger.train_auc["window"] == 1.0 > tagger.train_auc["mass"]
    logits = tagger(momenta)
    assert logits.shape == (len(labels), 1) and list(tagger.parameters()) == []
    assert torch.equal((logits[:, 0] > 0).long(), labels)  # the cut separates them
    # QCD only lighter: the mass itself is as good and kept (ties go to "mass")
    light = _two_masses([170.0, 175.0, 40.0, 80.0])
    assert MassCutTagger.fit(light, None, torch.tensor([1, 1, 0, 0])).mode == "mass"
    fixed = MassCutTagger("window", -10.0)
    torch.testing.assert_close(fixed(momenta)[:, 0].double(),
                               (-(jet_mass(momenta) - TOP_MASS).abs() + 10.0) / 10.0)


def test_substructure_tagger_standardizes_and_trains():
    momenta, mask = _random_jets(8, 6, seed=2)
    tagger = SubstructureTagger(hidden=8)
    tagger.standardize_from(momenta, mask)
    feats = tagger.features(momenta, mask)
    torch.testing.assert_close(feats.mean(0), torch.zeros(6, dtype=torch.float64), atol=1e-9, rtol=0)
    out = tagger(momenta, mask)
    assert out.shape == (8, 1) and out.dtype == torch.get_default_dtype()
    out.sum().backward()
    assert all(p.grad is not None for p in tagger.parameters())
    state = tagger.state_dict()
    assert {"feature_mean", "feature_std"} <= set(state)
    copy = SubstructureTagger(hidden=8)
    copy.load_state_dict(state)
    torch.testing.assert_close(copy(momenta, mask), out.detach())

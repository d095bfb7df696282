"""workbench.data.jets: the shipped top-tagging set (manifest, physics sanity of the recipe), padding, boosts, bad
input, and the Pythia 8 + FastJet generator itself when the ``hep`` extra is installed."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict

import numpy as np
import pytest
import torch

from workbench.data.jets import (
    DEFAULT_JETS_DIR,
    DETECTOR_RESOLUTION,
    SHIPPED_JETS_CONFIG,
    SPLITS,
    JetGeneratorConfig,
    JetSet,
    boost_jets,
    detector_response,
    load_jets,
    pad_jets,
    pythia_settings,
    random_boost_matrices,
    select_constituents,
)

pytestmark = pytest.mark.unit

ETA = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))


@pytest.fixture(scope="module")
def shipped() -> JetSet:
    return load_jets()


def _kinematics(p: np.ndarray) -> dict[str, np.ndarray]:
    e, px, py, pz = p.T
    pt = np.hypot(px, py)
    return {"pt": pt, "eta": np.arcsinh(pz / pt), "mass": np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))}


def test_shipped_set_matches_its_manifest(shipped):
    m = shipped.manifest
    cfg = m["config"]
    assert len(shipped) == m["counts"]["jets"] == cfg["n_signal"] + cfg["n_background"]
    assert int(shipped.label.sum()) == cfg["n_signal"] and int((shipped.label == 0).sum()) == cfg["n_background"]
    for name, code in SPLITS.items():
        assert int((shipped.split == code).sum()) == m["counts"][name]
    # 60/20/20 split, stratified: every split holds both classes in equal numbers, and its first jets mix them
    for name in SPLITS:
        labels = shipped.label[shipped.indices(name)]
        assert abs(labels.mean() - 0.5) < 0.01
        assert 0.2 < labels[:50].mean() < 0.8
    assert shipped.manifest["detector_note"].startswith("NO detector simulation")
    settings = m["processes"]["signal"]["settings"]
    assert "Beams:eCM = 14000" in settings and "PartonLevel:MPI = off" in settings
    assert settings == pythia_settings(JetGeneratorConfig(**{**cfg, "split_fractions": tuple(cfg["split_fractions"]),
                                                            "extra_settings": tuple(cfg["extra_settings"])}),
                                       "signal")


def test_shipped_jets_follow_the_recipe(shipped):
    """Jet pT in [550, 650] GeV and |eta| < 2; constituents sum to the jet (where none were cut); tops are heavier."""
    kin = _kinematics(shipped.jet)
    cfg = shipped.manifest["config"]
    assert np.all((kin["pt"] >= cfg["pt_min"]) & (kin["pt"] <= cfg["pt_max"]))
    assert np.all(np.abs(kin["eta"]) < cfg["eta_max"])
    mult = shipped.multiplicity
    assert mult.max() <= cfg["max_constituents"] and np.all(mult >= 1)
    full = np.flatnonzero(shipped.n_particles == mult)
    sums = np.add.reduceat(shipped.constituents.astype(np.float64), shipped.ptr[:-1], axis=0)
    np.testing.assert_allclose(sums[full], shipped.jet[full], rtol=1e-5, atol=1e-3)
    # constituents within R of the jet axis, sorted by decreasing pT
    k = _kinematics(shipped.constituents.astype(np.float64))
    first = shipped.ptr[:-1]
    assert np.all(np.diff(k["pt"])[np.setdiff1d(np.arange(len(k["pt"]) - 1), shipped.ptr[1:-1] - 1)] <= 1e-3)
    assert np.all(k["pt"][first] > 0)
    # physics: top jets have a median mass near m_top, QCD jets much lower
    top_mass = np.median(kin["mass"][shipped.label == 1])
    qcd_mass = np.median(kin["mass"][shipped.label == 0])
    assert 140.0 < top_mass < 200.0 and qcd_mass < 110.0


def test_padding(shipped):
    rows = shipped.indices("test")[:5]
    momenta, mask, labels = shipped.padded(rows, max_constituents=7)
    assert momenta.shape == (5, 7, 4) and mask.shape == (5, 7) and momenta.dtype == torch.float64
    assert torch.equal(labels, torch.as_tensor(shipped.label[rows].astype(np.int64)))
    first = shipped.constituents[shipped.ptr[rows[0]] : shipped.ptr[rows[0]] + 7]
    np.testing.assert_array_equal(momenta[0, : mask[0].sum()].numpy(), first[: int(mask[0].sum())])
    assert torch.all(momenta[~mask] == 0)
    short, _ = pad_jets([np.ones((2, 4)), np.ones((3, 4))])
    assert short.shape == (2, 3, 4)
    with pytest.raises(ValueError, match="no jets"):
        pad_jets([])


def test_boosts_are_lorentz_transformations():
    lam, direction, rapidity = random_boost_matrices(50, 2.0, seed=3)
    assert torch.allclose(lam.transpose(1, 2) @ ETA @ lam, ETA.expand(50, 4, 4), atol=1e-12)
    assert float(rapidity.max()) <= 2.0 and float(rapidity.min()) >= 0.0
    # a particle at rest gets gamma = cosh(y) and momentum sinh(y) along the boost direction
    rest = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    moved = lam @ rest
    assert torch.allclose(moved[:, 0], torch.cosh(rapidity))
    assert torch.allclose(moved[:, 1:], torch.sinh(rapidity)[:, None] * direction)
    p = torch.randn(50, 6, 4, dtype=torch.float64)
    mask = torch.ones(50, 6, dtype=torch.bool)
    mask[:, 4:] = False
    boosted = boost_jets(p * mask[..., None], mask, lam)
    dots = torch.einsum("bni,ij,bmj->bnm", p * mask[..., None], ETA, p * mask[..., None])
    assert torch.allclose(torch.einsum("bni,ij,bmj->bnm", boosted, ETA, boosted), dots, atol=1e-9)
    assert torch.all(boosted[~mask] == 0)


def test_bad_input_errors(tmp_path, shipped):
    kw = dict(label=np.array([1, 0], dtype=np.int8), split=np.zeros(2, dtype=np.int8), jet=np.ones((2, 4)),
              n_particles=np.array([1, 0], dtype=np.int16))
    with pytest.raises(ValueError, match="at least one constituent.*rows \\[1\\]"):
        JetSet(constituents=np.ones((1, 4), np.float32), ptr=np.array([0, 1, 1]), **kw)
    bad = np.ones((2, 4), np.float32)
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        JetSet(constituents=bad, ptr=np.array([0, 1, 2]), **kw)
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        shipped.indices("dev")
    with pytest.raises(FileNotFoundError, match="ships a jet set in .*data/jets"):
        load_jets(tmp_path / "nowhere")
    copy = tmp_path / "copy"
    shutil.copytree(DEFAULT_JETS_DIR, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["top_tagging_jets.npz"]["sha256"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="does not match its manifest sha256"):
        load_jets(copy)
    with pytest.raises(ValueError, match="pt_min < pt_max"):
        JetGeneratorConfig(pt_min=700.0).validate()
    with pytest.raises(ValueError, match="process must be one of"):
        pythia_settings(JetGeneratorConfig(), "higgs")


@pytest.mark.slow
def test_generator_is_deterministic_and_made_the_shipped_set(tmp_path, shipped):
    """The generator itself (needs the hep extra): a few jets per class, twice with the shipped seed -> equal files,
    and the first accepted jets of each class are jets of the shipped set (same events, same constituents)."""
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from workbench.data.jets import generate_jets

    # the shipped set's own recipe (its manifest predates the detector options: hadron level, no smearing)
    config = JetGeneratorConfig(**{**asdict(shipped.generator_config()), "n_signal": 3, "n_background": 3})
    assert (config.smearing, config.massless) == ("none", False)
    assert config == JetGeneratorConfig(**{**asdict(SHIPPED_JETS_CONFIG), "n_signal": 3, "n_background": 3})
    first = generate_jets(tmp_path / "a", config, progress=False)
    second = generate_jets(tmp_path / "b", config, progress=False)
    assert first["files"]["top_tagging_jets.npz"]["sha256"] == second["files"]["top_tagging_jets.npz"]["sha256"]
    small = load_jets(tmp_path / "a")
    assert len(small) == 6 and int(small.label.sum()) == 3
    counts = first["processes"]["signal"]["counts"]
    assert counts["accepted"] == 3 and counts["events"] >= 3
    assert first["processes"]["signal"]["settings"] == shipped.manifest["processes"]["signal"]["settings"]
    shipped_jets = {shipped.constituents[shipped.ptr[i] : shipped.ptr[i + 1]].tobytes(): int(shipped.label[i])
                    for i in range(len(shipped))}
    for i in range(len(small)):
        key = small.constituents[small.ptr[i] : small.ptr[i + 1]].tobytes()
        assert shipped_jets.get(key) == int(small.label[i]), f"generated jet {i} is not in the shipped set"


def test_rest_frame_energy_selection_commutes_with_boosts(shipped):
    """Selecting the 10 leading constituents by p_i . P_jet and then boosting equals boosting every constituent and
    then selecting; with the lab-frame pT order it does not (a boost changes which constituents lead)."""
    rows = shipped.indices("test")[:300]
    full, full_mask, _ = shipped.padded(rows)
    lam, _, _ = random_boost_matrices(len(rows), 2.0, seed=5)
    boosted_full = boost_jets(full, full_mask, lam)
    for n in (10, 30):
        chosen, mask, _ = shipped.padded(rows, n, order="rest_frame_energy")
        after, after_mask = select_constituents(boosted_full, full_mask, n, "rest_frame_energy")
        assert torch.equal(mask, after_mask)
        torch.testing.assert_close(boost_jets(chosen, mask, lam), after, rtol=1e-12, atol=1e-9)
        by_pt, pt_mask, _ = shipped.padded(rows, n)
        after_pt, _ = select_constituents(boosted_full, full_mask, n, "pt")
        assert float((boost_jets(by_pt, pt_mask, lam) - after_pt).abs().max()) > 1.0
    # the key is p_i . P: the leading constituent has the largest energy in the jet's rest frame
    chosen, mask, _ = shipped.padded(rows[:5], 3, order="rest_frame_energy")
    jet = full[:5].sum(1)
    key = full[:5, :, 0] * jet[:, None, 0] - (full[:5, :, 1:] * jet[:, None, 1:]).sum(-1)
    key = torch.where(full_mask[:5], key, torch.full((), -torch.inf, dtype=key.dtype))
    expected = torch.gather(full[:5], 1, key.argsort(dim=1, descending=True)[:, :3, None].expand(-1, -1, 4))
    assert torch.equal(chosen, expected)
    # "pt" through select_constituents is the storage order
    np.testing.assert_array_equal(select_constituents(full, full_mask, 7, "pt")[0].numpy(),
                                  shipped.padded(rows, 7)[0].numpy())
    with pytest.raises(ValueError, match="order must be one of"):
        shipped.padded(rows, 5, order="eta")
    with pytest.raises(ValueError, match="max_constituents must be >= 1"):
        select_constituents(full, full_mask, 0)


def test_detector_response():
    rng = np.random.default_rng(0)
    n = 20000
    e = np.full(n, 100.0)
    p = np.stack([e, np.full(n, 60.0), np.zeros(n), np.full(n, 70.0)], axis=1)  # m^2 = 10000 - 8500
    kind = np.repeat([0, 1, 2], [n // 2, n // 4, n - n // 2 - n // 4])
    massless = detector_response(p, kind, None, smearing="none", massless=True)
    np.testing.assert_allclose(massless[:, 0], np.linalg.norm(p[:, 1:], axis=1))
    np.testing.assert_array_equal(massless[:, 1:], p[:, 1:])
    np.testing.assert_array_equal(detector_response(p, kind, None, smearing="none", massless=False), p)
    out = detector_response(p, kind, rng, smearing="atlas_like", massless=True)
    np.testing.assert_allclose(out[:, 0], np.linalg.norm(out[:, 1:], axis=1), rtol=1e-12)
    # resolutions as documented: tracks smear |p| (and pT) by 1% (+) 0.05% pT, the direction is exact
    pt = np.hypot(60.0, 0.0)
    track = kind == 0
    ratio = np.linalg.norm(out[track, 1:], axis=1) / np.linalg.norm(p[track, 1:], axis=1)
    expected = np.hypot(0.01, 5e-4 * pt)
    assert abs(ratio.std() / expected - 1) < 0.05 and abs(ratio.mean() - 1) < 0.002
    np.testing.assert_allclose(out[track, 3] / np.linalg.norm(out[track, 1:], axis=1), 70.0 / np.sqrt(60**2 + 70**2))
    for code, name in ((1, "photon"), (2, "neutral_hadron")):  # calorimeters smear E; the mass is kept, then dropped
        r = DETECTOR_RESOLUTION[name]
        sel = kind == code
        e_true = 100.0
        sigma = np.hypot(r["stochastic"] / np.sqrt(e_true), r["constant"])
        m2 = 100.0**2 - 60.0**2 - 70.0**2
        e_smeared = np.sqrt(np.sum(out[sel, 1:] ** 2, axis=1) + m2)
        assert abs((e_smeared / e_true).std() / sigma - 1) < 0.05
        eta = np.arcsinh(out[sel, 3] / np.hypot(out[sel, 1], out[sel, 2]))
        assert abs(eta.std() / r["angle_sigma"] - 1) < 0.05
    again = detector_response(p, kind, np.random.default_rng(0), smearing="atlas_like", massless=True)
    np.testing.assert_array_equal(again, out)  # seeded
    with pytest.raises(ValueError, match="smearing must be one of"):
        detector_response(p, kind, rng, smearing="delphes")
    with pytest.raises(ValueError, match="needs a numpy random Generator"):
        detector_response(p, kind, None)
    with pytest.raises(ValueError, match="kind"):
        detector_response(p, kind + 3, rng)
    with pytest.raises(ValueError, match="smearing must be one of"):
        JetGeneratorConfig(smearing="delphes").validate()
    assert (JetGeneratorConfig().smearing, JetGeneratorConfig().massless) == ("atlas_like", True)


@pytest.mark.slow
def test_generator_default_is_massless_and_smeared(tmp_path):
    """New sets (needs the hep extra) follow the reference convention: massless constituents after the detector
    response, recorded in the manifest; the same seed gives the same bytes, and smearing changes the jets."""
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from workbench.data.jets import generate_jets

    config = JetGeneratorConfig(n_signal=2, n_background=2, seed=4)
    first = generate_jets(tmp_path / "a", config, progress=False)
    again = generate_jets(tmp_path / "b", config, progress=False)
    assert first["files"]["top_tagging_jets.npz"]["sha256"] == again["files"]["top_tagging_jets.npz"]["sha256"]
    assert first["detector"]["smearing"] == "atlas_like" and first["detector"]["massless"] is True
    assert first["config"]["massless"] is True and "massless" in first["detector_note"]
    jets = load_jets(tmp_path / "a")
    c = jets.constituents.astype(np.float64)
    np.testing.assert_allclose(c[:, 0], np.linalg.norm(c[:, 1:], axis=1), rtol=1e-5)
    assert jets.generator_config() == JetGeneratorConfig(**{**asdict(config), "split_fractions": (0.6, 0.2, 0.2)})
    plain = generate_jets(tmp_path / "c", JetGeneratorConfig(**{**asdict(config), "smearing": "none"}),
                          progress=False)
    assert plain["files"]["top_tagging_jets.npz"]["sha256"] != first["files"]["top_tagging_jets.npz"]["sha256"]

"""workbench.data.jets: the shipped top-tagging set (manifest, physics sanity of the recipe), padding, boosts, bad
input, and the Pythia 8 + FastJet generator itself when the ``hep`` extra is installed."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from workbench.data.jets import (
    DEFAULT_JETS_DIR,
    SPLITS,
    JetGeneratorConfig,
    JetSet,
    boost_jets,
    load_jets,
    pad_jets,
    pythia_settings,
    random_boost_matrices,
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

    seed = shipped.manifest["config"]["seed"]
    config = JetGeneratorConfig(n_signal=3, n_background=3, seed=seed)
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

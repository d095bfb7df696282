"""workbench.pipelines.jets.run_jets on the shipped jet set: files and consistent metrics, the boost test (Lorentz
models unchanged, Deep Sets changed), exact resumption, bad input. Tiny runs (48 training jets of 8 constituents,
3 steps per epoch, 2 epochs)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench.pipelines.jets import MODEL_NAMES, UNTRAINED_MODELS, JetsRunConfig, run_jets, tagging_metrics

pytestmark = pytest.mark.unit

TINY = dict(max_constituents=8, n_train=48, n_val=16, n_test=64, epochs=2, batch_size=16, channels=4, hidden=16,
            num_layers=1, correlation=2, lr=0.01, seed=2, progress=False)
TOTAL_STEPS = 6


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_jets(output_dir=tmp_path_factory.mktemp("jets"), **TINY)


def _drop_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if "seconds" in c])


def test_files_and_metrics(tiny_run):
    out = tiny_run.output_dir
    assert tiny_run.completed
    for name in ("metrics.json", "results.csv", "roc.csv", "run_config.json"):
        assert (out / name).is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (48, 16, 64)
    assert "NO detector simulation" in metrics["dataset"]["detector_note"]
    results = pd.read_csv(out / "results.csv")
    assert sorted(results["model"].unique()) == sorted(MODEL_NAMES)
    for model in MODEL_NAMES:
        scores = pd.read_csv(out / model / "test_scores.csv")
        assert len(scores) == 64
        for version in ("test", "boosted"):
            row = results[(results.model == model) & (results.version == version)].iloc[0]
            expected = tagging_metrics(scores[f"logit_{version}"], scores["label"])
            assert row["auc"] == pytest.approx(expected["auc"])
            assert row["accuracy"] == pytest.approx(expected["accuracy"])
            assert metrics["models"][model][version]["auc"] == pytest.approx(expected["auc"])
        expected_steps = 0 if model in UNTRAINED_MODELS else TOTAL_STEPS
        assert int(results[results.model == model]["steps"].iloc[0]) == expected_steps
    comparison = pd.read_csv(out / "comparison.csv").set_index("model")
    boosted = results[results.version == "boosted"].set_index("model")
    for model in MODEL_NAMES:  # AUC on boosted jets, relative to the Deep Sets tagger's
        assert comparison.loc[model, "auc"] == pytest.approx(boosted.loc[model, "auc"], rel=1e-12)
        assert comparison.loc[model, "ratio_to_baseline"] == pytest.approx(
            boosted.loc[model, "auc"] / boosted.loc["deepsets", "auc"], rel=1e-12)
    assert tiny_run.comparison is not None and set(comparison["baseline"]) == {"deepsets"}


def test_boost_test(tiny_run):
    """Lorentz-invariant taggers give the same logits on boosted jets up to float32 rounding (Minkowski products of
    nearly collinear momenta cancel; the G-MACE tensor products run in the model's float32); Deep Sets does not."""
    change = {m: tiny_run.metrics["models"][m]["max_abs_logit_change"] for m in MODEL_NAMES}
    assert change["lorentz_mace"] < 1e-3 and change["lorentznet"] < 1e-3
    assert change["deepsets"] > 1e-2 and change["deepsets"] > 100 * max(change["lorentz_mace"], change["lorentznet"])
    rapidity = tiny_run.scores["deepsets"]["boost_rapidity"]
    assert 0.0 <= rapidity.min() and rapidity.max() <= 2.0


def test_resume_gives_the_same_metrics(tiny_run, tmp_path):
    out = tmp_path / "resumed"
    first = run_jets(output_dir=out, max_steps=4, **TINY)
    assert not first.completed and not (out / "metrics.json").exists()
    second = run_jets(output_dir=out, **TINY)
    assert second.completed
    pd.testing.assert_frame_equal(_drop_seconds(second.results), _drop_seconds(tiny_run.results), rtol=1e-6)
    for model in MODEL_NAMES:
        np.testing.assert_allclose(second.scores[model]["logit_test"], tiny_run.scores[model]["logit_test"],
                                   rtol=1e-5, atol=1e-6)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown model.*valid models: lorentz_mace, lorentznet, deepsets"):
        run_jets(output_dir=tmp_path / "a", models=["particlenet"])
    with pytest.raises(FileNotFoundError, match="ships a jet set in"):
        run_jets(output_dir=tmp_path / "b", data_path=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="n_test=.*has only"):
        run_jets(output_dir=tmp_path / "c", n_test=10**7)
    with pytest.raises(TypeError, match="unknown parameter"):
        run_jets(output_dir=tmp_path / "d", rapidity=3)
    with pytest.raises(ValueError, match="max_constituents must be an integer >= 1"):
        JetsRunConfig(max_constituents=0).validate()
    assert not (tmp_path / "a").exists()
    run_jets(output_dir=tmp_path / "e", max_steps=1, **TINY)
    with pytest.raises(ValueError, match="another configuration"):
        run_jets(output_dir=tmp_path / "e", max_steps=1, **{**TINY, "max_constituents": 9})


def test_physics_baselines_in_the_tables(tiny_run):
    """The mass cut (no training, invariant under boosts) and the N-subjettiness classifier (trained, not invariant)
    are scored on the same test jets and appear in both comparison tables, with rejections and their uncertainties."""
    out = tiny_run.output_dir
    metrics = json.loads((out / "metrics.json").read_text())
    mass = metrics["models"]["mass_cut"]
    assert mass["parameters"] == 0 and mass["max_abs_logit_change"] < 1e-6
    assert metrics["mass_cut"]["mode"] in ("mass", "window")
    assert set(metrics["mass_cut"]["train_auc"]) == {"mass", "window"}
    full = metrics["mass_cut_all_constituents"]
    assert full["mode"] in ("mass", "window") and 0.5 <= full["auc"] <= 1.0
    assert metrics["models"]["nsubjettiness"]["max_abs_logit_change"] > 1e-3
    assert not (out / "mass_cut" / "checkpoint.pt").exists() and (out / "nsubjettiness" / "best_model.pt").is_file()
    n_b = metrics["n_test_background"]
    for model in MODEL_NAMES:
        for version in ("test", "boosted"):
            m = metrics["models"][model][version]
            for eps in ("0.3", "0.5"):
                r, k = m[f"rejection_at_{eps}"], m[f"background_at_{eps}"]
                assert k == pytest.approx(n_b / r)
                if np.isfinite(r):
                    assert m[f"rejection_at_{eps}_uncertainty"] == pytest.approx(r * np.sqrt((1 - 1 / r) / k))
    comparison = pd.read_csv(out / "comparison.csv").set_index("model")
    assert set(comparison.index) == set(MODEL_NAMES)
    assert {"rejection_at_0.3_uncertainty", "rejection_at_0.5_uncertainty", "auc_as_generated"} <= set(comparison)
    mass_table = pd.read_csv(out / "comparison_mass_cut.csv").set_index("model")
    assert set(mass_table["baseline"]) == {"mass_cut"} and set(mass_table.index) == set(MODEL_NAMES)
    for model in MODEL_NAMES:
        assert mass_table.loc[model, "auc"] == pytest.approx(metrics["models"][model]["test"]["auc"])
        assert metrics["auc_over_mass_cut"][model] == pytest.approx(
            metrics["models"][model]["test"]["auc"] - metrics["models"]["mass_cut"]["test"]["auc"])
    assert tiny_run.comparison_mass_cut is not None


def test_lab_frame_selection_breaks_the_boost_test(tmp_path):
    """With the leading constituents by lab-frame pT, boosting all constituents and selecting again picks other
    constituents, so even the Lorentz-invariant mass cut and LorentzNet-style tagger change; the invariant order
    (the default, used by tiny_run) keeps them unchanged."""
    run = run_jets(output_dir=tmp_path, **{**TINY, "constituent_order": "pt", "models": ["lorentznet", "mass_cut"]})
    assert run.metrics["constituent_order"] == "pt"
    assert run.metrics["models"]["mass_cut"]["max_abs_logit_change"] > 0.1
    assert run.metrics["models"]["lorentznet"]["max_abs_logit_change"] > 1e-3
    with pytest.raises(ValueError, match="constituent_order must be one of"):
        JetsRunConfig(constituent_order="eta").validate()

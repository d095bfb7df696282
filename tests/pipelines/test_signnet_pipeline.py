"""workbench.pipelines.signnet.run_signnet: files and consistent metrics, the invariant encodings' measured
invariance on the trained models (LapPE's non-invariance), exact resumption, bad input. Tiny run (60 training graphs,
2 epochs, small models)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench.pipelines.signnet import PAPER_ZINC_MAE, SignNetRunConfig, model_names, run_signnet, run_signnet_seeds

pytestmark = pytest.mark.unit

TINY = dict(n_train=60, n_val=20, n_test=20, k=6, rwse_steps=4, hidden=8, layers=2, pe_dim=4, pe_hidden=4, epochs=2,
            batch_size=20, seed=1, invariance_graphs=20, progress=False)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_signnet(output_dir=tmp_path_factory.mktemp("signnet"), **TINY)


def test_tiny_run_writes_files_and_consistent_metrics(tiny_run):
    out = tiny_run.output_dir
    assert tiny_run.completed
    names = model_names(SignNetRunConfig(**TINY))
    assert len(names) == 10
    for f in ("metrics.json", "results.csv", "mae_table.csv", "run_config.json"):
        assert (out / f).is_file(), f
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (60, 20, 20)
    assert metrics["paper_zinc_mae"] == PAPER_ZINC_MAE
    results = pd.read_csv(out / "results.csv").set_index("model")
    assert list(results.index) == names
    for name in names:
        pred = pd.read_csv(out / name / "test_predictions.csv")
        assert len(pred) == 20
        assert results.loc[name, "test_mae"] == pytest.approx((pred.y_pred - pred.y_true).abs().mean(), rel=1e-5)
        assert results.loc[name, "seconds_per_epoch"] > 0 and results.loc[name, "epochs"] == 2
        assert metrics["mae_table"][results.loc[name, "backbone"]][results.loc[name, "encoding"]] == \
            pytest.approx(results.loc[name, "test_mae"], abs=1e-12)
    table = pd.read_csv(out / "mae_table.csv", index_col=0)
    assert list(table.index) == ["gin", "transformer"] and list(table.columns) == list(SignNetRunConfig().encodings)
    for b in ("gin", "transformer"):
        mae = table.loc[b]
        assert metrics["paper_order_none_ge_lappe_ge_signnet"][b] == bool(
            mae["none"] >= mae["lappe"] >= mae["signnet"])


def test_trained_models_keep_their_invariances(tiny_run):
    r = tiny_run.results.set_index("model")
    for b in ("gin", "transformer"):
        for enc in ("none", "rwse", "signnet", "basisnet"):
            assert r.loc[f"{b}_{enc}", "sign_flip_change"] <= 1e-5, (b, enc)  # float32 models
        for enc in ("none", "rwse", "basisnet"):
            assert r.loc[f"{b}_{enc}", "basis_change_change"] <= 1e-5, (b, enc)
        assert r.loc[f"{b}_lappe", "sign_flip_change"] > 1e-4  # non-invariant baseline


def test_resume_gives_the_same_metrics(tmp_path, tiny_run):
    kw = {**TINY, "encodings": ("none", "signnet"), "backbones": ("gin",)}
    first = run_signnet(output_dir=tmp_path, max_steps=4, **kw)  # 3 steps per epoch: stops inside epoch 2
    assert not first.completed and first.results is None
    resumed = run_signnet(output_dir=tmp_path, **kw)
    reference = tiny_run.results.set_index("model")
    for name in ("gin_none", "gin_signnet"):
        assert resumed.results.set_index("model").loc[name, "test_mae"] == pytest.approx(
            reference.loc[name, "test_mae"], abs=1e-6)


@pytest.mark.parametrize("override, match", [
    (dict(encodings=("signet",)), "encodings must be"),
    (dict(backbones=()), "backbones must be"),
    (dict(k=0), "k must be an integer >= 1"),
    (dict(normalization="rw"), "normalization must be"),
    (dict(target="gap"), "target must be one of"),
    (dict(hidden=10), "multiple of 4"),
])
def test_bad_config_raises(tmp_path, override, match):
    with pytest.raises(ValueError, match=match):
        run_signnet(output_dir=tmp_path / "bad", **{**TINY, **override})
    with pytest.raises(TypeError, match="unknown parameter"):
        run_signnet(output_dir=tmp_path / "bad", nonsense=1)


def test_seeds_table_is_mean_and_std_of_the_runs(tmp_path):
    kw = {k: v for k, v in TINY.items() if k != "seed"}
    table = run_signnet_seeds((1, 2), output_dir=tmp_path, backbones=("gin",), encodings=("none", "lappe", "signnet"),
                              **kw)
    per_seed = {s: pd.read_csv(tmp_path / f"seed_{s}" / "results.csv").set_index("model") for s in (1, 2)}
    t = table.set_index("model")
    for name in ("gin_none", "gin_lappe", "gin_signnet"):
        maes = [per_seed[s].loc[name, "test_mae"] for s in (1, 2)]
        assert t.loc[name, "test_mae_seed1"] == pytest.approx(maes[0])
        assert t.loc[name, "test_mae_mean"] == pytest.approx(sum(maes) / 2)
        assert t.loc[name, "test_mae_std"] == pytest.approx(abs(maes[0] - maes[1]) / 2**0.5)
    assert per_seed[1].loc["gin_none", "test_mae"] != per_seed[2].loc["gin_none", "test_mae"]
    metrics = json.loads((tmp_path / "seeds_metrics.json").read_text())
    holds = [bool(per_seed[s].loc["gin_none", "test_mae"] >= per_seed[s].loc["gin_lappe", "test_mae"]
                  >= per_seed[s].loc["gin_signnet", "test_mae"]) for s in (1, 2)]
    assert metrics["paper_order_none_ge_lappe_ge_signnet"]["gin"]["seeds_holding"] == sum(holds)
    cells = pd.read_csv(tmp_path / "seeds_mae_table.csv", index_col=0)
    assert list(cells.columns) == ["none", "lappe", "signnet"] and "+-" in cells.loc["gin", "none"]
    with pytest.raises(ValueError, match="seeds must be distinct"):
        run_signnet_seeds((1, 1), output_dir=tmp_path / "bad", **kw)

"""workbench.pipelines.spectral_filters.run_filter_learning: a tiny run writes consistent files, the exact
least-squares reference recovers the filters, the trained invariant models keep their invariances and LapPE does
not; bad config is refused before anything is written."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from workbench.pipelines.spectral_filters import FilterRunConfig, filter_graphs, run_filter_learning
from workbench.spectral import spectral_filter

pytestmark = pytest.mark.unit

TINY = dict(n_train=40, n_val=10, n_test=12, n_min=6, n_max=10, k=10, hidden=8, layers=2, epochs=2,
            batch_size=10, seed=3)


def test_tiny_run(tmp_path):
    results = run_filter_learning(output_dir=tmp_path, **TINY)
    assert len(results) == 3 * 5
    for f in ("results.csv", "mse_table.csv", "metrics.json", "run_config.json"):
        assert (tmp_path / f).is_file(), f
    table = pd.read_csv(tmp_path / "mse_table.csv", index_col=0)
    assert list(table.index) == ["low_pass", "high_pass", "band_pass"]
    assert list(table.columns) == ["none", "lappe", "signnet", "basisnet", "exact_ls"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    r = results.set_index(["filter", "model"])
    for f in table.index:
        assert r.loc[(f, "exact_ls"), "relative_mse"] < 1e-2  # the true model class fits almost exactly
        assert metrics["mse_table"][f]["signnet"] == pytest.approx(r.loc[(f, "signnet"), "test_mse"])
        assert r.loc[(f, "signnet"), "sign_flip_change"] <= 1e-5  # float32 models
        assert r.loc[(f, "basisnet"), "basis_change_change"] <= 1e-5
        assert r.loc[(f, "lappe"), "sign_flip_change"] > 1e-4
    again = run_filter_learning(output_dir=tmp_path, **TINY)  # resumes: same numbers
    pd.testing.assert_frame_equal(again.drop(columns="seconds"), results.drop(columns="seconds"))


def test_targets_are_the_filtered_signals():
    config = FilterRunConfig(**TINY)
    items = filter_graphs(8, config, torch.Generator().manual_seed(0))
    assert [int(g.graph.x.shape[0]) for g in items] and all(6 <= g.graph.x.shape[0] <= 12 for g in items)
    for g in items:
        n = g.graph.x.shape[0]
        torch.testing.assert_close(g.target[:, 1:2], spectral_filter(g.graph.edge_index, n, g.signal, "high_pass"))


@pytest.mark.parametrize("override, match", [
    (dict(filters=("lowpass",)), "filters must be"),
    (dict(models=()), "models must be"),
    (dict(k=8), "k must be >= n_max"),
    (dict(n_min=12), "n_max must be >= n_min"),
    (dict(er_p=0.0), "er_p must be"),
])
def test_bad_config(tmp_path, override, match):
    with pytest.raises(ValueError, match=match):
        run_filter_learning(output_dir=tmp_path / "x", **{**TINY, **override})
    assert not (tmp_path / "x").exists()

"""workbench.pipelines.image_filters.run_image_filter_learning: a tiny run on a 5x5 grid writes consistent files,
the exact spectral reference recovers the filters, the trained SignNet/BasisNet keep their invariances (LapPE does
not), runs resume; targets are the filtered images; bad config is refused before anything is written."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from workbench.pipelines.image_filters import ImageFilterConfig, image_filter_data, run_image_filter_learning
from workbench.spectral import grid_graph, spectral_filter

pytestmark = pytest.mark.unit

TINY = dict(size=5, n_train=6, n_val=2, n_test=3, partial_k=6, hidden=8, phi_hidden=4, layers=2, epochs=2,
            batch_size=3, filters=("low_pass", "comb"),
            models=("gcn", "gin", "chebnet", "lappe", "signnet", "basisnet", "signnet_k", "exact_ls"))


def test_tiny_run(tmp_path):
    results = run_image_filter_learning(output_dir=tmp_path, **TINY)
    assert len(results) == 2 * 8
    for f in ("results.csv", "mse_table.csv", "metrics.json", "run_config.json"):
        assert (tmp_path / f).is_file(), f
    table = pd.read_csv(tmp_path / "mse_table.csv", index_col=0)
    assert list(table.index) == ["low_pass", "comb"] and list(table.columns) == list(TINY["models"])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    r = results.set_index(["filter", "model"])
    for f in table.index:
        assert r.loc[(f, "exact_ls"), "relative_mse"] < 1e-6  # 25 nodes: the bumps resolve every eigenvalue
        assert metrics["mse_table"][f]["signnet"] == pytest.approx(r.loc[(f, "signnet"), "test_mse"])
        for m in ("gcn", "gin", "chebnet", "signnet", "signnet_k", "basisnet"):
            assert r.loc[(f, m), "sign_flip_change"] <= 1e-5, m  # float32 models
        assert r.loc[(f, "basisnet"), "basis_change_change"] <= 1e-5
        assert r.loc[(f, "lappe"), "sign_flip_change"] > 1e-4  # the non-invariant baseline
        assert r.loc[(f, "gcn"), "basis_change_change"] == 0.0
    again = run_image_filter_learning(output_dir=tmp_path, **TINY)  # resumes: same numbers
    pd.testing.assert_frame_equal(again.drop(columns="seconds"), results.drop(columns="seconds"))


def test_data_are_filtered_images_on_one_grid():
    config = ImageFilterConfig(**TINY)
    data = image_filter_data(config)
    assert [len(data[s]) for s in ("train", "val", "test")] == [6, 2, 3]
    edges = grid_graph(5, 5)
    for g in data["test"]:
        assert g.graph is data["train"][0].graph and g.graph.eigvecs.shape == (25, 25)
        assert 0.0 <= float(g.signal.min()) and float(g.signal.max()) <= 1.0
        torch.testing.assert_close(g.target[:, 1:2], spectral_filter(edges, 25, g.signal, "comb"))
    partial = image_filter_data(config, k=6)
    assert partial["train"][0].graph.eigvecs.shape == (25, 6)
    torch.testing.assert_close(partial["train"][0].signal, data["train"][0].signal)


@pytest.mark.parametrize("override, match", [
    (dict(filters=("lowpass",)), "filters must be"),
    (dict(models=()), "models must be"),
    (dict(models=("signnet", "signnet")), "models must be"),
    (dict(partial_k=26), "partial_k must be <= size"),
    (dict(size=1), "size must be"),
    (dict(lr=0.0), "lr must be"),
])
def test_bad_config(tmp_path, override, match):
    with pytest.raises(ValueError, match=match):
        run_image_filter_learning(output_dir=tmp_path / "x", **{**TINY, **override})
    assert not (tmp_path / "x").exists()

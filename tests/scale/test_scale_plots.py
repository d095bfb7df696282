"""The sweep summary figure: one line per model, the mean over seeds with their spread, failed points left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

from widgets import sweep_summary_figure  # noqa: E402


def _table() -> pd.DataFrame:
    rows = []
    for model, base in (("pointnet", 0.5), ("shape_mace", 0.9)):
        for n in (10, 20):
            for seed in (0, 1):
                rows.append({"point": f"{model}-{n}-{seed}", "models": f'["{model}"]', "n_train": n, "seed": seed,
                             "status": "ok", f"accuracy.{model}.o3": base + n / 100 + seed / 10})
    rows.append({"point": "bad", "models": '["pointnet"]', "n_train": 10, "seed": 2, "status": "failed"})
    return pd.DataFrame(rows)


def test_one_line_per_model_with_mean_and_std_over_seeds(tmp_path) -> None:
    table = _table()
    fig = sweep_summary_figure(table, "accuracy.{models}.o3", x="n_train", line="models")
    assert [t.name for t in fig.data] == ["pointnet", "shape_mace"]
    pointnet = fig.data[0]
    np.testing.assert_allclose(pointnet.y, [0.5 + 0.1 + 0.05, 0.5 + 0.2 + 0.05])  # the failed row is left out
    np.testing.assert_allclose(pointnet.error_y.array, [0.05, 0.05])
    assert list(pointnet.x) == ["10", "20"]
    path = tmp_path / "sweep.csv"
    table.to_csv(path, index=False)
    assert len(sweep_summary_figure(path, "accuracy.{models}.o3", x="seed", line="models").data) == 2


def test_missing_columns_and_no_success_are_clear_errors() -> None:
    table = _table()
    with pytest.raises(ValueError, match="no column"):
        sweep_summary_figure(table, "accuracy.{models}.o3", x="lr", line="models")
    with pytest.raises(ValueError, match="accuracy.{models}.so3"):
        sweep_summary_figure(table, "accuracy.{models}.so3", x="seed", line="models")
    with pytest.raises(ValueError, match="succeeded"):
        sweep_summary_figure(table.assign(status="failed"), "accuracy.{models}.o3", x="seed")

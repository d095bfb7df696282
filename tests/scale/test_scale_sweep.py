"""`workbench sweep`: grid validation before any work, a 4-point sweep of a tiny notebook on a 2-worker LocalCluster
(run folders, sweep.csv, failing points recorded with their cell), re-runs that skip what is done, and the same
sweep against a `dask scheduler` + `dask worker` started here."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from timeouts import scaled

from workbench import cli
from workbench.runner import ParameterValueError, UnknownParameterError
from workbench.sweep import (
    POINT_RECORD,
    SWEEP_TABLE,
    SchedulerUnreachableError,
    expand_grid,
    parse_grid_values,
    run_sweep,
    sweep_table,
)

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
TINY = Path(__file__).resolve().parent / "data" / "sweep_tiny.ipynb"
ERROR_CELL = 3  # the notebook's fourth cell raises for a negative x


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_grid_is_the_product_in_order_with_typed_values() -> None:
    points = expand_grid(TINY, {"x": ["1", 2.5], "model": ["a", "b"]})
    assert [p.parameters for p in points] == [{"x": 1.0, "model": "a"}, {"x": 1.0, "model": "b"},
                                              {"x": 2.5, "model": "a"}, {"x": 2.5, "model": "b"}]
    assert [p.name for p in points][:2] == ["x=1.0__model=a", "x=1.0__model=b"]
    assert len({p.name for p in points}) == 4
    assert parse_grid_values("tags", "u,['v', 'w']", ["t"]) == [["u"], ["v", "w"]]
    assert parse_grid_values("x", "1,-2", 1.0) == [1.0, -2.0]
    odd = expand_grid(TINY, {"model": ["a b", "a_b"]})  # unsafe characters: a hash keeps the folders apart
    assert odd[0].name != odd[1].name


@pytest.mark.parametrize(("grid", "error", "match"), [
    ({"lr": [1, 2]}, UnknownParameterError, r"(?s)unknown parameter\(s\) 'lr'.*x = 1.0"),
    ({}, ValueError, "empty grid"),
    ({"x": []}, ValueError, "non-empty list"),
    ({"x": [1, 1]}, ValueError, "repeated"),
    ({"output_dir": ["a"]}, ValueError, "cannot be swept"),
    ({"x": ["abc"]}, ParameterValueError, "'x'"),
])
def test_bad_grids_fail_before_any_work(tmp_path: Path, grid, error, match) -> None:
    with pytest.raises(error, match=match):
        run_sweep(TINY, grid, tmp_path / "sweep", progress=False)
    assert not (tmp_path / "sweep").exists()


def test_unreachable_scheduler_is_a_clear_error_before_any_work(tmp_path: Path, capsys) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.perf_counter()
    with pytest.raises(SchedulerUnreachableError, match="cannot reach a Dask scheduler"):
        run_sweep(TINY, {"x": [1]}, tmp_path / "sweep", scheduler=address, connect_timeout=1, progress=False)
    assert time.perf_counter() - start < scaled(30)
    assert not (tmp_path / "sweep").exists()
    code = cli.main(["sweep", str(TINY), "-p", "x", "1", "--scheduler", address, "--connect-timeout", "1",
                     "--output", str(tmp_path / "sweep")])
    assert code == 2 and "cannot reach a Dask scheduler" in capsys.readouterr().err
    with pytest.raises(ValueError, match="address"):
        run_sweep(TINY, {"x": [1]}, tmp_path / "sweep", scheduler="not an address", progress=False)


def test_cli_rejects_unknown_parameters_and_empty_grids(tmp_path: Path, capsys) -> None:
    assert cli.main(["sweep", str(TINY), "-p", "lr", "1,2", "--output", str(tmp_path / "s")]) == 2
    assert "unknown parameter(s) 'lr'" in capsys.readouterr().err
    assert cli.main(["sweep", str(TINY), "--output", str(tmp_path / "s")]) == 2
    assert "empty grid" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_table_flattens_scalar_metrics() -> None:
    record = {"point": "p", "parameters": {"x": 1.0, "tags": ["a"]}, "status": "ok", "seconds": 1.0,
              "error_cell": None, "error": None,
              "metrics": {"score": 2.0, "x": 5, "acc": {"m": {"o3": 0.5}}, "config": {"lr": 1}, "list": [1]}}
    row = sweep_table([record]).iloc[0].to_dict()
    assert row["acc.m.o3"] == 0.5 and row["metrics.x"] == 5 and row["x"] == 1.0 and row["tags"] == '["a"]'
    assert "config.lr" not in row and "list" not in row


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("sweep")
    result = run_sweep(TINY, {"x": [1, -1], "model": ["a", "b"]}, out, workers=2, progress=False)
    return out, result


def test_local_cluster_sweep_runs_every_point_and_records_failures(local_sweep) -> None:
    out, result = local_sweep
    assert (result.ran, result.skipped, result.failed) == (4, 0, 2)
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == sorted(["x=1.0__model=a", "x=1.0__model=b", "x=-1.0__model=a", "x=-1.0__model=b"])
    table = pd.read_csv(out / SWEEP_TABLE)
    assert len(table) == 4 and set(table["status"]) == {"ok", "failed"}
    ok, failed = table[table["status"] == "ok"], table[table["status"] == "failed"]
    assert list(ok["x"]) == [1.0, 1.0] and list(ok["score"]) == [2.0, 2.0]
    assert ok.set_index("model").loc["b", "per_model.b"] == 2.0
    assert (failed["error_cell"] == ERROR_CELL).all()
    assert failed["error"].str.contains("RuntimeError: negative x=-1.0").all()
    assert (table["seconds"] > 0).all()
    for name in folders:
        record = json.loads((out / name / POINT_RECORD).read_text())
        assert (out / name / "summary.md").is_file() and (out / name / TINY.name).is_file()
        assert (record["status"] == "ok") == (out / name / "metrics.json").is_file()


def test_rerun_skips_every_recorded_point(local_sweep, capsys) -> None:
    out, _ = local_sweep
    stamps = {p: p.stat().st_mtime_ns for p in out.glob(f"*/{POINT_RECORD}")}
    code = cli.main(["sweep", str(TINY), "-p", "x", "1,-1", "-p", "model", "a,b", "--output", str(out),
                     "--workers", "1", "--quiet"])
    text = capsys.readouterr().out
    assert code == 1  # failed points stay failed (and recorded) until --rerun-failed
    assert "ran 0, skipped 4" in text and "2 failed" in text and f"cell {ERROR_CELL}" in text
    assert {p: p.stat().st_mtime_ns for p in out.glob(f"*/{POINT_RECORD}")} == stamps
    assert len(pd.read_csv(out / SWEEP_TABLE)) == 4


@pytest.fixture()
def dask_cluster():
    """A `dask scheduler` and one `dask worker` (1 thread) on free ports, stopped afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    dask = str(Path(sys.executable).with_name("dask"))  # the `dask` command of this environment
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--dashboard-address", ":0"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([dask, "worker", address, "--nworkers", "1",
                               "--nthreads", "1", "--no-dashboard"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield address
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
        for proc in (worker, scheduler):
            try:
                proc.wait(timeout=scaled(30))
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow
def test_sweep_on_an_explicit_scheduler_and_rerun_failed(dask_cluster: str, tmp_path: Path) -> None:
    out = tmp_path / "remote"
    result = run_sweep(TINY, {"x": [3, -3]}, out, scheduler=dask_cluster, connect_timeout=scaled(60),
                       progress=False)
    assert (result.ran, result.skipped, result.failed) == (2, 0, 1)
    table = result.table.set_index("point")
    assert table.loc["x=3.0", "status"] == "ok" and table.loc["x=3.0", "score"] == 6.0
    assert table.loc["x=-3.0", "error_cell"] == ERROR_CELL
    again = run_sweep(TINY, {"x": [3, -3]}, out, scheduler=dask_cluster, rerun_failed=True,
                      connect_timeout=scaled(60), progress=False)
    assert (again.ran, again.skipped, again.failed) == (1, 1, 1)
    assert list(pd.read_csv(out / SWEEP_TABLE)["status"]) == ["ok", "failed"]

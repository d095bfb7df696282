"""Notebook sweeps on Dask: one papermill run (:func:`workbench.runner.run_notebook`) per point of a parameter grid.

``run_sweep(notebook, {"models": [...], "seed": [0, 1]}, "runs/sweep")`` expands the grid (the product of the
values, in the order given), runs every point on a Dask ``distributed`` cluster and gathers the results:

- the cluster is a ``LocalCluster`` of ``workers`` processes (one thread each; every notebook run starts its own
  kernel) unless ``scheduler`` names a running scheduler (``tcp://host:8786``: ``dask scheduler`` and
  ``dask worker`` processes, or a dask-jobqueue ``SLURMCluster``/``PBSCluster``'s address). The notebook and
  ``output_dir`` must then be on a file system that the workers see;
- each point runs in ``<output_dir>/<point>/`` (``<point>``: ``name=value`` pairs, e.g. ``models=pointnet__seed=1``),
  which gets the executed notebook, ``summary.md``, whatever the notebook writes, and ``sweep_point.json``: the
  point's parameters, ``status`` ("ok" or "failed"), wall ``seconds``, for a failure the ``error_cell`` (index of
  the failing cell of the notebook) and ``error`` (``ename: evalue``), and the notebook's ``metrics.json``;
- ``<output_dir>/sweep.csv`` (pandas) has one row per point: ``point``, the parameters, ``status``, ``seconds``,
  ``error_cell``, ``error`` and every scalar of ``metrics.json`` (nested keys joined by ``.``, e.g.
  ``accuracy.pointnet.o3``; the ``config`` subtree is left out; a key that clashes with a column gets a ``metrics.``
  prefix). It is rewritten after every finished point;
- it resumes: a point whose ``sweep_point.json`` says "ok" is not run again; one that failed is run again only
  with ``rerun_failed=True``; a point without a record (interrupted) runs again;
- a failing point is recorded and does not stop the others.

Everything is validated before any work starts: parameter names against the notebook's ``parameters`` cell
(:class:`~workbench.runner.UnknownParameterError` lists the valid ones), values against their defaults' types, an
empty grid, and the scheduler address (:class:`SchedulerUnreachableError` after ``connect_timeout`` seconds).
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from workbench.runner import (
    OUTPUT_DIR_PARAMETER,
    NotebookRunError,
    UnknownParameterError,
    notebook_parameters,
    parse_parameter_value,
    run_notebook,
)

__all__ = ["POINT_RECORD", "SWEEP_TABLE", "SchedulerUnreachableError", "SweepPoint", "SweepResult", "expand_grid",
           "parse_grid_values", "point_name", "run_sweep", "sweep_table"]

#: The record each point's folder gets (status, seconds, error, metrics).
POINT_RECORD = "sweep_point.json"
#: The table of all points in the sweep folder.
SWEEP_TABLE = "sweep.csv"
_FIXED_COLUMNS = ("point", "status", "seconds", "error_cell", "error")


class SchedulerUnreachableError(ConnectionError):
    """No Dask scheduler (or no worker) answered at the given address within the connect timeout."""


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: its parameter values (converted to the notebook defaults' types) and its folder name."""

    parameters: dict[str, Any]
    name: str


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: the ``table`` (also ``sweep.csv``), the sweep folder, how many points ran
    (``ran``), were skipped as already done (``skipped``) and failed in all (``failed``), and the Dask dashboard
    address (None when the dashboard is not running, e.g. without bokeh)."""

    table: pd.DataFrame
    output_dir: Path
    ran: int
    skipped: int
    failed: int
    dashboard_link: str | None = None
    files: dict[str, Path] = field(default_factory=dict)


def _split_top_level(text: str) -> list[str]:
    """``"a,[1, 2],'x,y'"`` -> ``["a", "[1, 2]", "'x,y'"]``: commas inside brackets or quotes do not split."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_grid_values(name: str, raw: str, default: Any) -> list[Any]:
    """The values of one grid axis from command-line text ``"V1,V2,..."`` (commas inside brackets or quotes do not
    split), each converted to the type of the parameter's ``default`` (:func:`workbench.runner.parse_parameter_value`).
    For a list parameter a bare word means a one-element list: ``"pointnet,[mace, schnet]"`` ->
    ``[["pointnet"], ["mace", "schnet"]]``.

    Examples:
        >>> parse_grid_values("seed", "0,1,2", 0)
        [0, 1, 2]
        >>> parse_grid_values("models", "pointnet,['mace','schnet']", ["shape_mace"])
        [['pointnet'], ['mace', 'schnet']]
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"parameter {name!r}: give one or more comma-separated values, got {raw!r}")
    pieces = _split_top_level(raw)
    if any(not p for p in pieces):
        raise ValueError(f"parameter {name!r}: empty value in {raw!r} (values are separated by single commas)")
    values = []
    for piece in pieces:
        if isinstance(default, list) and not piece.startswith("["):
            try:
                item = ast.literal_eval(piece)
            except (ValueError, SyntaxError):
                item = piece
            values.append([item])
        else:
            values.append(parse_parameter_value(name, piece, default))
    return values


def _slug(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        text = "-".join(_slug(v) for v in value)
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def point_name(parameters: Mapping[str, Any]) -> str:
    """The folder name of a point: ``name=value`` pairs joined by ``__`` (unsafe characters replaced), with a hash
    of the exact values appended when it is long or when the slugs lose information.

    Examples:
        >>> point_name({"models": ["pointnet"], "seed": 1})
        'models=pointnet__seed=1'
    """
    text = "__".join(f"{_slug(k)}={_slug(v)}" for k, v in parameters.items())
    scalar, item = re.compile(r"^[A-Za-z0-9._-]+$"), re.compile(r"^[A-Za-z0-9._]+$")  # list items joined by "-"
    lossless = all(scalar.match(str(k)) for k in parameters) and all(
        all(item.match(str(v)) for v in value) if isinstance(value, (list, tuple)) else scalar.match(str(value))
        for value in parameters.values())
    if len(text) > 80 or not lossless:
        digest = hashlib.sha1(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()[:10]
        text = f"{text[:60]}-{digest}"
    return text


def _describe(declared: Mapping[str, Any]) -> str:
    return "\n".join(f"  {p.describe()}" for p in declared.values()) or "  (this notebook declares no parameters)"


def expand_grid(notebook: str | Path, grid: Mapping[str, Sequence[Any]]) -> list[SweepPoint]:
    """The points of ``grid`` (``{name: [values]}``, the product in the order given) for ``notebook``.

    Each name must be declared in the notebook's ``parameters`` cell; string values are converted to the type of
    the default. Raises, before anything runs: :class:`~workbench.runner.UnknownParameterError` (names the valid
    parameters), ``ValueError`` for an empty grid, an axis without values, repeated values or ``output_dir`` (the
    sweep sets it), :class:`~workbench.runner.ParameterValueError` for a value of the wrong type,
    ``FileNotFoundError`` for a missing notebook.
    """
    declared = notebook_parameters(notebook)
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"empty grid: give at least one parameter with values (-p NAME V1,V2); {Path(notebook).name} "
                         f"declares:\n{_describe(declared)}")
    unknown = [name for name in grid if name not in declared]
    if unknown:
        raise UnknownParameterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for {Path(notebook).name}; valid parameters:\n"
            + _describe(declared))
    if OUTPUT_DIR_PARAMETER in grid:
        raise ValueError(f"{OUTPUT_DIR_PARAMETER!r} cannot be swept: every point gets its own folder in the sweep's "
                         "output folder")
    axes: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"parameter {name!r}: give a non-empty list of values, got {values!r}")
        default = declared[name].default
        converted = [parse_parameter_value(name, v, default) for v in values]
        if isinstance(default, float):  # an int for a float parameter is that float (1 -> 1.0)
            converted = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in converted]
        keys = [json.dumps(v, sort_keys=True, default=str) for v in converted]
        if len(set(keys)) != len(keys):
            raise ValueError(f"parameter {name!r}: repeated values in {converted!r}")
        axes[name] = converted
    points = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]
    return [SweepPoint(p, point_name(p)) for p in points]


def _flatten(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if not prefix and key == "config":
                continue
            out.update(_flatten(value, name + "."))
        elif value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def _table_row(record: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"point": record["point"]}
    for name, value in record["parameters"].items():
        row[name] = value if isinstance(value, (bool, int, float, str)) or value is None else json.dumps(value)
    row.update({k: record.get(k) for k in _FIXED_COLUMNS[1:]})
    for key, value in _flatten(record.get("metrics") or {}).items():
        row[f"metrics.{key}" if key in row else key] = value
    return row


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _read_record(folder: Path) -> dict[str, Any] | None:
    path = folder / POINT_RECORD
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None  # a record cut short: run the point again


def run_point(notebook: str, parameters: dict[str, Any], folder: str, name: str,
              timeout: int | None = None) -> dict[str, Any]:
    """Run one point (on a Dask worker): the notebook in ``folder``; its record is written to
    ``folder/sweep_point.json`` and returned. A failing notebook gives status "failed", never an exception."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / POINT_RECORD).unlink(missing_ok=True)
    record: dict[str, Any] = {"point": name, "parameters": parameters, "status": "failed", "seconds": None,
                              "error_cell": None, "error": None, "metrics": None}
    start = time.perf_counter()
    try:
        result = run_notebook(notebook, parameters, out, timeout=timeout)
        record.update(status="ok", metrics=result.metrics)
    except NotebookRunError as exc:
        record.update(error_cell=exc.cell_index, error=f"{exc.ename}: {exc.evalue}")
    except Exception as exc:  # a dead kernel, a cell timeout...: recorded, the sweep goes on
        first = str(exc).splitlines()[0] if str(exc) else ""
        record.update(error=f"{type(exc).__name__}: {first}")
    record["seconds"] = time.perf_counter() - start
    _write_atomic(out / POINT_RECORD, json.dumps(record, indent=2, default=str) + "\n")
    return record


def sweep_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The ``sweep.csv`` table of point records (one row each, in the order given)."""
    return pd.DataFrame([_table_row(r) for r in records])


_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ucx|inproc)://)?[^\s/:]+(?::\d+)?$")


def _connect(scheduler: str | None, workers: int, connect_timeout: float) -> tuple[Any, Any]:
    """(client, cluster we started or None)."""
    from distributed import Client, LocalCluster  # optional heavy dependency (the 'scale' extra): sweeps only

    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        return Client(cluster), cluster
    try:
        client = Client(scheduler, timeout=connect_timeout)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachableError(
            f"cannot reach a Dask scheduler at {scheduler!r} within {connect_timeout:g} s ({type(exc).__name__}); "
            "start one (dask scheduler; dask worker ADDRESS) or leave the address out for a local cluster") from None
    try:
        client.wait_for_workers(1, timeout=connect_timeout)
    except (OSError, TimeoutError):
        client.close()
        raise SchedulerUnreachableError(
            f"the Dask scheduler at {scheduler!r} has no worker after {connect_timeout:g} s; start one with "
            f"dask worker {scheduler}") from None
    return client, None


def _dashboard(client: Any) -> str | None:
    services = client.scheduler_info().get("services", {})
    return client.dashboard_link if "dashboard" in services else None


def run_sweep(notebook: str | Path, grid: Mapping[str, Sequence[Any]], output_dir: str | Path, *,
              scheduler: str | None = None, workers: int = 2, rerun_failed: bool = False,
              timeout: int | None = None, connect_timeout: float = 5.0, progress: bool = True) -> SweepResult:
    """Run ``notebook`` at every point of ``grid`` on Dask and gather ``sweep.csv`` in ``output_dir`` (module
    docstring).

    Args:
        grid: ``{parameter: [values]}``; strings are converted to the defaults' types.
        scheduler: a Dask scheduler address (``tcp://host:port``); None: a ``LocalCluster`` of ``workers``
            processes.
        rerun_failed: run points whose record says "failed" again (those that succeeded are always skipped).
        timeout: per-cell timeout of each notebook run (seconds; None: no limit).
        connect_timeout: seconds to wait for the scheduler and for its first worker.

    Raises (before any point runs): UnknownParameterError, ParameterValueError, ValueError (empty grid, bad
    ``workers`` or address), FileNotFoundError, SchedulerUnreachableError; ImportError naming the ``scale`` extra
    when dask.distributed is missing.

    Examples:
        >>> from workbench.sweep import expand_grid
        >>> from workbench.runner import repo_root
        >>> [p.name for p in expand_grid(repo_root() / "notebooks/pipelines/shapes.ipynb",
        ...                              {"models": [["pointnet"], ["shape_mace"]], "seed": [0, 1]})][:2]
        ['models=pointnet__seed=0', 'models=pointnet__seed=1']
    """
    notebook = Path(notebook).resolve()
    points = expand_grid(notebook, grid)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if scheduler is not None and not _ADDRESS.match(str(scheduler)):
        raise ValueError(f"scheduler must be an address like tcp://host:8786, got {scheduler!r}")
    if not (isinstance(connect_timeout, (int, float)) and math.isfinite(connect_timeout) and connect_timeout > 0):
        raise ValueError(f"connect_timeout must be a positive number of seconds, got {connect_timeout!r}")
    try:
        import distributed  # noqa: F401  optional heavy dependency (the 'scale' extra): sweeps only
    except ImportError as err:
        raise ImportError("workbench sweep needs dask.distributed (the 'scale' extra): pip install "
                          "'equivariant-workbench[scale]' or pip install 'dask[distributed]'") from err
    client, cluster = _connect(scheduler, workers, connect_timeout)
    out = Path(output_dir).resolve()
    records: dict[str, dict[str, Any]] = {}
    todo: list[SweepPoint] = []
    for point in points:
        record = _read_record(out / point.name)
        if record is not None and (record.get("status") == "ok" or (record.get("status") == "failed"
                                                                    and not rerun_failed)):
            records[point.name] = record
        else:
            todo.append(point)
    skipped = len(points) - len(todo)
    table_path = out / SWEEP_TABLE
    dashboard = None

    def write_table() -> pd.DataFrame:
        rows = [records.get(p.name) or {"point": p.name, "parameters": p.parameters, "status": "pending"}
                for p in points]
        table = sweep_table(rows)
        _write_atomic(table_path, table.to_csv(index=False))
        return table

    try:
        from distributed import as_completed  # optional heavy dependency (the 'scale' extra): sweeps only

        out.mkdir(parents=True, exist_ok=True)
        dashboard = _dashboard(client)
        if progress:
            where = f"scheduler {scheduler}" if scheduler else f"a local cluster of {workers} worker(s)"
            tqdm.write(f"sweep: {len(points)} point(s), {skipped} already done, {len(todo)} to run on {where}"
                       + (f"; dashboard: {dashboard}" if dashboard else ""))
        write_table()
        futures = [client.submit(run_point, str(notebook), p.parameters, str(out / p.name), p.name, timeout,
                                 key=f"sweep-{p.name}-{time.time_ns()}", pure=False) for p in todo]
        with tqdm(total=len(todo), desc="sweep", disable=not progress) as bar:
            for future in as_completed(futures):
                record = future.result()
                records[record["point"]] = record
                bar.update(1)
                if record["status"] != "ok" and progress:
                    tqdm.write(f"sweep: {record['point']} failed in cell {record['error_cell']}: {record['error']}")
                write_table()
        table = write_table()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    failed = int((table["status"] != "ok").sum())
    return SweepResult(table, out, len(todo), skipped, failed, dashboard, {"table": table_path})

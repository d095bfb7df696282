"""``summary.md``: a readable page about one notebook run, written by the runner into the run folder.

It holds what a user looks for first after a headless run: whether it worked (and if not, which cell failed and
where the partial notebook is), the parameters (overridden ones marked), the metrics (``metrics.json`` flattened to
``key | value`` rows without nested ``config`` blocks, and ``comparison.csv`` as a table when the pipeline wrote
one; numbers to 6 significant digits), the figures and every other file of the folder with its size. Everything
is read from the files the notebook wrote; nothing is recomputed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RunOutcome", "write_run_summary", "SUMMARY_NAME", "FIGURE_SUFFIXES"]

SUMMARY_NAME = "summary.md"
#: Files listed under "Figures" (everything else is listed under "Files").
FIGURE_SUFFIXES = (".html", ".png", ".svg", ".pdf")
#: Files that are support material, not results (listed last, under "Files").
_SUPPORT_FILES = {"plotly.min.js"}
_MAX_TABLE_ROWS = 80
_SKIPPED_METRIC_KEYS = {"config", "run_config"}


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: ``ok``; for a failure the source-cell index, execution count, exception name and value."""

    ok: bool
    seconds: float
    cell_index: int | None = None
    execution_count: int | None = None
    ename: str = ""
    evalue: str = ""


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value) if isinstance(value, (list, dict)) else repr(value)
    if isinstance(value, float):
        text = f"{value:.6g}"
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:_MAX_TABLE_ROWS]]
    if len(rows) > _MAX_TABLE_ROWS:
        lines.append(f"\n({len(rows) - _MAX_TABLE_ROWS} more rows in the file)")
    return lines


def _number(text: str) -> Any:
    """A CSV cell: decimals as floats (shown to 6 significant digits), everything else as written."""
    try:
        return float(text) if any(c in text for c in ".eE") and text.strip() else text
    except ValueError:
        return text


def _flatten(metrics: Any, prefix: str = "") -> list[list[Any]]:
    """``{"a": {"b": 1}}`` -> ``[["a.b", 1]]``; nested ``config`` blocks (the run's settings, already in the
    parameters table and the pipeline's own config file) are left out."""
    if isinstance(metrics, Mapping):
        rows: list[list[Any]] = []
        for key, value in metrics.items():
            if key in _SKIPPED_METRIC_KEYS and isinstance(value, Mapping):
                continue
            rows += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    return [[prefix or "(value)", metrics]]


def _size(nbytes: int) -> str:
    for unit in ("B", "kB", "MB"):
        if nbytes < 1000 or unit == "MB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return f"{nbytes:.1f} GB"


def write_run_summary(
    output_dir: str | Path,
    *,
    notebook: str | Path,
    output_notebook: str | Path,
    parameters: Mapping[str, Any],
    defaults: Mapping[str, Any],
    outcome: RunOutcome,
    given: Collection[str] | None = None,
) -> Path:
    """Write ``<output_dir>/summary.md`` and return its path.

    Args:
        output_dir: the run folder (must exist).
        notebook: the source notebook that was run.
        output_notebook: the executed (or, on failure, partial) notebook in the run folder.
        parameters: the values given to the run ``{name: value}`` (overrides and the injected ``output_dir``).
        defaults: every declared parameter's default ``{name: default}``.
        outcome: how the run ended (:class:`RunOutcome`).
        given: the names the user overrode; the other names in ``parameters`` were set by the runner (the run
            folder as ``output_dir``). None: every name in ``parameters`` counts as given.
    """
    out = Path(output_dir)
    if not out.is_dir():
        raise FileNotFoundError(f"output_dir must be an existing run folder, got {out}")
    if not isinstance(outcome, RunOutcome):
        raise TypeError(f"outcome must be a RunOutcome, got {type(outcome).__name__}")
    notebook, output_notebook = Path(notebook), Path(output_notebook)
    lines = [f"# {notebook.name}: {'finished' if outcome.ok else 'FAILED'} in {outcome.seconds:.1f} s", ""]
    lines += [f"- source notebook: `{notebook}`", f"- executed notebook: `{_relative(output_notebook, out)}`"]
    if not outcome.ok:
        where = f"cell {outcome.cell_index}" if outcome.cell_index is not None else "a cell"
        if outcome.execution_count is not None:
            where += f" (execution count {outcome.execution_count})"
        lines += ["", "## Failure", "",
                  f"{where} raised `{outcome.ename}: {outcome.evalue}`. The partial notebook above holds the outputs "
                  "up to that cell and the traceback (cells are counted from 0 in the source notebook)."]

    lines += ["", "## Parameters", ""]
    if defaults:
        given = set(parameters) if given is None else set(given)
        rows = [[name, parameters.get(name, default),
                 "given" if name in given else "runner" if name in parameters else "default"]
                for name, default in defaults.items()]
        lines += _table(["name", "value", "source"], rows)
    else:
        lines.append("(the notebook declares no parameters)")

    lines += ["", "## Metrics", ""]
    metrics_path, comparison_path = out / "metrics.json", out / "comparison.csv"
    found = False
    if metrics_path.is_file():
        found = True
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
            lines += ["From `metrics.json`:", ""] + _table(["metric", "value"], _flatten(metrics))
        except json.JSONDecodeError as exc:
            lines.append(f"`metrics.json` is not valid JSON ({exc})")
    if comparison_path.is_file():
        found = True
        with comparison_path.open(newline="", encoding="utf-8") as f:
            table = list(csv.reader(f))
        if table:
            lines += ["", "From `comparison.csv`:", ""] + _table(table[0], [[_number(v) for v in row]
                                                                         for row in table[1:]])
    if not found:
        lines.append("(no metrics.json or comparison.csv in this folder)")

    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != SUMMARY_NAME)
    figures = [p for p in files if p.suffix in FIGURE_SUFFIXES]
    others = [p for p in files if p not in figures and p != output_notebook and p.name not in _SUPPORT_FILES]
    support = [p for p in files if p.name in _SUPPORT_FILES]
    lines += ["", "## Figures", ""]
    lines += [f"- [{_relative(p, out)}]({_relative(p, out)})" for p in figures] or ["(none)"]
    lines += ["", "## Files", ""]
    lines += [f"- `{_relative(p, out)}` ({_size(p.stat().st_size)})" for p in others + support] or ["(none)"]
    path = out / SUMMARY_NAME
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)

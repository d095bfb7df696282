"""Headless notebook runs: read a notebook's parameters, validate overrides, execute it with papermill.

Conventions (see DESIGN.md, "Notebooks"):

* a notebook has one cell tagged ``parameters`` holding plain assignments ``name = literal  # comment``;
* a notebook that writes results declares ``output_dir``; the runner sets it to the run folder
  ``runs/<notebook-stem>-<YYYYmmdd-HHMMSS>/`` (or ``--out``), where the executed notebook is also written;
* a failing cell keeps the partial executed notebook and reports which cell failed.

Reading parameters parses the notebook JSON with :mod:`ast`; only :func:`run_notebook` imports papermill,
lazily, so importing :mod:`workbench` never pulls in Jupyter.
"""

from __future__ import annotations

import ast
import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "NotebookParameter",
    "NotebookRunError",
    "UnknownParameterError",
    "ParameterValueError",
    "RunResult",
    "notebook_parameters",
    "parse_parameter_value",
    "run_notebook",
    "find_notebooks",
    "repo_root",
]

OUTPUT_DIR_PARAMETER = "output_dir"


class UnknownParameterError(ValueError):
    """A parameter name that the notebook's ``parameters`` cell does not declare."""


class ParameterValueError(ValueError):
    """A parameter value that cannot be converted to the type of the parameter's default."""


class NotebookRunError(RuntimeError):
    """A cell raised during execution. The partial notebook is kept at :attr:`output_notebook`."""

    def __init__(self, message: str, *, cell_index: int | None, execution_count: int | None,
                 ename: str, evalue: str, output_notebook: Path):
        super().__init__(message)
        self.cell_index = cell_index
        self.execution_count = execution_count
        self.ename = ename
        self.evalue = evalue
        self.output_notebook = output_notebook


@dataclass(frozen=True)
class NotebookParameter:
    """One assignment of a ``parameters`` cell: its name, default value (a Python literal) and comment."""

    name: str
    default: Any
    comment: str = ""

    @property
    def type_name(self) -> str:
        return type(self.default).__name__

    def describe(self) -> str:
        text = f"{self.name} = {self.default!r} ({self.type_name})"
        return f"{text}  # {self.comment}" if self.comment else text


@dataclass
class RunResult:
    """Where a run wrote its outputs, and the metrics it wrote (``metrics.json``), if any."""

    output_dir: Path
    output_notebook: Path
    parameters: dict[str, Any]
    metrics: dict[str, Any] | None = field(default=None)


def repo_root() -> Path:
    """The project checkout this package was imported from (the folder holding ``notebooks/``)."""
    return Path(__file__).resolve().parent.parent


def _load_notebook_json(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"notebook not found: {path}")
    if path.suffix != ".ipynb":
        raise ValueError(f"notebook must be an .ipynb file, got {path}")
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def notebook_parameters(path: str | Path) -> dict[str, NotebookParameter]:
    """Parameters declared by the ``parameters``-tagged cell of notebook ``path``, in declaration order.

    Each top-level assignment ``name = <literal>`` (or ``name: type = <literal>``) is a parameter; a trailing
    ``# comment`` documents it. A notebook without such a cell has no parameters. A non-literal default raises
    ``ValueError`` (parameters must be plain values so that they can be overridden from the command line).
    """
    nb = _load_notebook_json(Path(path))
    cells = [c for c in nb.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return {}
    if len(cells) > 1:
        raise ValueError(f"{path}: more than one cell is tagged 'parameters'; expected exactly one")
    source = _cell_source(cells[0])
    lines = source.splitlines()
    tree = ast.parse(source)
    params: dict[str, NotebookParameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value_node = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value_node = node.target.id, node.value
        else:
            continue
        try:
            default = ast.literal_eval(value_node)
        except ValueError as exc:
            raise ValueError(
                f"{path}: parameter {name!r} must have a literal default (number, string, bool, None, "
                f"list, dict), got {ast.unparse(value_node)!r}"
            ) from exc
        line = lines[node.end_lineno - 1] if node.end_lineno else ""
        comment = line.split("#", 1)[1].strip() if "#" in line[value_node.end_col_offset or 0:] else ""
        params[name] = NotebookParameter(name=name, default=default, comment=comment)
    return params


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_parameter_value(name: str, raw: Any, default: Any) -> Any:
    """Convert ``raw`` (usually a command-line string) to the type of the parameter's ``default``.

    bool accepts true/false/yes/no/on/off/1/0; int and float parse numbers (an int default accepts only
    integers); a str default takes the text as is; list/dict/None defaults take a Python literal.
    Raises :class:`ParameterValueError` naming the parameter and the expected type.
    """
    if not isinstance(raw, str):
        return raw
    expected = type(default).__name__
    try:
        if isinstance(default, bool):
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, str):
            return raw
        value = ast.literal_eval(raw)
        if default is not None and not isinstance(value, type(default)):
            raise ValueError(raw)
        return value
    except (ValueError, SyntaxError) as exc:
        raise ParameterValueError(
            f"parameter {name!r}: cannot read {raw!r} as {expected} (default is {default!r})"
        ) from exc


def _describe_parameters(params: dict[str, NotebookParameter]) -> str:
    if not params:
        return "  (this notebook declares no parameters)"
    return "\n".join(f"  {p.describe()}" for p in params.values())


def _timestamped_dir(notebook: Path, runs_dir: Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = runs_dir / f"{notebook.stem.lower()}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = runs_dir / f"{notebook.stem.lower()}-{stamp}-{n}"
    return out


def find_notebooks(root: str | Path | None = None) -> list[Path]:
    """Every ``.ipynb`` under ``root`` (default: the checkout's ``notebooks/``), checkpoints excluded."""
    root = Path(root) if root is not None else repo_root() / "notebooks"
    return sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


_PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def _failed_cell(nb: Any) -> tuple[int | None, int | None, str, str]:
    """(cell index, execution count, ename, evalue) of the first cell with an error output.

    The index counts cells of the *source* notebook (0-based): cells papermill inserted (the injected
    parameters, the error banner) are skipped, so it points at the cell the user wrote.
    """
    index = -1
    for cell in nb.cells:
        if _PAPERMILL_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        index += 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, cell.get("execution_count"), output.get("ename", ""), output.get("evalue", "")
    return None, None, "", ""


def run_notebook(
    notebook: str | Path,
    parameters: dict[str, Any] | None = None,
    output_dir: str | Path | None = None,
    *,
    runs_dir: str | Path = "runs",
    kernel_name: str = "python3",
    progress_bar: bool = False,
    timeout: int | None = None,
) -> RunResult:
    """Execute ``notebook`` headlessly with papermill and return where its outputs went.

    Args:
        notebook: path to the ``.ipynb``.
        parameters: overrides ``{name: value}``; string values are converted to the default's type
            (:func:`parse_parameter_value`). Names must be declared in the parameters cell.
        output_dir: run folder; default ``<runs_dir>/<stem>-<timestamp>``. Created if missing. If the notebook
            declares ``output_dir``, it is set to this folder (absolute path).
        kernel_name: Jupyter kernel; ``python3`` is the interpreter running this code.
        timeout: per-cell timeout in seconds (None = no limit).

    Raises:
        UnknownParameterError: a name not declared by the notebook (the message lists the valid ones).
        ParameterValueError: a value that does not convert to the parameter's type.
        NotebookRunError: a cell raised; the partial executed notebook is kept in the run folder.
    """
    notebook = Path(notebook).resolve()
    declared = notebook_parameters(notebook)
    parameters = dict(parameters or {})
    unknown = [name for name in parameters if name not in declared]
    if unknown:
        raise UnknownParameterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for {notebook.name}; valid parameters:\n"
            + _describe_parameters(declared)
        )
    values = {name: parse_parameter_value(name, raw, declared[name].default) for name, raw in parameters.items()}

    out = Path(output_dir) if output_dir is not None else _timestamped_dir(notebook, Path(runs_dir))
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if OUTPUT_DIR_PARAMETER in declared and OUTPUT_DIR_PARAMETER not in values:
        values[OUTPUT_DIR_PARAMETER] = str(out)
    output_notebook = out / notebook.name

    import papermill  # lazy: Jupyter stack only when running notebooks
    from papermill.exceptions import PapermillExecutionError  # same reason

    try:
        papermill.execute_notebook(
            str(notebook),
            str(output_notebook),
            parameters=values,
            kernel_name=kernel_name,
            cwd=str(notebook.parent),
            progress_bar=progress_bar,
            log_output=False,
            execution_timeout=timeout,
            store_widget_state=False,
        )
    except PapermillExecutionError as exc:
        import nbformat  # lazy: Jupyter stack only when running notebooks

        cell_index, count, ename, evalue = None, exc.exec_count, exc.ename, exc.evalue
        if output_notebook.exists():
            cell_index, count2, ename2, evalue2 = _failed_cell(nbformat.read(output_notebook, as_version=4))
            count = count if count is not None else count2
            ename, evalue = ename or ename2, evalue or evalue2
        where = f"cell {cell_index}" if cell_index is not None else "a cell"
        if count is not None:
            where += f" (execution count {count})"
        raise NotebookRunError(
            f"{notebook.name}: {where} raised {ename}: {evalue}\npartial output notebook: {output_notebook}",
            cell_index=cell_index, execution_count=count, ename=ename, evalue=evalue,
            output_notebook=output_notebook,
        ) from None

    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
    return RunResult(output_dir=out, output_notebook=output_notebook, parameters=values, metrics=metrics)

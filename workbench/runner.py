"""Headless notebook runs: read a notebook's parameters, validate overrides, execute it with papermill.

Conventions (see DESIGN.md, "Notebooks"):

* a notebook has one cell tagged ``parameters`` holding plain assignments ``name = literal  # comment``;
* a notebook that writes results declares ``output_dir``; the runner sets it to the run folder
  ``runs/<notebook-stem>-<YYYYmmdd-HHMMSS>/`` (or ``--out``), where the executed notebook is also written;
* a failing cell keeps the partial executed notebook and reports which cell failed;
* every run folder gets a ``summary.md`` (parameters, metrics, figures and files; see :mod:`workbench.run_summary`).

Headless kernels are started with IPC transport (Unix sockets: no loopback TCP ports, hence no "running over TCP
without encryption" warning) and with ``tqdm.auto`` switched to its text bar, so that progress bars end up in the
executed notebook as their final text rather than as widgets frozen at 0/N; stream outputs are coalesced
(carriage returns applied). What the kernel prints can be echoed live (``echo=sys.stderr``), progress redraws
reduced to the lines a terminal would keep.

Reading parameters parses the notebook JSON with :mod:`ast`; only :func:`run_notebook` imports papermill,
lazily, so importing :mod:`workbench` never pulls in Jupyter.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from workbench.run_summary import RunOutcome, write_run_summary

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
    "KernelEcho",
    "RUN_DIR_ENV",
    "KERNEL_TEXT_PROGRESS",
]

OUTPUT_DIR_PARAMETER = "output_dir"
#: Environment variable the runner sets for the kernel: the run folder (read by ``widgets.plots`` to write
#: plotly.js once per run folder).
RUN_DIR_ENV = "WORKBENCH_RUN_DIR"
#: Executed in the kernel before the first cell: ``tqdm.auto`` (and ``tqdm.autonotebook``) give the text bar,
#: whose final state survives in the notebook as text. One statement that leaves no names behind.
KERNEL_TEXT_PROGRESS = (
    "import tqdm.asyncio as _wb_tq, tqdm.auto as _wb_ta, tqdm.autonotebook as _wb_tn; "
    "_wb_ta.tqdm = _wb_tn.tqdm = _wb_tq.tqdm; _wb_ta.trange = _wb_tn.trange = _wb_tq.trange; "
    "del _wb_tq, _wb_ta, _wb_tn"
)


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
    """Where a run wrote its outputs, the metrics it wrote (``metrics.json``), if any, and its ``summary.md``."""

    output_dir: Path
    output_notebook: Path
    parameters: dict[str, Any]
    metrics: dict[str, Any] | None = field(default=None)
    summary: Path | None = field(default=None)
    seconds: float = 0.0


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


class KernelEcho:
    """A text sink for what the kernel prints, forwarded line by line to ``stream`` (e.g. ``sys.stderr``).

    Each line is forwarded as a terminal would leave it: only the text after its last carriage return, so a
    text progress bar that redraws itself ten thousand times gives its final state once (when it ends its line)
    and a bar that erases itself (``leave=False``) gives nothing. Incomplete lines wait for their newline.
    """

    def __init__(self, stream: TextIO, prefix: str = "  | "):
        if not hasattr(stream, "write"):
            raise TypeError(f"stream must be a writable text stream, got {type(stream).__name__}")
        self.stream = stream
        self.prefix = prefix
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            shown = line.rsplit("\r", 1)[-1].rstrip()
            if shown or "\r" not in line:
                self.stream.write(f"{self.prefix}{shown}\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def finish(self) -> None:
        """Forward a last line that never got its newline (as a terminal would show it)."""
        if self._pending:
            self.write("\n")
        self.flush()


@contextlib.contextmanager
def _kernel_environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the kernel (it inherits this process's environment) and restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_notebook(
    notebook: str | Path,
    parameters: dict[str, Any] | None = None,
    output_dir: str | Path | None = None,
    *,
    runs_dir: str | Path = "runs",
    kernel_name: str = "python3",
    progress_bar: bool = False,
    timeout: int | None = None,
    echo: TextIO | None = None,
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
        echo: a text stream (e.g. ``sys.stderr``) that receives what the cells print while they run, line by
            line (:class:`KernelEcho`), e.g. the training loop's per-epoch lines; None: nothing is echoed.

    The run folder gets ``summary.md`` (also when a cell fails) next to the executed notebook.

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
    if timeout is not None and not (isinstance(timeout, int) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")

    out = Path(output_dir) if output_dir is not None else _timestamped_dir(notebook, Path(runs_dir))
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if OUTPUT_DIR_PARAMETER in declared and OUTPUT_DIR_PARAMETER not in values:
        values[OUTPUT_DIR_PARAMETER] = str(out)
    output_notebook = out / notebook.name
    # one echo per stream: a bar redrawing itself on stderr must not swallow a line printed on stdout
    sinks = (KernelEcho(echo), KernelEcho(echo)) if echo is not None else (None, None)

    import papermill  # lazy: Jupyter stack only when running notebooks
    from papermill.exceptions import PapermillExecutionError  # same reason
    from traitlets.config import Config  # same reason

    def summarize(outcome: RunOutcome) -> Path:
        return write_run_summary(out, notebook=notebook, output_notebook=output_notebook, parameters=values,
                                 defaults={name: p.default for name, p in declared.items()}, outcome=outcome,
                                 given=set(parameters))

    # IPC transport: the kernel talks over Unix sockets in its runtime dir (no TCP ports to race for, nothing
    # unencrypted on loopback TCP); the same setting as widgets.lab.
    # The socket paths get a folder of their own: jupyter_client's default IPC name ("kernel-ipc-N" in the working
    # directory, N the first free number) races when several runs start kernels at once (a sweep's workers).
    ipc_dir = Path(tempfile.mkdtemp(prefix="wb-kernel-"))
    config = Config({"KernelManager": {"transport": "ipc", "ip": str(ipc_dir / "kernel")}})
    start = time.perf_counter()
    try:
        with _kernel_environment({RUN_DIR_ENV: str(out)}):
            papermill.execute_notebook(
                str(notebook),
                str(output_notebook),
                parameters=values,
                kernel_name=kernel_name,
                cwd=str(notebook.parent),
                progress_bar=progress_bar,
                log_output=False,
                stdout_file=sinks[0],
                stderr_file=sinks[1],
                execution_timeout=timeout,
                store_widget_state=False,
                config=config,
                coalesce_streams=True,
                extra_arguments=[f"--IPKernelApp.exec_lines={KERNEL_TEXT_PROGRESS}"],
            )
    except PapermillExecutionError as exc:
        import nbformat  # lazy: Jupyter stack only when running notebooks

        cell_index, count, ename, evalue = None, exc.exec_count, exc.ename, exc.evalue
        if output_notebook.exists():
            cell_index, count2, ename2, evalue2 = _failed_cell(nbformat.read(output_notebook, as_version=4))
            count = count if count is not None else count2
            ename, evalue = ename or ename2, evalue or evalue2
        summary = summarize(RunOutcome(ok=False, seconds=time.perf_counter() - start, cell_index=cell_index,
                                       execution_count=count, ename=ename, evalue=evalue))
        where = f"cell {cell_index}" if cell_index is not None else "a cell"
        if count is not None:
            where += f" (execution count {count})"
        raise NotebookRunError(
            f"{notebook.name}: {where} raised {ename}: {evalue}\npartial output notebook: {output_notebook}\n"
            f"summary: {summary}",
            cell_index=cell_index, execution_count=count, ename=ename, evalue=evalue,
            output_notebook=output_notebook,
        ) from None
    except Exception as exc:  # a cell timeout, a dead kernel...: still leave a summary, then let it propagate
        summarize(RunOutcome(ok=False, seconds=time.perf_counter() - start, ename=type(exc).__name__,
                             evalue=str(exc).splitlines()[0] if str(exc) else ""))
        raise
    finally:
        for sink in sinks:
            if sink is not None:
                sink.finish()
        shutil.rmtree(ipc_dir, ignore_errors=True)
    seconds = time.perf_counter() - start

    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
    summary = summarize(RunOutcome(ok=True, seconds=seconds))
    return RunResult(output_dir=out, output_notebook=output_notebook, parameters=values, metrics=metrics,
                     summary=summary, seconds=seconds)

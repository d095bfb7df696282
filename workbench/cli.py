"""The ``workbench`` command: run notebooks headlessly, list their parameters, build data, benchmark.

    workbench run NOTEBOOK [-p NAME VALUE ...] [--out DIR] [--quiet]
    workbench list [DIR]
    workbench build-data NAME [--out DIR] [--seed N]
    workbench build-data qm9 [--geometry dft|mmff] [--xyz DIR_OR_TAR]
    workbench build-data qm9_penalized_logp [--csv PATH]
    workbench bench [NAME ...]
    workbench sweep NOTEBOOK -p NAME V1,V2,... [-p ...] [--scheduler ADDRESS] [--workers N] [--output DIR]
                    [--rerun-failed]
    torchrun --nproc_per_node N -m workbench train qm9 [-p NAME VALUE ...] [--out DIR]

``run`` echoes what the notebook prints on stderr while it runs (the training loop's per-epoch lines, final
states of progress bars); ``--quiet`` silences it. The last line on stdout is always the run folder, which holds the
executed notebook and ``summary.md``.

``sweep`` runs the notebook at every point of the grid on Dask (:mod:`workbench.sweep`; a local cluster unless
``--scheduler`` names one) and writes ``sweep.csv``; ``train`` runs a pipeline function in this process, or
data-parallel under torchrun (:mod:`workbench.train.distributed`).

Exit codes: 0 success; 1 a notebook cell failed (partial notebook kept; for ``sweep``: a point failed, the others
ran); 2 bad usage or bad parameters.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import subprocess
import sys
from pathlib import Path

from workbench import runner, sweep
from workbench.train import distributed

# name -> (module, function, default output folder relative to the checkout). Builders take (out_dir, seed=...)
# and return their manifest.
DATA_BUILDERS: dict[str, tuple[str, str, str]] = {
    "molecules": ("workbench.data.molecules", "build_molecules", "data/molecules"),
    "qm9": ("workbench.data.qm9", "build_qm9_subset", "data/qm9"),
    "jets": ("workbench.data.jets", "generate_shipped_jets", "data/jets"),
    "qm9_penalized_logp": ("workbench.data.molecular_graphs", "build_qm9_penalized_logp", "data/qm9_penalized_logp"),
    "spectra": ("workbench.scattering.spectra_data", "build_spectra_dataset", "data/spectra"),
    "normals": ("workbench.data.normals", "build_normals", "data/normals"),
    "hamiltonians": ("workbench.hamiltonian.dataset", "build_hamiltonians", "data/hamiltonians"),
    "cg_alanine": ("workbench.cg.alanine", "build_cg_alanine", "data/cg_alanine"),
    "potentials": ("workbench.data.potential_data", "build_potentials", "data/potentials"),
}


def _cmd_run(args: argparse.Namespace) -> int:
    params: dict[str, str] = {}
    for name, value in args.parameter or []:
        if name in params:
            print(f"error: parameter {name!r} given twice", file=sys.stderr)
            return 2
        params[name] = value
    if not args.quiet:
        print(f"running {args.notebook}; what it prints follows (--quiet to silence)", file=sys.stderr,
              flush=True)
    try:
        result = runner.run_notebook(
            args.notebook, params, args.out, runs_dir=args.runs_dir, progress_bar=args.progress,
            timeout=args.timeout, echo=None if args.quiet else sys.stderr,
        )
    except (runner.UnknownParameterError, runner.ParameterValueError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except runner.NotebookRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except TimeoutError as exc:  # a cell ran past --timeout; the run folder keeps the partial notebook
        print(f"error: {args.notebook}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
              file=sys.stderr)
        return 1
    print(f"executed notebook: {result.output_notebook} ({result.seconds:.1f} s)")
    if result.metrics is not None:
        print(f"metrics: {result.output_dir / 'metrics.json'}")
    print(f"summary: {result.summary}")
    print(result.output_dir)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    root = Path(args.dir) if args.dir else runner.repo_root() / "notebooks"
    notebooks = runner.find_notebooks(root)
    if not notebooks:
        print(f"error: no notebooks under {root}", file=sys.stderr)
        return 2
    for nb in notebooks:
        try:
            rel = nb.relative_to(Path.cwd())
        except ValueError:
            rel = nb
        print(rel)
        params = runner.notebook_parameters(nb)
        if not params:
            print("    (no parameters)")
        for p in params.values():
            print(f"    {p.describe()}")
    return 0


def _cmd_build_data(args: argparse.Namespace) -> int:
    if args.name not in DATA_BUILDERS:
        print(f"error: unknown dataset {args.name!r}; available: {', '.join(sorted(DATA_BUILDERS))}",
              file=sys.stderr)
        return 2
    module, func, default_out = DATA_BUILDERS[args.name]
    build = getattr(importlib.import_module(module), func)
    out = Path(args.out) if args.out else runner.repo_root() / default_out
    kwargs: dict[str, object] = {} if args.seed is None else {"seed": args.seed}
    if args.conformations is not None:  # --conformations N: a larger (or smaller) Hamiltonian set, same protocol
        if args.name != "hamiltonians":
            print("error: --conformations applies to 'hamiltonians' only", file=sys.stderr)
            return 2
        kwargs["conformations"] = args.conformations
    if args.name == "hamiltonians" and args.xyz is not None:  # --xyz FILE: label a user's own XYZ trajectory
        if not Path(args.xyz).is_file():
            print(f"error: --xyz {args.xyz}: no such file (an XYZ file with one or many frames)", file=sys.stderr)
            return 2
        kwargs["xyz"], args.xyz = args.xyz, None
    if args.geometry is not None or args.xyz is not None:
        if args.name != "qm9":
            print("error: --geometry and --xyz apply to 'qm9' only", file=sys.stderr)
            return 2
        kwargs.update({k: v for k, v in (("geometry", args.geometry), ("xyz", args.xyz)) if v is not None})
    if args.csv is not None:
        if args.name != "qm9_penalized_logp":
            print("error: --csv applies to 'qm9_penalized_logp' only", file=sys.stderr)
            return 2
        if not Path(args.csv).is_file():
            print(f"error: --csv {args.csv}: no such file (a CSV with a 'smiles' column)", file=sys.stderr)
            return 2
        kwargs["csv"] = args.csv
    try:
        result = build(out, **kwargs)
    except ImportError as exc:
        print(f"error: building {args.name!r} needs an optional dependency: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result if result is not None else out)
    return 0


#: Benchmarks that take hours on a 2-core CPU (full-size training runs): only run when named.
LONG_BENCHMARKS = frozenset({"qm9_models"})
# trains workbench MACE and mace-torch (another interpreter, --mace-python) on the shipped ethanol: about 30 minutes
LONG_BENCHMARKS = LONG_BENCHMARKS | {"potentials_vs_mace"}
# trains a potential and runs 10 ps of NVE MD (20,000 force evaluations): tens of minutes
LONG_BENCHMARKS = LONG_BENCHMARKS | {"potential_md_stability"}
# sweeps of the shapes notebook on 1 and 2 Dask workers and DDP on 1 and 2 processes: about 15 minutes on 2 cores
LONG_BENCHMARKS = LONG_BENCHMARKS | {"scale_out"}


def _cmd_bench(args: argparse.Namespace) -> int:
    bench_dir = runner.repo_root() / "benchmarks"
    available = {p.stem: p for p in sorted(bench_dir.glob("*.py")) if not p.name.startswith("_")}
    names = args.names or [n for n in available if n not in LONG_BENCHMARKS]
    skipped = [n for n in available if n in LONG_BENCHMARKS and n not in names]
    if skipped:
        print(f"(not run by default, over an hour each: {', '.join(skipped)}; run them by name)", flush=True)
    missing = [n for n in names if n not in available]
    if missing:
        print(f"error: unknown benchmark(s) {missing}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        print(f"== benchmarks/{name}.py", flush=True)
        status |= subprocess.call([sys.executable, str(available[name])], cwd=runner.repo_root())
    return 1 if status else 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    try:
        declared = runner.notebook_parameters(args.notebook)
        grid: dict[str, list[object]] = {}
        for name, raw in args.parameter or []:
            if name in grid:
                print(f"error: parameter {name!r} given twice; give all its values at once (-p {name} V1,V2)",
                      file=sys.stderr)
                return 2
            if name not in declared:  # expand_grid raises the error that lists the valid names
                grid[name] = [raw]
                continue
            grid[name] = sweep.parse_grid_values(name, raw, declared[name].default)
        out = Path(args.output) if args.output else Path(args.runs_dir) / f"sweep-{Path(args.notebook).stem.lower()}"
        result = sweep.run_sweep(args.notebook, grid, out, scheduler=args.scheduler, workers=args.workers,
                                 rerun_failed=args.rerun_failed, timeout=args.timeout,
                                 connect_timeout=args.connect_timeout, progress=not args.quiet)
    except (runner.UnknownParameterError, runner.ParameterValueError, FileNotFoundError, ValueError,
            sweep.SchedulerUnreachableError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = result.table["status"].value_counts().to_dict()
    print(f"{len(result.table)} point(s): {counts.get('ok', 0)} ok, {result.failed} failed; ran {result.ran}, "
          f"skipped {result.skipped} already done")
    for _, row in result.table[result.table["status"] != "ok"].iterrows():
        print(f"  failed: {row['point']}: cell {row['error_cell']}: {row['error']}")
    print(f"table: {result.files['table']}")
    print(result.output_dir)
    return 1 if result.failed else 0


#: Pipelines ``workbench train`` runs (under torchrun too): name -> (module, function, config class).
TRAIN_PIPELINES: dict[str, tuple[str, str, str]] = {
    "qm9": ("workbench.pipelines.qm9", "run_qm9", "QM9RunConfig"),
}


def _train_value(name: str, raw: str, default: object) -> object:
    """A config value from text: sequences as a literal (``[0.8, 0.1, 0.1]``) or comma-separated names
    (``mace,schnet``, split by the config), everything else as the runner converts notebook parameters."""
    if isinstance(default, (tuple, list)):
        if raw.strip().startswith(("[", "(")):
            try:
                return ast.literal_eval(raw)
            except (ValueError, SyntaxError) as exc:
                raise runner.ParameterValueError(f"parameter {name!r}: cannot read {raw!r} as a list") from exc
        return raw
    return runner.parse_parameter_value(name, raw, default)


def _cmd_train(args: argparse.Namespace) -> int:
    if args.pipeline not in TRAIN_PIPELINES:
        print(f"error: unknown pipeline {args.pipeline!r}; available: {', '.join(TRAIN_PIPELINES)}", file=sys.stderr)
        return 2
    module_name, func_name, config_name = TRAIN_PIPELINES[args.pipeline]
    module = importlib.import_module(module_name)
    defaults = {f.name: f.default for f in dataclasses.fields(getattr(module, config_name))}
    overrides: dict[str, object] = {}
    try:
        for name, raw in args.parameter or []:
            if name not in defaults:
                raise runner.UnknownParameterError(
                    f"unknown parameter {name!r} for {args.pipeline}; valid: {', '.join(defaults)}")
            if name in overrides:
                raise ValueError(f"parameter {name!r} given twice")
            overrides[name] = _train_value(name, raw, defaults[name])
        info = distributed.init_distributed()
        out = Path(args.out) if args.out else Path(args.runs_dir) / f"{args.pipeline}-train"
        result = getattr(module, func_name)(output_dir=out, **overrides)
    except (runner.UnknownParameterError, runner.ParameterValueError, FileNotFoundError, ValueError,
            TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if info.is_main:
        if getattr(result, "completed", True):
            print(f"metrics: {Path(out) / 'metrics.json'}")
        print(f"ranks: {info.world_size}" + (f" ({info.backend})" if info.backend else ""))
        print(out)
    if info.is_distributed:
        distributed.barrier()
        distributed.dist.destroy_process_group()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute a notebook headlessly with papermill")
    run.add_argument("notebook", help="path to the .ipynb")
    run.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="override a parameter (converted to the type of its default); repeatable")
    run.add_argument("--out", help="run folder (default: runs/<name>-<timestamp>/)")
    run.add_argument("--runs-dir", default="runs", help="parent of timestamped run folders (default: runs)")
    run.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    run.add_argument("--progress", action="store_true", help="show a per-cell progress bar")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="do not echo what the notebook prints (per-epoch lines, warnings) on stderr")
    run.set_defaults(func=_cmd_run)

    lst = sub.add_parser("list", help="list notebooks with their parameters and defaults")
    lst.add_argument("dir", nargs="?", help="folder to search (default: the checkout's notebooks/)")
    lst.set_defaults(func=_cmd_list)

    build = sub.add_parser("build-data", help="generate a dataset with its manifest")
    build.add_argument("name", help=f"one of: {', '.join(sorted(DATA_BUILDERS))}")
    build.add_argument("--out", help="output folder (default: the dataset's folder under data/)")
    build.add_argument("--seed", type=int, default=None, help="random seed (default: the builder's, recorded in "
                       "its manifest)")
    build.add_argument("--geometry", choices=("dft", "mmff"), default=None,
                       help="qm9 only: 'dft' (default) the QM9 release's B3LYP geometries (qm9pack, the 'qm9' extra, "
                       "or --xyz); 'mmff' RDKit MMFF94 conformers from SMILES (the 'chem' extra)")
    build.add_argument("--xyz", default=None, metavar="DIR_OR_TAR",
                       help="qm9 only: a folder or .tar.bz2 of the original dsgdb9nsd_NNNNNN.xyz files, read instead "
                       "of qm9pack")
    build.add_argument("--conformations", type=int, default=None, metavar="N",
                       help="hamiltonians only: conformations per molecule instead of the shipped counts")
    build.add_argument("--csv", default=None, metavar="PATH",
                       help="qm9_penalized_logp only: any CSV with a 'smiles' column (default: the QM9 CSV)")
    build.set_defaults(func=_cmd_build_data)

    bench = sub.add_parser("bench", help="run benchmarks/*.py (all quick ones, or the names given)")
    bench.add_argument("names", nargs="*")
    bench.set_defaults(func=_cmd_bench)

    swp = sub.add_parser("sweep", help="run a notebook over a parameter grid on Dask (local cluster by default)")
    swp.add_argument("notebook", help="path to the .ipynb")
    swp.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "V1,V2,..."),
                     help="a grid axis: comma-separated values (commas inside [...] or quotes do not split; a bare "
                     "word for a list parameter is a one-element list); repeatable, the grid is the product")
    swp.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)")
    swp.add_argument("--workers", type=int, default=2, help="local cluster worker processes (default 2)")
    swp.add_argument("--output", default=None, metavar="DIR",
                     help="sweep folder (default runs/sweep-<notebook>); reusing it skips the points already done")
    swp.add_argument("--runs-dir", default="runs", help="parent of the default sweep folder (default: runs)")
    swp.add_argument("--rerun-failed", action="store_true", help="run the points that failed before again")
    swp.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    swp.add_argument("--connect-timeout", type=float, default=5.0,
                     help="seconds to wait for the scheduler and its first worker (default 5)")
    swp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    swp.set_defaults(func=_cmd_sweep)

    trn = sub.add_parser("train", help="run a training pipeline; under torchrun, data-parallel on every rank")
    trn.add_argument("pipeline", help=f"one of: {', '.join(TRAIN_PIPELINES)}")
    trn.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="a config field (e.g. -p models schnet -p epochs 5); repeatable")
    trn.add_argument("--out", default=None, help="run folder (default runs/<pipeline>-train); reusing it resumes")
    trn.add_argument("--runs-dir", default="runs", help="parent of the default run folder (default: runs)")
    trn.set_defaults(func=_cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())

"""The package layering of DESIGN.md, enforced: no import cycle, no import against the layers, no stray lazy import.

The graph is read from the source with ``ast`` (imports inside functions included, so a cycle hidden behind a
lazy import is found too).  The checks are plain functions of a source root, and the last tests run them on a
small synthetic tree with a planted violation and a planted cycle, so they are known to fail when they should.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Which top-level parts of ``workbench`` each part may import (itself always allowed).  ``checks`` (the shared
#: argument checker) and ``version`` sit at the bottom and are allowed everywhere.  Read as arrows:
#: groups <- kernels <- nn <- models <- train
#: <- pipelines; data on groups/nn; equivariance measures models; runner/cli drive notebooks and pipelines.
BASE = {"checks", "version"}
ALLOWED: dict[str, set[str]] = {
    "checks": set(),
    "version": set(),
    "groups": {"checks"},
    # domain parts on checks only: spectral (Laplacian eigenvectors and their sign/basis ambiguities), scattering
    # (Debye, PDF, powder), dynamics (simulators and action-angle learning)
    "spectral": {"checks"},
    "scattering": {"checks"},
    "dynamics": {"checks"},
    "kernels": {"checks", "groups"},
    "nn": {"checks", "groups", "kernels"},
    "data": {"checks", "groups", "nn"},
    "models": {"checks", "groups", "kernels", "nn", "spectral"},
    "train": {"checks", "groups", "nn", "models", "data"},
    "equivariance": {"checks", "groups", "kernels", "nn", "models", "data"},
    "pipelines": {"checks", "groups", "kernels", "nn", "models", "data", "train", "equivariance", "spectral",
                  "dynamics"},
    "run_summary": set(),
    "runner": {"checks", "run_summary"},
    "cli": {"checks", "runner", "data", "pipelines"},
    "__main__": {"cli"},
    "__init__": {"checks", "groups", "kernels", "nn", "models", "data", "train", "equivariance", "pipelines",
                 "spectral", "scattering", "dynamics"},
    "widgets": {"checks", "groups", "kernels", "nn", "models", "data", "train", "equivariance", "pipelines",
                "runner", "spectral", "scattering", "dynamics"},
}
# scattering's spectra dataset writes/reads manifests through data.manifest; the phonon DOS pipeline reads that
# dataset and derives DOS quantities from scattering.phonons
ALLOWED["scattering"] = ALLOWED["scattering"] | {"data"}
ALLOWED["pipelines"] = ALLOWED["pipelines"] | {"scattering"}
# graph partitioning and nested dissection (GNN and RL partitioners against METIS): on checks only; the partitioning
# pipeline, the package root and the widgets reach it
ALLOWED["partition"] = {"checks"}
ALLOWED["pipelines"] = ALLOWED["pipelines"] | {"partition"}
ALLOWED["__init__"] = ALLOWED["__init__"] | {"partition"}
ALLOWED["widgets"] = ALLOWED["widgets"] | {"partition"}
# Tensor Frames: local frames and the wrapper on groups/nn, its point-cloud models on models (ShapeMACE, the cloud
# normalization); the normals pipeline trains them
ALLOWED["frames"] = {"checks", "groups", "nn", "models"}
ALLOWED["pipelines"] = ALLOWED["pipelines"] | {"frames"}
ALLOWED["__init__"] = ALLOWED["__init__"] | {"frames"}
ALLOWED["widgets"] = ALLOWED["widgets"] | {"frames"}
# Hamiltonian prediction (PhiSNet): AO bases, the PySCF <-> e3nn AO convention, DFT labels (pyscf, the 'qc' extra), the
# shipped dataset (data.manifest) and the generalized eigenproblem, on groups; the model sits in models; the
# pipeline, the CLI's build-data, the package root and the widgets reach it
ALLOWED["hamiltonian"] = {"checks", "groups", "data"}
ALLOWED["pipelines"] = ALLOWED["pipelines"] | {"hamiltonian"}
ALLOWED["__init__"] = ALLOWED["__init__"] | {"hamiltonian"}
ALLOWED["widgets"] = ALLOWED["widgets"] | {"hamiltonian"}
# coarse-graining and backmapping (CGVAE): mappings and metrics on checks, the CGVAE on nn/models (MACE layer), the
# shipped trajectory's manifest through data; the backmapping pipeline, the package root and the widgets reach it
ALLOWED["cg"] = {"checks", "groups", "nn", "models", "data"}
ALLOWED["pipelines"] = ALLOWED["pipelines"] | {"cg"}
ALLOWED["__init__"] = ALLOWED["__init__"] | {"cg"}
ALLOWED["widgets"] = ALLOWED["widgets"] | {"cg"}
# interatomic potentials: ASE calculators and MD helpers on models (Potential) and nn (periodic radius graph), data
# for the ASE loader; the potential pipeline, the package root and the widgets reach them
ALLOWED["calculators"] = {"checks", "groups", "nn", "models", "data"}
ALLOWED["pipelines"] = ALLOWED["pipelines"] | {"calculators"}
ALLOWED["__init__"] = ALLOWED["__init__"] | {"calculators"}
ALLOWED["widgets"] = ALLOWED["widgets"] | {"calculators"}
# scale-out: notebook sweeps on Dask (workbench.sweep) drive the papermill runner; the CLI's sweep and train commands
ALLOWED["sweep"] = {"checks", "runner"}
ALLOWED["cli"] = ALLOWED["cli"] | {"sweep", "train"}

#: Third-party modules the compute package must never import (DESIGN: no Jupyter or plotting in workbench/).
FORBIDDEN_IN_COMPUTE = {"IPython", "ipywidgets", "anywidget", "plotly", "matplotlib", "py3Dmol", "widgets",
                        "jupyterlab", "ipykernel"}

#: The optional heavy dependencies that may be imported lazily (inside a function), with a one-line reason.
OPTIONAL_HEAVY = {"triton", "rdkit", "ase", "pyscf", "openmm", "phonopy", "pymetis", "torchdiffeq", "dask",
                  "distributed", "torch_geometric", "pythia8mc", "fastjet", "papermill", "nbformat", "nbclient",
                  "plotly", "kaleido", "e3nn", "qm9pack", "ipywidgets", "anywidget", "py3Dmol", "IPython",
                  "jupyter_client", "traitlets", "sklearn", "psutil"}
# RDKit's Contrib SA_Score module (synthetic accessibility), shipped inside the rdkit wheel (the 'chem' extra)
OPTIONAL_HEAVY = OPTIONAL_HEAVY | {"sascorer"}
# MDTraj: reading a user's DCD/XTC trajectory in workbench.cg (the 'md' extra)
OPTIONAL_HEAVY = OPTIONAL_HEAVY | {"mdtraj"}
# tblite (GFN2-xTB labels of the shipped potential data, the 'xtb' extra)
OPTIONAL_HEAVY = OPTIONAL_HEAVY | {"tblite"}


def module_name(root: Path, path: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts)


def part_of(module: str) -> str:
    """``workbench.nn.linear`` -> ``nn``; ``workbench.cli`` -> ``cli``; ``workbench`` -> ``__init__``; ``widgets.x``
    -> ``widgets``."""
    parts = module.split(".")
    if parts[0] == "widgets":
        return "widgets"
    if parts == ["workbench"] or parts == ["workbench", "__init__"]:
        return "__init__"
    return parts[1]


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(root: Path, path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import statement of one file."""
    module = module_name(root, path)
    is_package = path.name == "__init__.py"
    if is_package:
        module = module.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    lazy_lines: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lazy_lines.update(n.lineno for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom)))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((a.name, node.lineno, node.lineno in lazy_lines) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node) if node.level else node.module
            # "from workbench import nn" imports the subpackage workbench.nn
            names = [f"{target}.{a.name}" for a in node.names] if target in ("workbench", "widgets") else [target]
            out.extend((n, node.lineno, node.lineno in lazy_lines) for n in names)
    return out


def source_files(root: Path) -> list[Path]:
    return sorted(p for pkg in ("workbench", "widgets") for p in (root / pkg).rglob("*.py"))


def layer_violations(root: Path) -> list[str]:
    """Imports across parts that ALLOWED does not list, and forbidden third-party imports in workbench/."""
    bad = []
    for path in source_files(root):
        src = part_of(module_name(root, path))
        for target, line, _ in imports_of(root, path):
            head = target.split(".")[0]
            where = f"{path.relative_to(root)}:{line}"
            if head in ("workbench", "widgets"):
                if target == "workbench":
                    dst = "__init__"
                else:
                    dst = part_of(target)
                if dst != src and dst not in ALLOWED.get(src, set()) | BASE:
                    bad.append(f"{where}: {src} imports {target} ({dst} is not below {src})")
            elif src != "widgets" and head in FORBIDDEN_IN_COMPUTE:
                bad.append(f"{where}: workbench imports {target} (no Jupyter or plotting in workbench/)")
    return bad


def _has_reason(lines: list[str], line: int) -> bool:
    """A comment on the import's own line, or on the line above its block of consecutive import lines."""
    if "#" in lines[line - 1]:
        return True
    i = line - 2
    while i >= 0 and lines[i].strip().startswith(("import ", "from ")):
        if "#" in lines[i]:
            return True
        i -= 1
    return i >= 0 and lines[i].strip().startswith("#")


def lazy_import_violations(root: Path) -> list[str]:
    """Imports inside functions that are not of an optional heavy dependency with a one-line reason comment
    (on the same line or the line above)."""
    bad = []
    for path in source_files(root):
        lines = path.read_text().splitlines()
        for target, line, lazy in imports_of(root, path):
            if not lazy:
                continue
            where = f"{path.relative_to(root)}:{line}"
            if target.split(".")[0] not in OPTIONAL_HEAVY:
                bad.append(f"{where}: lazy import of {target} (only optional heavy dependencies may be lazy)")
            elif not _has_reason(lines, line):
                bad.append(f"{where}: lazy import of {target} without a one-line reason comment")
    return bad


def module_cycles(root: Path) -> list[list[str]]:
    """Cycles in the module-level import graph of workbench/ and widgets/ (lazy imports included)."""
    files = {module_name(root, p).removesuffix(".__init__"): p for p in source_files(root)}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        for target, _, _ in imports_of(root, path):
            # the longest known module that the import names (a name imported from a module maps to the module)
            parts = target.split(".")
            for k in range(len(parts), 0, -1):
                cand = ".".join(parts[:k])
                if cand in files:
                    if cand != mod and not mod.startswith(cand + "."):
                        graph[mod].add(cand)
                    break
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def test_every_part_is_in_the_layer_table():
    parts = {part_of(module_name(ROOT, p).removesuffix(".__init__")) for p in source_files(ROOT)}
    assert parts <= set(ALLOWED), f"add these parts of workbench to ALLOWED with their place: {parts - set(ALLOWED)}"


def test_no_layer_violation():
    assert layer_violations(ROOT) == []


def test_no_import_cycle():
    assert module_cycles(ROOT) == []


def test_lazy_imports_only_for_optional_heavy_dependencies():
    assert lazy_import_violations(ROOT) == []


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A tiny tree with one layer violation (groups imports nn), one cycle (nn.a <-> nn.b, hidden behind a lazy
    import), one forbidden plotting import and one lazy import of the project's own code."""
    files = {
        "workbench/__init__.py": "",
        "workbench/groups/__init__.py": "",
        "workbench/groups/core.py": "from workbench.nn.a import f\n",
        "workbench/nn/__init__.py": "",
        "workbench/nn/a.py": "from workbench.nn.b import g\n\ndef f():\n    return g()\n",
        "workbench/nn/b.py": "def g():\n    from workbench.nn.a import f\n    return f\n",
        "workbench/models/__init__.py": "import plotly\n",
        "widgets/__init__.py": "from workbench import nn\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_checks_catch_planted_violations(planted: Path):
    layers = layer_violations(planted)
    assert any("groups imports workbench.nn.a" in v for v in layers), layers
    assert any("workbench imports plotly" in v for v in layers), layers
    assert not any(v.startswith("widgets") for v in layers), layers  # widgets may import anything of workbench
    cycles = module_cycles(planted)
    assert cycles and set(cycles[0]) == {"workbench.nn.a", "workbench.nn.b"}, cycles
    lazy = lazy_import_violations(planted)
    assert lazy == ["workbench/nn/b.py:2: lazy import of workbench.nn.a (only optional heavy dependencies may be lazy)"]

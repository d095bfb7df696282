"""The course notebooks: every exercise answer is a parameter with a checking assert, and a wrong answer fails.

General execution of every notebook with its defaults is in tests/notebooks/test_execute_notebooks.py; here we
check the teaching contract: answers come from the ``parameters`` cell (so papermill can inject them) and a
wrong answer makes the check cell raise an AssertionError naming the exercise.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from timeouts import scaled

from workbench import runner

pytestmark = pytest.mark.notebooks

TUTORIALS = runner.repo_root() / "notebooks" / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["00_api_tour", "01_symmetry_and_groups", "02_representations", "03_so3_spherical_harmonics",
            "04_tensor_products_clebsch_gordan", "05_lie_algebras", "06_lorentz_and_su3", "07_equivariant_networks",
            "08_lie_derivative",
            "10_from_structure_to_spectrum"]


def test_the_course_is_complete() -> None:
    stems = [p.stem for p in NOTEBOOKS]
    missing = [name for name in EXPECTED if name not in stems]
    assert not missing, f"missing tutorials: {missing}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_answer_is_a_parameter_checked_by_an_assert(notebook: Path) -> None:
    parameters = runner.notebook_parameters(notebook)
    answers = [name for name in parameters if name.startswith("answer_")]
    assert answers, f"{notebook.name}: no answer_* parameters in the parameters cell"
    nb = nbformat.read(notebook, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
    asserts = [ast.get_source_segment(src, node) for src in code for node in ast.walk(ast.parse(src))
               if isinstance(node, ast.Assert)]
    for name in answers:
        checks = [text for text in asserts if re.search(rf"\b{name}\b", text)]
        assert checks, f"{notebook.name}: {name} is never checked by an assert"
        assert any("Exercise" in text for text in checks), f"{notebook.name}: the check of {name} names no exercise"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Exercises" in markdown or "## Exercise" in markdown, f"{notebook.name}: no exercise section"


def test_wrong_answer_fails_the_check_cell_naming_the_exercise(tmp_path: Path) -> None:
    notebook = TUTORIALS / "03_so3_spherical_harmonics.ipynb"
    with pytest.raises(runner.NotebookRunError) as excinfo:
        # per-cell limit times $WORKBENCH_TEST_TIMEOUT_FACTOR; the whole test took 20 s at load ~5 on 2 cores
        runner.run_notebook(notebook, {"answer_dim_l3": 6}, tmp_path / "run", timeout=round(scaled(120)))
    error = excinfo.value
    assert error.ename == "AssertionError"
    assert "Exercise 3.1" in error.evalue and "you answered 6" in error.evalue
    assert error.output_notebook.is_file()

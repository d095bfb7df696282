"""`make lab` works on a copy of notebooks/: the tracked notebooks are never written."""

from __future__ import annotations

import pytest

from widgets.lab import main, prepare_workdir

pytestmark = pytest.mark.unit


def test_copy_keeps_edits_and_refreshes_only_with_fresh(tmp_path) -> None:
    source = tmp_path / "notebooks"
    (source / "tutorials").mkdir(parents=True)
    (source / "A.ipynb").write_text("a")
    (source / "tutorials" / "B.ipynb").write_text("b")
    (source / ".ipynb_checkpoints").mkdir()
    (source / ".ipynb_checkpoints" / "A-checkpoint.ipynb").write_text("old")
    root = prepare_workdir(source, tmp_path / "work")
    assert root == tmp_path / "work" / "notebooks"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.ipynb")) == ["A.ipynb", "tutorials/B.ipynb"]
    (root / "A.ipynb").write_text("edited with outputs")
    (source / "C.ipynb").write_text("c")
    prepare_workdir(source, tmp_path / "work")
    assert (root / "A.ipynb").read_text() == "edited with outputs" and (root / "C.ipynb").read_text() == "c"
    prepare_workdir(source, tmp_path / "work", fresh=True)
    assert (root / "A.ipynb").read_text() == "a"
    assert (source / "A.ipynb").read_text() == "a"


def test_workdir_inside_the_notebooks_is_refused(tmp_path, capsys) -> None:
    (tmp_path / "notebooks").mkdir()
    with pytest.raises(ValueError, match="workdir must lie outside"):
        prepare_workdir(tmp_path / "notebooks", tmp_path / "notebooks" / "work")
    with pytest.raises(FileNotFoundError, match="notebooks must be a folder"):
        prepare_workdir(tmp_path / "missing", tmp_path / "work")
    assert main([str(tmp_path / "notebooks"), "--workdir", str(tmp_path / "notebooks")]) == 2
    assert "workdir must lie outside" in capsys.readouterr().err

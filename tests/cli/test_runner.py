"""The papermill runner and the ``workbench`` command: parameters, unknown names, failures, outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from timeouts import scaled

from workbench import cli, runner

pytestmark = pytest.mark.unit

PARAMS_SOURCE = """\
n = 3  # number of items
scale = 1.5
label = "abc"  # a label
flag = False
fail = False  # raise in the second cell
sizes = [1, 2]
output_dir = "runs/manual"
"""

BODY_SOURCE = """\
import json, pathlib
if fail:
    raise ValueError(f"asked to fail with n={n}")
out = pathlib.Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
(out / "metrics.json").write_text(json.dumps({"total": n * scale, "label": label, "flag": flag,
                                              "sizes": sizes}))
"""


@pytest.fixture()
def notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# test notebook"),
        nbformat.v4.new_code_cell(PARAMS_SOURCE, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(BODY_SOURCE),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "Params.ipynb"
    nbformat.write(nb, path)
    return path


def test_parameters_are_read_in_order_with_defaults_and_comments(notebook: Path) -> None:
    params = runner.notebook_parameters(notebook)
    assert list(params) == ["n", "scale", "label", "flag", "fail", "sizes", "output_dir"]
    assert params["n"].default == 3 and params["n"].comment == "number of items"
    assert params["label"].default == "abc" and params["label"].comment == "a label"
    assert params["scale"].comment == ""
    assert params["sizes"].default == [1, 2]


@pytest.mark.parametrize(
    ("raw", "default", "expected"),
    [("7", 3, 7), ("2.5", 1.0, 2.5), ("1e-3", 1.0, 1e-3), ("yes", False, True), ("0", True, False),
     ("hello", "x", "hello"), ("[3, 4]", [1], [3, 4]), ("None", None, None)],
)
def test_values_are_converted_to_the_type_of_the_default(raw, default, expected) -> None:
    value = runner.parse_parameter_value("p", raw, default)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("raw", "default"), [("2.5", 3), ("maybe", False), ("abc", 1.0), ("3", [1])])
def test_bad_values_name_the_parameter_and_type(raw, default) -> None:
    with pytest.raises(runner.ParameterValueError, match=r"parameter 'p'.*" + type(default).__name__):
        runner.parse_parameter_value("p", raw, default)


def test_unknown_parameter_lists_valid_ones_with_defaults(notebook: Path, capsys) -> None:
    code = cli.main(["run", str(notebook), "-p", "bogus", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "'bogus'" in err
    for line in ["n = 3 (int)", "scale = 1.5 (float)", "label = 'abc' (str)", "fail = False (bool)"]:
        assert line in err


def test_run_writes_notebook_and_metrics_in_a_timestamped_folder(notebook: Path, tmp_path: Path,
                                                                 capsys) -> None:
    runs = tmp_path / "runs"
    code = cli.main(["run", str(notebook), "-p", "n", "4", "-p", "flag", "true", "-p", "sizes", "[5]",
                     "--runs-dir", str(runs)])
    out = capsys.readouterr().out
    assert code == 0, out
    (run_dir,) = runs.iterdir()
    assert run_dir.name.startswith("params-")
    assert out.strip().splitlines()[-1] == str(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics == {"total": 6.0, "label": "abc", "flag": True, "sizes": [5]}
    executed = nbformat.read(run_dir / "Params.ipynb", as_version=4)
    assert not any(o.get("output_type") == "error" for c in executed.cells for o in c.get("outputs", []))
    assert "widgets" not in executed.metadata  # widget state is not stored headless


def test_failing_cell_exits_nonzero_and_keeps_partial_notebook(notebook: Path, tmp_path: Path,
                                                               capsys) -> None:
    out_dir = tmp_path / "failed"
    code = cli.main(["run", str(notebook), "-p", "fail", "true", "-p", "n", "9", "--out", str(out_dir)])
    err = capsys.readouterr().err
    assert code == 1
    assert "cell 2" in err and "ValueError" in err and "asked to fail with n=9" in err
    partial = out_dir / "Params.ipynb"
    assert str(partial) in err and partial.is_file()
    failed = [c for c in nbformat.read(partial, as_version=4).cells
              if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert len(failed) == 1 and "raise ValueError" in failed[0].source
    assert not (out_dir / "metrics.json").exists()


def test_run_notebook_api_raises_with_cell_information(notebook: Path, tmp_path: Path) -> None:
    with pytest.raises(runner.NotebookRunError) as info:
        runner.run_notebook(notebook, {"fail": True}, tmp_path / "o")
    assert info.value.cell_index == 2 and info.value.ename == "ValueError"
    assert info.value.output_notebook.is_file()


def test_list_shows_every_notebook_with_parameters(notebook: Path, capsys) -> None:
    assert cli.main(["list", str(notebook.parent)]) == 0
    out = capsys.readouterr().out
    assert "Params.ipynb" in out and "n = 3 (int)  # number of items" in out


def test_missing_notebook_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert cli.main(["run", str(tmp_path / "nope.ipynb")]) == 2
    assert "notebook not found" in capsys.readouterr().err


def test_python_dash_m_entry_point(notebook: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "workbench", "run", str(notebook), "-p", "bogus", "1"],
                          capture_output=True, text=True,
                          timeout=scaled(120))  # measured: 12 s on 2 cores at load ~7
    assert proc.returncode == 2 and "valid parameters" in proc.stderr


START_HERE = runner.repo_root() / "notebooks" / "START_HERE.ipynb"


def test_start_here_rejects_an_unknown_parameter_naming_the_valid_ones(capsys) -> None:
    assert cli.main(["run", str(START_HERE), "-p", "bogus", "1"]) == 2
    err = capsys.readouterr().err
    assert "'bogus'" in err
    for name in ("molecule = 'ethanol' (str)", "alpha = 0.7 (float)", "beta", "gamma", "output_dir"):
        assert name in err


def test_start_here_with_a_bad_molecule_fails_and_keeps_the_partial_notebook(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert cli.main(["run", str(START_HERE), "-p", "molecule", "unobtainium", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "unknown molecule 'unobtainium'" in err and "ethanol" in err  # lists the shipped molecules
    assert (out / "START_HERE.ipynb").is_file() and str(out / "START_HERE.ipynb") in err


FIT_SOURCE = """\
import torch
from tqdm.auto import tqdm
from workbench.train import TrainConfig, fit

for _ in tqdm(range(7), desc="warm-up"):
    pass
torch.manual_seed(0)
xs = torch.randn(16, 2)
data = [(x, x.sum(dim=0, keepdim=True)) for x in xs]
model = torch.nn.Linear(2, 1)
loss_fn = lambda m, batch: (((m(batch[0]) - batch[1]) ** 2).mean(), {})
result = fit(model, loss_fn, data, data[:4], config=TrainConfig(epochs=epochs, batch_size=4),
             output_dir=output_dir + "/model")
"""


@pytest.fixture()
def fit_notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("epochs = 2\noutput_dir = 'runs/fit'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(FIT_SOURCE),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "Fit.ipynb"
    nbformat.write(nb, path)
    return path


def test_run_echoes_epoch_lines_on_stderr_and_leaves_text_progress(fit_notebook: Path, tmp_path: Path,
                                                                   capsys) -> None:
    out_dir = tmp_path / "run"
    assert cli.main(["run", str(fit_notebook), "-p", "epochs", "3", "--out", str(out_dir)]) == 0
    captured = capsys.readouterr()
    echoed = [line for line in captured.err.splitlines() if line.startswith("  | ")]
    epochs = [line for line in echoed if " epoch " in line]
    assert [line.split(" epoch ")[1].split(":")[0] for line in epochs] == ["1/3", "2/3", "3/3"], captured.err
    assert all("train_loss" in line and "val_loss" in line for line in epochs)
    assert any("warm-up: 100%" in line and "7/7" in line for line in echoed), captured.err
    assert "\r" not in captured.err  # progress redraws reduced to what a terminal keeps
    assert "TCP" not in captured.err  # the kernel runs over IPC: no "running over TCP without encryption"
    executed = nbformat.read(out_dir / "Fit.ipynb", as_version=4)
    outputs = executed.cells[-1].outputs
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    stderr_text = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert "warm-up: 100%" in stderr_text and "7/7" in stderr_text
    assert "\r" not in stderr_text.rstrip()  # redraws collapsed; a bar that erased itself leaves blanks only
    stdout_text = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout")
    assert stdout_text.count(" epoch ") == 3


def test_quiet_run_echoes_nothing(fit_notebook: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["run", str(fit_notebook), "--quiet", "--out", str(tmp_path / "q")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.strip().splitlines()[-1] == str(tmp_path / "q")


def test_summary_lists_parameters_metrics_and_files(notebook: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "ok"
    (out_dir / "sub").mkdir(parents=True)
    (out_dir / "sub" / "curve.html").write_text("<html></html>")  # a figure left by an earlier step
    result = runner.run_notebook(notebook, {"n": "5"}, out_dir)
    assert result.summary == out_dir / "summary.md"
    text = result.summary.read_text()
    assert text.startswith("# Params.ipynb: finished in ")
    assert "| n | 5 | given |" in text and "| scale | 1.5 | default |" in text
    assert f"| output_dir | {out_dir.resolve()} | runner |" in text
    assert "| total | 7.5 |" in text and "| label | abc |" in text  # from metrics.json
    assert "- [sub/curve.html](sub/curve.html)" in text
    assert "`metrics.json`" in text.split("## Files")[1]


def test_summary_of_a_failed_run_names_the_cell(notebook: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "failed"
    with pytest.raises(runner.NotebookRunError) as info:
        runner.run_notebook(notebook, {"fail": True}, out_dir)
    text = (out_dir / "summary.md").read_text()
    assert "FAILED" in text.splitlines()[0]
    assert "cell 2" in text and "ValueError: asked to fail with n=3" in text
    assert "summary.md" in str(info.value)
    assert "(no metrics.json or comparison.csv in this folder)" in text


def test_summary_reads_comparison_csv(tmp_path: Path) -> None:
    from workbench.run_summary import RunOutcome, write_run_summary

    (tmp_path / "comparison.csv").write_text("model,test_mae,ratio\nschnet,0.23,1.0\nnequip,0.22,0.96\n")
    (tmp_path / "metrics.json").write_text('{"models": {"schnet": {"test_mae": 0.23, "config": {"lr": 0.005}}}}')
    path = write_run_summary(tmp_path, notebook="x.ipynb", output_notebook=tmp_path / "x.ipynb", parameters={},
                             defaults={}, outcome=RunOutcome(ok=True, seconds=1.0))
    text = path.read_text()
    assert "| model | test_mae | ratio |" in text and "| nequip | 0.22 | 0.96 |" in text
    assert "| models.schnet.test_mae | 0.23 |" in text and "config" not in text  # settings are not metrics
    with pytest.raises(TypeError, match="outcome must be a RunOutcome"):
        write_run_summary(tmp_path, notebook="x", output_notebook="y", parameters={}, defaults={}, outcome=True)
    with pytest.raises(FileNotFoundError, match="output_dir must be an existing run folder"):
        write_run_summary(tmp_path / "nope", notebook="x", output_notebook="y", parameters={}, defaults={},
                          outcome=RunOutcome(ok=True, seconds=1.0))


def test_kernel_echo_keeps_what_a_terminal_would_show() -> None:
    import io

    stream = io.StringIO()
    echo = runner.KernelEcho(stream, prefix="> ")
    echo.write("bar  10%\rbar  50%")
    echo.write("\rbar 100%\n\r        \rnext line\npart")
    echo.write("ial")
    echo.finish()
    assert stream.getvalue() == "> bar 100%\n> next line\n> partial\n"
    with pytest.raises(TypeError, match="stream must be a writable text stream"):
        runner.KernelEcho(42)

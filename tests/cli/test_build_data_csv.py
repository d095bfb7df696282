"""`workbench build-data qm9_penalized_logp --csv PATH`: graphs and penalized logP from any CSV with a smiles column."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main
from workbench.data.molecular_graphs import load_molecular_graphs

pytestmark = pytest.mark.unit


def test_build_from_a_users_csv(tmp_path, capsys):
    pytest.importorskip("rdkit")
    csv = tmp_path / "mine.csv"
    csv.write_text("name,smiles\nbenzene,c1ccccc1\nbad,not_a_smiles\nethanol,CCO\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build-data", "qm9_penalized_logp", "--csv", str(csv), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["count"] == 2 and manifest["skipped"] == {"unparsable": 1}
    assert manifest["source"]["file"] == "mine.csv" and "user" in manifest["source"]["license"]
    graphs = load_molecular_graphs(out)
    assert [len(x) for x in graphs.x] == [6, 3]  # heavy atoms of benzene and ethanol
    assert graphs.edge_index[0].shape[1] == 12 and set(graphs.edge_attr[0].tolist()) == {3}  # aromatic ring
    assert graphs.targets["cycle"].tolist() == [0.0, 0.0]


def test_csv_errors(tmp_path, capsys):
    assert main(["build-data", "jets", "--csv", str(tmp_path / "x.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "--csv applies to 'qm9_penalized_logp' only" in capsys.readouterr().err
    assert main(["build-data", "qm9_penalized_logp", "--csv", str(tmp_path / "missing.csv"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    pytest.importorskip("rdkit")
    no_smiles = tmp_path / "no_smiles.csv"
    no_smiles.write_text("name,formula\nwater,H2O\n", encoding="utf-8")
    assert main(["build-data", "qm9_penalized_logp", "--csv", str(no_smiles), "--out", str(tmp_path / "o")]) == 2
    assert "no 'smiles' column" in capsys.readouterr().err

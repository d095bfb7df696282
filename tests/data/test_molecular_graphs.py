"""workbench.data.molecular_graphs: the shipped qm9_penalized_logp set (sha256-checked, targets recomputed with
RDKit for a few rows), the graph typing, and the reader of the real ZINC benchmark files on a tiny file."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from workbench.data.molecular_graphs import (
    DEFAULT_DIR,
    ELEMENTS,
    TARGETS,
    load_molecular_graphs,
    mol_to_graph,
    penalized_logp,
    read_zinc_split,
)

pytestmark = pytest.mark.unit
Chem = pytest.importorskip("rdkit.Chem")


@pytest.fixture(scope="module")
def graphs():
    return load_molecular_graphs()


def test_shipped_set_matches_its_manifest(graphs):
    manifest = json.loads((DEFAULT_DIR / "manifest.json").read_text())
    assert len(graphs) == manifest["count"] > 14_000 and set(graphs.targets) == set(TARGETS)
    t = graphs.targets
    np.testing.assert_allclose(t["penalized_logp"], t["logp"] - t["sa"] - t["cycle"], atol=1e-12)
    assert (t["sa"] >= 1).all() and (t["sa"] <= 10).all()  # the SA score's range
    for x, e, a in zip(graphs.x[:50], graphs.edge_index[:50], graphs.edge_attr[:50]):
        assert int(x.max()) < 3 * len(ELEMENTS) and e.shape[1] == a.shape[0]
        assert torch.equal(torch.sort(e[0] * 100 + e[1]).values, torch.sort(e[1] * 100 + e[0]).values)


def test_shipped_targets_recomputed_from_the_smiles(graphs, shared_data_dir):
    """A few rows recomputed from the SMILES of the shared QM9 table (skips without ``../shared/data``)."""
    smiles = pd.read_csv(shared_data_dir / "qm9_small.csv")["smiles"]
    mol_index = np.load(DEFAULT_DIR / "graphs.npz")["mol_index"]
    t = graphs.targets
    for g in (0, 1, 777):
        mol = Chem.MolFromSmiles(smiles[int(mol_index[g])])
        ref = penalized_logp(mol)
        for key in TARGETS:
            assert t[key][g] == pytest.approx(ref[key], abs=1e-12), key
        assert graphs.x[g].shape[0] == mol.GetNumAtoms()


def test_benzene_graph_and_target():
    types, bonds, kinds = mol_to_graph(Chem.MolFromSmiles("c1ccccc1"))
    assert types.tolist() == [1] * 6 and bonds.shape == (2, 6) and kinds.tolist() == [3] * 6
    ring8 = penalized_logp(Chem.MolFromSmiles("C1CCCCCCC1"))
    assert ring8["cycle"] == 2.0 and ring8["rings_gt6"] == 1.0
    with pytest.raises(ValueError, match="no node type"):
        mol_to_graph(Chem.MolFromSmiles("CCS"))


def test_read_zinc_split_reads_the_benchmark_format(tmp_path):
    bond = torch.zeros(3, 3, dtype=torch.long)
    bond[0, 1] = bond[1, 0] = 1
    bond[1, 2] = bond[2, 1] = 2
    records = [{"atom_type": torch.tensor([0, 1, 2]), "bond_type": bond,
                "logP_SA_cycle_normalized": torch.tensor([-0.5]), "num_atom": 3},
               {"atom_type": torch.tensor([4, 4]), "bond_type": torch.tensor([[0, 3], [3, 0]]),
                "logP_SA_cycle_normalized": torch.tensor([1.25]), "num_atom": 2}]
    with (tmp_path / "val.pickle").open("wb") as fh:
        pickle.dump(records, fh)
    (tmp_path / "val.index").write_text("1\n")
    full = read_zinc_split(tmp_path, "val", subset=False)
    assert len(full) == 2 and full.targets["penalized_logp_normalized"].tolist() == [-0.5, 1.25]
    assert full.edge_index[0].tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]] and full.edge_attr[0].tolist() == [0, 0, 1, 1]
    sub = read_zinc_split(tmp_path, "val")
    assert len(sub) == 1 and sub.x[0].tolist() == [4, 4] and sub.edge_attr[0].tolist() == [2, 2]
    with pytest.raises(FileNotFoundError, match="train.pickle"):
        read_zinc_split(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be"):
        read_zinc_split(tmp_path, "dev")
    records[0]["bond_type"] = torch.tensor([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    with (tmp_path / "test.pickle").open("wb") as fh:
        pickle.dump(records, fh)
    with pytest.raises(ValueError, match="symmetric"):
        read_zinc_split(tmp_path, "test", subset=False)


def test_modified_file_is_refused(tmp_path):
    import shutil

    shutil.copytree(DEFAULT_DIR, tmp_path / "copy")
    with (tmp_path / "copy" / "graphs.npz").open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(ValueError, match="sha256|modified|rebuild"):
        load_molecular_graphs(tmp_path / "copy")

"""workbench.data.qm9: the label table, the shipped subset, conformer building, splits, scaling, conversions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.data import qm9
from workbench.data.batch import collate_atoms
from workbench.data.manifest import sha256_file, write_npz_reproducible
from workbench.data.qm9 import (
    HARTREE_TO_KCAL_PER_MOL,
    HARTREE_TO_MEV,
    QM9_TARGETS,
    AtomReferences,
    ConformerSet,
    QM9Dataset,
    QM9Item,
    TargetNormalizer,
    fit_atom_references,
    fixed_split,
    load_conformers,
    load_qm9_table,
    to_ase,
    to_pyg,
)

pytestmark = pytest.mark.unit

# B3LYP/6-31G(2df,p) U0 of the free atoms (Hartree), from the QM9 release's atomref table: used only to check that
# the shipped atoms match the CSV's atomization energies, i.e. that the conformers have the right composition.
FREE_ATOM_U0 = {1: -0.500273, 6: -37.846772, 7: -54.583861, 8: -75.064579, 9: -99.718730}


@pytest.fixture(scope="module")
def qm9_csv(shared_data_dir: Path) -> Path:
    path = shared_data_dir / "qm9_small.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def table(qm9_csv: Path):
    return load_qm9_table(qm9_csv)


@pytest.fixture(scope="module")
def shipped() -> ConformerSet:
    return load_conformers()


# --------------------------------------------------------------------------------------------------- table


def test_table_reads_shared_csv(table) -> None:
    assert list(table.columns) == ["mol_id", "smiles", *QM9_TARGETS]
    assert table["mol_id"].is_unique
    assert table.attrs["n_duplicates_dropped"] == 147  # the shared file lists 147 molecules twice
    assert len(table) == 14862 - 147
    assert np.all(table["gap"].to_numpy() > 0)
    # gap = lumo - homo in Hartree (QM9 rounds each to 1e-4 Ha)
    np.testing.assert_allclose(table["gap"], table["lumo"] - table["homo"], atol=2e-4)


def test_table_keeps_duplicates_on_request(qm9_csv: Path) -> None:
    assert len(load_qm9_table(qm9_csv, drop_duplicates=False)) == 14862


def test_missing_csv_names_path_subset_and_url(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "qm9.csv"
    with pytest.raises(FileNotFoundError) as err:
        load_qm9_table(missing)
    msg = str(err.value)
    assert str(missing) in msg and str(qm9.DEFAULT_QM9_DIR) in msg and qm9.QM9_PUBLIC_URL in msg


def test_csv_location_argument_environment_then_search_upwards(qm9_csv: Path, tmp_path: Path, monkeypatch) -> None:
    other = tmp_path / "elsewhere.csv"
    other.write_text("".join(qm9_csv.read_text().splitlines(keepends=True)[:4]))  # header + 3 rows
    monkeypatch.delenv(qm9.QM9_CSV_ENV, raising=False)
    # 1. the argument wins over everything
    monkeypatch.setenv(qm9.QM9_CSV_ENV, str(tmp_path / "not-this.csv"))
    assert qm9.find_qm9_csv(other) == other
    assert len(load_qm9_table(other)) == 3
    # 2. the environment variable when no argument is given
    monkeypatch.setenv(qm9.QM9_CSV_ENV, str(other))
    assert qm9.find_qm9_csv() == other and load_qm9_table().attrs["source"] == str(other)
    # 3. shared/data/qm9_small.csv searched from the working directory upwards (as git finds .git)
    monkeypatch.delenv(qm9.QM9_CSV_ENV)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    shutil.copy(other, tmp_path / "shared" / "data" / "qm9_small.csv")
    deep = tmp_path / "checkout" / "notebooks" / "pipelines"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert qm9.find_qm9_csv() == tmp_path / "shared" / "data" / "qm9_small.csv"
    assert len(load_qm9_table()) == 3
    assert qm9.find_qm9_csv(start=deep) == qm9.find_qm9_csv()


def test_missing_csv_error_names_all_three_ways(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(qm9.QM9_CSV_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # no shared/data/qm9_small.csv in tmp_path or its parents
    if any((d / qm9.DEFAULT_QM9_CSV).is_file() for d in (tmp_path, *tmp_path.parents)):
        pytest.skip("a parent of the temporary folder holds shared/data/qm9_small.csv")
    for call in (lambda: load_qm9_table(), lambda: qm9.find_qm9_csv(),
                 lambda: qm9.cached_qm9_conformers(tmp_path / "cache")):
        with pytest.raises(FileNotFoundError) as err:
            call()
        msg = str(err.value)
        assert "path=" in msg and qm9.QM9_CSV_ENV in msg and str(qm9.DEFAULT_QM9_CSV) in msg
        assert str(qm9.DEFAULT_QM9_DIR) in msg and qm9.QM9_PUBLIC_URL in msg
    monkeypatch.setenv(qm9.QM9_CSV_ENV, str(tmp_path / "from-env.csv"))
    with pytest.raises(FileNotFoundError, match="from-env.csv.*WORKBENCH_QM9_CSV"):
        load_qm9_table()


def test_csv_missing_columns_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("mol_id,smiles,u0\ngdb_1,C,-40.47\n")
    with pytest.raises(ValueError, match="lacks column"):
        load_qm9_table(bad)


# --------------------------------------------------------------------------------------------------- shipped subset


def test_shipped_subset_verifies_and_matches_manifest(shipped: ConformerSet) -> None:
    manifest = shipped.info["manifest"]
    counts = manifest["counts"]
    assert counts["requested"] == counts["embedded"] + counts["skipped"]
    assert counts["embedded"] == len(shipped) >= 950
    assert len(manifest["skipped_molecules"]) == counts["skipped"]
    assert "MMFF" in manifest["geometry_note"] and "NOT the DFT" in manifest["geometry_note"]
    for key in ("builder", "workbench_version", "rdkit_version", "seed", "method"):
        assert manifest[key] not in (None, "")
    size = sum(p.stat().st_size for p in qm9.DEFAULT_QM9_DIR.iterdir())
    assert size < 2_000_000
    assert set(shipped.mol_id).isdisjoint(manifest["skipped_molecules"])
    assert len(set(shipped.mol_id)) == len(shipped)


def test_shipped_composition_matches_atomization_energies(shipped: ConformerSet) -> None:
    # u0_atom (kcal/mol) = (u0 - sum of free-atom U0) * Hartree->kcal/mol: holds only if every molecule carries
    # exactly the atoms (hydrogens included) of the QM9 entry whose labels it has.
    free = np.array([FREE_ATOM_U0[z] for z in qm9.ELEMENT_SYMBOLS])
    atom_sum = shipped.element_counts() @ free
    predicted = (shipped.target_column("u0") - atom_sum) * HARTREE_TO_KCAL_PER_MOL
    np.testing.assert_allclose(predicted, shipped.target_column("u0_atom"), atol=1e-2)


def test_shipped_geometries_are_sane(shipped: ConformerSet) -> None:
    z, pos = shipped.molecule(0)
    assert z.shape[0] == pos.shape[0] and set(np.unique(shipped.z)) <= {1, 6, 7, 8, 9}
    np.testing.assert_allclose(pos.mean(axis=0), 0.0, atol=1e-6)
    # every bond-length-scale check: the shortest distance in each molecule is a C-H/N-H/O-H-like bond
    for i in range(0, len(shipped), 97):
        _, p = shipped.molecule(i)
        d = np.linalg.norm(p[:, None] - p[None], axis=-1)[np.triu_indices(len(p), 1)]
        assert 0.9 < d.min() < 1.2


def test_tampered_file_is_rejected(tmp_path: Path) -> None:
    copy = tmp_path / "qm9"
    shutil.copytree(qm9.DEFAULT_QM9_DIR, copy)
    data = bytearray((copy / "qm9_conformers.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "qm9_conformers.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match its manifest sha256"):
        QM9Dataset(copy)


def test_missing_folder_names_builder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="build_qm9_subset"):
        QM9Dataset(tmp_path)


# --------------------------------------------------------------------------------------------------- building


def test_rebuild_same_seed_identical(table, tmp_path: Path) -> None:
    pytest.importorskip("rdkit")
    rows = table.iloc[:20]
    a = qm9.build_conformers(rows, seed=7, progress=False)
    b = qm9.build_conformers(rows, seed=7, progress=False)
    assert a.info["requested"] == 20 and a.info["embedded"] + a.info["skipped"] == 20
    np.testing.assert_array_equal(a.z, b.z)
    np.testing.assert_array_equal(a.pos, b.pos)
    ma = qm9.save_conformers(a, tmp_path / "a")
    mb = qm9.save_conformers(b, tmp_path / "b")
    assert ma["files"]["qm9_conformers.npz"]["sha256"] == mb["files"]["qm9_conformers.npz"]["sha256"]
    c = qm9.build_conformers(rows, seed=8, progress=False)
    assert not np.array_equal(a.pos, c.pos)  # the seed matters
    loaded = load_conformers(tmp_path / "a")
    np.testing.assert_array_equal(loaded.pos, a.pos)
    assert loaded.mol_id == a.mol_id and loaded.smiles == a.smiles


def test_unparseable_smiles_is_skipped_not_fatal(table) -> None:
    pytest.importorskip("rdkit")
    rows = table.iloc[:3].copy()
    rows.loc[rows.index[1], "smiles"] = "C1CC(("  # not a SMILES
    built = qm9.build_conformers(rows, seed=0, progress=False)
    assert built.info["embedded"] == 2 and built.info["skipped"] == 1
    assert built.info["skipped_molecules"] == {rows["mol_id"].iloc[1]: "SMILES not parsed"}


def test_shipped_subset_rebuild_matches_first_molecules(table, shipped: ConformerSet) -> None:
    pytest.importorskip("rdkit")
    manifest = shipped.info["manifest"]
    seed, n = manifest["seed"], manifest["counts"]["requested"]
    order = np.random.default_rng(seed).permutation(len(table))[:n]
    rows = table.iloc[order[:10]].reset_index(drop=True)
    rebuilt = qm9.build_conformers(rows, seed=seed, progress=False)
    k = len(rebuilt)
    assert rebuilt.mol_id == shipped.mol_id[:k]
    np.testing.assert_allclose(rebuilt.pos, shipped.pos[: rebuilt.pos.shape[0]], atol=1e-8)


# --------------------------------------------------------------------------------------------------- dataset


def test_dataset_items() -> None:
    ds = QM9Dataset(targets=["gap", "u0"])
    assert isinstance(ds, torch.utils.data.Dataset)
    item = ds[3]
    assert isinstance(item, QM9Item)
    assert item.z.dtype == torch.long and item.z.ndim == 1
    assert item.pos.shape == (item.z.shape[0], 3) and item.pos.dtype == torch.float32
    assert item.y.shape == (2,)
    c = ds.conformers
    assert item.y[1].item() == pytest.approx(c.target_column("u0")[3], rel=1e-7)
    assert ds[-1].index == len(ds) - 1
    with pytest.raises(IndexError):
        ds[len(ds)]
    ds64 = QM9Dataset(targets="mu", dtype=torch.float64)
    assert ds64[0].pos.dtype == torch.float64 and ds64[0].y.shape == (1,)


def test_unknown_target_lists_valid_ones() -> None:
    with pytest.raises(ValueError) as err:
        QM9Dataset(targets=["gap", "homo_lumo"])
    msg = str(err.value)
    assert "homo_lumo" in msg and all(name in msg for name in QM9_TARGETS)


def test_empty_selection_rejected() -> None:
    with pytest.raises(ValueError, match="at least one target"):
        QM9Dataset(targets=[])
    with pytest.raises(ValueError, match="non-empty"):
        QM9Dataset(indices=[])
    with pytest.raises(ValueError, match="must lie in"):
        QM9Dataset(indices=[0, 10**6])


def test_nan_coordinates_rejected(shipped: ConformerSet) -> None:
    pos = shipped.pos.copy()
    pos[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf coordinates at atom index"):
        ConformerSet(shipped.z, pos, shipped.ptr, shipped.targets, shipped.target_names, shipped.mol_id,
                     shipped.smiles)


def test_nan_in_saved_file_rejected_on_load(shipped: ConformerSet, tmp_path: Path) -> None:
    # a file whose manifest matches but whose coordinates are NaN still fails (validation, not only sha256)
    arrays = {
        "z": shipped.z.astype(np.int8), "pos": shipped.pos.copy(), "ptr": shipped.ptr, "targets": shipped.targets,
        "target_names": np.array(shipped.target_names), "mol_id": np.array(shipped.mol_id),
        "smiles": np.array(shipped.smiles),
    }
    arrays["pos"][0, 0] = np.nan
    out = tmp_path / "nan"
    out.mkdir()
    write_npz_reproducible(out / "qm9_conformers.npz", arrays)
    manifest = dict(shipped.info["manifest"])
    manifest["files"] = {"qm9_conformers.npz": {"file": "qm9_conformers.npz", "n_molecules": len(shipped),
                                                "sha256": sha256_file(out / "qm9_conformers.npz")}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="NaN"):
        load_conformers(out)


# --------------------------------------------------------------------------------------------------- split, scaling


def test_split_is_stable_and_saved(tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    a = fixed_split(987, seed=3, fractions=(0.8, 0.1, 0.1), path=path)
    assert path.is_file()
    b = fixed_split(987, seed=3, fractions=(0.8, 0.1, 0.1), path=path)
    c = fixed_split(987, seed=3)
    for k in ("train", "val", "test"):
        np.testing.assert_array_equal(a[k], b[k])
        np.testing.assert_array_equal(a[k], c[k])
    assert [len(a[k]) for k in ("train", "val", "test")] == [789, 99, 99]
    assert np.array_equal(np.sort(np.concatenate(list(a.values()))), np.arange(987))
    d = fixed_split(987, seed=4)
    assert not np.array_equal(a["train"], d["train"])
    with pytest.raises(ValueError, match="was made with"):
        fixed_split(987, seed=4, path=path)
    with pytest.raises(ValueError, match="summing to 1"):
        fixed_split(987, seed=3, fractions=(0.5, 0.2, 0.2))


def test_normalizer_round_trip(tmp_path: Path) -> None:
    ds = QM9Dataset(targets=["gap", "u0", "mu"])
    split = fixed_split(len(ds), seed=0)
    norm = TargetNormalizer.fit(ds.subset(split["train"]).target_array(), ds.target_names)
    z = norm.normalize(ds.subset(split["train"]).target_array())
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-9)
    loaded = TargetNormalizer.load(norm.save(tmp_path / "norm.json"))
    assert loaded.names == norm.names
    y = torch.as_tensor(ds.target_array(), dtype=torch.float64)
    back = loaded.denormalize(loaded.normalize(y))
    assert back.dtype == torch.float64
    torch.testing.assert_close(back, y, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="last dimension"):
        norm.normalize(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="constant"):
        TargetNormalizer.fit(np.ones((5, 1)), ["gap"])


def test_atom_references_reduce_u0_spread(shipped: ConformerSet, tmp_path: Path) -> None:
    split = fixed_split(len(shipped), seed=0)
    ref = fit_atom_references(shipped, "u0", split["train"])
    assert ref.elements == (1, 6, 7, 8, 9)
    raw = shipped.target_column("u0")[split["test"]]
    residual = ref.subtract(shipped)[split["test"]]
    # raw U0 spans hundreds of Hartree; after the per-element fit the held-out residual is ~0.01-0.1 Ha
    assert raw.std() > 30.0
    assert residual.std() < raw.std() / 300
    assert np.abs(residual).mean() * HARTREE_TO_MEV < 3000.0  # meV
    # the fitted per-atom energies are close to (but not equal to) the free-atom energies
    for z, b in zip(ref.elements, ref.energies):
        assert abs(b - FREE_ATOM_U0[z]) < 0.5
    loaded = AtomReferences.load(ref.save(tmp_path / "atomref.json"))
    np.testing.assert_allclose(loaded.energies, ref.energies)
    z0, _ = shipped.molecule(0)
    assert float(ref.reference(torch.tensor(z0))) == pytest.approx(
        float(ref.reference(shipped.z, shipped.ptr)[0]))
    with pytest.raises(ValueError, match="energy target"):
        fit_atom_references(shipped, "gap")
    with pytest.raises(ValueError, match="no reference energy"):
        AtomReferences("u0", "Ha", (1, 6), np.array([-0.5, -38.0])).reference(np.array([6, 8]))


def test_hartree_to_mev() -> None:
    assert qm9.hartree_to_mev(1.0) == pytest.approx(27211.386245988)
    assert qm9.hartree_to_mev(torch.tensor([0.001])).item() == pytest.approx(27.211386, rel=1e-6)


# --------------------------------------------------------------------------------------------------- conversions


def test_to_ase() -> None:
    ase = pytest.importorskip("ase")
    ds = QM9Dataset(targets=["gap", "u0"], dtype=torch.float64)
    item = ds[10]
    atoms = to_ase(item, ds.target_names)
    assert isinstance(atoms, ase.Atoms)
    np.testing.assert_array_equal(atoms.numbers, item.z.numpy())
    np.testing.assert_allclose(atoms.positions, item.pos.numpy())
    assert atoms.info["mol_id"] == item.mol_id and atoms.info["u0"] == pytest.approx(item.y[1].item())
    assert not atoms.pbc.any()
    with pytest.raises(TypeError, match="QM9Item"):
        to_ase({"z": 1})


def test_to_pyg() -> None:
    pyg = pytest.importorskip("torch_geometric")
    from torch_geometric.loader import DataLoader

    ds = QM9Dataset(targets=["gap", "u0"])
    data = [to_pyg(ds[i]) for i in range(4)]
    assert isinstance(data[0], pyg.data.Data)
    assert data[0].y.shape == (1, 2) and torch.equal(data[0].z, ds[0].z)
    batch = next(iter(DataLoader(data, batch_size=4)))
    assert batch.y.shape == (4, 2) and batch.pos.shape[0] == sum(int(d.z.shape[0]) for d in data)


def test_to_pyg_without_torch_geometric_says_how_to_install(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "torch_geometric", None)
    monkeypatch.setitem(sys.modules, "torch_geometric.data", None)
    with pytest.raises(ImportError, match="torch_geometric"):
        to_pyg(QM9Dataset()[0])


def test_collate_batches_molecules() -> None:
    ds = QM9Dataset(targets=["gap", "u0"])
    items = [ds[i] for i in (0, 5, 9)]
    batch = collate_atoms(items)
    sizes = [int(it.z.shape[0]) for it in items]
    assert batch.num_graphs == 3 and batch.y.shape == (3, 2)
    assert batch.ptr.tolist() == [0, sizes[0], sizes[0] + sizes[1], sum(sizes)]
    assert batch.batch.tolist() == [0] * sizes[0] + [1] * sizes[1] + [2] * sizes[2]
    torch.testing.assert_close(batch.pos[batch.ptr[1]:batch.ptr[2]], items[1].pos)
    assert batch.index.tolist() == [0, 5, 9]
    loader = torch.utils.data.DataLoader(ds, batch_size=8, collate_fn=collate_atoms)
    first = next(iter(loader))
    assert first.num_graphs == 8 and first.z.shape[0] == int(ds.conformers.ptr[8])
    with pytest.raises(ValueError, match="at least one"):
        collate_atoms([])


def test_cached_conformers_reused_and_rebuilt(qm9_csv: Path, tmp_path: Path) -> None:
    pytest.importorskip("rdkit")
    small = tmp_path / "small.csv"
    small.write_text("".join(qm9_csv.read_text().splitlines(keepends=True)[:9]))  # header + 8 rows
    cache = tmp_path / "cache"
    assert qm9.cached_qm9_conformers(cache, seed=1, csv_path=small) == cache
    stamp = (cache / "qm9_conformers.npz").stat().st_mtime_ns
    qm9.cached_qm9_conformers(cache, seed=1, csv_path=small)
    assert (cache / "qm9_conformers.npz").stat().st_mtime_ns == stamp  # reused, not rebuilt
    qm9.cached_qm9_conformers(cache, seed=2, csv_path=small)
    assert json.loads((cache / "manifest.json").read_text())["seed"] == 2
    assert len(QM9Dataset(cache)) == json.loads((cache / "manifest.json").read_text())["counts"]["embedded"]

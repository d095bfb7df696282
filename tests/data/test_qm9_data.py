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
    assert counts["requested"] == counts["included"] + counts["skipped"]
    assert counts["included"] == len(shipped) >= 950
    assert len(manifest["skipped_molecules"]) == counts["skipped"]
    assert manifest["geometry"] == "dft"
    assert "DFT B3LYP/6-31G(2df,p)" in manifest["geometry_note"] and "MMFF" not in manifest["geometry_note"]
    for key in ("builder", "workbench_version", "seed", "method", "source"):
        assert manifest[key] not in (None, "")
    source = manifest["source"]
    assert source["geometries"] == "qm9pack" and source["qm9pack_version"] == qm9.QM9PACK_VERSION
    assert sorted(source["files_sha256"]) == ["qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv"]
    assert all(len(h) == 64 for h in source["files_sha256"].values())
    assert manifest["files"]["qm9_conformers.npz"]["sha256"] == sha256_file(qm9.DEFAULT_QM9_DIR / "qm9_conformers.npz")
    assert all("not in qm9pack" in reason for reason in manifest["skipped_molecules"].values())
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


def test_mmff_route_keeps_the_selection_rule(table, tmp_path: Path, qm9_csv: Path) -> None:
    # geometry="mmff" (SMILES-only data) draws the same rows as the DFT build and says MMFF in its manifest
    pytest.importorskip("rdkit")
    manifest = qm9.build_qm9_subset(tmp_path / "mmff", seed=0, n=6, csv_path=qm9_csv, geometry="mmff", progress=False)
    assert manifest["geometry"] == "mmff" and "NOT the DFT" in manifest["geometry_note"]
    assert manifest["rdkit_version"] not in (None, "")
    order = np.random.default_rng(0).permutation(len(table))[:6]
    built = load_conformers(tmp_path / "mmff")
    assert manifest["counts"]["embedded"] == len(built) == manifest["counts"]["included"]
    assert list(built.mol_id) == [m for m in table["mol_id"].iloc[order] if m not in manifest["skipped_molecules"]]
    with pytest.raises(ValueError, match="geometry must be one of"):
        qm9.build_qm9_subset(tmp_path / "x", n=2, csv_path=qm9_csv, geometry="uff")
    with pytest.raises(ValueError, match="geometry='dft'"):
        qm9.build_qm9_subset(tmp_path / "x", n=2, csv_path=qm9_csv, geometry="mmff", xyz=tmp_path)


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
    with pytest.raises(ValueError, match=r"pos must be finite: NaN or inf at index\(es\) \[5\]"):
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
    with pytest.raises(ValueError, match=r"values must have shape \[\.\.\., 3\] \(T: one column per target\)"):
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


# --------------------------------------------------------------------------------------------------- DFT geometries

# The first file of the original QM9 release (dsgdb9nsd_000001.xyz, methane), written exactly as distributed: tabs,
# a trailing tab on line 2, Mathematica exponents ('*^') where a number is tiny.
METHANE_XYZ = (
    "5\n"
    "gdb 1\t157.7118\t157.70997\t157.70699\t0.\t13.21\t-0.3877\t0.1171\t0.5048\t35.3641\t0.044749\t-40.47893\t"
    "-40.476062\t-40.475117\t-40.498597\t6.469\t\n"
    "C\t-0.0126981359\t 1.0858041578\t 0.0080009958\t-0.535689\n"
    "H\t 0.002150416\t-0.0060313176\t 0.0019761204\t 0.133921\n"
    "H\t 1.0117308433\t 1.4637511618\t 0.0002765748\t 0.133922\n"
    "H\t-0.540815069\t 1.4475266138\t-0.8766437152\t 0.133923\n"
    "H\t-0.5238136345\t 1.4379326443\t 0.9063972942\t 0.133923\n"
    "1341.307\t1341.3284\t1341.365\t1562.6731\t1562.7453\t3038.3205\t3151.6034\t3151.6788\t3151.7078\n"
    "C\tC\t\n"
    "InChI=1S/CH4/h1H4\tInChI=1S/CH4/h1H4\n"
)


@pytest.fixture(scope="module")
def qm9pack_paths() -> dict[str, Path]:
    try:
        return qm9.dft.qm9pack_files()[1]
    except ImportError:
        pytest.skip("qm9pack (the 'qm9' extra) is not installed")


def _fortran(x: float) -> str:
    return repr(float(x)).replace("e", "*^")


def _xyz_text_from_qm9pack_row(row) -> str:
    """A release-format file from one qm9pack row (tabs, '*^' exponents: the way the original files are written)."""
    import ast

    xyz = ast.literal_eval(row["XYZ_Ang"])  # Python literals: the files write 0. and 1.
    symbols = ast.literal_eval(row["Elements"])
    charges = ast.literal_eval(row["Mulliken_pop"])
    freqs = ast.literal_eval(row["Harmonic_Freq_cmi"])
    labels = [row[qm9.dft.QM9PACK_COLUMNS[t]] for t in ("A", "B", "C", "mu", "alpha", "homo", "lumo", "gap", "r2",
                                                          "zpve", "u0", "u298", "h298", "g298", "cv")]
    lines = [str(len(xyz)), "\t".join(["gdb", str(row["Index"]), *(_fortran(v) for v in labels)]) + "\t"]
    lines += ["\t".join([s, *(_fortran(v) for v in p), _fortran(q)]) for s, p, q in zip(symbols, xyz, charges)]
    lines += ["\t".join(_fortran(f) for f in freqs), f"{row['SMILES']}\t{row['SMILES']}",
              f"{row['InChi']}\t{row['InChi']}"]
    return "\n".join(lines) + "\n"


def test_xyz_reader_on_the_release_format() -> None:
    rec = qm9.read_qm9_xyz(METHANE_XYZ)
    assert rec.index == 1 and rec.mol_id == "gdb_1"
    assert rec.z.tolist() == [6, 1, 1, 1, 1]
    np.testing.assert_array_equal(rec.pos[0], [-0.0126981359, 1.0858041578, 0.0080009958])
    np.testing.assert_array_equal(rec.charges, [-0.535689, 0.133921, 0.133922, 0.133923, 0.133923])
    assert rec.labels["A"] == 157.7118 and rec.labels["mu"] == 0.0 and rec.labels["u0"] == -40.47893
    assert rec.labels["cv"] == 6.469 and rec.frequencies.shape == (9,)
    assert rec.smiles == rec.smiles_relaxed == "C" and rec.inchi == "InChI=1S/CH4/h1H4"
    # Mathematica exponents
    tiny = METHANE_XYZ.replace(" 0.0019761204", "1.9761204*^-3").replace("\t0.\t", "\t-1.5*^-2\t")
    rec2 = qm9.read_qm9_xyz(tiny)
    assert rec2.pos[1, 2] == pytest.approx(1.9761204e-3, rel=1e-15) and rec2.labels["mu"] == -0.015


def test_malformed_xyz_is_rejected_with_the_line(tmp_path: Path) -> None:
    lines = METHANE_XYZ.splitlines(keepends=True)
    cases = {
        "line 1: expected the number of atoms": ["five\n", *lines[1:]],
        "line 2: expected 'gdb N'": [lines[0], "gdb 1\t157.7\n", *lines[2:]],
        "line 4: expected 'El x y z q'": [*lines[:3], "Xx\t0\t0\t0\t0\n", *lines[4:]],
        "line 5: 'abc' is not a number": [*lines[:4], lines[4].replace("1.4637511618", "abc"), *lines[5:]],
        "has n \\+ 5 = 10 lines": lines[:7],
        "expected the SMILES line and the InChI line": [*lines[:-1], "C\n"],
    }
    for message, text in cases.items():
        with pytest.raises(ValueError, match=message):
            qm9.read_qm9_xyz("".join(text), name="broken.xyz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        qm9.read_qm9_xyz(tmp_path / "dsgdb9nsd_000001.xyz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        qm9.load_qm9_xyz(tmp_path / "nowhere")
    (tmp_path / "dsgdb9nsd_000002.xyz").write_text(METHANE_XYZ)  # says gdb 1
    with pytest.raises(ValueError, match="disagrees with its name"):
        qm9.load_qm9_xyz(tmp_path, progress=False)
    with pytest.raises(ValueError, match="'gdb_<N>'"):
        qm9.load_qm9_xyz(tmp_path, ["dsgdb9nsd_000002"], progress=False)


def test_xyz_files_converted_from_qm9pack_read_back_equal(qm9pack_paths, tmp_path: Path) -> None:
    import tarfile

    import pandas as pd

    rows = pd.read_csv(qm9pack_paths["qm9_part1.csv"], nrows=25)
    folder = tmp_path / "release"
    folder.mkdir()
    for _, row in rows.iterrows():
        (folder / row["XYZ_file"]).write_text(_xyz_text_from_qm9pack_row(row))
    archive = tmp_path / "dsgdb9nsd.xyz.tar.bz2"
    with tarfile.open(archive, "w:bz2") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    ids = [f"gdb_{i}" for i in rows["Index"]]
    reference = qm9.load_qm9_dft(ids, progress=False)
    assert reference.mol_id == tuple(ids)
    for source in (folder, archive):
        got = qm9.load_qm9_xyz(source, progress=False)
        assert got.mol_id == reference.mol_id and got.smiles == reference.smiles
        np.testing.assert_array_equal(got.z, reference.z)
        np.testing.assert_allclose(got.pos, reference.pos, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.targets, reference.targets, rtol=1e-15, atol=1e-12)
    some = qm9.load_qm9_xyz(archive, ["gdb_7", "gdb_3", "gdb_999999"], progress=False)
    assert some.mol_id == ("gdb_7", "gdb_3") and list(some.info["missing"]) == ["gdb_999999"]
    # and build_qm9_subset(xyz=...) takes the same files
    table_csv = tmp_path / "table.csv"
    labels = qm9.load_qm9_dft(ids, progress=False)
    frame = pd.DataFrame(labels.targets, columns=labels.target_names)
    frame.insert(0, "smiles", labels.smiles)
    frame.insert(0, "mol_id", labels.mol_id)
    frame.to_csv(table_csv, index=False)
    manifest = qm9.build_qm9_subset(tmp_path / "built", seed=3, n=10, csv_path=table_csv, xyz=folder, progress=False)
    assert manifest["source"]["geometries"] == "qm9 xyz folder" and manifest["counts"]["included"] == 10
    built = load_conformers(tmp_path / "built")
    order = np.random.default_rng(3).permutation(len(ids))[:10]
    assert list(built.mol_id) == [ids[k] for k in order]


def test_shipped_geometries_equal_qm9pack(shipped: ConformerSet, qm9pack_paths) -> None:
    picks = [0, 1, 2, 100, 500, len(shipped) - 1]
    ids = [shipped.mol_id[i] for i in picks]
    ref = qm9.load_qm9_dft(ids, progress=False)
    for k, i in enumerate(picks):
        z, pos = shipped.molecule(i)
        z_ref, pos_ref = ref.molecule(k)
        np.testing.assert_array_equal(z, z_ref)
        np.testing.assert_allclose(pos, pos_ref, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(shipped.targets[i], ref.targets[k])
    # uncentred coordinates are the release's, digit for digit (methane, gdb_1)
    methane = qm9.load_qm9_dft(["gdb_1"], center=False, progress=False)
    np.testing.assert_array_equal(methane.pos, qm9.read_qm9_xyz(METHANE_XYZ).pos)
    assert methane.targets[0, methane.target_names.index("u0")] == -40.47893


def test_shipped_subset_rebuild_is_identical(shipped: ConformerSet, qm9pack_paths, qm9_csv: Path, table,
                                             tmp_path: Path) -> None:
    manifest = shipped.info["manifest"]
    seed, n = manifest["seed"], manifest["counts"]["requested"]
    # the selection rule: the first n rows of the seeded permutation, minus those qm9pack lacks
    order = np.random.default_rng(seed).permutation(len(table))[:n]
    drawn = list(table["mol_id"].iloc[order])
    assert list(shipped.mol_id) == [m for m in drawn if m not in manifest["skipped_molecules"]]
    absent = qm9.load_qm9_dft([*manifest["skipped_molecules"], shipped.mol_id[0]], progress=False)
    assert absent.mol_id == (shipped.mol_id[0],) and set(absent.info["missing"]) == set(manifest["skipped_molecules"])
    rebuilt = qm9.build_qm9_subset(tmp_path / "qm9", seed=seed, n=n, csv_path=qm9_csv, progress=False)
    assert rebuilt["files"] == manifest["files"] and rebuilt["skipped_molecules"] == manifest["skipped_molecules"]
    assert rebuilt["source"]["files_sha256"] == {k: sha256_file(p) for k, p in qm9pack_paths.items()}


def test_shipped_labels_equal_the_shared_csv(shipped: ConformerSet, table) -> None:
    rows = table.set_index("mol_id").loc[list(shipped.mol_id)]
    for name in QM9_TARGETS:
        atol = 5e-3 if name.endswith("_atom") else 0.0  # *_atom derived here from the release's atomref table
        np.testing.assert_allclose(shipped.target_column(name), rows[name].to_numpy(), rtol=0, atol=atol,
                                   err_msg=name)
    for z, energy in FREE_ATOM_U0.items():
        assert qm9.QM9_FREE_ATOM_ENERGIES["u0"][z] == energy


def test_shipped_bond_lengths_are_chemical(shipped: ConformerSet) -> None:
    # Bonds from each molecule's SMILES (its heavy atoms come first in SMILES order, as in the release's files):
    # C-C bonds 1.18 (triple) to 1.73 A (strained cages), other heavy-atom bonds 1.15-1.65 A, every H 0.95-1.15 A
    # from its nearest heavy atom. MMFF conformers broke this (C-C up to 1.995 A, C-N/C-O up to 1.82 A).
    Chem = pytest.importorskip("rdkit.Chem")
    checked = 0
    for i in range(len(shipped)):
        z, pos = shipped.molecule(i)
        mol = Chem.MolFromSmiles(shipped.smiles[i])
        heavy = np.flatnonzero(z > 1)
        if heavy.tolist() != list(range(mol.GetNumAtoms())) or z[heavy].tolist() != [
                a.GetAtomicNum() for a in mol.GetAtoms()]:
            continue
        checked += 1
        for bond in mol.GetBonds():
            a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
            d = float(np.linalg.norm(pos[a] - pos[b]))
            lo, hi = (1.17, 1.76) if z[a] == z[b] == 6 else (1.10, 1.66)
            assert lo < d < hi, f"{shipped.mol_id[i]} bond {a}-{b} ({z[a]}-{z[b]}) is {d:.3f} A"
        h = np.flatnonzero(z == 1)
        if h.size:
            nearest = np.linalg.norm(pos[h][:, None] - pos[heavy][None], axis=-1).min(axis=1)
            assert np.all((nearest > 0.95) & (nearest < 1.15)), shipped.mol_id[i]
    assert checked >= 0.95 * len(shipped)


def test_missing_qm9pack_names_the_extra(monkeypatch, tmp_path: Path, capsys) -> None:
    from importlib.metadata import PackageNotFoundError

    from workbench import cli

    def absent(name):
        raise PackageNotFoundError(name)

    monkeypatch.setattr(qm9.dft, "distribution", absent)
    for call in (lambda: qm9.load_qm9_dft(["gdb_1"]), lambda: qm9.build_qm9_subset(tmp_path / "out")):
        with pytest.raises(ImportError, match=r"'qm9' extra: pip install 'equivariant-workbench\[qm9\]'"):
            call()
    assert cli.main(["build-data", "qm9", "--out", str(tmp_path / "cli")]) == 2
    assert "'qm9' extra" in capsys.readouterr().err
    assert not (tmp_path / "cli").exists()
    with pytest.raises(ValueError, match="'gdb_<N>'"):
        qm9.dft.parse_mol_ids(["gdb_0"])
    with pytest.raises(ValueError, match="repeat"):
        qm9.dft.parse_mol_ids(["gdb_1", "gdb_1"])


@pytest.mark.slow
def test_full_qm9_loads_from_qm9pack(qm9pack_paths) -> None:
    full = qm9.load_qm9_dft(progress=False)
    assert len(full) == 130_831 and full.target_names == tuple(QM9_TARGETS)
    assert full.mol_id[0] == "gdb_1" and full.mol_id[-1] == "gdb_133885"
    assert set(np.unique(full.z).tolist()) == {1, 6, 7, 8, 9} and full.n_atoms.max() == 29
    np.testing.assert_allclose(np.add.reduceat(full.pos, full.ptr[:-1], axis=0) / full.n_atoms[:, None], 0.0,
                               atol=1e-9)

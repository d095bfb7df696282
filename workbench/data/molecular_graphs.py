"""Molecular graphs with a ZINC-style target: penalized logP of QM9 molecules (the ``qm9_penalized_logp`` set).

**Target.** ZINC's regression target (Jin et al. 2018, JT-VAE; used by Dwivedi et al.'s ZINC benchmark and the
SignNet paper) is penalized logP: ``logP - SA - cycle``, where ``logP`` is RDKit's Crippen ``MolLogP``, ``SA`` the
synthetic-accessibility score of Ertl & Schuffenhauer (2009) as RDKit ships it in ``Contrib/SA_Score`` (with its
fragment table ``fpscores.pkl.gz``), and ``cycle = max(0, largest ring size - 6)`` (JT-VAE's code; rings from
RDKit's SSSR, JT-VAE uses networkx's cycle basis, equal for these molecules' ring sizes). ZINC's
``logP_SA_cycle_normalized`` standardizes each term with JT-VAE's ZINC-250k statistics
(:data:`ZINC250K_STATS`) before summing; :func:`penalized_logp` returns both, and the number of rings with more
than six atoms (the wording of Dwivedi et al.) as ``rings_gt6``.

**Graphs.** Heavy atoms only; node type ``3 * element + charge + 1`` with element index in ``("C", "N", "O", "F")``
and formal charge in ``{-1, 0, 1}`` (12 types); edge type 0 single, 1 double, 2 triple, 3 aromatic; every bond in
both directions (PyG convention).

**Files.** ``graphs.npz`` (``node_types``, ``node_ptr [G+1]``, ``edge_src``/``edge_dst`` (local, one direction),
``edge_types``, ``edge_ptr [G+1]``, ``mol_index`` (row in the QM9 CSV's ``mol_id`` order), and the float64 targets
``logp``, ``sa``, ``cycle``, ``rings_gt6``, ``penalized_logp``, ``penalized_logp_normalized``) and
``manifest.json`` (builder, versions, source CSV and its sha256, counts, sha256 of ``graphs.npz``).

**Real ZINC.** :func:`read_zinc_split` reads the subset files of Dwivedi et al.'s benchmark as PyTorch Geometric
downloads them (``<folder>/{train,val,test}.pickle`` and ``{split}.index``): a pickled list of dicts with
``atom_type [n]`` (int tensor, 28 ZINC types), ``bond_type [n, n]`` (int tensor, 0 = no bond, 1-3 bond orders) and
``logP_SA_cycle_normalized [1]``; the index file holds the 10k/1k/1k subset's comma-separated row numbers. A pickle
can run code when loaded: read only files you trust.
"""

from __future__ import annotations

import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from workbench.data.manifest import read_verified_npz, sha256_file, write_npz_reproducible
from workbench.data.qm9.paths import find_qm9_csv
from workbench.version import __version__

__all__ = ["DEFAULT_DIR", "ELEMENTS", "NUM_EDGE_TYPES", "NUM_NODE_TYPES", "TARGETS", "ZINC250K_STATS",
           "MolecularGraphs", "build_qm9_penalized_logp", "load_molecular_graphs", "mol_to_graph", "penalized_logp",
           "read_zinc_split"]

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "data" / "qm9_penalized_logp"
ELEMENTS = ("C", "N", "O", "F")
NUM_NODE_TYPES = 3 * len(ELEMENTS)
NUM_EDGE_TYPES = 4
TARGETS = ("logp", "sa", "cycle", "rings_gt6", "penalized_logp", "penalized_logp_normalized")
#: JT-VAE's statistics of ZINC-250k (mean, std) of logP, -SA and -cycle, used for ZINC's normalized target.
ZINC250K_STATS = {"logp": (2.4570953396190123, 1.434324401111988), "neg_sa": (-3.0525811293166134, 0.8335207024513095),
                  "neg_cycle": (-0.0485696876403053, 0.2860212110245455)}
_REBUILD = "rebuild with `workbench build-data qm9_penalized_logp`"


@dataclass
class MolecularGraphs:
    """Graphs as lists (one entry per molecule): ``x [n]`` int64 node types, ``edge_index [2, E]`` int64 (both
    directions), ``edge_attr [E]`` int64, and ``targets`` (name -> float64 array ``[G]``). ``source``: where from."""

    x: list[torch.Tensor]
    edge_index: list[torch.Tensor]
    edge_attr: list[torch.Tensor]
    targets: dict[str, np.ndarray]
    source: str

    def __len__(self) -> int:
        return len(self.x)


def _sascorer() -> Any:
    from rdkit.Chem import RDConfig  # optional heavy dependency (the 'chem' extra): SA score and logP

    path = Path(RDConfig.RDContribDir) / "SA_Score"
    if not (path / "sascorer.py").is_file() or not (path / "fpscores.pkl.gz").is_file():
        raise ImportError(f"RDKit's Contrib/SA_Score (sascorer.py + fpscores.pkl.gz) is not in {path}; install an "
                          "rdkit wheel that ships Contrib (pip install rdkit)")
    if str(path) not in sys.path:
        sys.path.append(str(path))
    import sascorer  # optional heavy dependency: RDKit's Contrib SA_Score module, found on the path above

    return sascorer


def penalized_logp(mol: Any) -> dict[str, float]:
    """ZINC's target terms for one RDKit molecule (module docstring): ``logp``, ``sa``, ``cycle``, ``rings_gt6``,
    ``penalized_logp = logp - sa - cycle`` and ``penalized_logp_normalized`` (JT-VAE standardization)."""
    from rdkit.Chem import Crippen  # optional heavy dependency (the 'chem' extra)

    logp = float(Crippen.MolLogP(mol))
    sa = float(_sascorer().calculateScore(mol))
    rings = [len(r) for r in mol.GetRingInfo().AtomRings()]
    cycle = float(max(0, max(rings, default=0) - 6))
    (lm, ls), (sm, ss), (cm, cs) = ZINC250K_STATS["logp"], ZINC250K_STATS["neg_sa"], ZINC250K_STATS["neg_cycle"]
    return {"logp": logp, "sa": sa, "cycle": cycle, "rings_gt6": float(sum(r > 6 for r in rings)),
            "penalized_logp": logp - sa - cycle,
            "penalized_logp_normalized": (logp - lm) / ls + (-sa - sm) / ss + (-cycle - cm) / cs}


def mol_to_graph(mol: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heavy-atom graph of an RDKit molecule: ``(node_types [n], bonds [2, E] (one direction), bond_types [E])``."""
    from rdkit import Chem  # optional heavy dependency (the 'chem' extra)

    types = []
    for atom in mol.GetAtoms():
        symbol, charge = atom.GetSymbol(), atom.GetFormalCharge()
        if symbol not in ELEMENTS or charge not in (-1, 0, 1):
            raise ValueError(f"atom {symbol} with charge {charge} has no node type (elements {ELEMENTS}, "
                             "charges -1, 0, 1)")
        types.append(3 * ELEMENTS.index(symbol) + charge + 1)
    kinds = {Chem.BondType.SINGLE: 0, Chem.BondType.DOUBLE: 1, Chem.BondType.TRIPLE: 2, Chem.BondType.AROMATIC: 3}
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx(), kinds[b.GetBondType()]) for b in mol.GetBonds()]
    arr = np.array(bonds, dtype=np.int64).reshape(-1, 3)
    return np.array(types, dtype=np.int64), arr[:, :2].T.copy(), arr[:, 2].copy()


def build_qm9_penalized_logp(out_dir: str | Path | None = None, seed: int = 0, csv: str | Path | None = None
                             ) -> dict[str, Any]:
    """Build ``graphs.npz`` + ``manifest.json`` from every SMILES of the QM9 CSV (``csv``, default as
    :func:`workbench.data.qm9.paths.find_qm9_csv`, any CSV with a ``smiles`` column works). ``seed`` is recorded
    only (the build is deterministic). Molecules RDKit cannot parse or type are skipped and counted."""
    try:
        import rdkit  # optional heavy dependency (the 'chem' extra)
        from rdkit import Chem
    except ImportError as err:
        raise ImportError("building qm9_penalized_logp needs rdkit (the 'chem' extra): pip install rdkit") from err
    sascorer_mod = _sascorer()
    path = find_qm9_csv(csv)
    table = pd.read_csv(path)
    if "smiles" not in table.columns:
        raise ValueError(f"{path} has no 'smiles' column")
    nodes, node_ptr, src, dst, etypes, edge_ptr, rows = [], [0], [], [], [], [0], []
    targets: dict[str, list[float]] = {t: [] for t in TARGETS}
    skipped: dict[str, int] = {}
    for i, smi in enumerate(table["smiles"].astype(str)):
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            skipped["unparsable"] = skipped.get("unparsable", 0) + 1
            continue
        try:
            types, bonds, btypes = mol_to_graph(mol)
        except ValueError:
            skipped["untyped atom"] = skipped.get("untyped atom", 0) + 1
            continue
        for key, value in penalized_logp(mol).items():
            targets[key].append(value)
        nodes.append(types)
        node_ptr.append(node_ptr[-1] + len(types))
        src.append(bonds[0])
        dst.append(bonds[1])
        etypes.append(btypes)
        edge_ptr.append(edge_ptr[-1] + bonds.shape[1])
        rows.append(i)
    arrays = {"node_types": np.concatenate(nodes).astype(np.int8), "node_ptr": np.array(node_ptr, np.int32),
              "edge_src": np.concatenate(src).astype(np.int8), "edge_dst": np.concatenate(dst).astype(np.int8),
              "edge_types": np.concatenate(etypes).astype(np.int8), "edge_ptr": np.array(edge_ptr, np.int32),
              "mol_index": np.array(rows, np.int32), **{k: np.array(v) for k, v in targets.items()}}
    out = Path(out_dir) if out_dir is not None else DEFAULT_DIR
    out.mkdir(parents=True, exist_ok=True)
    write_npz_reproducible(out / "graphs.npz", arrays)
    y = arrays["penalized_logp"]
    manifest = {
        "builder": "workbench.data.molecular_graphs.build_qm9_penalized_logp",
        "workbench_version": __version__, "rdkit_version": rdkit.__version__, "seed": seed,
        "source": {"file": path.name, "sha256": sha256_file(path), "rows": len(table),
                   "license": ("QM9 (Ramakrishnan et al. 2014), CC0" if csv is None
                               else "the user's CSV (license as its owner states)")},
        "method": ("heavy-atom graphs from RDKit MolFromSmiles; logP = Crippen.MolLogP; SA = RDKit Contrib "
                   f"SA_Score ({Path(sascorer_mod.__file__).name}, fpscores.pkl.gz; Ertl & Schuffenhauer 2009); "
                   "cycle = max(0, largest SSSR ring - 6); penalized_logp = logp - sa - cycle; normalized: JT-VAE "
                   "ZINC-250k statistics"),
        "zinc250k_stats": ZINC250K_STATS, "node_types": "3 * index in (C, N, O, F) + formal charge + 1",
        "edge_types": {"single": 0, "double": 1, "triple": 2, "aromatic": 3},
        "count": len(rows), "skipped": skipped,
        "penalized_logp": {"mean": float(y.mean()), "std": float(y.std()), "min": float(y.min()),
                           "max": float(y.max())},
        "rings_gt6_differs_from_cycle": int((arrays["rings_gt6"] != arrays["cycle"]).sum()),
        "files": {"graphs": {"file": "graphs.npz", "sha256": sha256_file(out / "graphs.npz")}},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def load_molecular_graphs(folder: str | Path | None = None, verify: bool = True) -> MolecularGraphs:
    """The shipped ``qm9_penalized_logp`` graphs (or a folder written by :func:`build_qm9_penalized_logp`),
    checked against the manifest's sha256."""
    folder = Path(folder) if folder is not None else DEFAULT_DIR
    _, a, _ = read_verified_npz(folder, "graphs", _REBUILD, _REBUILD, verify)
    xs, edges, attrs = [], [], []
    for g in range(len(a["node_ptr"]) - 1):
        xs.append(torch.from_numpy(a["node_types"][a["node_ptr"][g] : a["node_ptr"][g + 1]].astype(np.int64)))
        lo, hi = a["edge_ptr"][g], a["edge_ptr"][g + 1]
        e = torch.from_numpy(np.stack([a["edge_src"][lo:hi], a["edge_dst"][lo:hi]]).astype(np.int64))
        edges.append(torch.cat([e, e.flip(0)], dim=1))
        t = torch.from_numpy(a["edge_types"][lo:hi].astype(np.int64))
        attrs.append(torch.cat([t, t]))
    return MolecularGraphs(xs, edges, attrs, {t: np.asarray(a[t], dtype=np.float64) for t in TARGETS}, str(folder))


def read_zinc_split(folder: str | Path, split: str = "train", subset: bool = True) -> MolecularGraphs:
    """One split of the ZINC benchmark files (module docstring) as :class:`MolecularGraphs` with the target
    ``penalized_logp_normalized`` (ZINC's ``logP_SA_cycle_normalized``). Edge types are ZINC's bond types minus 1
    (0 single, 1 double, 2 triple); node types are ZINC's 28 atom types."""
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    folder = Path(folder)
    path = folder / f"{split}.pickle"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: expected ZINC's {{train,val,test}}.pickle (PyG's ZINC raw "
                                "folder 'molecules')")
    with path.open("rb") as fh:
        records = pickle.load(fh)  # noqa: S301 - the user's own ZINC files (module docstring)
    if subset:
        index_path = folder / f"{split}.index"
        if not index_path.is_file():
            raise FileNotFoundError(f"{index_path} not found (the subset's row numbers); pass subset=False for all")
        keep = [int(v) for v in index_path.read_text().split("\n")[0].split(",") if v.strip()]
        records = [records[i] for i in keep]
    xs, edges, attrs, y = [], [], [], []
    for i, rec in enumerate(records):
        try:
            atoms = torch.as_tensor(rec["atom_type"]).long().reshape(-1)
            bond = torch.as_tensor(rec["bond_type"]).long()
            target = float(torch.as_tensor(rec["logP_SA_cycle_normalized"]).reshape(-1)[0])
        except (KeyError, TypeError) as err:
            raise ValueError(f"{path} record {i}: expected atom_type, bond_type and logP_SA_cycle_normalized") from err
        if bond.shape != (len(atoms), len(atoms)) or not torch.equal(bond, bond.T):
            raise ValueError(f"{path} record {i}: bond_type must be a symmetric [n, n] matrix, got {tuple(bond.shape)}")
        ei = torch.nonzero(bond > 0).T.contiguous()
        xs.append(atoms)
        edges.append(ei)
        attrs.append(bond[ei[0], ei[1]] - 1)
        y.append(target)
    return MolecularGraphs(xs, edges, attrs, {"penalized_logp_normalized": np.array(y)}, str(path))

"""Where a predicted Hamiltonian is wrong: the error of ``H_pred - H_true`` split into its atom-pair and shell-pair
blocks.

A matrix over a molecule's AOs (project order, :class:`workbench.hamiltonian.OrbitalBasis`) is a grid of blocks,
one per pair of atoms ``(i, j)`` and, inside it, one per pair of their shells ``(a, b)`` of degrees ``(l1, l2)``.
:func:`block_errors` gives, for every such shell block, its mean absolute error over the conformations and entries
and its share of the matrix's total absolute error (so the shares of all blocks add up to 1; the MAE of the whole
matrix is ``sum(share) * H_mae``). :func:`summarize_block_errors` groups the rows, e.g. by ``("kind", "l1", "l2")``
(on-site vs pair blocks per angular momenta) or by ``("element_i", "element_j")``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch

from workbench.checks import check_tensor
from workbench.hamiltonian.basis import OrbitalBasis

__all__ = ["block_errors", "summarize_block_errors", "SHELL_NAMES"]

_LETTERS = "spdfghik"
#: Element symbols for the row labels.
SHELL_NAMES = {1: "H", 6: "C", 7: "N", 8: "O"}


def _shell_layout(basis: OrbitalBasis, z: Sequence[int]) -> list[dict]:
    rows, k = [], 0
    for atom, zz in enumerate(z):
        count: dict[int, int] = {}
        for l in basis.shells_of(int(zz)):
            count[l] = count.get(l, 0) + 1
            # principal-like label: the n-th shell of degree l is called (n + l) l, e.g. 1s 2s 3s 2p 3p 3d
            rows.append({"atom": atom, "z": int(zz), "l": l, "name": f"{count[l] + l}{_LETTERS[l]}",
                         "start": k, "stop": k + 2 * l + 1})
            k += 2 * l + 1
    return rows


def block_errors(H_pred: torch.Tensor, H_true: torch.Tensor, z: Sequence[int] | torch.Tensor, basis: OrbitalBasis
                 ) -> pd.DataFrame:
    """One row per shell block ``(atom i, shell a; atom j, shell b)`` of ``[N, n, n]`` matrices (one molecule
    ``z [A]``, project AO order, Eh).

    Columns: ``atom_i``, ``atom_j``, ``element_i``, ``element_j`` (symbols), ``shell_i``, ``shell_j`` (e.g. ``1s``,
    ``3d``; the n-th shell of degree l is named ``(n + l) l``), ``l1``, ``l2``, ``kind`` (``on-site`` when
    ``i == j``, else ``pair``), ``entries`` (per conformation), ``mae_uEh`` (mean |error| over conformations and
    the block's entries, µEh), ``max_uEh``, ``share`` (the block's part of the total absolute error of the
    matrix; all rows sum to 1).

    Example:
        >>> from workbench.hamiltonian import DEF2_SVP
        >>> H = torch.zeros(2, 24, 24, dtype=torch.float64)
        >>> E = H.clone(); E[:, 0, 0] = 1e-3
        >>> t = block_errors(E, H, [8, 1, 1], DEF2_SVP)
        >>> top = t.loc[t["share"].idxmax()]
        >>> len(t), top["shell_i"], top["shell_j"], top["kind"], round(float(top["mae_uEh"]), 6)
        (144, '1s', '1s', 'on-site', 1000.0)
    """
    zs = z.tolist() if isinstance(z, torch.Tensor) else [int(v) for v in z]
    n = basis.num_orbitals(zs)
    check_tensor(H_pred, "H_pred", shape=("N", n, n), dtype="float", finite=True, hint=f"{n} AOs of this molecule")
    check_tensor(H_true, "H_true", shape=tuple(H_pred.shape), dtype="float", finite=True, hint="same as H_pred")
    err = (H_pred.detach().double() - H_true.detach().double()).abs()
    total = float(err.sum())
    shells = _shell_layout(basis, zs)
    rows = []
    for a in shells:
        for b in shells:
            e = err[:, a["start"]:a["stop"], b["start"]:b["stop"]]
            rows.append({"atom_i": a["atom"], "atom_j": b["atom"], "element_i": SHELL_NAMES.get(a["z"], str(a["z"])),
                         "element_j": SHELL_NAMES.get(b["z"], str(b["z"])), "shell_i": a["name"],
                         "shell_j": b["name"], "l1": a["l"], "l2": b["l"],
                         "kind": "on-site" if a["atom"] == b["atom"] else "pair",
                         "entries": e.shape[1] * e.shape[2], "mae_uEh": float(e.mean()) * 1e6,
                         "max_uEh": float(e.max()) * 1e6, "share": float(e.sum()) / total if total > 0 else 0.0})
    return pd.DataFrame(rows)


def summarize_block_errors(table: pd.DataFrame, by: Sequence[str] = ("kind", "l1", "l2")) -> pd.DataFrame:
    """Group the rows of :func:`block_errors` by the columns ``by``: entries-weighted ``mae_uEh``, summed
    ``share`` and ``entries``, largest share first.

    Example:
        >>> from workbench.hamiltonian import DEF2_SVP
        >>> H = torch.zeros(1, 24, 24, dtype=torch.float64)
        >>> E = H + 1e-6
        >>> summarize_block_errors(block_errors(E, H, [8, 1, 1], DEF2_SVP), by=("kind",))["mae_uEh"].round(6).tolist()
        [1.0, 1.0]
    """
    by = list(by)
    missing = [c for c in by if c not in table.columns]
    if missing:
        raise ValueError(f"by: columns {missing} are not in the block table (columns {list(table.columns)})")
    t = table.assign(weighted=table["mae_uEh"] * table["entries"])
    g = t.groupby(by, as_index=False).agg(entries=("entries", "sum"), weighted=("weighted", "sum"),
                                          share=("share", "sum"))
    g["mae_uEh"] = g["weighted"] / g["entries"]
    return g.drop(columns="weighted").sort_values("share", ascending=False, ignore_index=True)

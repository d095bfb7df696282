"""workbench.hamiltonian.block_errors: shares add up to one and rebuild the whole-matrix MAE, an error put into one
shell block is found there, grouping, and bad input."""

from __future__ import annotations

import pytest
import torch

from workbench.hamiltonian import DEF2_SVP
from workbench.hamiltonian.block_errors import block_errors, summarize_block_errors

pytestmark = pytest.mark.unit

Z = [8, 1, 1]


def test_shares_rebuild_the_matrix_mae():
    g = torch.Generator().manual_seed(0)
    H = torch.randn(3, 24, 24, generator=g, dtype=torch.float64)
    E = H + 1e-3 * torch.randn(3, 24, 24, generator=g, dtype=torch.float64)
    t = block_errors(E, H, Z, DEF2_SVP)
    assert len(t) == 12 * 12  # O has 6 shells, each H 3: one row per pair of the 12 shells
    assert t["share"].sum() == pytest.approx(1.0)
    mae = float((E - H).abs().mean()) * 1e6
    assert (t["mae_uEh"] * t["entries"]).sum() / 24**2 == pytest.approx(mae)
    s = summarize_block_errors(t, by=("kind",))
    assert set(s["kind"]) == {"on-site", "pair"}
    assert s["entries"].sum() == 24 * 24
    assert (s["mae_uEh"] * s["entries"]).sum() / 24**2 == pytest.approx(mae)


def test_finds_the_wrong_block():
    H = torch.zeros(2, 24, 24, dtype=torch.float64)
    E = H.clone()
    E[:, 3:6, 19] = 2e-3  # O 2p (AOs 3..5) against the 1s of the second hydrogen (AO 19)
    t = block_errors(E, H, Z, DEF2_SVP)
    top = t.loc[t["share"].idxmax()]
    assert (top["atom_i"], top["atom_j"], top["shell_i"], top["shell_j"], top["kind"]) == (0, 2, "2p", "1s", "pair")
    assert top["share"] == pytest.approx(1.0) and top["mae_uEh"] == pytest.approx(2000.0)
    s = summarize_block_errors(t)
    assert (s.loc[0, "kind"], s.loc[0, "l1"], s.loc[0, "l2"]) == ("pair", 1, 0)


def test_bad_input():
    H = torch.zeros(2, 24, 24, dtype=torch.float64)
    with pytest.raises(ValueError, match="H_pred"):
        block_errors(H[:, :23, :23], H, Z, DEF2_SVP)
    with pytest.raises(ValueError, match="not in basis"):
        block_errors(H, H, [9, 1, 1], DEF2_SVP)
    with pytest.raises(ValueError, match="by"):
        summarize_block_errors(block_errors(H, H, Z, DEF2_SVP), by=("nope",))

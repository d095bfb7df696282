"""Backmapping figures: the 3D view of true vs generated structures, RMSD against beads, Ramachandran panels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from widgets import MoleculeViewer, backmapping_view, ramachandran_figure, rmsd_vs_beads_figure
from workbench.cg import load_cg_alanine, partition_mapping
from workbench.pipelines.backmapping import PAPER_ALANINE_DIPEPTIDE


def test_backmapping_view_shows_reference_beside_samples():
    traj = load_cg_alanine()
    mapping = partition_mapping(traj.bonds, traj.masses, 4)
    ref = traj.positions[0]
    samples = traj.positions[1:4]
    view = backmapping_view(ref, samples, traj.elements, mapping.assignment, mapping.coarse(ref), offset=9.0)
    assert isinstance(view, MoleculeViewer)
    assert len(view.symbols) == 44 and view.symbols[:4] == ["C", "H", "H", "H"]
    assert len(view.frames) == 3
    frame = np.asarray(view.frames[1])
    np.testing.assert_allclose(frame[:22], ref)
    np.testing.assert_allclose(frame[22:], samples[1] + [9.0, 0, 0])
    assert len(view.arrows) == 22 + 4     # spokes of the reference (no bead sits on an atom here) + bead stubs
    with pytest.raises(ValueError, match="samples"):
        backmapping_view(ref, samples[:, :5], traj.elements, mapping.assignment, mapping.coarse(ref))
    bad = samples.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        backmapping_view(ref, bad, traj.elements, mapping.assignment, mapping.coarse(ref))


def test_rmsd_and_ramachandran_figures():
    results = pd.DataFrame({"n_beads": [3, 3, 6, 6], "model": ["cgvae", "linear"] * 2,
                            "rmsd_heavy_recon": [0.3, 0.7, 0.1, 0.12]})
    fig = rmsd_vs_beads_figure(results, paper=PAPER_ALANINE_DIPEPTIDE)
    names = [t.name for t in fig.data]
    assert names == ["cgvae (ours)", "linear (ours)", "cgvae (paper)", "linear (paper)"]
    assert list(fig.data[0].y) == [0.3, 0.1]
    with pytest.raises(ValueError, match="lacks column"):
        rmsd_vs_beads_figure(results.drop(columns="model"))
    fig = ramachandran_figure({"reference": np.zeros((5, 2)), "generated": np.ones((7, 2))})
    assert len(fig.data) == 2 and len(fig.data[1].x) == 7
    with pytest.raises(ValueError, match=r"\[M, 2\]"):
        ramachandran_figure({"bad": np.zeros((5, 3))})

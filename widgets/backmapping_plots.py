"""Figures of the backmapping pipeline: the 3D view of a true structure beside generated ones in the offline
molecule viewer (:func:`backmapping_view`), heavy-atom RMSD against the number of beads
(:func:`rmsd_vs_beads_figure`) and Ramachandran scatter plots of reference and generated structures
(:func:`ramachandran_figure`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from widgets.molecule_viewer import MoleculeViewer, arrow

__all__ = ["BEAD_COLOURS", "backmapping_view", "ramachandran_figure", "rmsd_vs_beads_figure"]

#: Colours of the bead "spokes" (bead centre -> its atoms), cycled over beads.
BEAD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf", "#393b79", "#637939")
_SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O", 15: "P", 16: "S"}


def backmapping_view(reference, samples, elements, assignment, beads, offset: float = 9.0,
                     height: int = 380) -> MoleculeViewer:
    """The true structure ``reference [n, 3]`` (left) beside one generated structure (right, shifted by ``offset``
    Å along x) with a frame slider over the ``samples [S, n, 3]``. On the reference, thin coloured arrows run from
    every bead centre ``beads [N, 3]`` to its atoms (``assignment [n]``); on the generated copy the same bead
    centres (the CG input both share) are short thick stubs."""
    ref = np.asarray(reference, dtype=float)
    gen = np.asarray(samples, dtype=float)
    beads = np.asarray(beads, dtype=float)
    assignment = np.asarray(assignment)
    n = len(ref)
    if ref.shape != (n, 3) or gen.ndim != 3 or gen.shape[1:] != (n, 3) or len(gen) < 1:
        raise ValueError(f"reference must be [n, 3] and samples [S, n, 3] with the same n, got {ref.shape} and "
                         f"{gen.shape}")
    if assignment.shape != (n,) or beads.ndim != 2 or beads.shape[1] != 3 or assignment.max() >= len(beads):
        raise ValueError(f"assignment must be [n] bead indices into beads [N, 3], got {assignment.shape} and "
                         f"{beads.shape}")
    if not (np.isfinite(ref).all() and np.isfinite(gen).all() and np.isfinite(beads).all()):
        raise ValueError("reference, samples and beads must be finite")
    unknown = sorted({int(z) for z in elements} - set(_SYMBOLS))
    if unknown:
        raise ValueError(f"elements: no symbol for atomic number(s) {unknown}")
    symbols = [_SYMBOLS[int(z)] for z in elements] * 2
    shift = np.array([offset, 0.0, 0.0])
    # reference copy: a spoke from each bead centre to each of its atoms; generated copy (its atoms change with
    # the slider): a short thick stub at each bead centre
    spokes = [arrow(beads[bead], ref[i], color=BEAD_COLOURS[bead % len(BEAD_COLOURS)], radius=0.05)
              for i, bead in enumerate(assignment) if np.linalg.norm(ref[i] - beads[bead]) > 1e-6]
    for bead, centre in enumerate(beads):
        spokes.append(arrow(centre + shift, centre + shift + [0.0, 0.0, 0.35],
                            color=BEAD_COLOURS[bead % len(BEAD_COLOURS)], radius=0.2))
    frames = [np.concatenate([ref, g + shift]) for g in gen]
    viewer = MoleculeViewer(symbols=symbols, positions=frames[0], arrows=spokes, height=height)
    if len(frames) > 1:
        viewer.frames = frames
    return viewer


def rmsd_vs_beads_figure(results: pd.DataFrame, column: str = "rmsd_heavy_recon",
                         paper: Mapping[str, Mapping[int, float]] | None = None,
                         title: str = "Heavy-atom reconstruction RMSD against resolution") -> go.Figure:
    """One line per model of ``results`` (``n_beads``, ``model``, ``column``: the pipeline's ``results.csv``) and,
    when ``paper`` is given (``{"cgvae_rmsd": {N: value}, "linear_rmsd": ...}``), the paper's values as open
    markers."""
    missing = {"n_beads", "model", column} - set(results.columns)
    if missing:
        raise ValueError(f"results lacks column(s) {sorted(missing)}")
    fig = go.Figure()
    colours = {"cgvae": "#d62728", "linear": "#1f77b4"}
    for model, group in results.groupby("model", sort=False):
        group = group.sort_values("n_beads")
        fig.add_trace(go.Scatter(x=group["n_beads"], y=group[column], mode="lines+markers", name=f"{model} (ours)",
                                 line={"color": colours.get(model)}))
    for key, values in (paper or {}).items():
        if not key.endswith("_rmsd") or not values:
            continue
        model = key[:-len("_rmsd")]
        fig.add_trace(go.Scatter(x=list(values), y=list(values.values()), mode="markers", name=f"{model} (paper)",
                                 marker={"symbol": "circle-open", "size": 11, "color": colours.get(model)}))
    fig.update_layout(title=title, xaxis_title="number of beads", yaxis_title=f"{column} (Å)", yaxis_type="log",
                      height=380)
    return fig


def ramachandran_figure(panels: Mapping[str, np.ndarray], title: str = "Ramachandran plot") -> go.Figure:
    """One (phi, psi) scatter panel per entry of ``panels`` (name -> ``[M, 2]`` degrees), axes [-180, 180]."""
    names = list(panels)
    if not names:
        raise ValueError("panels must hold at least one (phi, psi) set")
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, shared_yaxes=True)
    for col, name in enumerate(names, start=1):
        angles = np.asarray(panels[name], dtype=float)
        if angles.ndim != 2 or angles.shape[1] != 2:
            raise ValueError(f"panels[{name!r}] must be [M, 2] (phi, psi) in degrees, got {angles.shape}")
        fig.add_trace(go.Scattergl(x=angles[:, 0], y=angles[:, 1], mode="markers", name=name, showlegend=False,
                                   marker={"size": 3, "opacity": 0.5}), row=1, col=col)
        fig.update_xaxes(range=[-180, 180], title_text="phi (deg)", row=1, col=col)
    fig.update_yaxes(range=[-180, 180], title_text="psi (deg)", row=1, col=1)
    fig.update_layout(title=title, height=360)
    return fig

"""Plotly figures of the interatomic-potential pipeline: energies along an MD run (:func:`md_energy_figure`) and
pair-distance distributions of the model's MD against the reference MD (:func:`rdf_figure`), drawn from the tables
:func:`workbench.pipelines.potential.run_potential` writes (``md_nve.csv``, ``rdf.csv``). Parity plots use
:func:`widgets.pipeline_plots.parity_figure` on ``energy_parity.csv`` / ``forces_parity.csv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["md_energy_figure", "rdf_figure"]

_MD_COLUMNS = ("time_ps", "potential_eV", "kinetic_eV", "total_eV", "temperature_K")


def md_energy_figure(md: pd.DataFrame, num_atoms: int, title: str = "NVE molecular dynamics") -> go.Figure:
    """Potential, kinetic and total energy per atom (meV/atom, relative to the first frame's total) against time
    (left) and the temperature (right) of an MD table with columns ``time_ps, potential_eV, kinetic_eV, total_eV,
    temperature_K``; the legend gives the total energy's least-squares drift in meV/atom/ps (computed from the
    plotted points)."""
    if not isinstance(md, pd.DataFrame) or any(c not in md.columns for c in _MD_COLUMNS):
        raise ValueError(f"md must be a DataFrame with columns {_MD_COLUMNS}")
    if int(num_atoms) < 1:
        raise ValueError(f"num_atoms must be >= 1, got {num_atoms}")
    ref = float(md["total_eV"].iloc[0])
    per_atom = {c: 1000 * (md[c] - (ref if c != "kinetic_eV" else 0.0)) / num_atoms
                for c in ("potential_eV", "kinetic_eV", "total_eV")}
    drift = float(np.polyfit(md["time_ps"], per_atom["total_eV"], 1)[0]) if len(md) > 1 else float("nan")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("energy per atom", "temperature"))
    names = {"potential_eV": "potential", "kinetic_eV": "kinetic", "total_eV": f"total (drift {drift:.3g} meV/atom/ps)"}
    for col, label in names.items():
        fig.add_scatter(x=md["time_ps"], y=per_atom[col], mode="lines", name=label, row=1, col=1)
    fig.add_scatter(x=md["time_ps"], y=md["temperature_K"], mode="lines", name="temperature", row=1, col=2)
    fig.update_xaxes(title_text="time [ps]")
    fig.update_yaxes(title_text="meV/atom", row=1, col=1)
    fig.update_yaxes(title_text="K", row=1, col=2)
    fig.update_layout(title=title, height=420)
    return fig


def rdf_figure(rdf: pd.DataFrame, model_label: str = "learned potential", reference_label: str = "reference MD",
               title: str = "Pair-distance distribution") -> go.Figure:
    """The ``model`` and ``reference`` columns of ``rdf`` (``r_A`` bin centres) as two curves; the title carries
    their L1 distance ``sum |model - reference| dr`` (computed from the plotted values)."""
    if not isinstance(rdf, pd.DataFrame) or any(c not in rdf.columns for c in ("r_A", "model", "reference")):
        raise ValueError("rdf must be a DataFrame with columns r_A, model, reference")
    r = rdf["r_A"].to_numpy(dtype=float)
    width = float(r[1] - r[0]) if len(r) > 1 else 1.0
    l1 = float(np.abs(rdf["model"] - rdf["reference"]).sum() * width)
    fig = go.Figure()
    fig.add_scatter(x=r, y=rdf["reference"], mode="lines", name=reference_label, line={"color": "black"})
    fig.add_scatter(x=r, y=rdf["model"], mode="lines", name=model_label, line={"dash": "dash"})
    fig.update_layout(title=f"{title} (L1 distance {l1:.3f})", xaxis_title="r [Å]",
                      yaxis_title="pair density [1/Å]", height=400)
    return fig

"""Plotly figures of the Hamiltonian pipeline: true / predicted / error views of an AO matrix
(:func:`hamiltonian_matrix_figure`), true and predicted orbitals as isosurfaces side by side with an orbital selector
(:func:`orbital_isosurface_figure`), and orbital-energy parity (:func:`orbital_energy_figure`). All offline (plotly's
bundled JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.hamiltonian.orbitals import OrbitalGrid

__all__ = ["hamiltonian_matrix_figure", "orbital_energy_figure", "orbital_isosurface_figure"]

_CPK = {1: ("H", "#dddddd", 6), 6: ("C", "#444444", 10), 7: ("N", "#3050f8", 10), 8: ("O", "#ff0d0d", 10)}


def _matrix(m, name: str) -> np.ndarray:
    a = np.asarray(m.detach().cpu().numpy() if hasattr(m, "detach") else m, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be a square [n, n] matrix, got shape {list(a.shape)}")
    return a


def hamiltonian_matrix_figure(H_true, H_pred, labels: Sequence[str] | None = None, unit: str = "Eh",
                              title: str = "Fock matrix: true, predicted, error") -> go.Figure:
    """Three heatmaps of ``[n, n]`` matrices: true, predicted (shared symmetric colour scale) and predicted - true
    (its own scale); ``labels`` name the AOs (e.g. ``"O 2p"``)."""
    t, p = _matrix(H_true, "H_true"), _matrix(H_pred, "H_pred")
    if t.shape != p.shape:
        raise ValueError(f"H_true {list(t.shape)} and H_pred {list(p.shape)} must have the same shape")
    if labels is not None and len(labels) != t.shape[0]:
        raise ValueError(f"labels must name the {t.shape[0]} AOs, got {len(labels)}")
    axis = list(labels) if labels is not None else list(range(t.shape[0]))
    vmax = float(np.abs(np.concatenate([t, p])).max()) or 1.0
    err = p - t
    emax = float(np.abs(err).max()) or 1.0
    fig = make_subplots(rows=1, cols=3, subplot_titles=("true", "predicted", f"error (max {emax:.2e} {unit})"),
                        horizontal_spacing=0.08)
    for k, (m, scale, cb) in enumerate(((t, vmax, None), (p, vmax, 0.62), (err, emax, 1.0)), start=1):
        fig.add_heatmap(z=m, x=axis, y=axis, colorscale="RdBu", zmid=0, zmin=-scale, zmax=scale, row=1, col=k,
                        showscale=cb is not None, colorbar={"x": cb, "len": 0.9} if cb is not None else None,
                        hovertemplate="%{y} / %{x}: %{z:.3e}<extra></extra>")
        fig.update_yaxes(autorange="reversed", row=1, col=k)
    fig.update_layout(title=title, height=420, width=1150)
    return fig


def orbital_energy_figure(eps_true, eps_pred, nocc: int, title: str = "Orbital energies: predicted vs true"
                          ) -> go.Figure:
    """Parity plot of orbital energies ``[N, n]`` (Eh), occupied and virtual orbitals in two colours."""
    t = np.asarray(eps_true, dtype=np.float64)
    p = np.asarray(eps_pred, dtype=np.float64)
    if t.shape != p.shape or t.ndim != 2:
        raise ValueError(f"eps_true and eps_pred must both be [N, n], got {list(t.shape)} and {list(p.shape)}")
    fig = go.Figure()
    fig.add_scatter(x=t[:, :nocc].ravel(), y=p[:, :nocc].ravel(), mode="markers", name="occupied")
    fig.add_scatter(x=t[:, nocc:].ravel(), y=p[:, nocc:].ravel(), mode="markers", name="virtual")
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    fig.add_scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"dash": "dot", "color": "gray"}, name="y = x")
    fig.update_layout(title=title, xaxis_title="true [Eh]", yaxis_title="predicted [Eh]", height=420)
    return fig


def orbital_isosurface_figure(true: OrbitalGrid, predicted: OrbitalGrid, z: Sequence[int], pos,
                              names: Sequence[str], iso: float = 0.05, title: str = "Orbitals: true | predicted"
                              ) -> go.Figure:
    """True (left) and predicted (right) orbitals as ``+-iso`` isosurfaces (red / blue) with the atoms; the buttons
    select the orbital (``names[k]`` for ``true.values[k]``). The sign of each predicted orbital is flipped to
    agree with the true one (an eigenvector's sign is arbitrary)."""
    if true.values.shape != predicted.values.shape:
        raise ValueError(f"true and predicted grids differ: {true.values.shape} vs {predicted.values.shape}")
    if len(names) != true.values.shape[0]:
        raise ValueError(f"names must label the {true.values.shape[0]} orbitals, got {len(names)}")
    pos = np.asarray(pos, dtype=np.float64)
    pts = true.points()
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "scene"}, {"type": "scene"}]],
                        subplot_titles=("PySCF (true H)", "predicted H"))
    per_orbital = []
    for k in range(true.values.shape[0]):
        a, b = true.values[k].ravel(), predicted.values[k].ravel()
        b = b if float(a @ b) >= 0 else -b
        idx = []
        for col, v in ((1, a), (2, b)):
            fig.add_trace(go.Isosurface(x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], value=v, isomin=-iso, isomax=iso,
                                        surface_count=2, colorscale=[[0, "#2166ac"], [1, "#b2182b"]],
                                        showscale=False, caps={"x_show": False, "y_show": False, "z_show": False},
                                        opacity=0.6, visible=k == 0, name=names[k]), row=1, col=col)
            idx.append(len(fig.data) - 1)
        per_orbital.append(idx)
    atoms = []
    for col in (1, 2):
        for zi in sorted(set(int(v) for v in z)):
            sym, color, size = _CPK.get(zi, (str(zi), "#ff69b4", 8))
            sel = [i for i, v in enumerate(z) if int(v) == zi]
            fig.add_scatter3d(x=pos[sel, 0], y=pos[sel, 1], z=pos[sel, 2], mode="markers", name=sym,
                              marker={"size": size, "color": color, "line": {"width": 1, "color": "black"}},
                              showlegend=col == 1, row=1, col=col)
            atoms.append(len(fig.data) - 1)
    buttons = []
    for k, name in enumerate(names):
        visible = [False] * len(fig.data)
        for i in per_orbital[k] + atoms:
            visible[i] = True
        buttons.append({"label": name, "method": "update", "args": [{"visible": visible}]})
    fig.update_layout(title=title, height=480, width=1000,
                      updatemenus=[{"buttons": buttons, "direction": "down", "x": 0.0, "y": 1.15}])
    return fig

"""``EigenvectorExplorer``: a graph's Laplacian eigenvectors as node colours, with buttons that apply random sign
flips or random rotations of every eigenspace (what another eigensolver, or the same one on a renumbered graph, may
return), redraw, and list how much each positional encoding's output changed.

The encodings are any callables ``GraphBatch -> tensor`` (e.g. :class:`workbench.models.SignNet`,
:class:`~workbench.models.LapPE`, :class:`~workbench.models.BasisNet` in eval mode); the change reported is the
largest absolute difference from their output on the graph's original eigenvectors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go
import torch

from widgets.spectral_plots import eigenvector_grid_figure
from workbench.spectral import GraphBatch, collate_graphs, encode_graph, random_basis_change, random_sign_flips

__all__ = ["EigenvectorExplorer"]


class EigenvectorExplorer(w.VBox):
    """Buttons ``flip`` / ``rotate`` / ``reset`` over a figure of the first ``show`` eigenvectors and a table of
    encoding changes.

    Args:
        edge_index: ``[2, E]`` int64, both directions (one graph).
        positions: ``[n, 2]`` node positions for drawing.
        encodings: name -> callable of a :class:`~workbench.spectral.GraphBatch` (its ``k`` must match).
        k: eigenvectors computed (float64, normalized Laplacian unless ``normalization`` says otherwise).
        show: eigenvectors drawn (the first ``show``).
        seed: seed of the random flips and rotations.

    Attributes: ``batch`` (the current eigenvectors), ``changes`` (name -> largest |change|), ``figure``
    (a plotly ``FigureWidget``), ``table`` (an ``HTML`` widget), ``buttons``.
    """

    def __init__(self, edge_index: torch.Tensor, positions: np.ndarray,
                 encodings: Mapping[str, Callable[[GraphBatch], torch.Tensor]], k: int = 8, show: int = 4,
                 normalization: str = "combinatorial", seed: int = 0) -> None:
        n = int(np.asarray(positions).shape[0])
        if not 1 <= show <= min(k, n):
            raise ValueError(f"show must be in [1, min(k, n)] = [1, {min(k, n)}], got {show}")
        self.edge_index, self.positions, self.show = edge_index, np.asarray(positions, dtype=float), show
        self.encodings = dict(encodings)
        self.original = collate_graphs([encode_graph(torch.zeros(n, dtype=torch.int64), edge_index, k=k,
                                                     normalization=normalization)])
        self.generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.reference = {name: f(self.original) for name, f in self.encodings.items()}
        self.batch = self.original
        self.changes: dict[str, float] = {}
        self.figure = go.FigureWidget(eigenvector_grid_figure(self.edge_index.numpy(), self.positions,
                                                              self._panels()))
        self.table = w.HTML()
        self.buttons = {"flip": w.Button(description="random sign flips"),
                        "rotate": w.Button(description="random eigenspace rotation"),
                        "reset": w.Button(description="original eigenvectors")}
        self.buttons["flip"].on_click(lambda _: self.flip())
        self.buttons["rotate"].on_click(lambda _: self.rotate())
        self.buttons["reset"].on_click(lambda _: self.reset())
        self._update()
        super().__init__([w.HBox(list(self.buttons.values())), self.figure, self.table])

    def _panels(self) -> dict[str, np.ndarray]:
        lam = self.batch.eigvals[0]
        return {f"v{j + 1} (lambda = {float(lam[j]):.3f})": self.batch.eigvecs[:, j].numpy()
                for j in range(self.show)}

    def _update(self) -> None:
        with torch.no_grad():
            self.changes = {name: float((f(self.batch) - self.reference[name]).abs().max())
                            for name, f in self.encodings.items()}
        node_traces = [t for t in self.figure.data if t.mode == "markers"]
        with self.figure.batch_update():
            for trace, values in zip(node_traces, self._panels().values()):
                trace.marker.color = values
        rows = "".join(f"<tr><td>{name}</td><td>{value:.2e}</td></tr>" for name, value in self.changes.items())
        self.table.value = ("<table><tr><th>encoding</th><th>max |change of output|</th></tr>" + rows + "</table>")

    def flip(self) -> None:
        """Multiply every eigenvector by a random sign and redraw."""
        self.batch = random_sign_flips(self.batch, self.generator)
        self._update()

    def rotate(self) -> None:
        """Apply a random orthogonal map to every (complete) eigenspace and redraw."""
        self.batch = random_basis_change(self.batch, self.generator)
        self._update()

    def reset(self) -> None:
        """Back to the eigensolver's eigenvectors."""
        self.batch = self.original
        self._update()

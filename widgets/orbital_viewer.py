"""True and predicted molecular orbitals side by side in the offline molecule viewer, with an orbital selector.

Two :class:`widgets.MoleculeViewer` views (3Dmol.js bundled, no network) show the molecule with one orbital's
``+iso`` (red) and ``-iso`` (blue) isosurfaces, computed from cube grids of
:func:`workbench.hamiltonian.orbitals.orbitals_on_grid`; the dropdown picks the orbital in both views. A predicted
orbital's sign is flipped to agree with the true one (an eigenvector's sign is arbitrary).
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets
import numpy as np

from widgets.molecule_viewer import MoleculeViewer
from workbench.hamiltonian.orbitals import OrbitalGrid, cube_text

__all__ = ["OrbitalViewer"]

_SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O"}


class OrbitalViewer(ipywidgets.VBox):
    """``OrbitalViewer(z [A], pos [A, 3] (Å), true, predicted, names)``: ``true``/``predicted`` are
    :class:`~workbench.hamiltonian.orbitals.OrbitalGrid` with the same orbitals (``names[k]`` labels orbital
    ``k``); ``iso`` is the isovalue (bohr^-3/2). ``.orbital`` (the dropdown's value) is the orbital shown;
    ``.views`` the two MoleculeViewers."""

    def __init__(self, z: Sequence[int], pos, true: OrbitalGrid, predicted: OrbitalGrid, names: Sequence[str],
                 iso: float = 0.05, height: int = 320) -> None:
        if true.values.shape != predicted.values.shape:
            raise ValueError(f"true and predicted grids differ: {true.values.shape} vs {predicted.values.shape}")
        if len(names) != true.values.shape[0]:
            raise ValueError(f"names must label the {true.values.shape[0]} orbitals, got {len(names)}")
        if not iso > 0:
            raise ValueError(f"iso must be > 0, got {iso}")
        unknown = sorted({int(v) for v in z} - set(_SYMBOLS))
        if unknown:
            raise ValueError(f"z: atomic numbers {unknown} have no symbol here (H, C, N, O)")
        self.z, self.pos = [int(v) for v in z], np.asarray(pos, dtype=np.float64)
        self.true, self.iso = true, float(iso)
        signs = np.sign(np.einsum("kxyz,kxyz->k", true.values, predicted.values))
        self.predicted = OrbitalGrid(predicted.origin, predicted.spacing, predicted.shape,
                                     predicted.values * np.where(signs == 0, 1.0, signs)[:, None, None, None])
        symbols = [_SYMBOLS[v] for v in self.z]
        self.views = [MoleculeViewer(symbols, self.pos, style="stick", height=height) for _ in range(2)]
        self.selector = ipywidgets.Dropdown(options=[(n, k) for k, n in enumerate(names)], value=0,
                                            description="orbital")
        self.selector.observe(lambda change: self._show(change["new"]), names="value")
        columns = [ipywidgets.VBox([ipywidgets.HTML(f"<b>{title}</b>"), view], layout={"width": "50%"})
                   for title, view in zip(("true H (PySCF)", "predicted H"), self.views)]
        super().__init__([self.selector, ipywidgets.HBox(columns)])
        self._show(0)

    @property
    def orbital(self) -> int:
        return int(self.selector.value)

    def _show(self, k: int) -> None:
        for view, grid in zip(self.views, (self.true, self.predicted)):
            text = cube_text(grid, k, self.z, self.pos)
            view.volumes = [{"cube": text, "isoval": self.iso, "color": "#b2182b", "opacity": 0.85},
                            {"cube": text, "isoval": -self.iso, "color": "#2166ac", "opacity": 0.85}]

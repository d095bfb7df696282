"""JupyterLab widgets for the Equivariant Workbench (imports workbench, never the reverse).

- :class:`MoleculeViewer`: offline 3D molecule view (anywidget + bundled 3Dmol.js), with arrows for vectors.
- :class:`RotationSliders` / :func:`rotation_matrix`: Euler-angle sliders driving a rotation matrix.
- :mod:`widgets.plots`: plotly figures for invariants and equivariant vectors, rendered offline.
"""

from widgets.molecule_viewer import STYLES, MoleculeViewer, arrow, dipole_arrow
from widgets.plots import dipole_figure, distances_figure, use_offline_plotly, write_figure_html
from widgets.rotation import RotationSliders, rotation_matrix

__all__ = [
    "STYLES",
    "MoleculeViewer",
    "arrow",
    "dipole_arrow",
    "RotationSliders",
    "rotation_matrix",
    "dipole_figure",
    "distances_figure",
    "use_offline_plotly",
    "write_figure_html",
]

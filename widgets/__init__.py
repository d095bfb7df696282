"""JupyterLab widgets for the Equivariant Workbench (imports workbench, never the reverse).

- :class:`MoleculeViewer`: offline 3D molecule view (anywidget + bundled 3Dmol.js), with arrows for vectors; your
  own molecule from a file, an ASE ``Atoms`` or an RDKit ``Mol``; trajectories with a frame slider.
- :class:`RotationSliders` / :func:`rotation_matrix`: Euler-angle sliders driving a rotation matrix;
  :class:`RotationDemo`: sliders that rotate a molecule's coordinates, with a live viewer, readout and plots.
- :mod:`widgets.plots`: plotly figures for invariants and equivariant vectors, rendered offline.
- :mod:`widgets.pipeline_plots`: the pipeline notebooks' figures (parity, learning curves, confusion, ROC, bars).
- :mod:`widgets.potential_plots`: MD energies and pair-distance distributions of the potential pipeline.
- :mod:`widgets.spectral_plots`: SignNet pipeline bars and eigenvectors as node colours.
- :class:`EigenvectorExplorer`: flip signs / rotate eigenspaces of a graph's eigenvectors, watch encodings change.
- :class:`IrrepsExplorer`: spherical harmonics on the sphere, rotated through Wigner D, parity.
- :class:`TensorProductExplorer`: decompositions and Clebsch-Gordan tensors for O(3), SU(2), SU(3), Lorentz.
- :mod:`widgets.dynamics_plots`: the action-angle pipeline's figures and a phase-space explorer (jump slider).
- :func:`sweep_summary_figure`: a notebook sweep's metric against a parameter, one line per model (``sweep.csv``).
- :class:`EquivarianceExplorer`: rotate or boost the input, compare f(g x) with g f(x), Lie derivative per layer.
- :class:`SpectraExplorer`: a structure in 3D beside its S(Q), G(r), powder pattern and phonon DOS, with controls
  for radiation, Q range, broadening, B_iso, supercell and element highlighting.
- :class:`PartitionExplorer`: a graph family, size, partitioning method and k; the partition on the mesh, the cut
  table and the sparsity of the nested-dissection ordering and of its LU factor.
"""

from widgets.backmapping_plots import backmapping_view, ramachandran_figure, rmsd_vs_beads_figure
from widgets.dynamics_plots import (
    conservation_figure,
    frequencies_figure,
    jump_error_figure,
    phase_space_figure,
    prediction_time_figure,
)
from widgets.eigenvector_explorer import EigenvectorExplorer
from widgets.equivariance_explorer import EquivarianceExplorer
from widgets.hamiltonian_plots import hamiltonian_matrix_figure, orbital_energy_figure, orbital_isosurface_figure
from widgets.irreps_explorer import IrrepsExplorer
from widgets.molecule_viewer import DIPOLE_COLOR, DIPOLE_SCALE, STYLES, MoleculeViewer, arrow, dipole_arrow
from widgets.normals_plots import abs_cos_bars_figure, normals_figure
from widgets.orbital_viewer import OrbitalViewer
from widgets.partition_explorer import PartitionExplorer
from widgets.partition_plots import cut_vs_size_figure, partition_mesh_figure, sparsity_figure
from widgets.pipeline_plots import (
    accuracy_bars_figure,
    confusion_figure,
    jet_sample_figure,
    learning_curves_figure,
    parity_figure,
    roc_figure,
    shape_clouds_figure,
)
from widgets.plots import dipole_figure, distances_figure, use_offline_plotly, write_figure_html
from widgets.potential_plots import md_energy_figure, rdf_figure
from widgets.rotation import RotationDemo, RotationSliders, rotation_matrix
from widgets.spectra_explorer import SpectraExplorer, SpectraSettings, SpectraStructure
from widgets.spectral_plots import eigenvector_grid_figure, invariance_bars_figure, mae_bars_figure
from widgets.sweep_plots import sweep_summary_figure
from widgets.tensor_product_explorer import TensorProductExplorer

__all__ = [
    "sweep_summary_figure",
    "backmapping_view",
    "ramachandran_figure",
    "rmsd_vs_beads_figure",
    "md_energy_figure",
    "rdf_figure",
    "cut_vs_size_figure",
    "partition_mesh_figure",
    "PartitionExplorer",
    "sparsity_figure",
    "abs_cos_bars_figure",
    "normals_figure",
    "hamiltonian_matrix_figure",
    "orbital_energy_figure",
    "orbital_isosurface_figure",
    "OrbitalViewer",
    "EquivarianceExplorer",
    "SpectraExplorer",
    "SpectraSettings",
    "SpectraStructure",
    "IrrepsExplorer",
    "TensorProductExplorer",
    "STYLES",
    "DIPOLE_COLOR",
    "DIPOLE_SCALE",
    "MoleculeViewer",
    "arrow",
    "dipole_arrow",
    "RotationDemo",
    "RotationSliders",
    "rotation_matrix",
    "accuracy_bars_figure",
    "confusion_figure",
    "jet_sample_figure",
    "learning_curves_figure",
    "parity_figure",
    "roc_figure",
    "shape_clouds_figure",
    "dipole_figure",
    "distances_figure",
    "use_offline_plotly",
    "write_figure_html",
    "eigenvector_grid_figure",
    "invariance_bars_figure",
    "mae_bars_figure",
    "conservation_figure",
    "frequencies_figure",
    "jump_error_figure",
    "phase_space_figure",
    "prediction_time_figure",
    "EigenvectorExplorer",
]

"""workbench.calculators: ASE calculators from trained workbench potentials, and MD with them.

- :class:`WorkbenchCalculator`: energy, forces and stress of a :class:`workbench.models.Potential` for ASE (float64
  or float32, periodic cells, batched :meth:`~WorkbenchCalculator.evaluate`, clear errors for bad structures).
- :func:`save_potential` / :func:`load_potential` / :func:`build_potential`: checkpoints that rebuild themselves.
- :func:`run_md` (ASE velocity Verlet NVE or Langevin NVT), :func:`energy_drift` (eV/atom/ps),
  :func:`pair_distance_distribution` (RDF histograms), :class:`MDTrajectory`.

ASE is the ``chem`` extra; without it the calculator and MD helpers raise ImportError naming it.
"""

from workbench.calculators.ase_calculator import WorkbenchCalculator, check_structure
from workbench.calculators.checkpoint import build_potential, load_potential, save_potential
from workbench.calculators.md import ENSEMBLES, MDTrajectory, energy_drift, pair_distance_distribution, run_md

__all__ = ["ENSEMBLES", "MDTrajectory", "WorkbenchCalculator", "build_potential", "check_structure",
           "energy_drift", "load_potential", "pair_distance_distribution", "run_md", "save_potential"]

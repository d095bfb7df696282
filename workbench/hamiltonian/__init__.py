"""Hamiltonian prediction data: atomic-orbital bases, the PySCF <-> project AO convention, DFT labels (the ``qc``
extra), the shipped dataset and the generalized eigenproblem (orbital energies and coefficients).

The PhiSNet model itself is :class:`workbench.models.PhiSNet`; the pipeline is
:func:`workbench.pipelines.hamiltonian.run_hamiltonian`.
"""

from workbench.hamiltonian.ao_convention import conversion_matrix, e3nn_to_pyscf, pyscf_to_e3nn, shell_conversion
from workbench.hamiltonian.basis import DEF2_SVP, OrbitalBasis
from workbench.hamiltonian.dataset import HamiltonianData, build_hamiltonians, load_hamiltonians

__all__ = ["DEF2_SVP", "OrbitalBasis", "HamiltonianData", "build_hamiltonians", "load_hamiltonians",
           "conversion_matrix", "e3nn_to_pyscf", "pyscf_to_e3nn", "shell_conversion"]

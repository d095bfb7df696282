"""workbench.cg: coarse-graining and backmapping (CG -> all-atom) with an equivariant VAE.

- :mod:`~workbench.cg.trajectory`: :class:`Trajectory` (frames + topology), :func:`read_trajectory` (PDB/XYZ via
  ASE, DCD/XTC via MDTraj).
- :mod:`~workbench.cg.alanine`: the alanine dipeptide trajectory the project simulates with OpenMM
  (:func:`build_cg_alanine`, ``workbench build-data cg_alanine``) and its loader :func:`load_cg_alanine`.
- :mod:`~workbench.cg.mapping`: :class:`CGMapping` (assignment + centre-of-mass/centroid matrix),
  :func:`partition_mapping` (Girvan–Newman, any number of beads), :func:`residue_mapping`.
- :mod:`~workbench.cg.linear`: :class:`LinearBackmapping`, the least-squares CG -> FG lift (baseline).
- :mod:`~workbench.cg.cgvae`: :class:`CGVAE` (equivariant encoder, conditional prior, decoder) and
  :func:`cgvae_loss`.
- :mod:`~workbench.cg.metrics`: RMSD, graph-edit ratio, sample diversity, clashes, dihedrals, Ramachandran JSD.
"""

from workbench.cg.alanine import build_cg_alanine, load_cg_alanine, simulate_alanine_dipeptide
from workbench.cg.cgvae import CGVAE, cgvae_loss
from workbench.cg.linear import LinearBackmapping
from workbench.cg.mapping import CGMapping, mapping_matrix, partition_mapping, residue_mapping
from workbench.cg.metrics import (
    backbone_dihedrals,
    dihedral,
    graph_edit_ratio,
    kabsch_align,
    ramachandran_js_divergence,
    rmsd,
    sample_diversity,
    steric_clashes,
)
from workbench.cg.trajectory import Trajectory, covalent_bonds, read_trajectory

__all__ = ["CGMapping", "CGVAE", "LinearBackmapping", "Trajectory", "backbone_dihedrals", "build_cg_alanine",
           "cgvae_loss", "covalent_bonds", "dihedral", "graph_edit_ratio", "kabsch_align", "load_cg_alanine",
           "mapping_matrix", "partition_mapping", "ramachandran_js_divergence", "read_trajectory",
           "residue_mapping", "rmsd", "sample_diversity", "simulate_alanine_dipeptide", "steric_clashes"]

"""workbench.data: datasets with provenance, one batch type, interop.

- :mod:`workbench.data.qm9`: QM9 (table, conformers, dataset, units, normalization) and the shipped subset.
- :mod:`workbench.data.molecules`: the shipped molecules (extended XYZ) and rotation checks.
- :mod:`workbench.data.shapes`, :mod:`workbench.data.jets`: the shape and top-tagging datasets.
- :class:`AtomsItem`, :class:`AtomsBatch`, :func:`collate_atoms`: one PyG-shaped batch (``z``, ``pos``, ``batch``,
  ``ptr``) for every molecular dataset; :func:`fixed_split` for reproducible splits.
- :func:`to_ase`, :func:`from_ase`, :func:`to_pyg`, :func:`from_pyg`: ASE ``Atoms`` and PyG ``Data`` interop.
- :mod:`workbench.data.potentials`: structures with energies/forces (extended XYZ, rMD17), the shipped
  ethanol (GFN2-xTB) and copper (EMT) trajectories.
- :mod:`workbench.data.manifest`: manifests with sha256, reproducible npz writing.

Examples:
    >>> import torch
    >>> from workbench.data import AtomsItem, collate_atoms
    >>> water = AtomsItem(z=torch.tensor([8, 1, 1]), pos=torch.randn(3, 3, dtype=torch.float64))
    >>> methane = AtomsItem(z=torch.tensor([6, 1, 1, 1, 1]), pos=torch.randn(5, 3, dtype=torch.float64))
    >>> batch = collate_atoms([water, methane])
    >>> batch.num_graphs, batch.batch.tolist(), batch.ptr.tolist()
    (2, [0, 0, 0, 1, 1, 1, 1, 1], [0, 3, 8])
"""

from workbench.data import batch, interop, jets, manifest, molecules, potentials, qm9, shapes, splits
from workbench.data.batch import AtomsBatch, AtomsItem, collate_atoms
from workbench.data.interop import from_ase, from_pyg, to_ase, to_pyg
from workbench.data.splits import fixed_split

__all__ = [
    "AtomsBatch",
    "AtomsItem",
    "batch",
    "collate_atoms",
    "fixed_split",
    "from_ase",
    "from_pyg",
    "interop",
    "jets",
    "manifest",
    "molecules",
    "potentials",
    "qm9",
    "shapes",
    "splits",
    "to_ase",
    "to_pyg",
]

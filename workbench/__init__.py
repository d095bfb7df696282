"""Equivariant Workbench: the compute package (groups, layers, kernels, models, data, training, pipelines).

``import workbench as wb`` reaches every subpackage: ``wb.groups`` (Lie groups, irreps, Clebsch-Gordan; O(3) in
e3nn's basis as ``wb.o3``), ``wb.nn`` (equivariant layers), ``wb.kernels`` (Triton and fused backends),
``wb.models`` (SchNet, NequIP, MACE, Equiformer, the Lorentz G-MACE, shape and jet models), ``wb.data`` (datasets
with manifests and interop), ``wb.train`` (the fitting loop), ``wb.equivariance`` (Lie derivative and equivariance
errors), ``wb.spectral`` (Laplacian eigenvectors, their sign/basis ambiguities, RWSE), ``wb.scattering`` (Debye
I(Q)/S(Q), pair distribution functions, powder patterns), ``wb.dynamics`` (Hamiltonian systems,
Action-Angle Networks and their baselines), ``wb.partition`` (graph partitioning, nested dissection, GNN and RL
partitioners against METIS), ``wb.calculators`` (ASE calculators from trained potentials, MD helpers)
and ``wb.pipelines`` (the
functions the pipeline notebooks call).  Nothing in ``workbench`` imports Jupyter
or plotting libraries; widgets live in the ``widgets`` package.

Examples:
    >>> import workbench as wb
    >>> wb.o3.Irreps("8x0e+8x1o").dim
    32
"""

from workbench import (
                       calculators,
                       cg,
                       checks,
                       data,
                       dynamics,
                       equivariance,
                       frames,
                       groups,
                       hamiltonian,
                       kernels,
                       models,
                       nn,
                       partition,
                       pipelines,
                       scattering,
                       spectral,
                       train,
)
from workbench.groups import o3
from workbench.version import __version__

__all__ = [
    "__version__",
    "cg",
    "calculators",
    "checks",
    "data",
    "dynamics",
    "equivariance",
    "frames",
    "groups",
    "hamiltonian",
    "kernels",
    "models",
    "nn",
    "o3",
    "partition",
    "pipelines",
    "scattering",
    "spectral",
    "train",
]

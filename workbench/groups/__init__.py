"""Representation theory for reductive Lie groups (lie-nn style) and O(3) in the e3nn basis.

Groups (each with ``.irrep(label)``, ``.random_element()``, ``.exp(coords)``, ``.clebsch_gordan(a, b, c)``,
``.decompose(a, b)``, ``.decompose_representation(rep)``):

``SO2()``, ``O2()``, ``SU2()``, ``SO3()``, ``O3()``, ``Lorentz()``, ``SU3()``, ``SO(d)``, ``O(d)``, ``Sp(2n)``.

Generic machinery: :class:`Representation` (generators + discrete generators, sums, products, duals,
conjugates, changes of basis, symmetric/exterior powers), :func:`intertwiners`, :func:`clebsch_gordan_tensor`
(numerical null spaces, float64), disk/memory caches (:mod:`workbench.groups.cache`, :func:`clear_caches`).
The O(3)/e3nn layer lives in :mod:`workbench.groups.o3`.
"""

from workbench.groups.group import GroupElement, Irrep, LieGroup, clear_caches
from workbench.groups.intertwiners import clebsch_gordan_tensor, decompose_representation, intertwiners
from workbench.groups.lorentz import Lorentz
from workbench.groups.orthogonal import SO, O
from workbench.groups.representation import Representation, solve_structure_constants
from workbench.groups.so2 import O2, SO2
from workbench.groups.so3 import O3, SO3
from workbench.groups.su2 import SU2
from workbench.groups.su3 import SU3
from workbench.groups.symplectic import Sp

__all__ = [
    "O",
    "O2",
    "O3",
    "SO",
    "SO2",
    "SO3",
    "SU2",
    "SU3",
    "Sp",
    "GroupElement",
    "Irrep",
    "LieGroup",
    "Lorentz",
    "Representation",
    "clear_caches",
    "clebsch_gordan_tensor",
    "decompose_representation",
    "intertwiners",
    "solve_structure_constants",
]

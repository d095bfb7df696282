"""Representation theory for reductive Lie groups (lie-nn style) and O(3) in the e3nn basis.

Groups (each with ``.irrep(label)``, ``.random_element()``, ``.exp(coords)``, ``.clebsch_gordan(a, b, c)``,
``.decompose(a, b)``, ``.decompose_representation(rep)``):

``SO2()``, ``O2()``, ``SU2()``, ``SO3()``, ``O3()``, ``Lorentz()``, ``SU3()``, ``SO(d)``, ``O(d)``, ``Sp(2n)``.

Irreps with multiplicities of any group: :class:`Irreps` (``Irreps(Lorentz(), "2x(0,0)+(1/2,1/2)")``;
``o3.Irreps("16x0e+8x1o")`` is its O(3) subclass), groups by name (:func:`by_name`), irreps arguments of layers
(:func:`as_irreps`), and :func:`intertwining_error` (the residual of the one Clebsch-Gordan contract, see
:mod:`workbench.groups.group`).

Generic machinery: :class:`Representation` (generators + discrete generators, sums, products, duals,
conjugates, changes of basis, symmetric/exterior powers), :func:`intertwiners`, :func:`clebsch_gordan_tensor`
(numerical null spaces, float64), disk/memory caches (:mod:`workbench.groups.cache`, :func:`clear_caches`).
The O(3)/e3nn layer lives in :mod:`workbench.groups.o3`.
"""

from workbench.groups.group import (
    GroupElement,
    Irrep,
    LieGroup,
    clear_caches,
    intertwining_error,
    intertwining_sides,
)
from workbench.groups.intertwiners import clebsch_gordan_tensor, decompose_representation, intertwiners
from workbench.groups.irreps import Irreps, MulIr
from workbench.groups.lookup import as_irreps, by_name
from workbench.groups.lorentz import Lorentz
from workbench.groups.o3.irreps import O3, SO3
from workbench.groups.orthogonal import SO, O
from workbench.groups.representation import Representation, solve_structure_constants
from workbench.groups.so2 import O2, SO2
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
    "Irreps",
    "MulIr",
    "LieGroup",
    "Lorentz",
    "Representation",
    "as_irreps",
    "by_name",
    "clear_caches",
    "clebsch_gordan_tensor",
    "decompose_representation",
    "intertwiners",
    "intertwining_error",
    "intertwining_sides",
    "solve_structure_constants",
]

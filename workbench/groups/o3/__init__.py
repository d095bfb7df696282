"""O(3) in the e3nn 0.6 basis: irreps, Wigner D / 3j, rotations, spherical harmonics, reduced tensor products.

Conventions (see DESIGN.md): ``1o`` is ``(x, y, z)`` and its Wigner D of a rotation matrix ``R`` is ``R``;
features are laid out ``mul_ir``; Euler angles are e3nn's Y-X-Y; :func:`wigner_3j` equals e3nn's, sign included.
"""

from workbench.groups.o3.irreps import O3, SO3, Irrep, Irreps, MulIr
from workbench.groups.o3.reduced_tensor_products import ReducedTensorProducts
from workbench.groups.o3.rotations import (
    angles_to_matrix,
    angles_to_xyz,
    axis_angle_to_matrix,
    matrix_to_angles,
    matrix_to_axis_angle,
    matrix_x,
    matrix_y,
    matrix_z,
    rand_angles,
    rand_axis_angle,
    rand_matrix,
    xyz_to_angles,
)
from workbench.groups.o3.spherical_harmonics import SphericalHarmonics, spherical_harmonics
from workbench.groups.o3.wigner import (
    change_basis_real_to_complex,
    so3_generators,
    su2_clebsch_gordan,
    su2_generators,
    wigner_3j,
    wigner_D,
    wigner_D_from_axis_angle,
    wigner_D_from_matrix,
)

__all__ = [
    "O3",
    "SO3",
    "Irrep",
    "Irreps",
    "MulIr",
    "ReducedTensorProducts",
    "SphericalHarmonics",
    "angles_to_matrix",
    "angles_to_xyz",
    "axis_angle_to_matrix",
    "change_basis_real_to_complex",
    "matrix_to_angles",
    "matrix_to_axis_angle",
    "matrix_x",
    "matrix_y",
    "matrix_z",
    "rand_angles",
    "rand_axis_angle",
    "rand_matrix",
    "so3_generators",
    "spherical_harmonics",
    "su2_clebsch_gordan",
    "su2_generators",
    "wigner_3j",
    "wigner_D",
    "wigner_D_from_axis_angle",
    "wigner_D_from_matrix",
    "xyz_to_angles",
]

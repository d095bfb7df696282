"""workbench.nn: equivariant layers for O(3) (e3nn 0.6 compatible) and for any workbench group.

- :class:`Linear`, :class:`TensorProduct` (+ :class:`FullyConnectedTensorProduct`,
  :class:`ElementwiseTensorProduct`, :class:`FullTensorProduct`): e3nn weight layout and normalization;
  irreps are :class:`workbench.groups.Irreps` (a plain string means O(3), ``group=`` parses it for any
  group of :mod:`workbench.groups`); every layer exposes ``irreps_in``/``irreps_out`` as Irreps.
- :class:`SphericalHarmonics`, radial bases (:class:`BesselBasis`, :class:`PolynomialCutoff`,
  :class:`GaussianBasis`) and :class:`RadialMLP`.
- :class:`Gate` (e3nn's, ``normalize2mom``; :meth:`Gate.from_irreps`), :class:`NormActivation`,
  :class:`EquivariantLayerNorm`, :class:`EquivariantDropout`.
- Message passing: :func:`radius_graph`, :func:`scatter_sum`, :class:`EquivariantConvolution`.
- :class:`SymmetricContraction` (MACE's many-body product).
"""

from workbench.nn.activation import Gate, NormActivation, Normalize2Mom, activation_parity, second_moment_constant
from workbench.nn.convolution import EquivariantConvolution
from workbench.nn.graph import check_edge_index, edge_vectors, radius_graph, scatter_sum
from workbench.nn.linear import Linear
from workbench.nn.norm import EquivariantDropout, EquivariantLayerNorm
from workbench.nn.radial import BesselBasis, GaussianBasis, PolynomialCutoff, RadialMLP
from workbench.nn.spherical_harmonics import SphericalHarmonics
from workbench.nn.symmetric_contraction import SymmetricContraction, symmetric_basis
from workbench.nn.tensor_product import (
    ElementwiseTensorProduct,
    FullTensorProduct,
    FullyConnectedTensorProduct,
    Instruction,
    TensorProduct,
)

__all__ = [
    "BesselBasis",
    "ElementwiseTensorProduct",
    "EquivariantConvolution",
    "EquivariantDropout",
    "EquivariantLayerNorm",
    "FullTensorProduct",
    "FullyConnectedTensorProduct",
    "Gate",
    "GaussianBasis",
    "Instruction",
    "Linear",
    "NormActivation",
    "Normalize2Mom",
    "PolynomialCutoff",
    "RadialMLP",
    "SphericalHarmonics",
    "SymmetricContraction",
    "TensorProduct",
    "activation_parity",
    "check_edge_index",
    "edge_vectors",
    "radius_graph",
    "scatter_sum",
    "second_moment_constant",
    "symmetric_basis",
]

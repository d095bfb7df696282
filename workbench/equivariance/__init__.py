"""Measuring equivariance: finite-transform error, the Lie derivative, LEE and per-layer attribution.

Group actions on data (:mod:`workbench.equivariance.actions`) are parameterized by Lie-algebra
coordinates; the Lie derivative ``L_A f(x) = d/dt rho_out(exp(-tA)) f(rho_in(exp(tA)) x)|_{t=0}`` is computed by
forward-mode autodiff (Gruver et al., "The Lie Derivative for Measuring Learned Equivariance", arXiv 2210.02984).

    >>> from workbench.equivariance import so3_on_points, local_equivariance_error, PointNet
    >>> lee = local_equivariance_error(PointNet(), points, so3_on_points())      # DataFrame per generator
"""

from workbench.equivariance.actions import (
    Action,
    AffinePointAction,
    ImageAction,
    MatrixAction,
    TrivialAction,
    euclidean_on_points,
    lorentz_generators_vector,
    lorentz_on_four_vectors,
    o3_irreps,
    random_rotation_parameters,
    rigid_on_images,
    so3_generators_vector,
    so3_on_points,
)
from workbench.equivariance.attribution import UNATTRIBUTED, chain_layers, layerwise_lee, layerwise_lie_derivative
from workbench.equivariance.finite_error import EquivarianceError, equivariance_error, transform_pair
from workbench.equivariance.lie_derivative import (
    check_representations,
    lie_derivative,
    lie_derivatives,
    local_equivariance_error,
)
from workbench.equivariance.reference_models import PointMLP, PointNet, SmallCNN, VectorFeatureNet

__all__ = [
    "Action", "TrivialAction", "MatrixAction", "AffinePointAction",
    "ImageAction", "so3_on_points", "o3_irreps", "lorentz_on_four_vectors", "euclidean_on_points",
    "rigid_on_images", "so3_generators_vector", "lorentz_generators_vector", "random_rotation_parameters",
    "lie_derivative", "lie_derivatives", "local_equivariance_error", "check_representations",
    "EquivarianceError", "equivariance_error", "transform_pair",
    "chain_layers", "layerwise_lie_derivative", "layerwise_lee", "UNATTRIBUTED",
    "PointMLP", "PointNet", "SmallCNN", "VectorFeatureNet",
]

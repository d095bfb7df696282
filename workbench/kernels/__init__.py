"""workbench.kernels: fast backends of workbench.nn operations (Triton GPU kernels) with torch references.

Every operation has a pure-torch reference (same maths; the CPU fallback and the test oracle) and Triton
kernels generated per irreps configuration (Clebsch-Gordan non-zeros unrolled into straight-line code):

- :func:`uvu_tensor_product` -- channelwise ("uvu") tensor product with per-row weights, e3nn 0.6 semantics;
- :func:`fused_convolution` -- gather + in-kernel spherical harmonics + uvu product + scatter-sum, atomic or
  deterministic (sorted receivers);
- :func:`spherical_harmonics` -- e3nn-basis real spherical harmonics (l <= 10), forward and backward.

``backend="auto"|"triton"|"torch"`` selects the implementation (:func:`resolve_backend`). The kernels are
tested on the CPU in Triton's interpreter (``TRITON_INTERPRET=1``).
"""

from .convolution import (
    ConvGraph,
    FusedConvolutionFunction,
    fused_convolution,
    fused_convolution_reference,
    prepare_graph,
)
from .dispatch import interpreter_enabled, interpreter_usable, resolve_backend, triton_available
from .spherical_harmonics import spherical_harmonics, spherical_harmonics_reference
from .tensor_product import (
    UVUPath,
    UVUSpec,
    UVUTensorProductFunction,
    uvu_spec,
    uvu_tensor_product,
    uvu_tensor_product_reference,
)

__all__ = [
    "ConvGraph",
    "FusedConvolutionFunction",
    "UVUPath",
    "UVUSpec",
    "UVUTensorProductFunction",
    "fused_convolution",
    "fused_convolution_reference",
    "interpreter_enabled",
    "interpreter_usable",
    "prepare_graph",
    "resolve_backend",
    "spherical_harmonics",
    "spherical_harmonics_reference",
    "triton_available",
    "uvu_spec",
    "uvu_tensor_product",
    "uvu_tensor_product_reference",
]

"""Tensor products of irreps: e3nn-compatible weights and normalization, any group, pluggable evaluators.

Maths (identical to e3nn 0.6): an instruction ``(i1, i2, i_out, mode, has_weight[, path_weight])`` adds

    out[i_out]_{w k} += c * sum_{u v i j} W_{...} x1[i1]_{u i} x2[i2]_{v j} C_{i j k}

where ``C`` is the coupling tensor (``wigner_3j`` for O(3)) and ``c = sqrt(alpha)`` is e3nn's normalization
coefficient (``irrep_normalization`` and ``path_normalization``, ``in1_var``, ``in2_var``, ``out_var``). The
multiplicity indices follow ``mode``: ``uvw`` (fully connected), ``uvu`` (channelwise, the NequIP/MACE
convolution), ``uvv``, ``uuw``, ``uuu`` (elementwise) and ``uvuv`` (full outer product). Weights are one flat
vector in instruction order, each block of shape ``path_shape`` flattened row-major, exactly as in e3nn, so an
e3nn ``TensorProduct``'s ``.weight`` can be copied in as is.

Any group: pass ``group=`` (a ``workbench.groups`` group) and irreps of that group (see
:class:`workbench.groups.Irreps`). Couplings come from ``group.clebsch_gordan`` (the projection contract); a
product with coupling multiplicity ``m > 1`` gets ``m`` independent paths per instruction, whose weights are
stored consecutively (``path_shape`` gains a leading ``m``). Groups with complex irreps (e.g. the Lorentz group)
need complex features; weights stay real.

Modules, one concern each:

- :mod:`.instruction` -- the :class:`Instruction` record, instruction/variance checks, path normalization;
- :mod:`.layer` -- :class:`TensorProduct` (weights, forward, ``weight_views``, ``kernel_spec``);
- :mod:`.uvu` -- output-major torch plan for channelwise products (NequIP/MACE convolutions);
- :mod:`.grouped` -- the general torch plan (every mode, real or complex couplings);
- :mod:`.kernel` -- the Triton ``uvu`` kernel of :mod:`workbench.kernels`;
- :mod:`.providers` -- the ordered list of evaluator providers that picks one of the above per call;
- :mod:`.variants` -- :class:`FullyConnectedTensorProduct`, :class:`ElementwiseTensorProduct`,
  :class:`FullTensorProduct`.

Adding a backend (cuEquivariance, a future kernel) is one entry in :data:`providers.PROVIDERS`: a function
``(product, backend, device, dtype) -> evaluator | None`` whose evaluator maps ``(x1 [n, d1], x2 [n, d2],
w [W] or [n, W])`` to ``[n, d_out]``::

    from workbench.nn.tensor_product import providers

    def my_provider(product, backend, device, dtype):
        if backend == "torch" or device.type != "cuda":
            return None  # not for this call: the next provider decides
        return lambda x1, x2, w: my_kernel(x1, x2, w, product.instructions)

    providers.PROVIDERS.insert(0, my_provider)
"""

from workbench.nn.tensor_product.instruction import Instruction
from workbench.nn.tensor_product.layer import TensorProduct
from workbench.nn.tensor_product.variants import (
    ElementwiseTensorProduct,
    FullTensorProduct,
    FullyConnectedTensorProduct,
)

__all__ = [
    "ElementwiseTensorProduct",
    "FullTensorProduct",
    "FullyConnectedTensorProduct",
    "Instruction",
    "TensorProduct",
]

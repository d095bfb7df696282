"""Evaluator providers: the ordered list that decides how a :class:`TensorProduct` is evaluated.

A provider is a function ``provider(product, backend, device, dtype) -> evaluator | None``: given the product
(a :class:`~workbench.nn.tensor_product.layer.TensorProduct`), the requested ``backend`` (``"auto"``,
``"triton"`` or ``"torch"``) and the device and dtype of the features, it returns a callable
``evaluator(x1 [n, d1], x2 [n, d2], w [W] or [n, W]) -> [n, d_out]`` (rows flattened, one dtype), or ``None``
for "not for this product / backend / device". On every forward the layer calls the providers of
:data:`PROVIDERS` in order and uses the first callable returned. The defaults, in order:

1. :func:`triton_provider` -- the Triton ``uvu`` kernel (CUDA, or the CPU interpreter under
   ``TRITON_INTERPRET=1`` when ``backend="triton"``);
2. :func:`uvu_provider` -- the output-major torch plan for channelwise products (:mod:`.uvu`);
3. :func:`grouped_provider` -- the general torch plan, every mode (:mod:`.grouped`).

A provider that needs per-product tables builds them on its first call; torch plans are built once when the
layer is constructed (``product.plans``, a ``ModuleDict`` that follows ``.to()``), so ``torch.compile`` never sees
a module change. A new backend is one entry in the list::

    from workbench.nn.tensor_product import providers

    def cue_provider(product, backend, device, dtype):
        if backend == "torch" or device.type != "cuda" or not my_backend_covers(product):
            return None  # not for this one: the next provider decides
        return my_backend_evaluator(product)  # (x1, x2, w) -> out

    providers.PROVIDERS.insert(0, cue_provider)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from workbench.kernels import resolve_backend
from workbench.nn.tensor_product.kernel import INELIGIBLE, KernelEvaluator

#: The product handed to a provider: a :class:`~workbench.nn.tensor_product.layer.TensorProduct` (the layer
#: imports this module, so it is not imported back here).
TensorProduct = Any

__all__ = ["PROVIDERS", "Evaluator", "Provider", "grouped_provider", "select_evaluator", "triton_provider",
           "uvu_provider"]

Evaluator = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
Provider = Callable[[TensorProduct, str, torch.device, torch.dtype], "Evaluator | None"]


def triton_provider(product: TensorProduct, backend: str, device: torch.device, dtype: torch.dtype) -> Evaluator | None:
    """The Triton kernel where ``backend`` resolves to ``"triton"`` on ``device`` and the kernel covers the product.

    ``backend="triton"`` where Triton cannot run raises ``RuntimeError`` (see
    :func:`workbench.kernels.resolve_backend`)."""
    if backend == "torch" or not product.kernel_eligible:
        return None
    if resolve_backend(backend, device) != "triton":
        return None
    return KernelEvaluator(product.kernel_spec())


def uvu_provider(product: TensorProduct, backend: str, device: torch.device, dtype: torch.dtype) -> Evaluator | None:
    """The output-major torch plan, where the product has one (channelwise products, real couplings)."""
    if backend == "triton" or "uvu" not in product.plans:
        return None
    return product.plans["uvu"]


def grouped_provider(
    product: TensorProduct, backend: str, device: torch.device, dtype: torch.dtype
) -> Evaluator | None:
    """The general grouped torch plan (every product has one)."""
    if backend == "triton" or "grouped" not in product.plans:
        return None
    return product.plans["grouped"]


#: The providers, in the order the layer asks them; insert a new backend where it should take precedence.
PROVIDERS: list[Provider] = [triton_provider, uvu_provider, grouped_provider]


def select_evaluator(product: TensorProduct, backend: str, device: torch.device, dtype: torch.dtype) -> Evaluator:
    """The first evaluator that a provider of :data:`PROVIDERS` returns for this product, backend, device, dtype.

    ``ValueError`` if none does (``backend="triton"`` on a product the kernel does not cover)."""
    for provider in PROVIDERS:
        evaluator = provider(product, backend, device, dtype)
        if evaluator is not None:
            return evaluator
    if backend == "triton":
        raise ValueError(INELIGIBLE)
    raise ValueError(f"no evaluator provider covers {product!r} with backend={backend!r} on {device} ({dtype})")

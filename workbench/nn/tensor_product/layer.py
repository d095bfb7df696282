"""The :class:`TensorProduct` layer: checks, e3nn weights, and evaluation through the providers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from workbench.groups import LieGroup, as_irreps
from workbench.kernels import UVUSpec
from workbench.kernels.dispatch import check_backend
from workbench.nn.tensor_product import grouped, uvu
from workbench.nn.tensor_product.instruction import (
    ProductSpec,
    check_instructions,
    check_normalizations,
    check_variances,
    couplings_of,
    normalize_paths,
    prod,
)
from workbench.nn.tensor_product.kernel import INELIGIBLE, kernel_instructions, kernel_spec
from workbench.nn.tensor_product.providers import select_evaluator

__all__ = ["TensorProduct"]


class TensorProduct(torch.nn.Module):
    r"""Tensor product with explicit instructions, e3nn 0.6 compatible.

    Args:
        irreps_in1, irreps_in2, irreps_out: O(3) irreps (e.g. ``"32x0e+32x1o"``) or, with ``group=``, irreps of
            that group.
        instructions: list of ``(i_in1, i_in2, i_out, mode, has_weight[, path_weight])``; ``mode`` in
            ``uvw, uvu, uvv, uuw, uuu, uvuv``.
        in1_var, in2_var, out_var: per-segment variances (default 1), as in e3nn.
        irrep_normalization: ``"component"`` (default), ``"norm"`` or ``"none"``.
        path_normalization: ``"element"`` (default), ``"path"`` or ``"none"``.
        internal_weights: store the weights as a parameter ``weight`` of shape ``[weight_numel]``.
        shared_weights: one weight vector for the whole batch (``[weight_numel]``) or one per batch element
            (``[..., weight_numel]``, e.g. per edge).
        group: ``None`` for O(3) (e3nn basis) or a ``workbench.groups`` group.
        backend: ``"auto"`` (Triton kernel on CUDA when Triton is installed and the product is eligible, torch
            otherwise), ``"triton"`` or ``"torch"``. The kernel (:func:`workbench.kernels.uvu_tensor_product`)
            covers O(3) products whose instructions are all ``uvu`` with weights and whose variances are the
            defaults; ``"triton"`` on any other product raises ``ValueError``. Same numbers either way. The
            evaluator is chosen by the providers of :mod:`workbench.nn.tensor_product.providers`.

    Shapes: ``forward(x1 [..., irreps_in1.dim], x2 [..., irreps_in2.dim], weight) -> [..., irreps_out.dim]``,
    with the leading dimensions of ``x1`` and ``x2`` (and of ``weight`` when not shared) broadcast together.

    Attributes: ``instructions`` (:class:`Instruction` records with e3nn's ``path_weight`` and ``path_shape``),
    ``weight_numel``, ``plans`` (the torch evaluation plans built for this product, by strategy name).
    """

    def __init__(
        self,
        irreps_in1: Any,
        irreps_in2: Any,
        irreps_out: Any,
        instructions: Sequence[tuple],
        in1_var: Sequence[float] | None = None,
        in2_var: Sequence[float] | None = None,
        out_var: Sequence[float] | None = None,
        irrep_normalization: str = "component",
        path_normalization: str = "element",
        internal_weights: bool | None = None,
        shared_weights: bool | None = None,
        group: LieGroup | str | None = None,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        check_backend(backend)
        check_normalizations(irrep_normalization, path_normalization)
        s1, s2, so = as_irreps(irreps_in1, group), as_irreps(irreps_in2, group), as_irreps(irreps_out, group)
        self.irreps_in1, self.irreps_in2, self.irreps_out = s1, s2, so
        self._dims = (s1.dim, s2.dim, so.dim)
        self.irrep_normalization = irrep_normalization
        self.path_normalization = path_normalization

        raw = check_instructions(instructions, s1, s2, so)
        in1_var = check_variances(in1_var, len(s1), "in1_var")
        in2_var = check_variances(in2_var, len(s2), "in2_var")
        out_var = check_variances(out_var, len(so), "out_var")
        # e3nn-style instructions for the Triton kernel's spec (same normalization); spec built on first use
        self._kernel_instructions = kernel_instructions(so, raw, (*in1_var, *in2_var, *out_var))
        self._kernel_spec: UVUSpec | None = None
        if backend == "triton" and self._kernel_instructions is None:
            raise ValueError(INELIGIBLE)
        self.backend = backend

        couplings = couplings_of(raw, s1, s2, so)
        self.instructions = normalize_paths(raw, couplings, s1, s2, so, in1_var, in2_var, out_var,
                                            irrep_normalization, path_normalization)
        self.weight_numel = sum(prod(i.path_shape) for i in self.instructions if i.has_weight)

        if shared_weights is False and internal_weights is None:
            internal_weights = False
        if shared_weights is None:
            shared_weights = True
        if internal_weights is None:
            internal_weights = shared_weights and any(i.has_weight for i in self.instructions)
        if internal_weights and not shared_weights:
            raise ValueError("internal_weights=True requires shared_weights=True")
        self.internal_weights = bool(internal_weights)
        self.shared_weights = bool(shared_weights)
        if self.internal_weights and self.weight_numel > 0:
            self.weight = torch.nn.Parameter(torch.randn(self.weight_numel))
        else:
            self.register_parameter("weight", None)

        self._complex = (
            s1.is_complex
            or s2.is_complex
            or so.is_complex
            or any(cg.is_complex() and bool(cg.imag.abs().max() > 1e-12) for cg in couplings)
        )
        spec = ProductSpec(irreps_in1=s1, irreps_in2=s2, irreps_out=so, instructions=tuple(self.instructions),
                           couplings=tuple(couplings), weight_numel=self.weight_numel, is_complex=self._complex)
        # torch plans, built once here (torch.compile must not see the module change); the output-major plan
        # beats the grouped one wherever it applies, so the grouped tables are only built where it does not
        self.plans = torch.nn.ModuleDict()
        uvu_plan = uvu.build(spec)
        if uvu_plan is not None:
            self.plans["uvu"] = uvu_plan
        else:
            self.plans["grouped"] = grouped.build(spec)

    # ------------------------------------------------------------------ public helpers
    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.irreps_in1} x {self.irreps_in2} -> "
            f"{self.irreps_out} | {len(self.instructions)} instructions | {self.weight_numel} weights)"
        )

    @property
    def kernel_eligible(self) -> bool:
        """Whether the Triton kernel covers this product (O(3), all ``uvu`` with weights, default variances)."""
        return self._kernel_instructions is not None

    def weight_views(self, weight: torch.Tensor | None = None, yield_instruction: bool = False) -> Iterator:
        """Views of the flat weights, one per weighted instruction, shaped ``batch + path_shape`` (as e3nn)."""
        weight = self._get_weight(weight)
        batch = weight.shape[:-1]
        offset = 0
        for i, ins in enumerate(self.instructions):
            if ins.has_weight:
                n = prod(ins.path_shape)
                view = weight.narrow(-1, offset, n).view(batch + ins.path_shape)
                offset += n
                yield (i, ins, view) if yield_instruction else view

    def kernel_spec(self) -> UVUSpec:
        """The :class:`workbench.kernels.UVUSpec` of this product (same paths, normalization and weight layout),
        built once; ``ValueError`` if the Triton kernels do not cover it (see ``backend``)."""
        if self._kernel_instructions is None:
            raise ValueError("the Triton kernels cover O(3) products whose instructions are all 'uvu' with weights "
                             "and default variances; this one is not")
        if self._kernel_spec is None:
            self._kernel_spec = kernel_spec(self.irreps_in1, self.irreps_in2, self.irreps_out,
                                            self._kernel_instructions, self.irrep_normalization,
                                            self.path_normalization)
        return self._kernel_spec

    def _get_weight(self, weight: torch.Tensor | None) -> torch.Tensor:
        if weight is None:
            if self.weight_numel > 0 and not self.internal_weights:
                raise ValueError(
                    f"weight is required: this TensorProduct has external weights of size {self.weight_numel}"
                )
            if self.weight is None:
                return torch.zeros(0)
            return self.weight
        if not isinstance(weight, torch.Tensor):
            raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
        if self.shared_weights:
            if tuple(weight.shape) != (self.weight_numel,):
                raise ValueError(
                    f"weight has shape {tuple(weight.shape)}; expected ({self.weight_numel},) (shared weights)"
                )
        else:
            if weight.dim() < 2 or weight.shape[-1] != self.weight_numel:
                raise ValueError(
                    f"weight has shape {tuple(weight.shape)}; expected (..., {self.weight_numel}) "
                    "(one weight vector per batch element)"
                )
        return weight

    # ------------------------------------------------------------------ forward
    def gathered(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """``forward(x1[index], x2[index], weight)`` for per-row weights ``weight [E, weight_numel]`` (external,
        unshared) and rows ``x1 [N, irreps_in1.dim]``, ``x2 [N, irreps_in2.dim]`` picked by ``index [E]``: the
        weights act after the coupling, so with the torch grouped plan each of the ``N`` rows is coupled once and
        only the weighting runs ``E`` times (a message that pairs each edge with its source node's features).
        Other plans evaluate the gathered rows directly; the result is the same either way."""
        if "grouped" in self.plans and not self.shared_weights and weight.dim() == 2 and x1.dim() == 2:
            d1, d2, _ = self._dims
            rows = index.shape[0]
            if x1.shape[-1] != d1 or x2.shape != (x1.shape[0], d2) or weight.shape != (rows, self.weight_numel):
                raise ValueError(f"gathered needs x1 [N, {d1}], x2 [N, {d2}], weight [E, {self.weight_numel}] and "
                                 f"index [E], got {tuple(x1.shape)}, {tuple(x2.shape)}, {tuple(weight.shape)}, "
                                 f"{tuple(index.shape)}")
            if self._complex and not x1.is_complex():
                raise TypeError("this group's couplings are complex: pass complex features (e.g. torch.complex128)")
            return self.plans["grouped"].gathered(x1, x2, weight.to(x1.dtype), index)
        return self(x1.index_select(0, index), x2.index_select(0, index), weight)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Evaluate ``x1 (x) x2`` with weights; see the class docstring for shapes."""
        if not isinstance(x1, torch.Tensor) or not isinstance(x2, torch.Tensor):
            raise TypeError("x1 and x2 must be torch.Tensor")
        d1, d2, d_out = self._dims
        if x1.shape[-1] != d1:
            raise ValueError(
                f"x1 has last dimension {x1.shape[-1]}; expected irreps_in1.dim = {d1} ({self.irreps_in1})"
            )
        if x2.shape[-1] != d2:
            raise ValueError(
                f"x2 has last dimension {x2.shape[-1]}; expected irreps_in2.dim = {d2} ({self.irreps_in2})"
            )
        if x1.dtype != x2.dtype:
            raise TypeError(f"x1 and x2 must have the same dtype, got {x1.dtype} and {x2.dtype}")
        if self._complex and not x1.is_complex():
            raise TypeError("this group's couplings are complex: pass complex features (e.g. torch.complex128)")
        w = self._get_weight(weight)
        if w.numel() > 0:
            w = w.to(x1.dtype)
        if self.shared_weights:
            batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        else:
            batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1], w.shape[:-1])
        x1 = x1.expand(batch + (d1,)).reshape(-1, d1)
        x2 = x2.expand(batch + (d2,)).reshape(-1, d2)
        if not self.shared_weights:
            w = w.expand(batch + (self.weight_numel,)).reshape(-1, self.weight_numel)
        evaluate = select_evaluator(self, self.backend, x1.device, x1.dtype)
        return evaluate(x1, x2, w).reshape(batch + (d_out,))

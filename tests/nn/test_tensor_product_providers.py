"""Evaluator providers of workbench.nn.tensor_product: order, fall-through, defaults, and the triton error."""

from __future__ import annotations

import pytest
import torch

from workbench.groups import o3
from workbench.nn import FullyConnectedTensorProduct, TensorProduct
from workbench.nn.tensor_product import providers

pytestmark = pytest.mark.unit

IN1, IN2 = "4x0e+4x1o", "0e+1o"
CPU = torch.device("cpu")


def uvu_product(**kw) -> TensorProduct:
    a, b = o3.Irreps(IN1), o3.Irreps(IN2)
    ins = [(i1, i2, io, "uvu", True) for i1, (_, r1) in enumerate(a) for i2, (_, r2) in enumerate(b)
           for io, (_, ro) in enumerate(a) if ro in r1 * r2]
    return TensorProduct(IN1, IN2, IN1, ins, **kw)


def test_default_providers_pick_the_plans():
    uvu = uvu_product()
    fc = FullyConnectedTensorProduct(IN1, IN2, IN1)
    assert providers.select_evaluator(uvu, "auto", CPU, torch.float32) is uvu.plans["uvu"]
    assert providers.select_evaluator(uvu, "torch", CPU, torch.float64) is uvu.plans["uvu"]
    assert providers.select_evaluator(fc, "auto", CPU, torch.float32) is fc.plans["grouped"]


def test_a_provider_registered_first_is_used(monkeypatch):
    tp = uvu_product(shared_weights=False)
    seen = []

    def sentinel(x1, x2, w):
        seen.append((tuple(x1.shape), tuple(x2.shape), tuple(w.shape)))
        return torch.full((x1.shape[0], tp.irreps_out.dim), 7.0, dtype=x1.dtype)

    def custom(product, backend, device, dtype):
        return sentinel if product is tp else None

    monkeypatch.setattr(providers, "PROVIDERS", [custom, *providers.PROVIDERS])
    x1, x2 = torch.randn(2, 3, 16), torch.randn(2, 3, 4)
    out = tp(x1, x2, torch.randn(2, 3, tp.weight_numel))
    assert out.shape == (2, 3, 16) and torch.equal(out, torch.full((2, 3, 16), 7.0))
    assert seen == [((6, 16), (6, 4), (6, tp.weight_numel))]  # rows flattened before the evaluator
    other = uvu_product(shared_weights=False)  # the custom provider declines it: the default plan evaluates it
    w = torch.randn(3, other.weight_numel)
    assert not torch.equal(other(x1[0], x2[0], w), torch.full((3, 16), 7.0))


def test_a_provider_returning_none_falls_through(monkeypatch):
    tp = uvu_product()
    x1, x2 = torch.randn(5, 16, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    expected = tp.plans["uvu"](x1, x2, tp.weight.to(torch.float64))
    calls = []

    def declines(product, backend, device, dtype):
        calls.append((product, backend, device, dtype))
        return None

    monkeypatch.setattr(providers, "PROVIDERS", [declines, *providers.PROVIDERS])
    assert torch.equal(tp(x1, x2), expected)
    assert calls == [(tp, "auto", CPU, torch.float64)]


def test_no_provider_at_all_is_an_error(monkeypatch):
    tp = uvu_product()
    monkeypatch.setattr(providers, "PROVIDERS", [lambda *args: None])
    with pytest.raises(ValueError, match="no evaluator provider covers"):
        tp(torch.randn(2, 16), torch.randn(2, 4))


def test_triton_on_an_ineligible_product_raises():
    with pytest.raises(ValueError, match="backend='triton' covers O\\(3\\) products"):
        FullyConnectedTensorProduct(IN1, IN2, IN1, backend="triton")
    fc = FullyConnectedTensorProduct(IN1, IN2, IN1)
    fc.backend = "triton"  # switched after construction: the providers refuse it with the same error
    with pytest.raises(ValueError, match="backend='triton' covers O\\(3\\) products"):
        fc(torch.randn(2, 16), torch.randn(2, 4))
    assert not fc.kernel_eligible and uvu_product().kernel_eligible

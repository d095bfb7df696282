"""TensorProduct's output-major ``uvu`` path (NequIP/MACE convolution): e3nn parity, chunking, autograd."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from nn_test_utils import random_o3, rel_err

from workbench.groups import o3
from workbench.nn import TensorProduct

pytestmark = pytest.mark.unit

IN2 = "0e+1o+2e+3o"


def uvu_instructions(in1: str, in2: str, out: str) -> list[tuple]:
    a, b, c = o3.Irreps(in1), o3.Irreps(in2), o3.Irreps(out)
    return [
        (i1, i2, io, "uvu", True)
        for i1, (m1, r1) in enumerate(a)
        for i2, (_, r2) in enumerate(b)
        for io, (mo, ro) in enumerate(c)
        if m1 == mo and ro in r1 * r2
    ]


# same multiplicity everywhere (one weight gather), mixed multiplicities, an output segment no path reaches
IRREPS = [
    ("4x0e+4x1o+4x2e", "4x0e+4x1o+4x2e"),
    ("4x0e+3x1o+2x2e", "3x1o+4x0e+2x2e"),
    ("4x0e+4x1o", "4x0e+4x1o+4x2e+4x3e"),
]
SETTINGS = [("internal", True, True), ("external-shared", False, True), ("external-batch", False, False)]


@pytest.mark.parametrize("irreps", IRREPS, ids=["same-mul", "mixed-mul", "unreached-output"])
@pytest.mark.parametrize("setting", SETTINGS, ids=[s[0] for s in SETTINGS])
def test_uvu_path_matches_e3nn(irreps, setting):
    e3o = pytest.importorskip("e3nn.o3")
    in1, out = irreps
    _, internal, shared = setting
    ins = uvu_instructions(in1, IN2, out)
    kw = dict(internal_weights=internal, shared_weights=shared)
    ref = e3o.TensorProduct(in1, IN2, out, ins, **kw)
    ours = TensorProduct(in1, IN2, out, ins, **kw)
    assert "uvu" in ours.plans, "the output-major uvu path should be selected"
    x1, x2 = ref.irreps_in1.randn(40, -1), ref.irreps_in2.randn(40, -1)
    if internal:
        with torch.no_grad():
            ours.weight.copy_(ref.weight)
        args = (x1, x2)
    else:
        w = torch.randn(ours.weight_numel) if shared else torch.randn(40, ours.weight_numel)
        args = (x1, x2, w)
    assert rel_err(ours(*args), ref(*args)) <= 1e-6
    ours.plans["uvu"].plan = replace(ours.plans["uvu"].plan, rows=7)  # chunked evaluation, uneven last chunk
    assert rel_err(ours(*args), ref(*args)) <= 1e-6


def test_uvu_path_not_used_for_other_modes():
    ins = [(i1, i2, io, "uvw", True) for i1, i2, io, *_ in uvu_instructions("4x0e+4x1o", IN2, "4x0e+4x1o")]
    assert "uvu" not in TensorProduct("4x0e+4x1o", IN2, "4x0e+4x1o", ins).plans


@pytest.mark.parametrize("shared", [False, True], ids=["per-edge", "shared"])
def test_uvu_chunked_gradients_match_single_block(shared):
    in1 = "4x0e+3x1o+2x2e"
    ins = uvu_instructions(in1, IN2, in1)
    tp = TensorProduct(in1, IN2, in1, ins, shared_weights=shared, internal_weights=False)
    gen = torch.Generator().manual_seed(3)
    x1 = torch.randn(50, o3.Irreps(in1).dim, generator=gen)
    x2 = torch.randn(50, o3.Irreps(IN2).dim, generator=gen)
    w = torch.randn(*(() if shared else (50,)), tp.weight_numel, generator=gen)
    grads = []
    for rows in (10_000, 8):
        tp.plans["uvu"].plan = replace(tp.plans["uvu"].plan, rows=rows)
        leaves = [t.clone().requires_grad_(True) for t in (x1, x2, w)]
        out = tp(*leaves)
        out.pow(2).sum().backward()
        with torch.no_grad():
            no_grad_out = tp(x1, x2, w)
        assert torch.allclose(no_grad_out, out.detach(), atol=1e-6)
        grads.append([out.detach()] + [t.grad for t in leaves])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5)


def test_uvu_double_backward_chunked(float64_default):
    in1 = "2x0e+2x1o+2x2e"
    ins = uvu_instructions(in1, "0e+1o+2e", in1)
    tp = TensorProduct(in1, "0e+1o+2e", in1, ins, shared_weights=False)
    tp.plans["uvu"].plan = replace(tp.plans["uvu"].plan, rows=2)
    x1 = torch.randn(5, o3.Irreps(in1).dim, requires_grad=True)
    x2 = torch.randn(5, 9, requires_grad=True)
    w = torch.randn(5, tp.weight_numel, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda a, b, c: tp(a, b, c), (x1, x2, w))


def test_uvu_equivariance_float64(float64_default):
    in1, out = "3x0e+3x1o+3x2e", "3x0e+3x1o+3x2e"
    tp = TensorProduct(in1, IN2, out, uvu_instructions(in1, IN2, out), shared_weights=False)
    tp.plans["uvu"].plan = replace(tp.plans["uvu"].plan, rows=4)
    gen = torch.Generator().manual_seed(5)
    i1, i2, io = o3.Irreps(in1), o3.Irreps(IN2), o3.Irreps(out)
    x1, x2 = torch.randn(9, i1.dim, generator=gen), torch.randn(9, i2.dim, generator=gen)
    w = torch.randn(9, tp.weight_numel, generator=gen)
    r = random_o3(gen)
    d1, d2, do = i1.D_from_matrix(r), i2.D_from_matrix(r), io.D_from_matrix(r)
    assert rel_err(tp(x1 @ d1.T, x2 @ d2.T, w), tp(x1, x2, w) @ do.T) <= 1e-10

"""Porting e3nn models: e3nn ``Gate`` + ``FullyConnectedTensorProduct`` + ``Linear`` with weights copied into the
workbench equivalents give e3nn's outputs in float64 (1e-10), including e3nn's ``normalize2mom`` constants and
its parity rule for activations on pseudo-scalars."""

from __future__ import annotations

import pytest
import torch

from workbench.groups import o3
from workbench.nn import FullyConnectedTensorProduct, Gate, Linear, Normalize2Mom, second_moment_constant

e3nn = pytest.importorskip("e3nn")
from e3nn import nn as e3nn_nn  # noqa: E402
from e3nn import o3 as e3  # noqa: E402
from e3nn.math import normalize2mom as e3nn_normalize2mom  # noqa: E402

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("float64_default")]

TOL = 1e-10
silu = torch.nn.functional.silu


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().abs().max())


@pytest.mark.parametrize("act", [silu, torch.tanh, torch.sigmoid, torch.abs, torch.nn.functional.gelu])
def test_second_moment_constant_is_e3nns(act):
    ref = e3nn_normalize2mom(act)
    assert second_moment_constant(act) == ref.cst  # same samples, same arithmetic: bit for bit
    ours = Normalize2Mom(act)
    assert ours.is_identity == ref._is_id
    x = torch.randn(100, generator=torch.Generator().manual_seed(3))
    assert torch.equal(ours(x), ref(x))


def test_second_moment_constant_is_deterministic_and_unit_moment():
    c1 = second_moment_constant(lambda x: 2.0 * torch.tanh(x))
    c2 = second_moment_constant(lambda x: 2.0 * torch.tanh(x))
    assert c1 == c2
    z = torch.randn(400_000, generator=torch.Generator().manual_seed(7))
    assert float(Normalize2Mom(silu)(z).pow(2).mean()) == pytest.approx(1.0, abs=1e-2)
    with pytest.raises(TypeError, match="act must be a callable"):
        second_moment_constant(3.0)


def _port_model(irreps_in1, irreps_in2, scalars, acts, gates, act_gates, gated, irreps_out, seed=0):
    torch.manual_seed(seed)
    e_gate = e3nn_nn.Gate(scalars, acts, gates, act_gates, gated)
    e_tp = e3.FullyConnectedTensorProduct(irreps_in1, irreps_in2, e_gate.irreps_in)
    e_lin = e3.Linear(e_gate.irreps_out, irreps_out)
    gate = Gate(scalars, acts, gates, act_gates, gated)  # normalize2mom=True is the default
    assert gate.irreps_in == o3.Irreps(str(e_gate.irreps_in)) and gate.irreps_out == o3.Irreps(str(e_gate.irreps_out))
    tp = FullyConnectedTensorProduct(irreps_in1, irreps_in2, gate.irreps_in)
    lin = Linear(gate.irreps_out, irreps_out)
    assert tp.weight_numel == e_tp.weight_numel and lin.weight_numel == e_lin.weight_numel
    with torch.no_grad():
        tp.weight.copy_(e_tp.weight)
        lin.weight.copy_(e_lin.weight)
    g = torch.Generator().manual_seed(seed + 1)
    x1 = torch.randn(16, o3.Irreps(irreps_in1).dim, generator=g)
    x2 = torch.randn(16, o3.Irreps(irreps_in2).dim, generator=g)
    ref = e_lin(e_gate(e_tp(x1, x2)))
    ours = lin(gate(tp(x1, x2)))
    return ours, ref, gate


def test_gate_tensor_product_linear_port_equals_e3nn():
    ours, ref, _ = _port_model("4x0e+3x1o+2x2e", "1x0e+1x1o+1x2e", "8x0e", [silu], "6x0e", [torch.sigmoid],
                               "4x1o+2x2e", "5x0e+3x1o+2x2e")
    assert ref.abs().max() > 0.1
    assert _max_abs(ours, ref) <= TOL


def test_gate_from_irreps_port_equals_e3nn():
    hidden = o3.Irreps.natural(6, 2)
    gate = Gate.from_irreps(hidden)
    assert gate.irreps_out == hidden
    ours, ref, _ = _port_model("3x0e+2x1o", "1x0e+1x1o+1x2e", "6x0e", [silu], "12x0e", [torch.sigmoid],
                               "6x1o+6x2e", "4x0e+2x1o")
    assert gate.irreps_in == o3.Irreps("18x0e+6x1o+6x2e")
    assert _max_abs(ours, ref) <= TOL


def test_pseudo_scalar_activations_follow_e3nn():
    """Odd activation on 0o keeps 0o, even activation gives 0e (e3nn's parity rule), same numbers."""
    ours, ref, gate = _port_model("3x0e+2x1o+1x0o", "1x0e+1x1o", "2x0o+3x0o+4x0e", [torch.tanh, torch.abs, silu],
                                  "3x0e", [torch.tanh], "2x1o+1x1e", "3x0e+2x0o+2x1o")
    assert str(gate.irreps_out) == "2x0o+3x0e+4x0e+2x1o+1x1e"
    assert _max_abs(ours, ref) <= TOL
    with pytest.raises(ValueError, match="odd activation"):
        Gate("1x0o", torch.sigmoid, "1x0e", torch.sigmoid, "1x1o")


def test_unnormalized_gate_differs_from_e3nn_by_the_constants():
    """normalize2mom=False applies the raw activations: output = e3nn's divided by the e3nn constants."""
    gate = Gate("3x0e", silu, "2x0e", torch.sigmoid, "2x1o", normalize2mom=False)
    x = torch.randn(5, 3 + 2 + 6, generator=torch.Generator().manual_seed(0))
    ref = e3nn_nn.Gate("3x0e", [silu], "2x0e", [torch.sigmoid], "2x1o")(x)
    out = gate(x)
    assert _max_abs(out[:, :3] * second_moment_constant(silu), ref[:, :3]) <= TOL
    assert _max_abs(out[:, 3:] * second_moment_constant(torch.sigmoid), ref[:, 3:]) <= TOL
    with pytest.raises(TypeError, match="normalize2mom"):
        Gate("3x0e", silu, "2x0e", torch.sigmoid, "2x1o", normalize2mom=1)

"""SymmetricContraction: equivariance (O(3) with parity, correlation 3; Lorentz), symmetry, per-element weights."""

from __future__ import annotations

import pytest
import torch
from nn_test_utils import random_o3, rel_err

from workbench.groups import Irreps, o3
from workbench.nn import SymmetricContraction, symmetric_basis

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def contraction():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return SymmetricContraction("3x0e+3x1o+3x2e", "3x0e+3x1o", correlation=3, num_elements=2)
    finally:
        torch.set_default_dtype(old)


def test_o3_equivariance_correlation3(contraction, float64_default):
    a, b = o3.Irreps("3x0e+3x1o+3x2e"), o3.Irreps("3x0e+3x1o")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, a.dim, generator=g)
    y = torch.nn.functional.one_hot(torch.randint(0, 2, (7,), generator=g), 2).double()
    out = contraction(x, y)
    assert out.shape == (7, b.dim)
    for _ in range(5):
        R = random_o3(g)
        assert rel_err(contraction(x @ a.D_from_matrix(R).T, y), out @ b.D_from_matrix(R).T) <= 1e-9


def test_basis_is_symmetric_and_nonlinear(contraction, float64_default):
    space = o3.Irreps("1x0e+1x1o+1x2e")
    irs = [ir for _, ir in space]
    u = symmetric_basis(space, irs, o3.Irrep("0e"), 3)
    assert u.shape[:4] == (1, 9, 9, 9) and u.shape[-1] > 0
    assert torch.allclose(u, u.permute(0, 2, 1, 3, 4), atol=1e-12)
    assert torch.allclose(u, u.permute(0, 3, 2, 1, 4), atol=1e-12)
    # homogeneous of degree nu in each order: scaling x by 2 scales the order-3 part by 8
    x = o3.Irreps("3x0e+3x1o+3x2e").randn(2, -1)
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert not torch.allclose(contraction(2 * x, y), 2 * contraction(x, y))


def test_per_element_weights(contraction, float64_default):
    x = o3.Irreps("3x0e+3x1o+3x2e").randn(1, -1)
    a = contraction(x, torch.tensor([[1.0, 0.0]]))
    b = contraction(x, torch.tensor([[0.0, 1.0]]))
    assert not torch.allclose(a, b)


def test_lorentz_equivariance(lorentz, float64_default):
    a = Irreps(lorentz, "2x(0,0)+2x(1/2,1/2)")
    sc = SymmetricContraction(a, a, correlation=3, num_elements=1, group=lorentz)
    g = torch.Generator().manual_seed(1)
    x = a.randn(4, -1, generator=g)
    y = torch.ones(4, 1, dtype=torch.float64)
    for _ in range(3):
        el = lorentz.random_element(g)
        assert rel_err(sc(x @ a.matrix(el).T, y), sc(x, y) @ a.matrix(el).T) <= 1e-9


def test_bad_inputs(contraction):
    with pytest.raises(ValueError, match="multiplicity"):
        SymmetricContraction("3x0e+2x1o", "3x0e", correlation=2, num_elements=1)
    with pytest.raises(ValueError, match="y must have shape"):
        contraction(torch.randn(2, 27, dtype=torch.float64), torch.ones(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="x must have shape"):
        contraction(torch.randn(2, 26, dtype=torch.float64), torch.ones(2, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="correlation"):
        SymmetricContraction("3x0e", "3x0e", correlation=0, num_elements=1)


def test_output_with_no_basis_at_a_lower_order(float64_default):
    """1e has no symmetric basis at orders 1 and 2 of 0e+1o+2e but has one at order 3: the recursion must still
    contract the order-3 term down to a vector (it used to skip the contraction and crash)."""
    a, b = o3.Irreps("2x0e+2x1o+2x2e"), o3.Irreps("2x1e")
    sc = SymmetricContraction(a, b, correlation=3, num_elements=1)
    assert [k for _, k in sc._outs[0][1]][:2] == [0, 0] and sc._outs[0][1][2][1] > 0
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, a.dim, generator=g)
    y = torch.ones(5, 1)
    out = sc(x, y)
    assert out.shape == (5, b.dim) and float(out.abs().max()) > 0
    R = random_o3(g)
    assert rel_err(sc(x @ a.D_from_matrix(R).T, y), out @ b.D_from_matrix(R).T) <= 1e-9


def _direct_contraction(sc: SymmetricContraction, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The module docstring's sum evaluated term by term from ``symmetric_basis`` (the full ``D^nu`` tensors, no
    folding onto monomials): ``B_bcm = sum_nu sum_k (y W_nu)_bkc U_nu[m, i_1..i_nu, k] A_bc,i_1 ... A_bc,i_nu``."""
    space, irs = sc.irreps_in, [ir for _, ir in sc.irreps_in]
    n, C = x.shape[0], sc.channels
    a = torch.cat([s.reshape(n, C, ir.dim) for s, (_, ir) in zip(x.split([C * ir.dim for _, ir in space], 1), space)],
                  2)
    outs, widx = [], 0
    for _, ir_out in sc.irreps_out:
        total = x.new_zeros(n, C, ir_out.dim)
        for nu in range(1, sc.correlation + 1):
            u = symmetric_basis(space, irs, ir_out, nu)
            wy = torch.einsum("be,ekc->bkc", y, sc.weights[widx])
            widx += 1
            if u.shape[-1] == 0:
                continue
            prod = a
            for _ in range(nu - 1):  # [n, C, D, ..., D]: the nu-fold outer product of A
                prod = prod.unsqueeze(-1) * a.reshape(a.shape[:2] + (1,) * (prod.dim() - 2) + (a.shape[2],))
            total = total + torch.einsum("bcj,mjk,bkc->bcm", prod.reshape(n, C, -1), u.reshape(ir_out.dim, -1,
                                                                                                 u.shape[-1]), wy)
        outs.append(total.reshape(n, -1))
    return torch.cat(outs, 1)


@pytest.mark.parametrize("irreps_in, irreps_out, correlation, num_elements", [
    ("3x0e+3x1o+3x2e", "3x0e+3x1o", 3, 2),
    ("2x0e+2x1o+2x2e+2x3o", "2x0e+2x1o", 3, 3),
    ("4x0e+4x1o", "4x0e+4x1o+4x2e", 2, 1),
    ("2x0e+2x1o+2x2e", "2x1e", 3, 1),
])
def test_fast_contraction_equals_the_direct_sum(irreps_in, irreps_out, correlation, num_elements, float64_default):
    """The folded monomial evaluation is the docstring's polynomial (float64, soft element weights), chunked or
    not; a contraction with one order's weights changed does not match (the comparison can fail)."""
    torch.manual_seed(0)
    sc = SymmetricContraction(irreps_in, irreps_out, correlation, num_elements, node_chunk=4)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(11, o3.Irreps(irreps_in).dim, generator=g)
    y = torch.softmax(torch.randn(11, num_elements, generator=g), 1)
    ref = _direct_contraction(sc, x, y)
    assert rel_err(sc(x, y), ref) <= 1e-13
    sc.node_chunk = 1000
    assert rel_err(sc(x, y), ref) <= 1e-13
    with torch.no_grad():
        sc.weights[-1].add_(0.1)
    assert rel_err(sc(x, y), ref) > 1e-3


def test_float32_round_trip_keeps_exact_tables(float64_default):
    """``.float()`` then ``.double()`` gives the float64 results again (folded basis re-derived from its master)."""
    torch.manual_seed(0)
    sc = SymmetricContraction("2x0e+2x1o+2x2e", "2x0e+2x1o", 3, 2)
    x = o3.Irreps("2x0e+2x1o+2x2e").randn(6, -1)
    y = torch.nn.functional.one_hot(torch.arange(6) % 2, 2).double()
    ref = sc(x, y)
    weights = {k: v.clone() for k, v in sc.state_dict().items()}
    out32 = sc.float()(x.float(), y.float())
    assert out32.dtype == torch.float32 and rel_err(out32.double(), ref) < 1e-5
    sc.double().load_state_dict(weights)  # the parameters were rounded to float32: restore them
    assert rel_err(sc(x, y), ref) <= 1e-15

"""Properties of workbench.groups.o3 (no oracle): equivariance, homomorphism, round trips, errors."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.groups import o3

pytestmark = pytest.mark.unit

seeds = st.integers(min_value=0, max_value=2**31 - 1)
FAST = settings(max_examples=15, deadline=None)


def _rotations(seed, n, improper=False):
    R = o3.rand_matrix(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    if improper:
        R = torch.cat([R, -R])
    return R


@settings(max_examples=8, deadline=None)
@given(seed=seeds, lmax=st.integers(0, 12), normalize=st.booleans())
def test_spherical_harmonics_equivariance(seed, lmax, normalize):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 3, generator=g, dtype=torch.float64)
    R = _rotations(seed, 1, improper=True)
    irreps = o3.Irreps.spherical_harmonics(lmax)
    for rotation in R:
        lhs = o3.spherical_harmonics(irreps, x @ rotation.T, normalize)
        rhs = o3.spherical_harmonics(irreps, x, normalize) @ irreps.D_from_matrix(rotation).T
        scale = (1 + x.norm(dim=-1, keepdim=True)) ** lmax
        assert ((lhs - rhs).abs() / scale).max() < 1e-10


@FAST
@given(seed=seeds, l=st.integers(0, 10))
def test_wigner_D_homomorphism_and_orthogonality(seed, l):
    R1, R2 = _rotations(seed, 2)
    D = lambda R: o3.wigner_D(l, R)
    assert (D(R1 @ R2) - D(R1) @ D(R2)).abs().max() < 1e-10
    assert (D(R1) @ D(R1).T - torch.eye(2 * l + 1, dtype=torch.float64)).abs().max() < 1e-10
    assert (o3.wigner_D(1, R1) - R1).abs().max() < 1e-12


@FAST
@given(seed=seeds)
def test_angles_matrix_round_trip(seed):
    R = _rotations(seed, 16)
    assert (o3.angles_to_matrix(*o3.matrix_to_angles(R)) - R).abs().max() < 1e-12
    alpha, beta, gamma = o3.rand_angles(16, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    again = o3.matrix_to_angles(o3.angles_to_matrix(alpha, beta, gamma))
    assert (again[1] - beta).abs().max() < 1e-8
    axis, angle = o3.matrix_to_axis_angle(R)
    assert (o3.axis_angle_to_matrix(axis, angle) - R).abs().max() < 1e-12
    assert ((angle >= 0) & (angle <= math.pi + 1e-12)).all()


def test_axis_angle_near_pi_and_identity():
    axis = torch.tensor([[1.0, 2.0, -0.5], [0.0, 0.0, 1.0]], dtype=torch.float64)
    angle = torch.tensor([math.pi - 1e-9, 0.0], dtype=torch.float64)
    R = o3.axis_angle_to_matrix(axis, angle)
    assert (o3.axis_angle_to_matrix(*o3.matrix_to_axis_angle(R)) - R).abs().max() < 1e-9


@settings(max_examples=20, deadline=None)
@given(seed=seeds, l1=st.integers(0, 6), l2=st.integers(0, 6), data=st.data())
def test_wigner_3j_intertwines(seed, l1, l2, data):
    l3 = data.draw(st.integers(abs(l1 - l2), l1 + l2))
    C = o3.wigner_3j(l1, l2, l3, dtype=torch.float64)
    (R,) = _rotations(seed, 1)
    rotated = torch.einsum("ijk,ia,jb,kc->abc", C, o3.wigner_D(l1, R), o3.wigner_D(l2, R), o3.wigner_D(l3, R))
    assert (rotated - C).abs().max() < 1e-10
    assert abs(C.norm().item() - 1) < 1e-12


def test_generators_commutation_and_exponential():
    for l in range(7):
        G = o3.so3_generators(l)
        assert G.dtype == torch.float64 and G.shape == (3, 2 * l + 1, 2 * l + 1)
        assert (G + G.transpose(-1, -2)).abs().max() < 1e-12
        for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
            assert (G[a] @ G[b] - G[b] @ G[a] - G[c]).abs().max() < 1e-12
        t = torch.tensor(0.7, dtype=torch.float64)
        assert (torch.linalg.matrix_exp(t * G[1]) - o3.wigner_D(l, t, t * 0, t * 0)).abs().max() < 1e-12
    G1 = o3.so3_generators(1)
    for a in range(3):
        t = torch.tensor(0.3, dtype=torch.float64)
        expected = [o3.matrix_x, o3.matrix_y, o3.matrix_z][a](t)
        assert (torch.linalg.matrix_exp(t * G1[a]) - expected).abs().max() < 1e-14


def test_wigner_3j_build_time_and_cache():
    import time

    from workbench.groups.o3 import wigner

    wigner._wigner_3j.cache_clear()
    wigner._su2_cg_table.cache_clear()
    start = time.perf_counter()
    o3.wigner_3j(10, 10, 10)
    assert time.perf_counter() - start < 0.5
    a = o3.wigner_3j(10, 10, 10)
    a.zero_()  # returned tensors are copies: the cache is not corrupted
    assert o3.wigner_3j(10, 10, 10).abs().max() > 0



def test_elastic_tensor_split(float64_default):
    rtp = o3.ReducedTensorProducts("ijkl=jikl=klij", i="1o")
    assert rtp.change_of_basis.dtype == torch.float64
    assert str(rtp.irreps_out) == "2x0e+2x2e+1x4e" and rtp.irreps_out.dim == 21
    Q = rtp.change_of_basis.double()
    assert Q.shape == (21, 3, 3, 3, 3)
    flat = Q.reshape(21, -1)
    assert (flat @ flat.T - torch.eye(21, dtype=torch.float64)).abs().max() < 1e-10
    assert (Q - Q.transpose(1, 2)).abs().max() < 1e-12
    assert (Q - Q.permute(0, 3, 4, 1, 2)).abs().max() < 1e-12
    R = _rotations(5, 1, improper=True)[0]
    lhs = rtp.irreps_out.D_from_matrix(R) @ flat
    rhs = torch.einsum("oijkl,ia,jb,kc,ld->oabcd", Q, R, R, R, R).reshape(21, -1)
    assert (lhs - rhs).abs().max() < 1e-10
    # forward equals contraction with the change of basis
    xs = [torch.randn(4, 3, dtype=torch.float64) for _ in range(4)]
    expected = torch.einsum("oijkl,ni,nj,nk,nl->no", Q.to(xs[0].dtype), *xs)
    assert (rtp(*xs) - expected).abs().max() < 1e-12


def test_antisymmetric_and_empty_products():
    assert str(o3.ReducedTensorProducts("ij=-ji", i="1o").irreps_out) == "1x1e"
    empty = o3.ReducedTensorProducts("ij=-ij", i="1o", j="1o")
    assert empty.irreps_out.dim == 0 and empty.change_of_basis.shape == (0, 3, 3)


def test_gradient_finite_at_zero_vector():
    x = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    o3.spherical_harmonics(8, x, normalize=False).sum().backward()
    assert torch.isfinite(x.grad).all()
    x = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    o3.spherical_harmonics(list(range(9)), x, normalize=True).pow(2).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_spherical_harmonics_normalizations_and_dtype():
    x = torch.randn(100, 3)
    assert o3.spherical_harmonics(3, x, True).dtype == torch.get_default_dtype()
    component = o3.spherical_harmonics(5, x.double(), True, "component")
    assert (component.pow(2).sum(-1) - 11).abs().max() < 1e-10
    norm = o3.spherical_harmonics(5, x.double(), True, "norm")
    assert (norm.norm(dim=-1) - 1).abs().max() < 1e-12
    high = o3.spherical_harmonics(16, x.double(), True, "component")  # beyond e3nn's lmax = 12
    assert (high.pow(2).sum(-1) - 33).abs().max() < 1e-9


def test_irreps_algebra():
    irreps = o3.Irreps("16x0e+8x1o+4x2e")
    assert irreps.dim == 16 + 24 + 20 and irreps.num_irreps == 28 and irreps.lmax == 2
    assert irreps[1:] == o3.Irreps("8x1o+4x2e") and isinstance(irreps[1:], o3.Irreps)
    assert irreps[0].mul == 16 and irreps[0].ir == o3.Irrep("0e")
    assert irreps.count("1o") == 8 and "2e" in irreps and "3o" not in irreps
    assert o3.Irreps("1o") + "2e" == o3.Irreps("1o+2e")
    assert 3 * o3.Irrep("1e") == o3.Irreps("3x1e")
    assert list(o3.Irrep("1o") * o3.Irrep("1o")) == [o3.Irrep("0e"), o3.Irrep("1e"), o3.Irrep("2e")]
    assert o3.Irrep("0o") < o3.Irrep("0e") < o3.Irrep("1o")
    assert o3.Irreps.spherical_harmonics(3) == o3.Irreps("0e+1o+2e+3o")
    assert o3.Irrep(2, -1) == o3.Irrep("2o") and hash(o3.Irrep("2o")) == hash((2, -1))
    mul, (l, p) = irreps[1]
    assert (mul, l, p) == (8, 1, -1)
    x = irreps.randn(5, -1, normalization="norm", dtype=torch.float64)
    assert x.shape == (5, 60)
    assert torch.allclose(x[:, irreps.slices()[1]].reshape(5, 8, 3).norm(dim=-1), torch.ones(5, 8, dtype=torch.float64))


@pytest.mark.parametrize("bad", ["1x", "2", "ax1o", "1q", "-1e", "1o+", "3x1o+2k", "1.5e"])
def test_bad_irreps_strings(bad):
    with pytest.raises(ValueError, match="expected"):
        o3.Irreps(bad)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="l must be >= 0"):
        o3.Irrep(-1, 1)
    with pytest.raises(ValueError):
        o3.Irrep(1, 0)
    with pytest.raises(ValueError, match=">= 0"):
        o3.wigner_3j(-1, 1, 1)
    with pytest.raises(ValueError, match="triangle"):
        o3.wigner_3j(1, 1, 3)
    with pytest.raises(TypeError):
        o3.wigner_3j(0.5, 0.5, 1)
    with pytest.raises(ValueError, match=">= 0"):
        o3.so3_generators(-2)
    for normalize in (True, False):
        for bad in (float("nan"), float("inf")):
            with pytest.raises(ValueError, match="NaN"):
                o3.spherical_harmonics(2, torch.tensor([[0.0, bad, 1.0]]), normalize)
    with pytest.raises(ValueError, match=r"\[..., 3\]"):
        o3.spherical_harmonics(2, torch.zeros(4, 2), True)
    with pytest.raises(ValueError, match="normalization"):
        o3.spherical_harmonics(2, torch.zeros(4, 3), True, "unit")
    with pytest.raises(ValueError, match="parity"):
        o3.spherical_harmonics("1o+2o", torch.zeros(4, 3), True)
    with pytest.raises(ValueError, match="orthogonal"):
        o3.wigner_D(2, torch.ones(3, 3))
    with pytest.raises(ValueError, match="proper"):
        o3.matrix_to_angles(-torch.eye(3))
    with pytest.raises(ValueError, match="no irreps"):
        o3.ReducedTensorProducts("ij", i="1o")
    with pytest.raises(ValueError, match="permutation"):
        o3.ReducedTensorProducts("ij=jk", i="1o")
    with pytest.raises(ValueError, match="different irreps"):
        o3.ReducedTensorProducts("ij=ji", i="1o", j="2e")


def test_su2_clebsch_gordan_half_integer():
    C = o3.su2_clebsch_gordan(0.5, 0.5, 0)
    # Condon-Shortley: <1/2 +1/2, 1/2 -1/2 | 0 0> = +1/sqrt2 (index m + j)
    assert abs(C[1, 0, 0] - 2**-0.5) < 1e-15 and abs(C[0, 1, 0] + 2**-0.5) < 1e-15
    C = o3.su2_clebsch_gordan("1/2", "1/2", 1)
    assert abs(C[1, 1, 2] - 1) < 1e-15
    assert o3.su2_clebsch_gordan(1, 1, 3).abs().max() == 0

"""workbench.groups.o3 against e3nn 0.6 (the oracle) in float64."""

import pytest
import torch

from workbench.groups import o3

e3nn = pytest.importorskip("e3nn")
from e3nn import o3 as e3  # noqa: E402

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("float64_default")]

TOL = 1e-10



def _worst_3j_error(triples):
    worst = 0.0
    for l1, l2, l3 in triples:
        ours = o3.wigner_3j(l1, l2, l3, dtype=torch.float64)
        theirs = e3.wigner_3j(l1, l2, l3, dtype=torch.float64)
        worst = max(worst, (ours - theirs).abs().max().item())
    return worst


def _triples(lmax):
    return [
        (l1, l2, l3)
        for l1 in range(lmax + 1)
        for l2 in range(lmax + 1)
        for l3 in range(abs(l1 - l2), min(l1 + l2, lmax) + 1)
    ]


def test_wigner_3j_equals_e3nn_small_and_sampled_large():
    """All triples with l <= 4, plus a fixed sample up to 8 (e3nn's own build is slow: full sweep is 'slow')."""
    sample = [(8, 8, 8), (8, 8, 0), (7, 8, 3), (8, 4, 6), (5, 6, 7), (6, 2, 8), (3, 8, 5)]
    assert _worst_3j_error(_triples(4) + sample) <= TOL


@pytest.mark.slow
def test_wigner_3j_equals_e3nn_all_triples_up_to_8():
    assert _worst_3j_error(_triples(8)) <= TOL


def test_so3_generators_equal_e3nn():
    for l in range(9):
        assert torch.allclose(o3.so3_generators(l), e3.so3_generators(l).double(), atol=1e-6)


def test_wigner_D_from_angles_equals_e3nn():
    g = torch.Generator().manual_seed(0)
    alpha, beta, gamma = o3.rand_angles(20, generator=g, dtype=torch.float64)
    for l in range(9):
        assert (o3.wigner_D(l, alpha, beta, gamma) - e3.wigner_D(l, alpha, beta, gamma)).abs().max() <= TOL


def test_rotations_equal_e3nn():
    R = o3.rand_matrix(20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    angles = o3.matrix_to_angles(R)
    assert (o3.angles_to_matrix(*angles) - e3.angles_to_matrix(*angles)).abs().max() <= TOL
    for ours, theirs in zip(angles, e3.matrix_to_angles(R)):
        assert (ours - theirs).abs().max() <= 1e-8


@pytest.mark.parametrize("normalization", ["integral", "component", "norm"])
@pytest.mark.parametrize("normalize", [True, False])
def test_spherical_harmonics_equal_e3nn(normalize, normalization):
    x = torch.randn(64, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    scale = 1 + x.norm(dim=-1, keepdim=True)
    for l in range(13):
        ours = o3.spherical_harmonics(l, x, normalize, normalization)
        theirs = e3.spherical_harmonics(l, x, normalize, normalization)
        assert ((ours - theirs).abs() / scale**l).max() <= TOL, l
    ls = list(range(13))
    ours = o3.spherical_harmonics(ls, x, normalize, normalization)
    assert ((ours - e3.spherical_harmonics(ls, x, normalize, normalization)).abs()).max() <= TOL * scale.max() ** 12


@pytest.mark.parametrize("irreps", ["0e+1o+2e+3o", "2x1o+0e+4e", "1e+2e+3e", "3x2e"])
def test_spherical_harmonics_irreps_argument_equals_e3nn(irreps):
    x = torch.randn(10, 3, dtype=torch.float64)
    ours = o3.spherical_harmonics(irreps, x, True)
    assert (ours - e3.spherical_harmonics(irreps, x, True)).abs().max() <= TOL
    expected = o3.Irreps(str(e3.SphericalHarmonics(irreps, True).irreps_out))
    assert o3.SphericalHarmonics(irreps, True).irreps_out == expected


def test_spherical_harmonics_zero_vector_like_e3nn():
    x = torch.tensor([[0.0, 0.0, 0.0], [1e-30, 0.0, 0.0], [0.3, -1.0, 2.0]], dtype=torch.float64)
    for normalize in (True, False):
        ours = o3.spherical_harmonics(4, x, normalize)
        assert (ours - e3.spherical_harmonics(4, x, normalize)).abs().max() <= TOL


@pytest.mark.parametrize(
    "text", ["16x0e+8x1o+4x2e", "1e + 0e + 1e", "2o + 1e + 0e + 1e", "0x1o+3x2e", "", "1y+2y", "1e+1e+0e+1e"]
)
def test_irreps_match_e3nn(text):
    ours, theirs = o3.Irreps(text), e3.Irreps(text)
    assert str(ours) == str(theirs)
    assert ours.dim == theirs.dim and ours.num_irreps == theirs.num_irreps and ours.ls == theirs.ls
    assert ours.slices() == theirs.slices()
    assert str(ours.simplify()) == str(theirs.simplify())
    assert str(ours.remove_zero_multiplicities()) == str(theirs.remove_zero_multiplicities())
    sorted_ours, sorted_theirs = ours.sort(), theirs.sort()
    assert str(sorted_ours.irreps) == str(sorted_theirs.irreps)
    assert sorted_ours.p == sorted_theirs.p and sorted_ours.inv == sorted_theirs.inv
    assert str(ours * 2) == str(theirs * 2)
    assert [str(ir) for ir in o3.Irrep.iterator(3)] == [str(ir) for ir in e3.Irrep.iterator(3)]


def test_irreps_D_from_matrix_equals_e3nn():
    irreps = "2x0e+1o+2x1e+2o+3e"
    R = o3.rand_matrix(4, dtype=torch.float64)
    R = torch.cat([R, -R])
    ours = o3.Irreps(irreps).D_from_matrix(R)
    assert (ours - e3.Irreps(irreps).D_from_matrix(R)).abs().max() <= TOL


def test_reduced_tensor_products_span_equals_e3nn():
    cases = [("ij=ji", {"i": "1o"}), ("ijkl=jikl=klij", {"i": "1o"}), ("ijk=jik", {"i": "1o", "k": "0e+2e"})]
    for formula, irreps in cases:
        ours = o3.ReducedTensorProducts(formula, **irreps)
        theirs = e3.ReducedTensorProducts(formula, **irreps)
        assert str(ours.irreps_out) == str(theirs.irreps_out)
        q = ours.change_of_basis.double().reshape(ours.irreps_out.dim, -1)
        q_e3nn = theirs.change_of_basis.double().reshape(ours.irreps_out.dim, -1)
        # same subspace: e3nn's rows lie in our span and the dimensions agree
        assert (q_e3nn - q_e3nn @ q.T @ q).abs().max() <= 1e-9

"""Every group: homomorphism, commutation relations, Clebsch-Gordan intertwining, known decompositions."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from workbench.groups import O2, O3, SO, SO2, SO3, SU2, SU3, Lorentz, O, Representation, Sp
from workbench.groups.representation import check_structure_constants

pytestmark = pytest.mark.unit

N_ELEMENTS = 20
TOL = 1e-10

# group factory, irreps to check, CG triples to check
CASES = {
    "SO2": (SO2, [0, 1, -2, 3], [(1, 2, 3), (-2, 3, 1), (1, -1, 0)]),
    "O2": (O2, ["0e", "0o", 1, 2, 3], [(1, 1, "0e"), (1, 1, "0o"), (1, 2, 3), (1, 2, 1), (2, "0o", 2)]),
    "SU2": (SU2, [0, "1/2", 1, 1.5, 2], [("1/2", "1/2", 1), ("1/2", 1, "3/2"), (1, "3/2", "5/2"), (2, 2, 2)]),
    "SO3": (SO3, [0, 1, 2, 3], [(1, 1, 1), (1, 2, 3), (2, 2, 2)]),
    "O3": (O3, ["0e", "1o", "1e", "2e", "3o"], [("1o", "1o", "0e"), ("1o", "1o", "1e"), ("1o", "2e", "3o"),
                                                 ("2e", "2e", "2e"), ("1e", "1o", "2o")]),
    "Lorentz": (Lorentz, [(0, 0), "(1/2,0)", (0, 0.5), (0.5, 0.5), (1, 0.5)],
                [((0.5, 0.5), (0.5, 0.5), (1, 1)), ((0.5, 0), (0, 0.5), (0.5, 0.5)), ((0.5, 0.5), (1, 0), (0.5, 0.5))]),
    "SU3": (SU3, ["1", "3", "3bar", "8", "6", "10"], [("3", "3bar", "8"), ("3", "3", "3bar"), ("8", "8", "8"),
                                                       ("3", "6", "10")]),
    "SO5": (lambda: SO(5), ["scalar", "vector", "antisymmetric", "symmetric"],
            [("vector", "vector", "symmetric"), ("vector", "antisymmetric", "vector")]),
    "O4": (lambda: O(4), ["scalar", "pseudoscalar", "vector", "antisymmetric", "symmetric"],
           [("vector", "vector", "antisymmetric"), ("vector", "pseudovector", "pseudoscalar"),
            ("vector", "symmetric", "vector")]),
    "SO4": (lambda: SO(4), ["vector", "selfdual", "antiselfdual", "symmetric"],
            [("vector", "vector", "selfdual"), ("vector", "vector", "antiselfdual"),
             ("selfdual", "antiselfdual", "symmetric"), ("selfdual", "selfdual", "selfdual")]),
    "SO6": (lambda: SO(6), ["vector", "selfdual", "antiselfdual", "antisymmetric"],
            [("vector", "antisymmetric", "selfdual"), ("vector", "antisymmetric", "antiselfdual"),
             ("selfdual", "antiselfdual", "scalar"), ("vector", "selfdual", "antisymmetric")]),
    "Sp4": (lambda: Sp(4), ["defining", "antisymmetric", "adjoint", (2, 1), (3,)],
            [("defining", "defining", "scalar"), ("defining", "defining", "antisymmetric"),
             ("defining", "defining", "adjoint"), ("defining", "antisymmetric", (2, 1)),
             ("adjoint", "adjoint", "adjoint"), ("defining", "adjoint", (3,))]),
    "Sp6": (lambda: Sp(6), ["defining", "antisymmetric", "adjoint", (1, 1, 1)],
            [("defining", "defining", "antisymmetric"), ("defining", "antisymmetric", (1, 1, 1)),
             ("adjoint", "defining", "defining")]),
}


def _elements(group, seed: int, count: int = N_ELEMENTS):
    gen = torch.Generator().manual_seed(seed)
    return [group.random_element(gen) for _ in range(count)]


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    factory, labels, triples = CASES[request.param]
    return factory(), labels, triples


def test_homomorphism(case):
    group, labels, _ = case
    elems = _elements(group, 0, 2 * N_ELEMENTS)
    for label in labels:
        irrep = group.irrep(label)
        for g, h in zip(elems[::2], elems[1::2]):
            prod = irrep.matrix(g) @ irrep.matrix(h)
            err = (prod - irrep.matrix(g @ h)).abs().max().item() / max(1.0, prod.abs().max().item())
            assert err <= TOL, (group.name, label, err)
        # identity and inverse
        g = elems[0]
        eye = irrep.matrix(g) @ irrep.matrix(g.inverse())
        assert torch.allclose(eye, torch.eye(irrep.dim, dtype=eye.dtype), atol=1e-9)


def test_commutation_relations(case):
    group, labels, _ = case
    f = group.structure_constants.numpy()
    for label in labels:
        gens = group.irrep(label).generators.numpy()
        assert gens.shape == (group.num_generators, group.irrep(label).dim, group.irrep(label).dim)
        assert check_structure_constants(gens, f, rtol=TOL) <= TOL


def test_clebsch_gordan_intertwines(case):
    group, _, triples = case
    elems = _elements(group, 1)
    for l1, l2, l3 in triples:
        cg = group.clebsch_gordan(l1, l2, l3)
        r1, r2, r3 = group.irrep(l1), group.irrep(l2), group.irrep(l3)
        assert cg.shape[:3] == (r1.dim, r2.dim, r3.dim)
        assert cg.shape[3] >= 1, (group.name, l1, l2, l3)
        norms = cg.reshape(-1, cg.shape[3]).norm(dim=0)
        assert torch.allclose(norms, torch.ones_like(norms), atol=1e-12)
        for g in elems:
            d1, d2, d3 = r1.matrix(g), r2.matrix(g), r3.matrix(g)
            dt = torch.promote_types(cg.dtype, d1.dtype)
            # the projection contract (groups/group.py): sum_ij C_ijk rho1_ia rho2_jb = sum_c rho3_kc C_abc
            lhs = torch.einsum("ia,jb,ijkm->abkm", d1.to(dt), d2.to(dt), cg.to(dt))
            rhs = torch.einsum("kc,abcm->abkm", d3.to(dt), cg.to(dt))
            scale = max(1.0, d1.abs().max().item() * d2.abs().max().item())
            assert (lhs - rhs).abs().max().item() / scale <= TOL, (group.name, l1, l2, l3)


def test_generators_match_exponential(case):
    group, labels, _ = case
    coords = torch.randn(group.num_generators, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    g = group.exp(coords * 0.3)
    for label in labels:
        irrep = group.irrep(label)
        expected = torch.linalg.matrix_exp(torch.einsum("a,aij->ij", (coords * 0.3).to(irrep.generators.dtype),
                                                        irrep.generators))
        assert torch.allclose(irrep.matrix(g), expected, atol=1e-10)


def _as_counter(pairs):
    return Counter({label: mult for label, mult in pairs})


def test_known_decompositions():
    assert _as_counter(SU2().decompose("1/2", "1/2")) == Counter({0: 1, 1: 1})
    assert _as_counter(O3().decompose("1o", "1o")) == Counter({(0, 1): 1, (1, 1): 1, (2, 1): 1})
    assert [str(label) for label, _ in O3().decompose("1o", "1o")] == ["0e", "1e", "2e"]
    lor = Lorentz()
    assert _as_counter(lor.decompose((0.5, 0.5), (0.5, 0.5))) == Counter(
        {(0, 0): 1, (1, 0): 1, (0, 1): 1, (1, 1): 1}
    )
    su3 = SU3()

    def names(a, b):
        return Counter({su3.name_of(label): mult for label, mult in su3.decompose(a, b)})

    assert names("3", "3bar") == Counter({"1": 1, "8": 1})
    assert names("3", "3") == Counter({"3bar": 1, "6": 1})
    assert names("8", "8") == Counter({"1": 1, "8": 2, "10": 1, "10bar": 1, "27": 1})
    so5 = SO(5)
    dec = so5.decompose("vector", "vector")
    assert _as_counter(dec) == Counter({(): 1, (1, 1): 1, (2,): 1})
    assert sorted(so5.irrep(label).dim for label, _ in dec) == [1, 10, 14]
    assert _as_counter(SO2().decompose(2, -5)) == Counter({-3: 1})
    assert _as_counter(O2().decompose(1, 1)) == Counter({"0e": 1, "0o": 1, 2: 1})


def test_su2_cg_multiplicities_follow_triangle_rule():
    su2 = SU2()
    assert su2.clebsch_gordan("1/2", "1/2", "3/2").shape == (2, 2, 4, 0)
    assert su2.clebsch_gordan(1, 1, 0).shape == (3, 3, 1, 1)
    assert O3().clebsch_gordan("1o", "1o", "1o").shape == (3, 3, 3, 0)  # parity forbids it


def test_decompose_representation_change_of_basis():
    group = SU3()
    rep = group.irrep("3").representation.tensor_product(group.irrep("3bar").representation)
    pairs, q = group.decompose_representation(rep)
    assert _as_counter(pairs) == Counter({(0, 0): 1, (1, 1): 1})
    q = q.numpy()
    blocks = [group.irrep(label).representation.numpy_generators() for label, mult in pairs for _ in range(mult)]
    dims = [b.shape[1] for b in blocks]
    block = np.zeros((group.num_generators, sum(dims), sum(dims)), dtype=complex)
    start = 0
    for b in blocks:
        block[:, start : start + b.shape[1], start : start + b.shape[1]] = b
        start += b.shape[1]
    x = rep.numpy_generators()
    assert np.abs(np.einsum("aij,jk->aik", x, q) - np.einsum("ij,ajk->aik", q, block)).max() < 1e-10
    assert np.linalg.cond(q) < 1e6


def test_representation_operations():
    su2 = SU2()
    half = su2.irrep("1/2").representation
    one = su2.irrep(1).representation
    total = half.direct_sum(one)
    assert total.dim == 5
    assert total.dual().dim == 5 and total.conjugate().dim == 5
    q = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))[0]
    changed = total.change_basis(q)
    pairs, _ = su2.decompose_representation(changed)
    assert _as_counter(pairs) == Counter({0.5: 1, 1: 1})
    assert su2.decompose_representation(half.tensor_product(half).symmetric_power(1))[0] == [(0, 1), (1, 1)]
    sym = one.symmetric_power(2)
    assert _as_counter(su2.decompose_representation(sym)[0]) == Counter({0: 1, 2: 1})
    assert _as_counter(su2.decompose_representation(one.exterior_power(2))[0]) == Counter({1: 1})
    # a free-standing representation solves its own structure constants
    free = Representation(su2.irrep(1).generators)
    assert np.allclose(free.structure_constants, su2.structure_constants.numpy(), atol=1e-12)


def test_lorentz_vector_action():
    lor = Lorentz()
    eta = lor.metric
    q = lor.vector_change_of_basis()
    irrep = lor.irrep("(1/2,1/2)")
    for g in _elements(lor, 5):
        lam = lor.vector_matrix(g)
        assert lam.dtype == torch.float64
        assert (lam.T @ eta @ lam - eta).abs().max() <= 1e-10 * max(1.0, lam.abs().max().item() ** 2)
        rhs = q @ irrep.matrix(g) @ torch.linalg.inv(q)
        assert (lam.to(rhs.dtype) - rhs).abs().max() <= 1e-10 * max(1.0, lam.abs().max().item())
    boost = lor.vector_matrix(lor.boost(0.5, [0.0, 0.0, 2.0]))
    expected = torch.eye(4, dtype=torch.float64)
    expected[0, 0] = expected[3, 3] = np.cosh(0.5)
    expected[0, 3] = expected[3, 0] = np.sinh(0.5)
    assert torch.allclose(boost, expected, atol=1e-12)
    rot = lor.vector_matrix(lor.rotation(np.pi / 2, [0, 0, 1]))
    assert torch.allclose(rot @ torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64),
                          torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=torch.float64), atol=1e-12)


def test_cg_is_deterministic():
    from workbench.groups import clear_caches

    first = SU3().clebsch_gordan("8", "8", "8")
    clear_caches()
    second = SU3().clebsch_gordan("8", "8", "8")
    assert torch.equal(first, second)
    # phase convention: the largest entry of the first slice is real positive
    flat = first[..., 0].reshape(-1)
    idx = flat.abs().argmax()
    assert abs(flat[idx].imag) < 1e-12 and flat[idx].real > 0

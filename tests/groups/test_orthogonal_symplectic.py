"""SO(2n) self-dual / anti-self-dual forms and the compact symplectic group Sp(2n)."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
import torch

from workbench.groups import SO, O, Representation, Sp, intertwiners
from workbench.groups.orthogonal import hodge_star
from workbench.groups.symplectic import symplectic_form

pytestmark = pytest.mark.unit

# The generic checks (homomorphism, commutation relations, CG intertwining) for SO(4), SO(6), Sp(4), Sp(6) run
# from the CASES table of test_groups.py; this file holds what is specific to the new irreps and groups.


def _elements(group, seed: int, count: int):
    gen = torch.Generator().manual_seed(seed)
    return [group.random_element(gen) for _ in range(count)]


def _dims(group, pairs):
    return sum(group.irrep(label).dim * mult for label, mult in pairs)


def test_so4_vector_squared():
    so4 = SO(4)
    dec = so4.decompose("vector", "vector")
    assert Counter(dict(dec)) == Counter({(): 1, ((1, 1), "+"): 1, ((1, 1), "-"): 1, (2,): 1})
    assert sorted(so4.irrep(label).dim for label, _ in dec) == [1, 3, 3, 9]
    assert _dims(so4, dec) == 16
    assert so4.format_label(((1, 1), "+")) == "(1, 1)+"
    # (1, 0) x (0, 1) = (1, 1) of su(2) + su(2): self-dual x anti-self-dual is the symmetric traceless tensor
    assert so4.decompose("selfdual", "antiselfdual") == [((2,), 1)]


def test_so6_products():
    so6 = SO(6)
    dec = so6.decompose("vector", "vector")
    assert Counter(dict(dec)) == Counter({(): 1, (1, 1): 1, (2,): 1})
    assert _dims(so6, dec) == 36
    # SO(6) ~ SU(4)/Z2: the 3-form halves are the complex-conjugate 10 and 10bar
    sd, asd = so6.irrep("selfdual"), so6.irrep("antiselfdual")
    assert (sd.dim, asd.dim) == (10, 10) and not sd.is_real and not asd.is_real
    # 6 x 15 = 6 + 10 + 10bar + 64: the mixed diagram (2, 1) is not constructed for SO(d) -> clear error
    with pytest.raises(NotImplementedError, match=r"found 1x\(1,\) \+ 1x\(1, 1, 1\)\+ \+ 1x\(1, 1, 1\)-, dim 26"):
        so6.decompose("vector", "antisymmetric")
    # no invariant pairing of 10 with itself, one with its conjugate
    assert so6.clebsch_gordan("selfdual", "selfdual", "scalar").shape[-1] == 0
    assert so6.clebsch_gordan("selfdual", "antiselfdual", "scalar").shape[-1] == 1


def test_halves_are_hodge_eigenspaces():
    assert (SO(8).irrep("selfdual").dim, SO(8).irrep("antiselfdual").dim) == (35, 35)
    for d, value in ((4, 1.0), (6, 1j)):
        so = SO(d)
        star = hodge_star(d)
        assert np.allclose(star @ star, (-1) ** (d // 2) * np.eye(len(star)))
        x_lam = so.defining_representation.exterior_power(d // 2).numpy_generators()
        f = so.structure_constants.numpy()
        for label, sign in (("selfdual", 1), ("antiselfdual", -1)):
            evals, evecs = np.linalg.eig(star)
            q, _ = np.linalg.qr(evecs[:, np.abs(evals - sign * value) < 1e-9])
            for a in range(so.num_generators):  # the eigenspace is invariant
                assert np.abs(x_lam[a] @ q - q @ (q.conj().T @ x_lam[a] @ q)).max() < 1e-12
            eigen_rep = Representation(np.einsum("ji,ajk,kl->ail", q.conj(), x_lam, q), structure_constants=f)
            same = intertwiners(eigen_rep, so.irrep(label).representation)
            other = intertwiners(eigen_rep, so.irrep("antiselfdual" if sign > 0 else "selfdual").representation)
            assert (same.shape[0], other.shape[0]) == (1, 0), (d, label)


def test_o4_middle_forms_stay_irreducible():
    o4 = O(4)
    dec = o4.decompose("vector", "vector")
    assert Counter(dict(dec)) == Counter({((), 1): 1, ((1, 1), 1): 1, ((2,), 1): 1})
    assert sorted(o4.irrep(label).dim for label, _ in dec) == [1, 6, 9]
    # the reflection swaps the SO(4) halves: restricted to SO(4), O(4)'s Λ^2 = selfdual + antiselfdual
    so4 = SO(4)
    lam = o4.irrep("antisymmetric").representation
    sub = type(lam)(lam.numpy_generators(), structure_constants=so4.structure_constants.numpy())
    pairs, _ = so4.decompose_representation(sub)
    assert Counter(dict(pairs)) == Counter({((1, 1), "+"): 1, ((1, 1), "-"): 1})


def test_sp_algebra_and_elements():
    for n2 in (2, 4, 6):
        sp = Sp(n2)
        n = n2 // 2
        j = symplectic_form(n2)
        x = sp.irrep("defining").generators.numpy()
        assert x.shape == (n * (2 * n + 1), n2, n2)
        for a in x:
            assert np.abs(a.T @ j + j @ a).max() < 1e-14
            assert np.abs(a + a.conj().T).max() < 1e-14
        # a basis: linearly independent over R
        flat = np.concatenate([x.real.reshape(len(x), -1), x.imag.reshape(len(x), -1)], axis=1)
        assert np.linalg.matrix_rank(flat) == len(x)
        for g in _elements(sp, 5, 5):
            m = g.numpy()
            assert np.abs(m.T @ j @ m - j).max() < 1e-12
            assert np.abs(m.conj().T @ m - np.eye(n2)).max() < 1e-12


def test_sp_dimensions_and_decompositions():
    sp4 = Sp(4)
    dims = {label: sp4.irrep(label).dim for label in ["scalar", "defining", "antisymmetric", "adjoint", (2, 1),
                                                       (2, 2), (3,)]}
    assert dims == {"scalar": 1, "defining": 4, "antisymmetric": 5, "adjoint": 10, (2, 1): 16, (2, 2): 14,
                    (3,): 20}
    dec = sp4.decompose("defining", "defining")
    assert Counter(dict(dec)) == Counter({(): 1, (1, 1): 1, (2,): 1})
    assert sorted(sp4.irrep(label).dim for label, _ in dec) == [1, 5, 10]
    dec = sp4.decompose("adjoint", "adjoint")
    assert Counter(dict(dec)) == Counter({(): 1, (1, 1): 1, (2,): 1, (2, 2): 1, (3, 1): 1, (4,): 1})
    assert _dims(sp4, dec) == 100
    sp6 = Sp(6)
    dec = sp6.decompose("defining", "defining")
    assert Counter(dict(dec)) == Counter({(): 1, (1, 1): 1, (2,): 1})
    assert sorted(sp6.irrep(label).dim for label, _ in dec) == [1, 14, 21]
    assert sp6.irrep((1, 1, 1)).dim == 14
    # the defining rep is pseudo-real: the invariant of defining x defining is antisymmetric (it is J)
    inv = sp4.clebsch_gordan("defining", "defining", "scalar")[..., 0, 0].numpy()
    assert np.abs(inv + inv.T).max() < 1e-12
    assert np.abs(np.abs(inv) - np.abs(symplectic_form(4)) / 2).max() < 1e-12


def test_sp2_is_su2():
    sp2 = Sp(2)
    for k in range(4):
        assert sp2.irrep((k,)).dim == k + 1
    assert Counter(dict(sp2.decompose((1,), (2,)))) == Counter({(1,): 1, (3,): 1})


@pytest.mark.parametrize(
    "factory, label, match",
    [
        (lambda: SO(4), (1, 1), "reducible"),
        (lambda: SO(5), "selfdual", "only for SO\\(2n\\)"),
        (lambda: SO(6), ((1, 1), "+"), "middle exterior power"),
        (lambda: SO(6), "selfdaul", "unknown irrep name"),
        (lambda: O(4), "selfdual", "SO\\(2n\\) only"),
        (lambda: Sp(4), (1, 1, 1), "at most n = 2 rows"),
        (lambda: Sp(4), "spinor", "unknown irrep name"),
        (lambda: Sp(4), (1, 2), "non-increasing"),
        (lambda: Sp(4), (-1,), ">= 0"),
        (lambda: Sp(4), 1.5, "partition"),
    ],
)
def test_bad_labels(factory, label, match):
    with pytest.raises(ValueError, match=match):
        factory().irrep(label)


@pytest.mark.parametrize("size", [3, 0, 2.0, True])
def test_bad_sp_size(size):
    with pytest.raises(ValueError, match="even matrix size"):
        Sp(size)


def test_half_label_forms_agree():
    so4 = SO(4)
    assert so4.irrep("selfdual") is so4.irrep(((1, 1), "+")) is so4.irrep(((1, 1), 1)) is so4.irrep([[1, 1], "+"])
    assert so4.irrep("antiselfdual") is so4.irrep(((1, 1), -1))
    assert {so4.irrep(x).label for x in itertools.product([(1, 1)], ["+", "-"])} == {((1, 1), "+"), ((1, 1), "-")}

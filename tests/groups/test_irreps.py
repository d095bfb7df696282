"""groups.Irreps (value semantics, parsing errors, the o3 subclass, natural), by_name, the CG contract."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from test_groups import CASES

from workbench.groups import O3, SO3, SU2, SU3, Irreps, Lorentz, as_irreps, by_name, intertwining_error, o3

pytestmark = pytest.mark.unit


def test_value_semantics_and_layout():
    lor = Lorentz()
    a = Irreps(lor, "2x(0,0)+(1/2,1/2)")
    assert a == Irreps(lor, [(2, (0, 0)), (1, "(1/2,1/2)")]) == Irreps(lor, a)
    assert hash(a) == hash(Irreps(Lorentz(), "2x(0,0)+1x(1/2,1/2)"))
    assert str(a) == "2x(0,0)+1x(1/2,1/2)" and a.dim == 6 and a.num_irreps == 3 and len(a) == 2
    assert a.slices() == [slice(0, 2), slice(2, 6)] and a[1].mul == 1 and a[1].ir.dim == 4
    assert (a + a).dim == 12 and (a * 2) == a + a and isinstance(a[:1], Irreps) and a[:1].dim == 2
    assert Irreps(lor, "(0,0)+0x(1,1)+(0,0)").simplify() == Irreps(lor, "2x(0,0)")
    assert a.sort().irreps == a and a.is_complex and not Irreps(SO3(), "1").is_complex
    assert pickle.loads(pickle.dumps(a)) == a and copy.deepcopy(a) == a
    with pytest.raises(AttributeError):
        a.group = SU2()
    with pytest.raises(ValueError, match="SU\\(2\\)"):
        a + Irreps(SU2(), "1/2")
    g = lor.random_element(torch.Generator().manual_seed(0))
    m = a.matrix(g)
    assert m.shape == (6, 6) and torch.allclose(m[2:, 2:], lor.irrep((0.5, 0.5)).matrix(g))
    x = a.randn(3, -1, generator=torch.Generator().manual_seed(0))
    assert x.shape == (3, 6) and x.is_complex()
    assert a.is_trivial(a[0].ir) and not a.is_trivial(a[1].ir)
    assert not o3.Irreps("0o").is_trivial("0o") and o3.Irreps("0e").is_trivial("0e")


def test_parsing_errors_name_the_input():
    with pytest.raises(ValueError, match="bad term"):
        Irreps(SU3(), "2x3+2xfoo")
    with pytest.raises(ValueError, match="not an irrep label"):
        Irreps(Lorentz(), [(1, "nonsense")])
    with pytest.raises(TypeError, match="group must be"):
        Irreps("O(3)", "1o")
    with pytest.raises(ValueError, match="expected a string"):
        Irreps(SU2(), 3.5)
    with pytest.raises(ValueError, match="belong to"):
        as_irreps(Irreps(SU2(), "1"), group=Lorentz())
    with pytest.raises(ValueError, match="O\\(3\\) irreps"):
        as_irreps("2x(0,0)")


def test_o3_subclass_is_bound_to_o3():
    a = o3.Irreps("16x0e+8x1o")
    assert isinstance(a, Irreps) and a.group == O3() and type(Irreps(O3(), "16x0e+8x1o")) is o3.Irreps
    assert Irreps(O3(), "16x0e+8x1o") == a and a == ((16, (0, 1)), (8, (1, -1)))
    assert all(isinstance(ir, o3.Irrep) for _, ir in a) and str(a) == "16x0e+8x1o"
    assert as_irreps("16x0e+8x1o") == a and as_irreps("(1/2,1/2)", group="Lorentz").dim == 4
    assert a.products(o3.Irrep("1o"), "1o") == [o3.Irrep("0e"), o3.Irrep("1e"), o3.Irrep("2e")]
    assert a.coupling("1o", "1o", "2e").shape == (1, 3, 3, 5)
    assert torch.equal(a.coupling("1o", "1o", "2e")[0], o3.wigner_3j(1, 1, 2, dtype=torch.float64))


def test_natural():
    assert o3.Irreps.natural(8, 2) == o3.Irreps("8x0e+8x1o+8x2e")
    assert o3.Irreps.natural(2, 1, parity=1) == o3.Irreps("2x0e+2x1e")
    for bad in ((-1, 2), (2, -1)):
        with pytest.raises(ValueError):
            o3.Irreps.natural(*bad)
    with pytest.raises(ValueError, match="parity"):
        o3.Irreps.natural(2, 1, parity=0)


@pytest.mark.parametrize("name,expected", [("O(3)", "O(3)"), ("SO(3)", "SO(3)"), ("SU(2)", "SU(2)"),
                                           ("SU(3)", "SU(3)"), ("Lorentz", "SO+(1,3)"), ("SO(1,3)", "SO+(1,3)"),
                                           ("SO(2)", "SO(2)"), ("O(2)", "O(2)"), ("SO(5)", "SO(5)"),
                                           ("o(4)", "O(4)"), ("Sp(4)", "Sp(4)")])
def test_by_name(name, expected):
    assert by_name(name).name == expected


def test_by_name_unknown_lists_forms():
    for bad in ("E(8)", "Sp(3)", "SO(1)"):
        with pytest.raises(ValueError, match="SU\\(3\\)|even"):
            by_name(bad)


@pytest.mark.parametrize("case", sorted(CASES))
def test_clebsch_gordan_contract_every_group(case):
    """One contract: normalized projection, deterministic, intertwining_error ~ 0 on random elements."""
    factory, _, triples = CASES[case]
    group = factory()
    gen = torch.Generator().manual_seed(5)
    for l1, l2, l3 in triples:
        cg = group.clebsch_gordan(l1, l2, l3)
        norms = cg.reshape(-1, cg.shape[-1]).norm(dim=0)
        assert torch.allclose(norms, torch.ones_like(norms), atol=1e-12)
        assert torch.equal(cg, group.clebsch_gordan(l1, l2, l3))
        for _ in range(3):
            g = group.random_element(gen)
            scale = max(1.0, float(group.irrep(l1).matrix(g).abs().max() * group.irrep(l2).matrix(g).abs().max()))
            assert intertwining_error(group, l1, l2, l3, g) / scale < 1e-10, (case, l1, l2, l3)


def test_lorentz_contract_under_a_boost():
    lor = Lorentz()
    g = lor.boost(1.2, (0.3, -0.2, 0.9))
    v = (0.5, 0.5)
    assert intertwining_error(lor, v, v, (0, 0), g) < 1e-10
    # a boost is not unitary: the contract still holds, and a wrong target irrep matrix is detected
    cg = lor.clebsch_gordan(v, v, "(1,1)")
    r = lor.irrep(v).matrix(g)
    r3 = lor.irrep("(1,1)").matrix(g)
    wrong = torch.einsum("ijku,ia,jb->abku", cg, r, r) - torch.einsum("kc,abcu->abku", r3.T, cg)
    assert float(wrong.abs().max()) > 1e-3
    assert intertwining_error(lor, v, v, "(1,0)", g) < 1e-8

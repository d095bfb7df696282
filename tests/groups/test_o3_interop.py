"""O(3)/SO(3) classes use the e3nn basis: CG equals wigner_3j; irrep matrices equal Wigner D (and e3nn's)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.groups import O3, SO3, o3

pytestmark = pytest.mark.unit

TRIPLES = [(1, 1, 2), (1, 2, 3), (2, 2, 2), (2, 3, 4), (3, 3, 0), (4, 2, 3), (5, 4, 6)]



@pytest.mark.parametrize("l1, l2, l3", TRIPLES)
def test_o3_cg_equals_wigner_3j(l1, l2, l3):
    group = O3()
    for p1, p2 in [(1, 1), (-1, 1), (-1, -1)]:
        ir1, ir2, ir3 = o3.Irrep(l1, p1), o3.Irrep(l2, p2), o3.Irrep(l3, p1 * p2)
        cg = group.clebsch_gordan(ir1, ir2, ir3)
        assert cg.shape == (2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1, 1)
        ref = o3.wigner_3j(l1, l2, l3, dtype=torch.float64)
        assert (cg[..., 0] - ref).abs().max() <= 1e-12
        # wrong parity: forbidden
        assert group.clebsch_gordan(ir1, ir2, o3.Irrep(l3, -p1 * p2)).shape[-1] == 0
    assert (SO3().clebsch_gordan(l1, l2, l3)[..., 0] - o3.wigner_3j(l1, l2, l3, dtype=torch.float64)).abs().max() \
        <= 1e-12


def test_o3_matrices_equal_wigner_d():
    group = O3()
    gen = torch.Generator().manual_seed(7)
    for _ in range(20):
        g = group.random_element(gen)
        r = g.matrix
        assert torch.allclose(group.irrep("1o").matrix(g), r, atol=1e-12)
        for ir in ["2e", "3o", "4e", "3e"]:
            irrep = o3.Irrep(ir)
            assert torch.allclose(group.irrep(ir).matrix(g), irrep.D_from_matrix(r), atol=1e-10)



def test_generic_cg_agrees_with_e3nn(float64_default):
    e3nn_o3 = pytest.importorskip("e3nn.o3")
    group = SO3()
    for l1, l2, l3 in TRIPLES:
        ref = e3nn_o3.wigner_3j(l1, l2, l3, dtype=torch.float64)
        assert (group.clebsch_gordan(l1, l2, l3)[..., 0] - ref).abs().max() <= 1e-10
    gen = torch.Generator().manual_seed(11)
    for _ in range(20):
        g = O3().random_element(gen)
        for ir in ["1o", "2e", "3o", "5e"]:
            ref = e3nn_o3.Irrep(ir).D_from_matrix(g.matrix)
            assert torch.allclose(O3().irrep(ir).matrix(g), ref, atol=1e-10)


@pytest.mark.parametrize("group", [SO3(), O3()], ids=["SO3", "O3"])
def test_null_space_solver_reproduces_the_exact_tables(group):
    """The generic solver (used by every other group) finds the closed-form O(3) tables, up to sign."""
    from workbench.groups.group import LieGroup

    for l1, l2, l3 in [(1, 1, 0), (1, 1, 1), (1, 1, 2), (2, 1, 3), (2, 2, 2), (3, 2, 4), (4, 3, 5), (1, 2, 4)]:
        labels = (l1, l2, l3) if isinstance(group, SO3) else (f"{l1}o", f"{l2}e", f"{l3}o")
        canon = [group.canonical_label(x) for x in labels]
        solved = LieGroup._compute_clebsch_gordan(group, *canon)
        exact = group.clebsch_gordan(*labels).numpy()
        assert solved.shape == exact.shape
        if exact.shape[-1]:
            sign = np.sign(np.sum(solved * exact))
            assert np.abs(sign * solved - exact).max() <= 1e-10
    # parity forbids 1o x 1o -> 1o in O(3): multiplicity 0
    if isinstance(group, O3):
        assert group.clebsch_gordan("1o", "1o", "1o").shape == (3, 3, 3, 0)

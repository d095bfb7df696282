"""The numbers TensorProductExplorer shows: decompositions, dimension checks, CG heatmaps, intertwining checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from widgets import tensor_product_explorer as tpe

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def o3():
    from workbench.groups import o3

    return o3


@pytest.mark.parametrize(
    ("group", "irrep1", "irrep2", "expected"),
    [
        ("O(3)", "1o", "1o", {"0e": 1, "1e": 1, "2e": 1}),
        ("O(3)", "1o", "2e", {"1o": 1, "2o": 1, "3o": 1}),
        ("SU(2)", "1/2", "1/2", {"0": 1, "1": 1}),
        ("SU(2)", "1", "3/2", {"1/2": 1, "3/2": 1, "5/2": 1}),
        ("SU(3)", "3", "3bar", {"1": 1, "8": 1}),
        ("SU(3)", "3", "3", {"3bar": 1, "6": 1}),
        ("Lorentz", "(1/2,0)", "(0,1/2)", {"(1/2,1/2)": 1}),
        ("Lorentz", "(1/2,1/2)", "(1/2,1/2)", {"(0,0)": 1, "(1,0)": 1, "(0,1)": 1, "(1,1)": 1}),
    ],
)
def test_known_decompositions_and_their_checks(group: str, irrep1: str, irrep2: str, expected: dict) -> None:
    decomposition = tpe.decompose_product(group, irrep1, irrep2)
    assert {r.label: r.multiplicity for r in decomposition.rows} == expected
    assert decomposition.dimension_ok and decomposition.total_dim == decomposition.product_dim
    frame = decomposition.to_frame()
    assert frame["multiplicity x dim"].sum() == decomposition.product_dim
    assert "(OK)" in decomposition.to_html()
    check = tpe.check_intertwining(group, irrep1, irrep2, generator=torch.Generator().manual_seed(1))
    assert set(check.errors) == set(expected)
    assert check.max_error < 1e-9, check.errors
    blocks = tpe.clebsch_gordan_blocks(group, irrep1, irrep2)
    for row in decomposition.rows:
        assert blocks[row.label].shape == (decomposition.dim1, decomposition.dim2, row.dim, row.multiplicity)


def test_su3_octet_squared_has_two_octets_and_six_heatmaps() -> None:
    decomposition = tpe.decompose_product("SU(3)", "8", "8")
    assert {r.label: r.multiplicity for r in decomposition.rows} == {
        "1": 1, "8": 2, "10": 1, "10bar": 1, "27": 1}
    assert decomposition.formula() == "8 x 8 = 1 + 2x8 + 10 + 10bar + 27"
    figure = tpe.clebsch_gordan_figure(tpe.clebsch_gordan_blocks("SU(3)", "8", "8"))
    assert len(figure.data) == 6
    assert [a.text for a in figure.layout.annotations][1:3] == ["-> 8 #1", "-> 8 #2"]


def test_intertwining_error_is_zero_for_wigner_3j_and_large_for_wrong_tensors(o3) -> None:
    R = o3.rand_matrix(generator=torch.Generator().manual_seed(0)).to(torch.float64)
    rho = {l: o3.Irrep(l, 1).D_from_matrix(R).numpy() for l in (1, 2)}
    C = o3.wigner_3j(1, 1, 2, dtype=torch.float64).numpy()[..., None]
    assert tpe.intertwining_error(rho[1], rho[1], rho[2], C) < 1e-12
    wrong = C + 0.1 * np.random.default_rng(0).normal(size=C.shape)
    assert tpe.intertwining_error(rho[1], rho[1], rho[2], wrong) > 1e-2
    # the transpose of D^2 is the representation of R^{-1}: not an intertwiner for R
    assert tpe.intertwining_error(rho[1], rho[1], rho[2].T, C) > 1e-2
    # multiplicity 0: nothing to check
    assert tpe.intertwining_error(rho[1], rho[1], rho[2], np.zeros((3, 3, 5, 0))) == 0.0


def test_intertwining_error_rejects_bad_shapes() -> None:
    eye3, eye5 = np.eye(3), np.eye(5)
    with pytest.raises(ValueError, match=r"cg must have shape \[3, 3, 5, mult\] \(d1, d2, d3, mult\)"):
        tpe.intertwining_error(eye3, eye3, eye5, np.ones((3, 3, 5)))
    with pytest.raises(ValueError, match=r"rho2 must have shape \[d2, d2\] \(a square matrix\)"):
        tpe.intertwining_error(eye3, np.ones((3, 2)), eye5, np.ones((3, 3, 5, 1)))
    with pytest.raises(ValueError, match="identically zero"):
        tpe.intertwining_error(eye3, eye3, eye5, np.zeros((3, 3, 5, 1)))


def test_dimension_mismatch_is_reported() -> None:
    broken = tpe.Decomposition(group="O(3)", irrep1="1o", irrep2="1o", dim1=3, dim2=3,
                               rows=(tpe.DecompositionRow("0e", 1, 1), tpe.DecompositionRow("2e", 1, 5)))
    assert not broken.dimension_ok
    assert broken.total_dim == 6 and broken.product_dim == 9
    assert "MISMATCH" in broken.to_html()


def test_heatmaps_of_complex_tensors_say_what_they_show() -> None:
    real = np.ones((2, 2, 1, 1))
    imaginary = 1j * np.ones((2, 2, 1, 1))
    mixed = (1 + 1j) * np.ones((2, 2, 3, 1))
    figure = tpe.clebsch_gordan_figure({"a": real, "b": imaginary, "c": mixed})
    assert [a.text for a in figure.layout.annotations] == ["-> a", "-> b (imaginary part)", "-> c (modulus)"]
    np.testing.assert_allclose(np.asarray(figure.data[2].z), np.sqrt(2) * np.ones((4, 3)))
    with pytest.raises(ValueError, match="empty"):
        tpe.clebsch_gordan_figure({})
    with pytest.raises(ValueError, match=r"\[d1, d2, d3, mult\]"):
        tpe.clebsch_gordan_figure({"a": np.ones((2, 2))})


def test_make_group_validates() -> None:
    with pytest.raises(ValueError, match="group must be one of"):
        tpe.make_group("SO(4)")
    with pytest.raises(TypeError, match="lacks"):
        tpe.make_group(object())
    group = tpe.make_group("O(3)")
    assert tpe.make_group(group) is group


def test_widget_follows_its_controls() -> None:
    pytest.importorskip("ipywidgets")
    pytest.importorskip("plotly")
    explorer = tpe.TensorProductExplorer(group="O(3)", irrep1="1o", irrep2="1o", seed=3)
    assert explorer.decomposition.formula() == "1o x 1o = 0e + 1e + 2e"
    assert len(explorer.figure.data) == 3
    assert "dimension check: 3 x 3 = 9" in explorer.table.value
    first_check = dict(explorer.check.errors)

    explorer.controls["irrep2"].value = "0e"  # picking an irrep redraws table and heatmaps
    assert explorer.decomposition.formula() == "1o x 0e = 1o"
    assert len(explorer.figure.data) == 1
    assert np.asarray(explorer.figure.data[0].z).shape == (3, 3)

    explorer.controls["group"].value = "SU(2)"  # switching the group resets the irreps to that group's
    assert explorer.controls["irrep1"].options == tpe.TEACHING_IRREPS["SU(2)"]
    assert explorer.decomposition.formula() == "1 x 1 = 0 + 1 + 2"
    assert len(explorer.figure.data) == 3

    explorer.controls["group"].value = "O(3)"
    explorer.controls["irrep2"].value = "1o"
    explorer.recheck()  # a new random element: errors change but stay at rounding level
    assert explorer.check.errors != first_check
    assert explorer.check.max_error < 1e-9
    with pytest.raises(ValueError, match="irrep1 must be one of"):
        tpe.TensorProductExplorer(group="O(3)", irrep1="1/2")

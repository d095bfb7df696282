"""SpectraExplorer without a browser: every control changes the figures' data as the physics says, the numbers are
those of workbench.scattering, files and ASE structures load, and bad input raises errors naming the argument."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
import traitlets

import widgets.spectra_explorer as se
from widgets import MoleculeViewer
from widgets.spectra_explorer import (
    SpectraExplorer,
    SpectraSettings,
    SpectraStructure,
    check_dos,
    spectra_state,
)
from workbench.scattering import CU_KALPHA, debye_scattering, pair_distribution

pytestmark = pytest.mark.unit

FCC = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
A_CU, A_CU3AU = 3.615, 3.75
SMALL = dict(n_q=120, n_r=150, r_max=8.0)  # coarse grids keep each state well under a second


def cu() -> SpectraStructure:
    return SpectraStructure(("Cu",) * 4, FCC * A_CU, np.eye(3) * A_CU, "Cu")


def cu3au() -> SpectraStructure:
    return SpectraStructure(("Au", "Cu", "Cu", "Cu"), FCC * A_CU3AU, np.eye(3) * A_CU3AU, "Cu3Au")


@pytest.fixture(scope="module")
def explorer() -> SpectraExplorer:
    return SpectraExplorer(cu3au(), settings=SpectraSettings(supercell=2, **SMALL))


def _y(trace) -> np.ndarray:
    return np.asarray(trace.y, dtype=np.float64)


# -- the pure state -------------------------------------------------------------------------------------------------
def test_state_is_the_scattering_modules_numbers_and_pair_contributions_add_up() -> None:
    state = spectra_state(cu3au(), SpectraSettings(supercell=2, biso=0.4, **SMALL))
    assert state.structure.n_atoms == 32 and state.species == ["Cu", "Au"]  # in order of Z
    assert list(state.sq_contributions) == ["Cu-Cu", "Cu-Au", "Au-Au"]
    pos = torch.tensor(state.structure.positions)
    q = torch.tensor(state.q)
    direct = debye_scattering(list(state.structure.symbols), pos, q, radiation="xray", biso=0.4)
    np.testing.assert_allclose(state.structure_factor, direct.structure_factor.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sum(state.sq_contributions.values()), state.structure_factor - 1, atol=1e-12)
    sigma = math.sqrt(0.05**2 + 0.4 / (4 * math.pi**2))  # the ADP broadens G(r) as it damps S(Q)
    pdf = pair_distribution(list(state.structure.symbols), pos, torch.tensor(state.r), sigma=sigma,
                            radiation="xray")
    np.testing.assert_allclose(state.reduced_pdf, pdf.reduced_pdf.numpy(), atol=1e-12)
    np.testing.assert_allclose(sum(state.pdf_contributions.values()), state.reduced_pdf, atol=1e-12)


def test_fcc_cu_peaks_sit_where_bragg_and_the_nearest_neighbours_say() -> None:
    state = spectra_state(cu(), SpectraSettings(supercell=3, q_range=(0.5, 8.0), n_q=300, n_r=400, r_max=6.0))
    expected = [2 * math.degrees(math.asin(CU_KALPHA * math.sqrt(h) / (2 * A_CU))) for h in (3, 4, 8, 11)]
    np.testing.assert_allclose(state.peaks.two_theta.numpy()[:4], expected, atol=1e-9)  # (111) (200) (220) (311)
    profile_peak = state.two_theta[np.argmax(state.powder)]
    assert abs(profile_peak - expected[0]) < 0.1  # the strongest line of the drawn pattern is (111)
    first = state.r[np.argmax(state.reduced_pdf * (state.r < 3.0))]
    assert abs(first - A_CU / math.sqrt(2)) < 0.03  # nearest neighbours at a / sqrt(2)


def test_finite_structure_has_no_powder_pattern_and_no_supercell() -> None:
    water = SpectraStructure(("O", "H", "H"), [[0, 0, 0.117], [0.757, 0, -0.469], [-0.757, 0, -0.469]])
    state = spectra_state(water, SpectraSettings(supercell=1, **SMALL))
    assert state.powder is None and state.peaks is None and state.structure.n_atoms == 3
    with pytest.raises(ValueError, match="supercell must be 1 for a structure without a cell"):
        spectra_state(water, SpectraSettings(supercell=2))


# -- one figure, four panels ---------------------------------------------------------------------------------------
def test_one_figure_widget_holds_the_four_panels_on_their_own_axes(explorer: SpectraExplorer) -> None:
    assert isinstance(explorer.figure, go.FigureWidget)
    children = explorer.widget.children
    assert children[-1] is explorer.figure and explorer.viewer in children[0].children
    assert sum(isinstance(c, go.FigureWidget) for c in children) == 1  # a single plotly view below the 3D one
    lengths = {"sq": 1 + 3 + 1, "gr": 2 + 3 + 1, "powder": 2, "dos": 2}  # curves, Cu3Au pairs, model overlay
    seen = []
    for k, panel in enumerate(se.PANELS):
        traces = explorer.traces(panel)
        assert len(traces) == lengths[panel]
        axis = "x" if k == 0 else f"x{k + 1}"
        assert all(t.xaxis == axis and t.meta == panel for t in traces), panel
        assert traces[-1].line.dash == "dash" and all(t.line.dash is None for t in traces[:-1])  # overlay last
        seen += [id(t) for t in traces]
    assert len(set(seen)) == len(explorer.figure.data)  # every trace belongs to exactly one panel
    titles = [explorer.panel_title(p) for p in se.PANELS]
    assert titles[0].startswith("S(Q)") and titles[1].startswith("G(r)") and titles[2].startswith("powder")
    assert [a.text for a in explorer.figure.layout.annotations] == titles
    assert explorer.figure.layout.xaxis.title.text == "Q (1/Å)"
    assert explorer.figure.layout.xaxis3.title.text == "2θ (degrees)"
    with pytest.raises(ValueError, match="panel must be one of"):
        explorer.traces("xrd")


# -- every control changes the figures ---------------------------------------------------------------------------
def test_radiation_changes_s_of_q_and_the_cu_au_contrast(explorer: SpectraExplorer) -> None:
    explorer.set(radiation="xray")
    xray = _y(explorer.traces("sq")[0]).copy()
    au_xray = np.abs(explorer.state.sq_contributions["Au-Au"]).max()
    explorer.set(radiation="neutron")
    neutron = _y(explorer.traces("sq")[0])
    assert np.abs(neutron - xray).max() > 0.05
    assert explorer.status.value.count("data-radiation='neutron'") == 1
    # X-rays see Au (79 electrons) far above Cu (29); neutrons see them alike (b = 7.63 vs 7.72 fm)
    au_neutron = np.abs(explorer.state.sq_contributions["Au-Au"]).max()
    assert au_xray > 2 * au_neutron
    explorer.set(radiation="xray")


def test_supercell_changes_the_number_of_atoms_everywhere(explorer: SpectraExplorer) -> None:
    before = _y(explorer.traces("sq")[0]).copy()
    explorer.set(supercell=3)
    assert explorer.state.structure.n_atoms == 108
    assert len(explorer.viewer.symbols) == 108 and len(explorer.viewer.positions) == 108
    assert "108 atoms" in explorer.panel_title("sq")
    assert np.abs(_y(explorer.traces("sq")[0]) - before).max() > 0.1  # a larger crystallite: sharper peaks
    explorer.set(supercell=2)
    assert len(explorer.viewer.symbols) == 32


def test_q_range_sets_the_s_of_q_grid_and_the_powder_two_theta_range(explorer: SpectraExplorer) -> None:
    explorer.set(q_range=(1.0, 6.0))
    x = np.asarray(explorer.traces("sq")[0].x)
    assert x[0] == pytest.approx(1.0) and x[-1] == pytest.approx(6.0) and x.size == SMALL["n_q"]
    tth = np.asarray(explorer.traces("powder")[0].x)
    assert tth[0] == pytest.approx(2 * math.degrees(math.asin(1.0 * CU_KALPHA / (4 * math.pi))))
    assert tth[-1] == pytest.approx(2 * math.degrees(math.asin(6.0 * CU_KALPHA / (4 * math.pi))))
    explorer.set(q_range=(0.5, 12.0))
    assert np.asarray(explorer.traces("powder")[0].x)[-1] == pytest.approx(se.MAX_TWO_THETA)  # Q beyond 4pi/lambda


def test_adp_damps_s_of_q_broadens_g_of_r_and_weakens_high_angle_peaks(explorer: SpectraExplorer) -> None:
    high = explorer.state.q > 8.0
    explorer.set(biso=0.0)
    sq0, gr0 = _y(explorer.traces("sq")[0]).copy(), _y(explorer.traces("gr")[0]).copy()
    peaks0 = explorer.state.peaks.intensity.numpy().copy()
    explorer.set(biso=2.0)
    sq2, gr2 = _y(explorer.traces("sq")[0]), _y(explorer.traces("gr")[0])
    assert np.abs(sq2[high] - 1).max() < 0.5 * np.abs(sq0[high] - 1).max()
    assert gr2.max() < 0.7 * gr0.max()
    peaks2 = explorer.state.peaks.intensity.numpy()  # scaled to max 100: the far peaks lose against the first
    assert peaks2[-1] / peaks2[0] < 0.5 * peaks0[-1] / peaks0[0]
    explorer.set(biso=0.0)


def test_broadening_controls_widen_g_of_r_and_powder_peaks(explorer: SpectraExplorer) -> None:
    explorer.set(pdf_sigma=0.05, fwhm=0.2)
    gr, powder = _y(explorer.traces("gr")[0]).max(), _y(explorer.traces("powder")[0]).max()
    explorer.set(pdf_sigma=0.2, fwhm=1.0)
    assert _y(explorer.traces("gr")[0]).max() < 0.6 * gr
    assert _y(explorer.traces("powder")[0]).max() < 0.5 * powder
    explorer.set(pdf_sigma=0.05, fwhm=0.2)


def test_selecting_cu_shows_its_partials_and_colours_its_atoms(explorer: SpectraExplorer) -> None:
    explorer.set(element=None)
    assert all(t.visible == "legendonly" for t in explorer.traces("sq")[1:-1])
    assert explorer.viewer.highlight == []
    explorer.set(element="Cu")
    shown = {t.name.split(" ")[0] for t in explorer.traces("sq")[1:-1] if t.visible is True}
    assert shown == {"Cu-Cu", "Cu-Au"}
    shown_gr = {t.name.split(" ")[0] for t in explorer.traces("gr")[2:-1] if t.visible is True}
    assert shown_gr == {"Cu-Cu", "Cu-Au"}
    copper = [i for i, s in enumerate(explorer.viewer.symbols) if s == "Cu"]
    assert explorer.viewer.highlight == copper and len(copper) == 24
    assert "data-highlighted='24'" in explorer.status.value
    explorer.set(element="Au")
    assert len(explorer.viewer.highlight) == 8
    explorer.set(element=None)


# -- overlays: model prediction and DOS ---------------------------------------------------------------------------
def test_prediction_overlay_follows_its_grid(explorer: SpectraExplorer) -> None:
    explorer.set(q_range=(0.5, 12.0))
    model = explorer.state.structure_factor * 1.1
    explorer.set_prediction("sq", model, name="my model")
    trace = explorer.traces("sq")[-1]
    assert trace.visible is True and trace.name == "my model"
    np.testing.assert_allclose(_y(trace), model)
    explorer.set(q_range=(1.0, 10.0))  # another grid: the array no longer lines up, so it is hidden and said so
    assert explorer.traces("sq")[-1].visible is False and "prediction hidden" in explorer.status.value
    explorer.set_prediction("gr", lambda structure, r: np.exp(-r) * structure.n_atoms)
    np.testing.assert_allclose(_y(explorer.traces("gr")[-1]), np.exp(-explorer.state.r) * 32)
    explorer.set(supercell=3)  # a callable is evaluated again on the shown structure
    np.testing.assert_allclose(_y(explorer.traces("gr")[-1]), np.exp(-explorer.state.r) * 108)
    explorer.clear_prediction("gr")
    explorer.clear_prediction("sq")
    assert explorer.traces("gr")[-1].visible is False
    explorer.set(supercell=2, q_range=(0.5, 12.0))


def test_dos_panel_from_arrays_or_a_callable() -> None:
    nu = np.linspace(0.0, 8.0, 51)
    values = np.exp(-((nu - 5.0) ** 2))
    explorer = SpectraExplorer(cu(), settings=SpectraSettings(supercell=1, **SMALL), dos=(nu, values))
    np.testing.assert_allclose(_y(explorer.traces("dos")[0]), values)
    explorer.set_prediction("dos", values * 0.9)
    np.testing.assert_allclose(_y(explorer.traces("dos")[-1]), values * 0.9)
    seen = []
    explorer = SpectraExplorer(cu(), settings=SpectraSettings(supercell=1, **SMALL),
                               dos=lambda s: seen.append(s.n_atoms) or (nu, values))
    assert seen == [4]  # called once, with the unit cell
    assert "no phonon DOS" in SpectraExplorer(cu(), settings=SpectraSettings(supercell=1, **SMALL)).panel_title("dos")


# -- loading structures -------------------------------------------------------------------------------------------
def test_from_file_cif_poscar_xyz_and_from_ase(tmp_path) -> None:
    ase = pytest.importorskip("ase")
    from ase.build import bulk
    from ase.io import write

    atoms = bulk("Cu", "fcc", a=A_CU, cubic=True)
    write(tmp_path / "cu.cif", atoms)
    write(tmp_path / "POSCAR", atoms, format="vasp")
    for path in (tmp_path / "cu.cif", tmp_path / "POSCAR"):
        structure = SpectraStructure.from_file(path)
        assert structure.periodic and structure.n_atoms == 4
        np.testing.assert_allclose(structure.cell, np.eye(3) * A_CU, atol=1e-6)
    (tmp_path / "water.xyz").write_text("3\nw\nO 0 0 0.117\nH 0.757 0 -0.469\nH -0.757 0 -0.469\n")
    water = SpectraExplorer.from_file(tmp_path / "water.xyz", settings=SpectraSettings(supercell=1, **SMALL))
    assert not water.structure.periodic and water.controls["supercell"].disabled
    assert "no cell" in water.panel_title("powder")
    from_ase = SpectraExplorer.from_ase(atoms, settings=SpectraSettings(supercell=2, **SMALL))
    assert from_ase.state.structure.n_atoms == 32
    molecule = ase.Atoms("CO", positions=[[0, 0, 0], [0, 0, 1.13]])
    assert not SpectraStructure.from_ase(molecule).periodic  # no pbc: finite


def test_without_ase_xyz_still_loads_and_cif_names_the_extra(tmp_path, monkeypatch) -> None:
    def missing():
        raise ImportError("ASE structures and PDB/CIF files need ase (the 'chem' extra): pip install "
                          "'equivariant-workbench[chem]' or pip install ase")

    monkeypatch.setattr(se, "require_ase", missing)
    (tmp_path / "water.xyz").write_text("3\nw\nO 0 0 0.117\nH 0.757 0 -0.469\nH -0.757 0 -0.469\n")
    assert SpectraStructure.from_file(tmp_path / "water.xyz").n_atoms == 3
    (tmp_path / "cu.cif").write_text("data_cu\n")
    with pytest.raises(ImportError, match="'chem' extra"):
        SpectraStructure.from_file(tmp_path / "cu.cif")


# -- bad input ------------------------------------------------------------------------------------------------------
def test_bad_structures_raise_clear_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown element 'Xx'.*supported: H, He"):
        SpectraStructure(("Xx",), [[0, 0, 0]])
    with pytest.raises(ValueError, match="the structure is empty"):
        SpectraStructure((), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="positions"):
        SpectraStructure(("Cu", "Cu"), [[0, 0, 0]])
    with pytest.raises(ValueError, match="non-zero volume"):
        SpectraStructure(("Cu",), [[0, 0, 0]], np.zeros((3, 3)))
    with pytest.raises(FileNotFoundError, match="no structure file"):
        SpectraStructure.from_file(tmp_path / "missing.cif")
    with pytest.raises(TypeError, match="SpectraStructure"):
        SpectraExplorer("Cu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="supercell must be an int >= 1"):
        cu().repeat(0)


@pytest.mark.parametrize(("change", "message"), [
    (dict(radiation="electron"), "radiation must be one of"),
    (dict(q_range=(-1.0, 5.0)), "q_range must be"),
    (dict(q_range=(0.0, 5.0)), "q_range must be"),
    (dict(q_range=(5.0, 2.0)), "q_range must be"),
    (dict(biso=-0.1), "biso must be"),
    (dict(fwhm=0.0), "fwhm must be"),
    (dict(pdf_sigma=float("nan")), "pdf_sigma must be"),
    (dict(supercell=0), "supercell must be an int"),
    (dict(element="Ni"), "element must be None or one of"),
])
def test_bad_settings_raise_naming_the_field(change, message) -> None:
    with pytest.raises(ValueError, match=message):
        spectra_state(cu3au(), SpectraSettings(**{**SMALL, "supercell": 1, **change}))


def test_bad_controls_predictions_and_dos_raise(explorer: SpectraExplorer) -> None:
    with pytest.raises(ValueError, match="unknown control"):
        explorer.set(temperature=300)
    with pytest.raises(ValueError, match="q_range must be"):
        explorer.set(q_range=(3.0, 1.0))
    assert explorer.controls["q_range"].value[0] < explorer.controls["q_range"].value[1]  # nothing moved
    with pytest.raises(ValueError, match="panel must be one of"):
        explorer.set_prediction("xrd", [1.0])
    with pytest.raises(ValueError, match=r"aligned with the panel's grid"):
        explorer.set_prediction("sq", np.ones(7))
    with pytest.raises(ValueError, match="no grid"):
        explorer.set_prediction("dos", np.ones(7))  # no DOS given
    with pytest.raises(ValueError, match="strictly increasing"):
        check_dos((np.array([3.0, 2.0, 1.0]), np.ones(3)))
    with pytest.raises(ValueError, match="must be a pair"):
        check_dos(np.ones(5))
    water = SpectraExplorer(SpectraStructure(("O", "H", "H"), [[0, 0, 0], [1, 0, 0], [0, 1, 0]]),
                            settings=SpectraSettings(supercell=1, **SMALL))
    with pytest.raises(ValueError, match="no grid"):
        water.set_prediction("powder", np.ones(7))


def test_viewer_highlight_trait_is_validated() -> None:
    viewer = MoleculeViewer(symbols=["O", "H", "H"], positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    viewer.highlight = [2, 0, 2]
    assert viewer.highlight == [0, 2]
    with pytest.raises(traitlets.TraitError, match="highlight must hold atom indices"):
        viewer.highlight = [3]
    assert "change:highlight" in viewer._esm and "dataset.highlighted" in viewer._esm

"""Saved figures: one plotly.js per run folder, PNG/SVG through kaleido (the ``figures`` extra) or a clear error."""

from __future__ import annotations

import importlib.util

import plotly.graph_objects as go
import pytest

from widgets.plots import FIGURE_FORMATS_ENV, write_figure_html

pytestmark = pytest.mark.unit

HAS_KALEIDO = importlib.util.find_spec("kaleido") is not None


@pytest.fixture()
def fig() -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b", "c"], y=[3, 1, 2]))


def test_figures_in_subfolders_of_a_run_share_one_plotly_js(fig, tmp_path, monkeypatch) -> None:
    run = tmp_path / "run"
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(run))
    monkeypatch.setenv(FIGURE_FORMATS_ENV, "")
    write_figure_html(fig, run / "a.html")
    nested = write_figure_html(fig, run / "models" / "schnet" / "b.html")
    write_figure_html(fig, run / "models" / "nequip" / "c.html")
    copies = sorted(p.relative_to(run).as_posix() for p in run.rglob("plotly.min.js"))
    assert copies == ["plotly.min.js"]
    assert '<script charset="utf-8" src="../../plotly.min.js"></script>' in nested.read_text()
    assert (run / "plotly.min.js").stat().st_size > 1_000_000


def test_unknown_image_format_names_the_choices(fig, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(FIGURE_FORMATS_ENV, raising=False)
    with pytest.raises(ValueError, match=r"unknown image format.*'jpeg'.*png"):
        write_figure_html(fig, tmp_path / "a.html", images=["jpeg"])
    monkeypatch.setenv(FIGURE_FORMATS_ENV, "png,gif")
    with pytest.raises(ValueError, match=rf"\${FIGURE_FORMATS_ENV}.*'gif'"):
        write_figure_html(fig, tmp_path / "a.html")
    with pytest.raises(TypeError, match="images must be a sequence"):
        write_figure_html(fig, tmp_path / "a.html", images="png")


@pytest.mark.skipif(HAS_KALEIDO, reason="kaleido is installed: images are written instead")
def test_images_without_kaleido_name_the_extra_and_keep_the_html(fig, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(FIGURE_FORMATS_ENV, raising=False)
    write_figure_html(fig, tmp_path / "auto.html")  # not asked for: HTML only, silently
    assert (tmp_path / "auto.html").is_file() and not (tmp_path / "auto.png").exists()
    with pytest.raises(ImportError, match=r"'figures' extra"):
        write_figure_html(fig, tmp_path / "asked.html", images=["png"])
    assert (tmp_path / "asked.html").is_file()


@pytest.mark.skipif(not HAS_KALEIDO, reason="needs the 'figures' extra (kaleido) and a local Chromium")
def test_png_and_svg_are_written_with_kaleido(fig, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(FIGURE_FORMATS_ENV, raising=False)
    path = write_figure_html(fig, tmp_path / "bars.html")
    png, svg = path.with_suffix(".png"), path.with_suffix(".svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    assert "<svg" in svg.read_text()[:500]

"""Helpers for the browser tests: drive a notebook in JupyterLab and inspect what the page rendered."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from timeouts import scaled, scaled_ms


def check_guarded_page(guarded: Any) -> None:
    """Fail (AssertionError) if a ``guarded_page`` made an external request or threw an uncaught JavaScript
    exception (``pageerror``), unless the test allowed it (``allow_external``, ``allow_page_errors``). The
    ``guarded_page`` fixture calls it at teardown."""
    if not guarded.allow_external:
        assert not guarded.external, f"requests left 127.0.0.1 (blocked): {guarded.external}"
    if not guarded.allow_page_errors:
        assert not guarded.page_errors, f"uncaught JavaScript exceptions in the page: {guarded.page_errors}"


_WAIT_FOR_NOTEBOOK_JS = """
async (path) => {
  const app = window.jupyterapp;
  const widget = app.shell.currentWidget;
  if (!widget || !widget.context || widget.context.path !== path) return false;
  await widget.context.ready;
  await widget.sessionContext.ready;
  const kernel = widget.sessionContext.session && widget.sessionContext.session.kernel;
  return !!kernel && kernel.status === "idle";
}
"""

_NOTEBOOK_STATE_JS = """
() => {
  const widget = window.jupyterapp.shell.currentWidget;
  const cells = widget.content.widgets.map((cell) => cell.model.toJSON());
  const code = cells.filter((c) => c.cell_type === "code");
  const kernel = widget.sessionContext.session.kernel;
  return {
    status: kernel ? kernel.status : "none",
    executed: code.filter((c) => c.execution_count !== null).length,
    n_code: code.length,
    errors: code.flatMap((c) => c.outputs.filter((o) => o.output_type === "error")
                                         .map((o) => `${o.ename}: ${o.evalue}`)),
    stderr: code.flatMap((c) => c.outputs.filter((o) => o.output_type === "stream" && o.name === "stderr")
                                         .map((o) => Array.isArray(o.text) ? o.text.join("") : o.text)),
  };
}
"""


def run_notebook_in_lab(guarded: Any, server: Any, path: str, timeout_s: float | None = None) -> dict:
    """Open ``path`` (relative to the server root) in JupyterLab, run all cells, wait until done.

    ``timeout_s``: the whole run (default ``scaled(120)``, see tests/timeouts.py); opening the notebook with an
    idle kernel is allowed ``scaled(60)`` more. Measured at load ~7 on 2 cores: the longest whole browser test,
    the equivariance explorer's, took 86 s (START_HERE 42 s, tutorials 27-50 s each).

    Returns ``{status, executed, n_code, errors, stderr}`` from the notebook model once the kernel is idle and
    every code cell ran or an error output appeared.
    """
    page = guarded.page
    page.goto(f"{server.url}/lab/tree/{path}", wait_until="domcontentloaded")
    page.wait_for_function("() => !!window.jupyterapp && !!window.jupyterapp.shell", timeout=scaled_ms(60))
    deadline = time.monotonic() + scaled(60)
    while not page.evaluate(_WAIT_FOR_NOTEBOOK_JS, path):
        if time.monotonic() > deadline:
            raise AssertionError(f"notebook {path} did not open with an idle kernel:\n{server.log_tail()}")
        page.wait_for_timeout(250)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    timeout_s = scaled(120) if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    state: dict = {}
    while time.monotonic() < deadline:
        page.wait_for_timeout(500)
        state = page.evaluate(_NOTEBOOK_STATE_JS)
        if state["status"] == "idle" and (state["executed"] == state["n_code"] or state["errors"]):
            return state
    raise AssertionError(f"notebook {path} did not finish within {timeout_s} s; last state {json.dumps(state)}")


_COLOUR_COUNT_JS = """
async (b64) => {
  const img = new Image();
  img.src = "data:image/png;base64," + b64;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data;
  const counts = new Map();
  for (let i = 0; i < data.length; i += 4) {
    const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const top = Math.max(...counts.values());
  return {colours: counts.size, pixels: data.length / 4, dominant_fraction: top / (data.length / 4)};
}
"""


def element_colour_count(guarded: Any, locator: Any) -> dict:
    """Screenshot ``locator`` and count its distinct RGB colours (decoded by the browser itself).

    Returns ``{colours, pixels, dominant_fraction}``: a blank element has 1 colour and fraction 1.0.
    """
    png = locator.screenshot(type="png")
    return guarded.page.evaluate(_COLOUR_COUNT_JS, base64.b64encode(png).decode("ascii"))

"""Fixtures for browser tests: a real JupyterLab on a loopback port, driven by Debian Chromium via Playwright.

- ``lab_server`` (session): JupyterLab started from the venv on a free 127.0.0.1 port with no token, a temporary
  root dir (``lab_server.root``; copy notebooks into it with ``lab_server.add_notebook``), private settings /
  workspaces dirs and the offline-safe overrides of :mod:`widgets.lab` (no windowing, read-only extension
  manager, no news or update checks). ``expose_app_in_browser`` makes ``window.jupyterapp`` available.
- ``browser`` (session): ``/usr/bin/chromium`` (never ``playwright install``) headless, with background networking
  and component updates off.
- ``guarded_page``: a fresh page whose every request to a host other than 127.0.0.1/localhost (HTTP(S) and
  WebSocket) is blocked and recorded in ``guarded_page.external``; the test fails at teardown if any was made,
  unless the test set ``guarded_page.allow_external = True`` (for tests that prove the guard works). Uncaught
  JavaScript exceptions (``pageerror``: a TypeError thrown in a widget's front end, a rejected promise nobody
  handles) are recorded in ``guarded_page.page_errors`` and fail the test at teardown as well
  (``browser_harness.check_guarded_page``), unless ``guarded_page.allow_page_errors = True``. At teardown the
  page is closed and the server's kernels are shut down.
Every wait scales with ``$WORKBENCH_TEST_TIMEOUT_FACTOR`` (tests/timeouts.py).
Helpers that drive notebooks and inspect pages are in ``browser_harness.py``.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from browser_harness import check_guarded_page
from timeouts import scaled

from widgets.lab import lab_command, write_settings_overrides

CHROMIUM = Path(os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
SERVER_START_TIMEOUT_S = 90  # measured: JupyterLab answered in 14 s at load ~7 on 2 cores (times the factor)


def is_local_url(url: str) -> bool:
    """True for URLs that stay on this machine: loopback hosts, and data:/blob:/about: URLs."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome", "chrome-extension", "devtools"):
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: ``url`` (``http://127.0.0.1:PORT``), ``root`` (its root dir), ``log`` (server log)."""

    url: str
    root: Path
    log: Path
    process: subprocess.Popen
    _shutdown: threading.Thread | None = field(default=None, repr=False)
    _shutdown_error: BaseException | None = field(default=None, repr=False)

    def add_notebook(self, source: Path, name: str | None = None) -> str:
        """Copy ``source`` into the root dir; returns its path relative to the root (for ``/lab/tree/...``)."""
        target = self.root / (name or source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        return target.relative_to(self.root).as_posix()

    def shutdown_kernels(self) -> None:
        """Shut down every kernel of this server (tests call it between notebooks to free the CPUs)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{self.url}/lab", timeout=scaled(30)).close()  # sets the _xsrf cookie that DELETE must echo
        xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
        with opener.open(f"{self.url}/api/kernels", timeout=scaled(30)) as response:
            kernels = json.loads(response.read())
        for kernel in kernels:
            request = urllib.request.Request(f"{self.url}/api/kernels/{kernel['id']}", method="DELETE",
                                             headers={"X-XSRFToken": xsrf})
            try:
                opener.open(request, timeout=scaled(30)).close()
            except urllib.error.HTTPError as err:  # 404: already gone
                if err.code != 404:
                    raise

    def shutdown_kernels_in_background(self) -> None:
        """Start :meth:`shutdown_kernels` on a thread and return (the server waits up to seconds for each kernel
        to exit; the next test need not). A previous background shutdown is finished first."""
        self.wait_for_kernel_shutdown()

        def shutdown() -> None:
            try:
                self.shutdown_kernels()
            except BaseException as exc:  # re-raised by wait_for_kernel_shutdown, as a synchronous call would
                self._shutdown_error = exc

        self._shutdown = threading.Thread(target=shutdown, name="lab-kernel-shutdown", daemon=True)
        self._shutdown.start()

    def wait_for_kernel_shutdown(self) -> None:
        """Finish a background shutdown; raise what it raised (a failed DELETE other than 404)."""
        if self._shutdown is not None:
            self._shutdown.join(timeout=scaled(60))
            self._shutdown = None
        error, self._shutdown_error = self._shutdown_error, None
        if error is not None:
            raise error

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("jupyterlab")
    root, settings, user_settings, workspaces = (base / d for d in ("root", "settings", "user-settings", "ws"))
    for folder in (root, user_settings, workspaces):
        folder.mkdir()
    write_settings_overrides(settings)
    port = _free_port()
    argv = lab_command(root, settings, port=port, token="") + [
        "--no-browser",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.terminals_enabled=False",
    ]
    if "--allow-root" not in argv:
        argv.append("--allow-root")
    # a short runtime dir: the kernels' IPC sockets live there, and a Unix socket path may not exceed 107 bytes
    # (pytest-xdist's temp dirs, .../popen-gw1/jupyterlab0/runtime/kernel-<uuid>-ipc-1, are longer)
    runtime = Path(tempfile.mkdtemp(prefix="wb-lab-"))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(user_settings), JUPYTERLAB_WORKSPACES_DIR=str(workspaces),
               JUPYTER_RUNTIME_DIR=str(runtime), PYTHONUNBUFFERED="1")
    log = base / "server.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(argv, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = LabServer(url=f"http://127.0.0.1:{port}", root=root, log=log, process=process)
    try:
        _wait_for_server(server)
        yield server
    finally:
        try:
            server.wait_for_kernel_shutdown()
        finally:
            process.terminate()
            try:
                process.wait(timeout=scaled(20))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=scaled(10))
            shutil.rmtree(runtime, ignore_errors=True)


def _wait_for_server(server: LabServer) -> None:
    limit = scaled(SERVER_START_TIMEOUT_S)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/status", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {limit:.0f} s:\n{server.log_tail()}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (make test does it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class GuardedPage:
    """A Playwright page plus the external requests it attempted (all of them were blocked)."""

    page: Any
    external: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    allow_external: bool = False
    allow_page_errors: bool = False


@pytest.fixture
def guarded_page(browser: Any, lab_server: LabServer) -> Iterator[GuardedPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
    guarded = GuardedPage(page=None)

    def block_http(route: Any) -> None:
        guarded.external.append(f"{route.request.method} {route.request.url}")
        route.abort("blockedbyclient")

    def block_ws(ws_route: Any) -> None:
        guarded.external.append(f"WEBSOCKET {ws_route.url}")
        ws_route.close()

    def record(request: Any) -> None:  # second line of defence: anything the route did not see
        if not is_local_url(request.url):
            entry = f"{request.method} {request.url}"
            if entry not in guarded.external:
                guarded.external.append(entry)

    context.route(lambda url: not is_local_url(url), block_http)
    context.route_web_socket(lambda url: not is_local_url(url), block_ws)
    context.on("request", record)
    page = context.new_page()
    page.on("console", lambda msg: guarded.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: guarded.page_errors.append(f"{exc.name}: {exc.message}\n{exc.stack or ''}"))
    guarded.page = page
    try:
        yield guarded
    finally:
        context.close()
        lab_server.shutdown_kernels_in_background()  # idle kernels use no CPU; the next test starts meanwhile
    check_guarded_page(guarded)

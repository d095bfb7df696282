"""Offline-safe JupyterLab: the settings ``make lab`` and the browser tests share.

JupyterLab is started on the loopback interface with a read-only extension manager, no update checks, no news
feed and no notebook windowing (cells stay in the DOM, which the browser tests rely on). Settings overrides are
written into a private ``app_settings_dir`` so the user's own JupyterLab installation is left untouched.

    python -m widgets.lab [NOTEBOOKS] [--workdir DIR] [--fresh] [--port N]

``make lab`` never writes into the tracked notebooks: it copies ``NOTEBOOKS`` (default ``notebooks/``) into a work
folder (default ``runs/lab/``, git-ignored) and roots JupyterLab there, so saved outputs and the ``runs/`` folders
the notebooks write (their ``output_dir`` is relative) stay in the copy. An existing copy is kept, with the user's
edits, and only notebooks missing from it are copied; ``--fresh`` replaces it with clean copies.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["OFFLINE_SETTINGS_OVERRIDES", "DEFAULT_WORKDIR", "write_settings_overrides", "lab_command",
           "prepare_workdir", "main"]

#: Where ``make lab`` puts its working copy of the notebooks (relative to the current directory; git-ignored).
DEFAULT_WORKDIR = Path("runs") / "lab"

#: JupyterLab settings overrides (``overrides.json``) that keep a session offline and test-friendly.
OFFLINE_SETTINGS_OVERRIDES: dict[str, dict] = {
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension:plugin": {"enabled": False},
}


def write_settings_overrides(settings_dir: str | Path) -> Path:
    """Write ``overrides.json`` (merged over any existing one of the installed JupyterLab) into ``settings_dir``."""
    settings_dir = Path(settings_dir)
    settings_dir.mkdir(parents=True, exist_ok=True)
    merged: dict[str, dict] = {}
    installed = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    if installed.is_file():
        merged.update(json.loads(installed.read_text()))
    for plugin, values in OFFLINE_SETTINGS_OVERRIDES.items():
        merged.setdefault(plugin, {}).update(values)
    path = settings_dir / "overrides.json"
    path.write_text(json.dumps(merged, indent=2))
    return path


def lab_command(root_dir: str | Path, settings_dir: str | Path, *, port: int | None = None,
                token: str = "", open_browser: bool = False) -> list[str]:
    """The ``jupyter lab`` argv for an offline session rooted at ``root_dir``.

    ``settings_dir`` must hold the overrides (see :func:`write_settings_overrides`). ``token=""`` disables
    authentication, which is only acceptable because the server listens on 127.0.0.1.
    """
    argv = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={Path(root_dir).resolve()}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=False",
        f"--LabApp.app_settings_dir={Path(settings_dir).resolve()}",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=",
        # kernels talk over Unix sockets: no TCP ports to race for (a random free port can be taken between
        # being chosen and being bound, which failed a kernel start in CI) and no unencrypted loopback TCP
        "--KernelManager.transport=ipc",
    ]
    argv.append("--ServerApp.open_browser=" + ("True" if open_browser else "False"))
    if port is not None:
        argv += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv


def prepare_workdir(notebooks: str | Path, workdir: str | Path, *, fresh: bool = False) -> Path:
    """Copy the ``.ipynb`` files under ``notebooks`` into ``workdir/<notebooks' name>``; returns that folder.

    Notebooks already in the copy are left as they are (the user's edits and outputs live there) unless
    ``fresh``, which replaces the copy. ``workdir`` must not lie inside ``notebooks`` (the copy would copy itself).
    """
    source = Path(notebooks).resolve()
    if not source.is_dir():
        raise FileNotFoundError(f"notebooks must be a folder of notebooks, got {notebooks}")
    work = Path(workdir).resolve()
    if work == source or source in work.parents:
        raise ValueError(f"workdir must lie outside {source} (its outputs must not land in the tracked notebooks), "
                         f"got {work}")
    target = work / source.name
    if fresh and target.exists():
        shutil.rmtree(target)
    for nb in sorted(source.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb.parts:
            continue
        copy = target / nb.relative_to(source)
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(nb, copy)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m widgets.lab", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="?", default="notebooks", help="folder to copy (default: notebooks)")
    parser.add_argument("--workdir", default=str(DEFAULT_WORKDIR),
                        help=f"where the working copy goes (default: {DEFAULT_WORKDIR})")
    parser.add_argument("--fresh", action="store_true", help="replace an existing working copy with clean copies")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--token", default="", help="access token (default: none; loopback only)")
    args = parser.parse_args(argv)
    try:
        root = prepare_workdir(args.notebooks, args.workdir, fresh=args.fresh)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"JupyterLab on a working copy of {args.notebooks}: {root} (the tracked notebooks are not touched)",
          flush=True)
    settings = Path(tempfile.mkdtemp(prefix="workbench-lab-settings-"))
    write_settings_overrides(settings)
    return subprocess.call(lab_command(root, settings, port=args.port, token=args.token))


if __name__ == "__main__":
    raise SystemExit(main())

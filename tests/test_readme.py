"""The README's "first hour" Python block runs as written (a newcomer copies it first)."""

from __future__ import annotations

import re

import pandas as pd

from tests.conftest import REPO_ROOT


def _first_hour_block() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Your first hour in Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the first-hour section must hold exactly one python block"
    return blocks[0]


def test_first_hour_block_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # its run folder (runs/first-hour) lands here
    namespace: dict = {}
    exec(compile(_first_hour_block(), "README.md:first-hour", "exec"), namespace)
    assert namespace["energy"].shape == (1,)
    table = namespace["result"].comparison
    assert isinstance(table, pd.DataFrame) and list(table["model"]) == ["mace", "schnet"]
    assert (tmp_path / "runs" / "first-hour" / "comparison.csv").is_file()
    assert namespace["tp"].irreps_out == namespace["gate"].irreps_in

from __future__ import annotations

import pytest
import torch

from workbench.kernels import interpreter_enabled, resolve_backend, triton_available

pytestmark = pytest.mark.kernels


def test_interpreter_switch(monkeypatch):
    assert interpreter_enabled() and triton_available("cpu")
    assert resolve_backend("triton", torch.zeros(1)) == "triton"
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    assert not interpreter_enabled() and not triton_available(torch.device("cpu"))


def test_auto_never_picks_the_interpreter():
    assert resolve_backend("auto", "cpu") == "torch"
    assert resolve_backend("torch", "cpu") == "torch"


def test_triton_on_cpu_without_interpreter_raises(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET")
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
        resolve_backend("triton", "cpu")


def test_bad_backend_and_device():
    with pytest.raises(ValueError, match="backend must be one of"):
        resolve_backend("cuda", "cpu")
    with pytest.raises(TypeError, match="device"):
        triton_available(3)

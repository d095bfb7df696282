"""workbench.checks.check_tensor: one wording for shape, dtype and finiteness errors."""

import numpy as np
import pytest
import torch

from workbench.checks import check_array, check_tensor, shape_text


def test_accepts_and_returns_the_same_tensor():
    x = torch.zeros(4, 3)
    assert check_tensor(x, "pos", shape=("N", 3), dtype="float", finite=True) is x
    assert check_tensor(torch.zeros(2, 5, 4), "p", shape=(..., 4)) is not None
    assert check_tensor(torch.zeros(7, dtype=torch.long), "z", shape=(None,), dtype="int") is not None


@pytest.mark.parametrize(
    ("x", "shape", "message"),
    [
        (torch.zeros(4, 2), ("N", 3), r"pos must have shape \[N, 3\], got \(4, 2\)"),
        (torch.zeros(4), ("N", 3), r"pos must have shape \[N, 3\], got \(4,\)"),
        (torch.zeros(3, 4), ("N", "N"), r"pos must have shape \[N, N\], got \(3, 4\)"),
        (torch.zeros(3), (..., 3, 4), r"pos must have shape \[\.\.\., 3, 4\], got \(3,\)"),
    ],
)
def test_shape_errors(x, shape, message):
    with pytest.raises(ValueError, match=message):
        check_tensor(x, "pos", shape=shape)


def test_hint_is_in_the_message():
    with pytest.raises(ValueError, match=r"x must have shape \[N, 4\] \(1x0e\+1x1o\), got \(2, 3\)"):
        check_tensor(torch.zeros(2, 3), "x", shape=("N", 4), hint="1x0e+1x1o")


def test_dtype_errors():
    with pytest.raises(TypeError, match="pos must be a floating-point tensor, got torch.int64"):
        check_tensor(torch.zeros(2, 3, dtype=torch.long), "pos", dtype="float")
    with pytest.raises(TypeError, match="z must be an integer tensor, got torch.float32"):
        check_tensor(torch.zeros(2), "z", dtype="int")
    with pytest.raises(TypeError, match="m must have dtype torch.float64, got torch.float32"):
        check_tensor(torch.zeros(2), "m", dtype=torch.float64)
    with pytest.raises(TypeError, match="pos must be a torch.Tensor, got list"):
        check_tensor([1.0], "pos")
    with pytest.raises(ValueError, match="dtype must be one of"):
        check_tensor(torch.zeros(2), "pos", dtype="floaty")


def test_finite_names_the_rows():
    x = torch.zeros(5, 3)
    x[1, 2] = float("nan")
    x[3, 0] = float("inf")
    with pytest.raises(ValueError, match=r"pos must be finite: NaN or inf at index\(es\) \[1, 3\]"):
        check_tensor(x, "pos", finite=True)
    check_tensor(x, "pos")  # finiteness is only checked when asked


def test_bad_shape_spec():
    with pytest.raises(ValueError, match="at most one"):
        check_tensor(torch.zeros(2), "x", shape=(..., ...))
    with pytest.raises(TypeError, match="shape entries"):
        check_tensor(torch.zeros(2), "x", shape=(2.0,))
    assert shape_text(("B", None, 4)) == "[B, *, 4]"


def test_dtype_set():
    z = torch.zeros(3, dtype=torch.int32)
    assert check_tensor(z, "batch", dtype=(torch.int64, torch.int32)) is z
    with pytest.raises(TypeError, match=r"batch must have dtype torch.int64 or torch.int32, got torch.uint8"):
        check_tensor(z.to(torch.uint8), "batch", dtype=(torch.int64, torch.int32))


def test_numpy_arrays_same_wording():
    a = np.zeros((4, 3))
    assert check_array(a, "positions", shape=("N", 3), dtype="float", finite=True) is a
    with pytest.raises(ValueError, match=r"positions must have shape \[N, 3\], got \(4, 2\)"):
        check_array(np.zeros((4, 2)), "positions", shape=("N", 3))
    with pytest.raises(ValueError, match=r"cg must have shape \[3, 3, 5, \*\] \(d1, d2, d3, mult\), got \(3, 3\)"):
        check_array(np.zeros((3, 3)), "cg", shape=(3, 3, 5, None), hint="d1, d2, d3, mult")
    with pytest.raises(TypeError, match="z must be an integer array, got float64"):
        check_array(np.zeros(2), "z", dtype="int")
    with pytest.raises(TypeError, match="z must have dtype int64 or int32, got int8"):
        check_array(np.zeros(2, dtype=np.int8), "z", dtype=(np.int64, np.int32))
    with pytest.raises(TypeError, match="positions must be a numpy.ndarray, got list"):
        check_array([1.0], "positions")
    with pytest.raises(ValueError, match="dtype must be one of"):
        check_array(a, "positions", dtype="floaty")
    b = np.zeros((5, 3))
    b[1, 2] = np.nan
    b[4, 0] = -np.inf
    with pytest.raises(ValueError, match=r"positions must be finite: NaN or inf at index\(es\) \[1, 4\]"):
        check_array(b, "positions", finite=True)
    check_array(b, "positions")  # finiteness is only checked when asked
    with pytest.raises(ValueError, match=r"s must be finite: NaN or inf at index\(es\) \[0\]"):
        check_array(np.array(np.nan), "s", finite=True)

"""Continuous image resampling that supports forward-mode autodiff (``torch.func.jvp``).

``torch.nn.functional.grid_sample`` has no forward-mode derivative, so the Lie derivative of an image model
cannot be taken through it. :func:`resample` does the same interpolation with gathers and arithmetic on the
fractional sample positions, so derivatives flow to the sample coordinates in both AD modes.

Conventions: images are ``(..., H, W)``; sample positions are continuous *pixel indices* ``(row, col)``
(pixel centres at integers, like ``grid_sample(..., align_corners=True)`` in index units); positions outside
the image read zeros (zero padding).

Interpolation kernels:

- ``"bicubic"``: Keys cubic convolution with ``a = -0.75`` (the kernel ``grid_sample`` uses). It is C1, so the
  derivative with respect to the sample position is continuous, also at pixel centres (where the Lie derivative
  at ``t = 0`` is evaluated). This is the default.
- ``"bilinear"``: triangle kernel; its derivative jumps at pixel centres, so a Lie derivative at ``t = 0``
  through bilinear resampling is the one-sided (forward) derivative.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor

__all__ = ["resample", "INTERPOLATIONS"]

INTERPOLATIONS = ("bicubic", "bilinear")
_CUBIC_A = -0.75


def _cubic_weight(s: torch.Tensor) -> torch.Tensor:
    """Keys cubic convolution kernel evaluated at signed distance ``s`` (support ``|s| < 2``)."""
    a = _CUBIC_A
    d = s.abs()
    inner = ((a + 2) * d - (a + 3)) * d * d + 1
    outer = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return torch.where(d <= 1, inner, torch.where(d < 2, outer, torch.zeros_like(d)))


def _linear_weight(s: torch.Tensor) -> torch.Tensor:
    return (1 - s.abs()).clamp(min=0)


def resample(images: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, mode: str = "bicubic") -> torch.Tensor:
    """Sample ``images`` at continuous pixel positions.

    Args:
        images: ``(..., H, W)`` real tensor.
        rows, cols: ``(H_out, W_out)`` continuous row / column indices (same shape), same dtype as ``images``.
        mode: ``"bicubic"`` (default) or ``"bilinear"``.

    Returns:
        ``(..., H_out, W_out)``: the interpolated values, zeros outside the image.
    """
    check_tensor(images, "images", shape=(..., "H", "W"))
    if mode not in INTERPOLATIONS:
        raise ValueError(f"mode must be one of {INTERPOLATIONS}, got {mode!r}")
    check_tensor(rows, "rows", shape=("H_out", "W_out"))
    check_tensor(cols, "cols", shape=tuple(rows.shape), hint="the shape of rows")
    height, width = images.shape[-2:]
    flat = images.reshape(*images.shape[:-2], height * width)
    base_r = torch.floor(rows.detach())
    base_c = torch.floor(cols.detach())
    frac_r = rows - base_r  # carries the derivative with respect to the positions
    frac_c = cols - base_c
    if mode == "bicubic":
        offsets, weight = (-1, 0, 1, 2), _cubic_weight
    else:
        offsets, weight = (0, 1), _linear_weight
    out = images.new_zeros(*images.shape[:-2], *rows.shape)
    for dr in offsets:
        w_r = weight(frac_r - dr)
        idx_r = base_r.long() + dr
        valid_r = (idx_r >= 0) & (idx_r < height)
        for dc in offsets:
            w_c = weight(frac_c - dc)
            idx_c = base_c.long() + dc
            valid = valid_r & (idx_c >= 0) & (idx_c < width)
            index = (idx_r.clamp(0, height - 1) * width + idx_c.clamp(0, width - 1)).reshape(-1)
            values = flat[..., index].reshape(*images.shape[:-2], *rows.shape)
            out = out + values * (w_r * w_c * valid.to(images.dtype))
    return out

"""Synthetic grey-scale images as signals on one 2D grid graph, for the spectral-filter experiment of Lim et al.
(arXiv 2202.13013, Section "spectral graph convolutions", after Balcilar et al. 2021), which filters real images on
their pixel grid. No downloads: the images are drawn from a ``torch.Generator``.

:func:`synthetic_images` draws ``[count, size, size]`` float64 images in ``[0, 1]``: a ``1/f^beta`` noise texture
(``beta`` uniform in ``[1.5, 3]``, the spectrum of natural images) plus 2-5 flat shapes (discs and rectangles of
random intensity: the sharp edges where high-pass filters respond), rescaled to ``[0, 1]``. Pixel ``(r, c)`` is
node ``r * size + c`` of :func:`~workbench.spectral.grid_graph` ``(size, size)``.

Examples:
    >>> import torch
    >>> from workbench.spectral import synthetic_images
    >>> img = synthetic_images(3, 8, torch.Generator().manual_seed(0))
    >>> img.shape, img.dtype, float(img.min()), float(img.max())
    (torch.Size([3, 8, 8]), torch.float64, 0.0, 1.0)
"""

from __future__ import annotations

import math

import torch

__all__ = ["synthetic_images"]


def synthetic_images(count: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` images ``[count, size, size]`` float64 in ``[0, 1]`` (module docstring); ``count >= 1``,
    ``size >= 2``."""
    for name, value, low in (("count", count, 1), ("size", size, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    f = torch.fft.fftfreq(size, dtype=torch.float64)
    radius = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2).clamp(min=1.0 / size)
    r, c = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                          indexing="ij")
    out = torch.empty(count, size, size, dtype=torch.float64)
    for i in range(count):
        beta = 1.5 + 1.5 * float(torch.rand((), generator=generator, dtype=torch.float64))
        phase = 2 * math.pi * torch.rand(size, size, generator=generator, dtype=torch.float64)
        amp = torch.randn(size, size, generator=generator, dtype=torch.float64).abs() / radius ** (beta / 2)
        img = torch.fft.ifft2(amp * torch.exp(1j * phase)).real
        img = (img - img.mean()) / img.std().clamp(min=1e-12)
        for _ in range(int(torch.randint(2, 6, (), generator=generator))):
            cy, cx, h, w = (size * torch.rand(4, generator=generator, dtype=torch.float64)).tolist()
            level = 2.0 * float(torch.randn((), generator=generator, dtype=torch.float64))
            if bool(torch.rand((), generator=generator) < 0.5):
                inside = (r - cy) ** 2 + (c - cx) ** 2 < (0.1 * size + 0.3 * h) ** 2
            else:
                inside = ((r - cy).abs() < 0.05 * size + 0.25 * h) & ((c - cx).abs() < 0.05 * size + 0.25 * w)
            img = torch.where(inside, level, img)
        out[i] = (img - img.min()) / (img.max() - img.min()).clamp(min=1e-12)
    return out

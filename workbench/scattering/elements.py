"""Element scattering tables: X-ray atomic form factors and neutron coherent scattering lengths.

The numbers live in ``elements.csv`` beside this module (neutral atoms H..Cf, Z = 1..98):

* X-ray: the non-dispersive form factor ``f0(s) = c + sum_i a_i exp(-b_i s^2)`` with ``s = sin(theta)/lambda =
  Q / (4 pi)`` in 1/Å, 5 Gaussians + a constant from D. Waasmaier & A. Kirfel, Acta Cryst. A51, 416-431 (1995);
  ``f0`` is in electrons.
* Neutron: the bound coherent scattering length ``b_coh`` in fm (natural isotopic abundance) from V. F. Sears,
  Neutron News 3(3), 26-37 (1992); missing for the elements Sears gives no natural value for.

Species may be given as symbols (``"Cu"``) or atomic numbers; an unknown one raises ``ValueError`` listing the
supported elements.

Examples:
    >>> import torch
    >>> from workbench.scattering.elements import atomic_numbers, xray_form_factors
    >>> atomic_numbers(["Cu", "Al", 8]).tolist()
    [29, 13, 8]
    >>> round(float(xray_form_factors(torch.tensor([29]), torch.tensor([0.0], dtype=torch.float64))[0, 0]), 3)
    28.992
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from workbench.checks import check_tensor

__all__ = [
    "atomic_numbers",
    "element_symbols",
    "neutron_scattering_lengths",
    "scattering_factors",
    "supported_elements",
    "xray_form_factors",
]

_TABLE = Path(__file__).with_name("elements.csv")
RADIATIONS = ("xray", "neutron")


@functools.lru_cache(maxsize=1)
def _table() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(symbols [98], coefficients [99, 11] float64 (row Z: a1..a5, c, b1..b5), b_coh [99] float64, NaN = missing)."""
    symbols: list[str] = []
    coefficients = np.full((99, 11), np.nan)
    lengths = np.full(99, np.nan)
    with open(_TABLE, newline="") as handle:
        rows = [line for line in handle if not line.startswith("#")]
    for row in csv.DictReader(rows):
        z = int(row["Z"])
        symbols.append(row["symbol"])
        coefficients[z] = [float(row[k]) for k in ("a1", "a2", "a3", "a4", "a5", "c", "b1", "b2", "b3", "b4", "b5")]
        if row["b_coh_fm"]:
            lengths[z] = float(row["b_coh_fm"])
    return symbols, coefficients, lengths


def supported_elements(radiation: str = "xray") -> list[str]:
    """The element symbols with tabulated data for ``radiation`` (``"xray"`` or ``"neutron"``), in order of Z."""
    _check_radiation(radiation)
    symbols, _, lengths = _table()
    if radiation == "xray":
        return list(symbols)
    return [s for z, s in enumerate(symbols, start=1) if np.isfinite(lengths[z])]


def _check_radiation(radiation: str) -> None:
    if radiation not in RADIATIONS:
        raise ValueError(f"radiation must be one of {list(RADIATIONS)}, got {radiation!r}")


def _unknown(what: object, radiation: str = "xray") -> ValueError:
    supported = ", ".join(supported_elements(radiation))
    return ValueError(f"unknown element {what!r} for {radiation}; supported: {supported}")


def atomic_numbers(species: Sequence[str | int] | torch.Tensor | np.ndarray) -> torch.Tensor:
    """``[N]`` int64 atomic numbers from symbols, integers or an integer tensor/array; ValueError for unknown ones."""
    symbols, _, _ = _table()
    if isinstance(species, (torch.Tensor, np.ndarray)):
        values = torch.as_tensor(species)
        check_tensor(values, "species", shape=("N",), dtype="int")
        out = values.to(torch.int64).cpu()
        bad = out[(out < 1) | (out > len(symbols))]
        if bad.numel():
            raise _unknown(int(bad[0]))
        return out
    if isinstance(species, str) or not isinstance(species, Sequence):
        raise TypeError("species must be a sequence of element symbols or atomic numbers, got "
                        f"{type(species).__name__}")
    index = {s: z for z, s in enumerate(symbols, start=1)}
    out = []
    for item in species:
        if isinstance(item, str) and item in index:
            out.append(index[item])
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 1 <= int(item) <= len(symbols):
            out.append(int(item))
        else:
            raise _unknown(item)
    return torch.tensor(out, dtype=torch.int64)


def element_symbols(z: torch.Tensor | Sequence[int]) -> list[str]:
    """The symbols of atomic numbers ``z``."""
    symbols, _, _ = _table()
    return [symbols[int(v) - 1] for v in atomic_numbers(torch.as_tensor(z, dtype=torch.int64).reshape(-1))]


def xray_form_factors(z: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Waasmaier–Kirfel form factors ``f0(Q)`` in electrons: ``[T, nq]`` for atomic numbers ``z [T]`` and ``q [nq]``
    (1/Å, ``Q = 4 pi sin(theta) / lambda``), in the dtype and device of ``q``."""
    z = atomic_numbers(z)
    check_tensor(q, "q", shape=("nq",), dtype="float", finite=True)
    coefficients = torch.as_tensor(_table()[1][z.numpy()], dtype=q.dtype, device=q.device)
    a, c, b = coefficients[:, :5], coefficients[:, 5:6], coefficients[:, 6:]
    s2 = (q / (4 * torch.pi)) ** 2
    return c + (a[:, :, None] * torch.exp(-b[:, :, None] * s2)).sum(1)


def neutron_scattering_lengths(z: torch.Tensor, dtype: torch.dtype = torch.float64,
                               device: torch.device | str | None = None) -> torch.Tensor:
    """Sears coherent scattering lengths ``b_coh`` in fm, ``[T]`` for atomic numbers ``z [T]``."""
    z = atomic_numbers(z)
    lengths = _table()[2][z.numpy()]
    missing = ~np.isfinite(lengths)
    if missing.any():
        raise _unknown(element_symbols(z[torch.as_tensor(missing)][:1])[0], "neutron")
    return torch.as_tensor(lengths, dtype=dtype, device=device)


def scattering_factors(z: torch.Tensor, q: torch.Tensor, radiation: str = "xray") -> torch.Tensor:
    """``[T, nq]`` scattering factors of species ``z [T]`` on ``q [nq]``: X-ray ``f0(Q)`` (electrons) or neutron
    ``b_coh`` (fm, constant in Q)."""
    _check_radiation(radiation)
    if radiation == "xray":
        return xray_form_factors(z, q)
    check_tensor(q, "q", shape=("nq",), dtype="float", finite=True)
    b = neutron_scattering_lengths(z, dtype=q.dtype, device=q.device)
    return b[:, None].expand(-1, q.shape[0])

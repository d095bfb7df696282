"""Powder diffraction of periodic crystals: reflections, structure factors, multiplicities, Lorentz-polarization,
peak profiles.

For a cell with lattice vectors as rows of ``cell [3, 3]`` (Å) and fractional coordinates ``frac [N, 3]``, every
reciprocal lattice vector ``g = h b1 + k b2 + l b3`` (``a_i . b_j = delta_ij``) with ``0 < |g| <= 2 sin(theta_max) /
lambda`` is a reflection with ``d = 1/|g|``, ``s = sin(theta)/lambda = |g|/2`` and Bragg angle ``theta = asin(lambda
s)``.  Its structure factor is ``F = sum_j f_j(s) exp(2 pi i h.x_j) exp(-B_j s^2)`` and its intensity
``|F|^2 LP(theta)`` with ``LP = (1 + cos^2 2theta) / (sin^2 theta cos theta)`` for unpolarised X-rays and ``1 /
(sin^2 theta cos theta)`` for neutrons.  Reflections whose 2theta agree within ``merge_tol`` degrees (symmetry
equivalents and accidental coincidences) form one peak: intensities add, the multiplicity counts them.  These are
the conventions of pymatgen's ``XRDCalculator``, which uses its own 4-Gaussian form factors (pass them as
``form_factor`` to reproduce its intensities; the default is Waasmaier–Kirfel).

Examples:
    >>> import torch
    >>> from workbench.scattering import powder_pattern
    >>> cell = torch.eye(3, dtype=torch.float64) * 3.615  # fcc Cu, conventional cell
    >>> frac = torch.tensor([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]], dtype=torch.float64)
    >>> peaks = powder_pattern(["Cu"] * 4, frac, cell, two_theta_range=(0.0, 80.0))
    >>> [round(float(t), 2) for t in peaks.two_theta], peaks.multiplicity.tolist()
    ([43.35, 50.49, 74.2], [8, 6, 12])
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from workbench.checks import check_tensor
from workbench.scattering.elements import RADIATIONS, atomic_numbers, element_symbols, scattering_factors

__all__ = ["CU_KALPHA", "PowderPeaks", "powder_pattern", "powder_profile"]

#: Cu K-alpha wavelength (Å): the weighted mean of K-alpha1 and K-alpha2 (2:1), pymatgen's "CuKa".
CU_KALPHA = 1.54184


@dataclass(frozen=True)
class PowderPeaks:
    """Peaks of :func:`powder_pattern`, in increasing 2theta.

    Attributes:
        two_theta: ``[K]`` peak positions 2theta in degrees.
        d_spacing: ``[K]`` d in Å.
        intensity: ``[K]`` summed ``|F|^2 LP`` of the peak's reflections (scaled to a maximum of 100 if asked).
        multiplicity: ``[K]`` int64 number of reflections (hkl) in the peak.
        hkl: per peak, the Miller indices of its reflections.
    """

    two_theta: torch.Tensor
    d_spacing: torch.Tensor
    intensity: torch.Tensor
    multiplicity: torch.Tensor
    hkl: list[list[tuple[int, int, int]]]


def powder_pattern(species: Sequence[str | int] | torch.Tensor, frac: torch.Tensor, cell: torch.Tensor | None, *,
                   wavelength: float = CU_KALPHA, two_theta_range: tuple[float, float] = (0.0, 90.0),
                   radiation: str = "xray", biso: float | Mapping[str, float] = 0.0,
                   form_factor: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                   merge_tol: float = 1e-5, scaled: bool = True) -> PowderPeaks:
    """Powder diffraction peaks of a periodic crystal (conventions: module doc).

    Args:
        species: ``N`` element symbols or atomic numbers.
        frac: ``[N, 3]`` fractional coordinates.
        cell: ``[3, 3]`` lattice vectors as rows (Å), same dtype as ``frac``; ``None`` (a non-periodic structure)
            raises ``ValueError``.
        wavelength: lambda in Å (default Cu K-alpha; e.g. 1.54 for neutrons).
        two_theta_range: (min, max) 2theta in degrees, ``0 <= min < max <= 180``.
        radiation: ``"xray"`` or ``"neutron"``.
        biso: isotropic B (Å^2), one value or symbol -> B.
        form_factor: optional ``f(z [T], s [K]) -> [T, K]`` replacing the tabulated scattering factors
            (``s = sin(theta)/lambda`` in 1/Å).
        merge_tol: reflections closer than this in 2theta (degrees) form one peak.
        scaled: scale intensities to a maximum of 100.
    """
    if cell is None:
        raise ValueError("powder diffraction needs a periodic structure: cell must be a [3, 3] tensor of lattice "
                         "vectors, got None (for a finite cluster use debye_scattering)")
    check_tensor(frac, "frac", shape=("N", 3), dtype="float", finite=True, hint="fractional coordinates")
    check_tensor(cell, "cell", shape=(3, 3), dtype=frac.dtype, finite=True, hint="lattice vectors as rows, Å")
    z = atomic_numbers(species)
    if z.numel() == 0 or frac.shape[0] == 0:
        raise ValueError("the structure is empty: species and frac must describe at least one atom")
    if z.shape[0] != frac.shape[0]:
        raise ValueError(f"species has {z.shape[0]} entries but frac has {frac.shape[0]} atoms")
    volume = float(torch.linalg.det(cell.detach()))
    if abs(volume) < 1e-6:
        raise ValueError(f"cell must have a non-zero volume (a periodic crystal), got {volume:.3g} Å^3")
    if radiation not in RADIATIONS:
        raise ValueError(f"radiation must be one of {list(RADIATIONS)}, got {radiation!r}")
    lo, hi = two_theta_range
    if not 0 <= lo < hi <= 180:
        raise ValueError(f"two_theta_range must satisfy 0 <= min < max <= 180 degrees, got {two_theta_range}")
    if not wavelength > 0:
        raise ValueError(f"wavelength must be > 0 Å, got {wavelength}")

    recip = torch.linalg.inv(cell).T  # rows b_i, a_i . b_j = delta_ij
    g_max = 2 * math.sin(math.radians(hi / 2)) / wavelength
    lengths = torch.linalg.norm(cell.detach(), dim=1)
    bounds = [int(math.ceil(g_max * float(a))) for a in lengths]
    hkl = torch.tensor(list(itertools.product(*[range(-b, b + 1) for b in bounds])), dtype=frac.dtype,
                       device=frac.device)
    g_len = torch.linalg.norm(hkl @ recip, dim=1)
    s = g_len / 2
    keep = (g_len > 1e-10) & (g_len <= g_max * (1 + 1e-12))
    hkl, g_len, s = hkl[keep], g_len[keep], s[keep]
    two_theta = torch.rad2deg(2 * torch.asin((wavelength * s).clamp(max=1.0)))
    window = two_theta >= lo
    hkl, g_len, s, two_theta = hkl[window], g_len[window], s[window], two_theta[window]

    unique, types = torch.unique(z, return_inverse=True)
    if form_factor is None:
        f = scattering_factors(unique, 4 * math.pi * s, radiation)  # [T, K]
    else:
        f = form_factor(unique, s)
        check_tensor(f, "form_factor(z, s)", shape=(unique.shape[0], s.shape[0]), dtype="float", finite=True)
    symbols = element_symbols(unique)
    if isinstance(biso, Mapping):
        b_species = torch.tensor([float(biso[sym]) for sym in symbols], dtype=frac.dtype, device=frac.device)
    else:
        b_species = torch.full((unique.shape[0],), float(biso), dtype=frac.dtype, device=frac.device)
    f = f * torch.exp(-b_species[:, None] * s[None, :] ** 2)
    phase = 2 * math.pi * hkl @ frac.T  # [K, N]
    f_atoms = f[types.to(frac.device)].T  # [K, N]
    real = (f_atoms * torch.cos(phase)).sum(1)
    imag = (f_atoms * torch.sin(phase)).sum(1)
    theta = torch.deg2rad(two_theta / 2)
    lorentz = 1 / (torch.sin(theta) ** 2 * torch.cos(theta))
    if radiation == "xray":
        lorentz = lorentz * (1 + torch.cos(2 * theta) ** 2)
    intensity = (real**2 + imag**2) * lorentz

    order = torch.argsort(two_theta.detach())
    two_theta, intensity, g_len, hkl = two_theta[order], intensity[order], g_len[order], hkl[order]
    groups: list[list[int]] = []
    for i, t in enumerate(two_theta.detach().tolist()):
        if groups and t - two_theta[groups[-1][0]].item() <= merge_tol:
            groups[-1].append(i)
        else:
            groups.append([i])
    peak_intensity = torch.stack([intensity[g].sum() for g in groups]) if groups else intensity[:0]
    peak_two_theta = torch.stack([two_theta[g].mean() for g in groups]) if groups else two_theta[:0]
    peak_d = torch.stack([1 / g_len[g].mean() for g in groups]) if groups else g_len[:0]
    multiplicity = torch.tensor([len(g) for g in groups], dtype=torch.int64)
    indices = [[tuple(int(v) for v in hkl[i].tolist()) for i in g] for g in groups]
    # extinct reflections (|F|^2 at round-off level) are no peaks
    if groups:
        present = peak_intensity.detach() > 1e-10 * float(peak_intensity.detach().max())
        keep_list = present.tolist()
        peak_intensity, peak_two_theta, peak_d = peak_intensity[present], peak_two_theta[present], peak_d[present]
        multiplicity = multiplicity[present.cpu()]
        indices = [h for h, k in zip(indices, keep_list) if k]
    if scaled and peak_intensity.numel():
        peak_intensity = peak_intensity * (100 / peak_intensity.max())
    return PowderPeaks(peak_two_theta, peak_d, peak_intensity, multiplicity, indices)


def powder_profile(peaks: PowderPeaks, two_theta: torch.Tensor, *, fwhm: float = 0.1, eta: float = 0.5
                   ) -> torch.Tensor:
    """``[M]`` pattern on ``two_theta [M]`` (degrees): each peak an area-normalised pseudo-Voigt of full width at half
    maximum ``fwhm`` (degrees), ``eta`` Lorentzian + ``1 - eta`` Gaussian (``eta = 0``: Gaussian), times its
    intensity."""
    check_tensor(two_theta, "two_theta", shape=("M",), dtype="float", finite=True)
    if not fwhm > 0:
        raise ValueError(f"fwhm must be > 0 degrees, got {fwhm}")
    if not 0 <= eta <= 1:
        raise ValueError(f"eta must be in [0, 1], got {eta}")
    x = two_theta[:, None] - peaks.two_theta.to(two_theta)[None, :]
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    gauss = torch.exp(-0.5 * (x / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    gamma = fwhm / 2
    lorentz = gamma / (math.pi * (x**2 + gamma**2))
    return ((eta * lorentz + (1 - eta) * gauss) * peaks.intensity.to(two_theta)[None, :]).sum(1)

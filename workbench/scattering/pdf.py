"""Pair distribution functions: the reduced PDF G(r), the RDF R(r) and partial G_ab(r), directly from a structure
or by the sine Fourier transform of F(Q).

Conventions (``N`` atoms, species fractions ``c_a``, pair weights ``w_ij = f_i f_j / <f>^2`` with ``f`` the neutron
``b_coh``, the X-ray ``f0(Q=0)`` (number of electrons) or 1 for ``radiation=None``; ``rho0`` the number density in
atoms/Å^3, 0 for an isolated cluster):

* ``R(r) = (1/N) sum_{i != j} w_ij g(r - r_ij; sigma)`` (Gaussian ``g`` of width ``sigma``; integrates to the
  weighted coordination number);
* ``G(r) = (1/N) sum_{i != j} w_ij g(r - r_ij; sigma) / r_ij - 4 pi rho0 r``: the function whose sine transform is
  the Debye F(Q) of :mod:`workbench.scattering.debye` with Debye–Waller damping ``B = (2 pi sigma)^2``, so the two
  routes agree (for ``rho0 = 0``) up to Q-range termination;
* partial ``G_ab(r) = (1/(N c_a c_b)) sum_{i in a, j in b, i != j} g / r_ij - 4 pi rho0 r``, with
  ``G = sum_ab c_a c_b f_a f_b G_ab / <f>^2``;
* from F(Q): ``G(r) = (2/pi) int_{Qmin}^{Qmax} F(Q) M(Q) sin(Q r) dQ * exp(-(qdamp r)^2 / 2)`` (trapezoid rule on
  the given grid, ``M`` = 1 or the Lorch function ``sinc(Q / Qmax)``).

Examples:
    >>> import torch
    >>> from workbench.scattering import pair_distribution
    >>> pos = torch.tensor([[0.0, 0.0, 0.0], [2.5, 0.0, 0.0]], dtype=torch.float64)
    >>> r = torch.linspace(1.0, 4.0, 301, dtype=torch.float64)
    >>> pdf = pair_distribution(["Cu", "Cu"], pos, r, sigma=0.05)
    >>> round(float(r[pdf.rdf.argmax()]), 3), round(float(torch.trapezoid(pdf.rdf, r)), 4)
    (2.5, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from workbench.checks import check_tensor
from workbench.scattering.debye import check_q, check_structure
from workbench.scattering.elements import element_symbols, scattering_factors
from workbench.scattering.pair_sums import species_pair_index

__all__ = ["PDFResult", "pair_distribution", "pdf_from_structure_factor"]


@dataclass(frozen=True)
class PDFResult:
    """Outputs of :func:`pair_distribution` (leading ``[B]`` axis when positions were batched).

    Attributes:
        r: ``[nr]`` radii (Å).
        rdf: ``[..., nr]`` R(r) (1/Å).
        reduced_pdf: ``[..., nr]`` G(r) (1/Å^2).
        partial_pdfs: ``[..., T, T, nr]`` partial G_ab(r) of the species ``symbols``.
        symbols: the ``T`` species.
    """

    r: torch.Tensor
    rdf: torch.Tensor
    reduced_pdf: torch.Tensor
    partial_pdfs: torch.Tensor
    symbols: list[str]


def _weights(unique: torch.Tensor, radiation: str | None, like: torch.Tensor) -> torch.Tensor:
    if radiation is None:
        return torch.ones(unique.shape[0], dtype=like.dtype, device=like.device)
    zero = torch.full((1,), 1e-12, dtype=like.dtype, device=like.device)  # Q -> 0 (check_q wants Q > 0)
    return scattering_factors(unique, zero, radiation)[:, 0]


def pair_distribution(species: Sequence[str | int] | torch.Tensor, pos: torch.Tensor, r: torch.Tensor, *,
                      sigma: float = 0.05, radiation: str | None = "neutron", density: float | None = None,
                      chunk_size: int = 2**22) -> PDFResult:
    """R(r), G(r) and partial G_ab(r) of a structure from its pair distances (conventions: module doc).

    Args:
        species: ``N`` element symbols or atomic numbers.
        pos: ``[N, 3]`` or ``[B, N, 3]`` positions in Å.
        r: ``[nr]`` radii in Å, all > 0, same dtype as ``pos``.
        sigma: Gaussian broadening (Å) of every pair peak, > 0.
        radiation: pair weights: ``"neutron"`` (b_coh), ``"xray"`` (f0 at Q = 0) or ``None`` (every pair 1).
        density: number density rho0 in atoms/Å^3 subtracted as ``4 pi rho0 r`` (periodic or bulk samples);
            ``None`` for an isolated cluster.
        chunk_size: the most entries (pairs x radii) any temporary holds.
    """
    z, pos3, batched = check_structure(species, pos)
    check_q(r, "r")
    if r.dtype != pos.dtype:
        raise ValueError(f"r must have the dtype of pos ({pos.dtype}), got {r.dtype}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0 (Å), got {sigma}")
    if density is not None and not density >= 0:
        raise ValueError(f"density must be >= 0 atoms/Å^3 or None, got {density}")
    unique, types = torch.unique(z, return_inverse=True)
    types = types.to(pos.device)
    n, n_species = z.shape[0], unique.shape[0]
    table, pairs = species_pair_index(n_species)
    table = table.to(pos.device)
    counts = torch.bincount(types, minlength=n_species).to(pos.dtype)
    fractions = counts / n
    batch, nr = pos3.shape[0], r.shape[0]
    cutoff = float(r.max()) + 8 * sigma
    sums = torch.zeros(batch * len(pairs), nr, dtype=pos.dtype, device=pos.device)  # g / r_ij, pairs i < j
    rdf_sums = torch.zeros_like(sums)  # g, pairs i < j
    norm = 1.0 / (sigma * math.sqrt(2 * math.pi))
    rows_per_block = max(1, chunk_size // max(1, n * nr))
    for s in range(0, n, rows_per_block):
        e = min(n, s + rows_per_block)
        d = torch.cdist(pos3[:, s:e], pos3, compute_mode="donot_use_mm_for_euclid_dist")  # [B, R, N]
        upper = torch.arange(n, device=pos.device)[None, :] > torch.arange(s, e, device=pos.device)[:, None]
        b_idx, i_idx, j_idx = torch.nonzero(upper[None] & (d.detach() < cutoff), as_tuple=True)
        dist = d[b_idx, i_idx, j_idx]
        slot = b_idx * len(pairs) + table[types[s + i_idx], types[j_idx]]
        gauss = torch.exp(-0.5 * ((r[None, :] - dist[:, None]) / sigma) ** 2) * norm
        sums = sums.index_add(0, slot, gauss / dist[:, None])
        rdf_sums = rdf_sums.index_add(0, slot, gauss)
    sums = sums.view(batch, len(pairs), nr)
    rdf_sums = rdf_sums.view(batch, len(pairs), nr)
    f = _weights(unique, radiation, pos)
    mean_f = float((fractions * f).sum())
    if radiation is not None and abs(mean_f) < 1e-12:
        raise ValueError("the mean scattering length of this composition is zero; use radiation=None")
    background = 4 * math.pi * (density or 0.0) * r
    partial = torch.zeros(batch, n_species, n_species, nr, dtype=pos.dtype, device=pos.device)
    total = torch.zeros(batch, nr, dtype=pos.dtype, device=pos.device)
    rdf = torch.zeros(batch, nr, dtype=pos.dtype, device=pos.device)
    for p, (a, c) in enumerate(pairs):
        ordered = sums[:, p] * (2.0 if a == c else 1.0)
        value = ordered / (n * fractions[a] * fractions[c]) - background
        partial[:, a, c] = value
        partial[:, c, a] = value
        weight = f[a] * f[c] / mean_f**2 * (1.0 if a == c else 2.0)
        total = total + weight * ordered / n
        rdf = rdf + weight * rdf_sums[:, p] * (2.0 if a == c else 1.0) / n
    reduced = total - background
    if not batched:
        rdf, reduced, partial = rdf[0], reduced[0], partial[0]
    return PDFResult(r, rdf, reduced, partial, element_symbols(unique))


def pdf_from_structure_factor(q: torch.Tensor, fq: torch.Tensor, r: torch.Tensor, *, qmax: float | None = None,
                              qdamp: float = 0.0, lorch: bool = False) -> torch.Tensor:
    """``[..., nr]`` G(r) by the sine transform of ``fq [..., nq]`` = F(Q) on the increasing grid ``q [nq]``.

    Args:
        q: ``[nq]`` increasing Q grid (1/Å, > 0).
        fq: ``[..., nq]`` F(Q) = Q (S(Q) - 1).
        r: ``[nr]`` radii (Å, > 0).
        qmax: termination: only ``Q <= qmax`` enters (default: the whole grid).
        qdamp: instrument Q-resolution damping (1/Å): G is multiplied by ``exp(-(qdamp r)^2 / 2)``.
        lorch: multiply F(Q) by the Lorch function ``sinc(Q / Qmax)`` against termination ripples.
    """
    check_q(q)
    check_q(r, "r")
    check_tensor(fq, "fq", shape=(..., q.shape[0]), dtype="float", finite=True, hint="[..., nq] on the grid q")
    if q.shape[0] < 2 or bool((q[1:] <= q[:-1]).any()):
        raise ValueError("q must be strictly increasing with at least two values")
    if qdamp < 0:
        raise ValueError(f"qdamp must be >= 0 (1/Å), got {qdamp}")
    if qmax is not None:
        if not qmax > float(q[0]):
            raise ValueError(f"qmax must exceed the first Q ({float(q[0])}), got {qmax}")
        keep = q <= qmax
        q, fq = q[keep], fq[..., keep]
    top = float(q[-1])
    integrand_q = fq * (torch.sinc(q / top) if lorch else 1.0)
    weights = torch.zeros_like(q)  # trapezoid weights
    steps = q[1:] - q[:-1]
    weights[:-1] += steps / 2
    weights[1:] += steps / 2
    sine = torch.sin(q[:, None] * r[None, :])  # [nq, nr]
    g = (2 / math.pi) * (integrand_q * weights) @ sine
    if qdamp > 0:
        g = g * torch.exp(-0.5 * (qdamp * r) ** 2)
    return g

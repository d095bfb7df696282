"""The Debye scattering equation: I(Q), S(Q), F(Q) and Faber–Ziman partial structure factors of finite structures.

Conventions (per structure of ``N`` atoms, species fractions ``c_a``, scattering factors ``f_a(Q)``: X-ray
Waasmaier–Kirfel form factors in electrons, or neutron coherent lengths in fm):

* ``I(Q) = sum_i f_i^2 + 2 sum_{i<j} f_i f_j DW_ij(Q) sin(Q r_ij)/(Q r_ij)``, with the Debye–Waller (isotropic
  ADP) damping of the distinct pairs ``DW_ij = exp(-Q^2 (B_i + B_j) / (16 pi^2))`` (``= exp(-Q^2 B / (8 pi^2))``
  for one ``B``, in Å^2).  DebyeCalculator's I(Q) is half of this (it counts each pair once and halves the self
  term).
* ``S(Q) = 1 + (I(Q) - sum_i f_i^2) / (N <f>^2)`` with ``<f> = sum_a c_a f_a``; ``F(Q) = Q (S(Q) - 1)``.
* partial ``S_ab(Q) = 1 + sum_{i in a, j in b, i != j} DW sinc(Q r_ij) / (N c_a c_b)`` (Faber–Ziman), so that
  ``S(Q) - 1 = sum_ab c_a c_b f_a f_b (S_ab(Q) - 1) / <f>^2``.

Positions are ``[N, 3]`` or a batch ``[B, N, 3]`` of structures sharing ``species``; every output gains the batch
axis.  All outputs are differentiable with respect to the positions; float32 or float64, on any device.

Examples:
    >>> import torch
    >>> from workbench.scattering import debye_scattering
    >>> pos = torch.tensor([[0.0, 0.0, 0.0], [2.5, 0.0, 0.0]], dtype=torch.float64)
    >>> q = torch.linspace(0.5, 10.0, 5, dtype=torch.float64)
    >>> out = debye_scattering(["Cu", "Cu"], pos, q, radiation="neutron")
    >>> b = 7.718  # Sears b_coh of Cu, fm
    >>> bool(torch.allclose(out.intensity, 2 * b**2 * (1 + torch.sinc(q * 2.5 / torch.pi))))
    True
    >>> out.structure_factor.shape
    torch.Size([5])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from workbench.checks import check_tensor
from workbench.scattering.elements import atomic_numbers, element_symbols, scattering_factors
from workbench.scattering.pair_sums import pair_sinc_sums, species_pair_index

__all__ = ["DebyeResult", "check_q", "check_structure", "debye_intensity", "debye_scattering",
           "reduced_structure_factor", "structure_factor"]


@dataclass(frozen=True)
class DebyeResult:
    """Outputs of :func:`debye_scattering` (leading ``[B]`` axis when positions were batched).

    Attributes:
        q: ``[nq]`` the Q grid (1/Å).
        intensity: ``[..., nq]`` I(Q) (electrons^2 or fm^2 per structure).
        structure_factor: ``[..., nq]`` S(Q).
        reduced_structure_factor: ``[..., nq]`` F(Q) = Q (S(Q) - 1) in 1/Å.
        partial_structure_factors: ``[..., T, T, nq]`` Faber–Ziman S_ab(Q) of the species ``symbols``.
        self_scattering: ``[nq]`` sum_i f_i(Q)^2.
        symbols: the ``T`` species in the order of the partial axes.
        fractions: ``[T]`` species fractions c_a.
    """

    q: torch.Tensor
    intensity: torch.Tensor
    structure_factor: torch.Tensor
    reduced_structure_factor: torch.Tensor
    partial_structure_factors: torch.Tensor
    self_scattering: torch.Tensor
    symbols: list[str]
    fractions: torch.Tensor


def check_q(q: torch.Tensor, name: str = "q") -> torch.Tensor:
    """Validate a Q (or other) grid: ``[n]`` floating, finite, every value > 0."""
    check_tensor(q, name, shape=("n",), dtype="float", finite=True)
    if q.numel() == 0:
        raise ValueError(f"{name} must have at least one value, got an empty tensor")
    if bool((q <= 0).any()):
        raise ValueError(f"{name} must be > 0 everywhere (1/Å), got min {float(q.min())}")
    return q


def check_structure(species: Sequence[str | int] | torch.Tensor, pos: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """``(z [N] int64, pos [B, N, 3], batched)`` after validating species and positions (non-empty, finite)."""
    check_tensor(pos, "pos", shape=(..., "N", 3), dtype="float", finite=True, hint="[N, 3] or [B, N, 3] in Å")
    if pos.dim() not in (2, 3):
        raise ValueError(f"pos must have shape [N, 3] or [B, N, 3], got {tuple(pos.shape)}")
    z = atomic_numbers(species)
    if z.numel() == 0 or pos.shape[-2] == 0:
        raise ValueError("the structure is empty: species and pos must describe at least one atom")
    if z.shape[0] != pos.shape[-2]:
        raise ValueError(f"species has {z.shape[0]} entries but pos has {pos.shape[-2]} atoms")
    batched = pos.dim() == 3
    return z, pos if batched else pos[None], batched


def _species_b(biso: float | Mapping[str, float], symbols: list[str], q: torch.Tensor) -> torch.Tensor:
    if isinstance(biso, Mapping):
        missing = [s for s in symbols if s not in biso]
        if missing:
            raise ValueError(f"biso must give a B (Å^2) for every species present; missing {missing}")
        values = [float(biso[s]) for s in symbols]
    else:
        values = [float(biso)] * len(symbols)
    if any(v < 0 for v in values):
        raise ValueError(f"biso must be >= 0 (Å^2), got {values}")
    return torch.tensor(values, dtype=q.dtype, device=q.device)


def debye_scattering(species: Sequence[str | int] | torch.Tensor, pos: torch.Tensor, q: torch.Tensor, *,
                     radiation: str = "xray", biso: float | Mapping[str, float] = 0.0, method: str = "auto",
                     chunk_size: int = 2**22) -> DebyeResult:
    """I(Q), S(Q), F(Q) and partial S_ab(Q) of a finite structure by the Debye equation (conventions: module doc).

    Args:
        species: ``N`` element symbols or atomic numbers.
        pos: ``[N, 3]`` or ``[B, N, 3]`` Cartesian positions in Å (floating, finite).
        q: ``[nq]`` momentum transfers ``Q = 4 pi sin(theta)/lambda`` in 1/Å, all > 0, same dtype as ``pos``.
        radiation: ``"xray"`` (Waasmaier–Kirfel f0) or ``"neutron"`` (Sears b_coh).
        biso: isotropic displacement parameter B in Å^2, one value or a mapping symbol -> B.
        method: ``"histogram"`` (Taylor-moment distance histogram, cost per pair independent of nq; relative
            deviation from the exact sum ~1e-13 in float64, ~1e-8 in float32), ``"direct"`` (exact sinc per pair
            and Q) or ``"auto"`` (direct when ``N(N-1)/2 * nq`` is below ``chunk_size``, histogram otherwise).
        chunk_size: the most entries any per-block temporary holds (pairs for the histogram, pairs x Q points for
            the direct sum); peak memory is about ``60 * chunk_size`` bytes in float64.
    """
    z, pos3, batched = check_structure(species, pos)
    check_q(q)
    if q.dtype != pos.dtype or q.device != pos.device:
        raise ValueError(f"q must have the dtype and device of pos ({pos.dtype}, {pos.device}), got "
                         f"({q.dtype}, {q.device})")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    if method not in ("auto", "histogram", "direct"):
        raise ValueError(f"method must be 'auto', 'histogram' or 'direct', got {method!r}")
    unique, types = torch.unique(z, return_inverse=True)
    symbols = element_symbols(unique)
    n, n_species = z.shape[0], unique.shape[0]
    if method == "auto":
        method = "direct" if n * (n - 1) // 2 * q.shape[0] <= chunk_size else "histogram"

    f = scattering_factors(unique, q, radiation)  # [T, nq]
    counts = torch.bincount(types, minlength=n_species).to(q.dtype).to(q.device)
    fractions = counts / n
    b = _species_b(biso, symbols, q)
    sums = pair_sinc_sums(pos3, types.to(pos.device), n_species, q, method=method, chunk_size=chunk_size)

    _, pairs = species_pair_index(n_species)
    self_scattering = (counts[:, None] * f**2).sum(0)
    distinct = torch.zeros(pos3.shape[0], q.shape[0], dtype=q.dtype, device=q.device)
    partial = torch.ones(pos3.shape[0], n_species, n_species, q.shape[0], dtype=q.dtype, device=q.device)
    for p, (a, c) in enumerate(pairs):
        damping = torch.exp(-q**2 * (b[a] + b[c]) / (16 * torch.pi**2))
        ordered = sums[:, p] * damping * (2.0 if a == c else 1.0)  # sum over ordered pairs i != j
        distinct = distinct + f[a] * f[c] * ordered * (1.0 if a == c else 2.0)
        value = 1.0 + ordered / (n * fractions[a] * fractions[c])
        partial[:, a, c] = value
        partial[:, c, a] = value
    mean_f = (fractions[:, None] * f).sum(0)
    intensity = self_scattering + distinct
    s = 1.0 + distinct / (n * mean_f**2)
    fq = q * (s - 1.0)
    if not batched:
        intensity, s, fq, partial = intensity[0], s[0], fq[0], partial[0]
    return DebyeResult(q, intensity, s, fq, partial, self_scattering, symbols, fractions)


def debye_intensity(species, pos: torch.Tensor, q: torch.Tensor, **kwargs) -> torch.Tensor:
    """``[..., nq]`` I(Q) of :func:`debye_scattering` (same arguments)."""
    return debye_scattering(species, pos, q, **kwargs).intensity


def structure_factor(species, pos: torch.Tensor, q: torch.Tensor, **kwargs) -> torch.Tensor:
    """``[..., nq]`` S(Q) of :func:`debye_scattering` (same arguments)."""
    return debye_scattering(species, pos, q, **kwargs).structure_factor


def reduced_structure_factor(species, pos: torch.Tensor, q: torch.Tensor, **kwargs) -> torch.Tensor:
    """``[..., nq]`` F(Q) = Q (S(Q) - 1) of :func:`debye_scattering` (same arguments)."""
    return debye_scattering(species, pos, q, **kwargs).reduced_structure_factor

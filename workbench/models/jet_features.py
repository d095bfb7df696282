"""Jet inputs and four-vector features shared by the jet taggers (:mod:`~workbench.models.lorentz_mace`,
:mod:`~workbench.models.lorentznet`, :mod:`~workbench.models.deep_sets`).

Input of every jet model: ``momenta [B, N, 4]`` = ``(E, px, py, pz)`` in GeV of the ``N`` constituents of each of
``B`` jets, zero-padded, and ``mask [B, N]`` (bool, ``True`` = real particle; ``None`` = all real), checked by
:func:`check_jets`. Padded slots are ignored whatever they contain; real particles must be finite, and every jet
needs at least one real particle.

**Invariants and their numerics.** Minkowski products ``a·b = a_0 b_0 - a_1 b_1 - a_2 b_2 - a_3 b_3``
(:func:`minkowski_dot`, metric ``(+, -, -, -)``) of nearly collinear light-like momenta cancel catastrophically
(``p_i·p_j ≈ E_i E_j θ_ij^2 / 2``) and span many decades (from ``1e-6`` to ``1e7`` GeV^2, more after a boost), so
:func:`jet_invariants` always computes them in float64 (whatever the model dtype) and they enter the networks only
through ``psi(s) = sign(s) log(1 + |s| / invariant_scale)`` (:func:`psi`, the signed log of LorentzNet), which is
Lorentz invariant because ``s`` is. :func:`jet_frame_features` are the non-invariant kinematics relative to the jet
axis (``log pT``, ``Δη``, ``Δφ``, ...) of the Deep Sets baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = ["MINKOWSKI_METRIC", "MLP", "check_jets", "jet_frame_features", "jet_invariants", "masked_mean",
           "minkowski_dot", "psi"]

#: Diagonal of the Minkowski metric, signature ``(+, -, -, -)``.
MINKOWSKI_METRIC: tuple[float, float, float, float] = (1.0, -1.0, -1.0, -1.0)

def check_jets(momenta: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a padded batch of jets; returns ``(momenta with padded slots zeroed, mask)``.

    Raises ``ValueError`` for a shape other than ``momenta [B, N, 4]``, ``mask [B, N]`` (bool), an empty batch,
    a jet without real particles (naming its row) or non-finite momenta of real particles (naming the rows).
    """
    if not isinstance(momenta, torch.Tensor):
        raise TypeError(f"momenta must be a torch.Tensor [B, N, 4], got {type(momenta).__name__}")
    if momenta.dim() != 3 or momenta.shape[-1] != 4:
        raise ValueError(f"momenta must have shape [B, N, 4] (E, px, py, pz in GeV), got {tuple(momenta.shape)}")
    if not momenta.is_floating_point():
        raise ValueError(f"momenta must be a floating-point tensor, got {momenta.dtype}")
    b, n = momenta.shape[:2]
    if b == 0:
        raise ValueError("momenta: empty batch (B = 0 jets)")
    if mask is None:
        mask = torch.ones(b, n, dtype=torch.bool, device=momenta.device)
    elif not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != (b, n):
        got = f"{mask.dtype} {tuple(mask.shape)}" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"mask must be a bool tensor of shape [B, N] = [{b}, {n}] (True = real particle), got {got}")
    empty = (~mask.any(dim=1)).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"jet(s) at row(s) {empty} of the batch have no constituents (mask row all False)")
    bad = (~torch.isfinite(momenta).all(dim=-1) & mask).any(dim=1).nonzero().flatten().tolist()
    if bad:
        raise ValueError(f"momenta of real particles must be finite; NaN/inf in jet row(s) {bad}")
    return torch.where(mask[..., None], momenta, torch.zeros((), dtype=momenta.dtype)), mask


def minkowski_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a·b = a_0 b_0 - a_1 b_1 - a_2 b_2 - a_3 b_3`` over the last axis (broadcasting), in ``a``'s dtype."""
    eta = torch.tensor(MINKOWSKI_METRIC, dtype=a.dtype, device=a.device)
    return (a * eta * b).sum(-1)


def psi(s: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Signed log ``sign(s) log(1 + |s| / scale)``: monotone, ~linear near 0, logarithmic for large ``|s|``."""
    return torch.sign(s) * torch.log1p(s.abs() / scale)


class MLP(torch.nn.Sequential):
    """``Linear -> SiLU -> ... -> Linear`` over the last axis; ``sizes = (in, hidden..., out)``."""

    def __init__(self, sizes: Sequence[int]) -> None:
        layers: list[torch.nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(torch.nn.SiLU())
        super().__init__(*layers)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x [B, N, F]`` over the real particles of each jet -> ``[B, F]``."""
    m = mask.to(x.dtype)[..., None]
    return (x * m).sum(1) / m.sum(1)


def jet_invariants(p64: torch.Tensor, mask: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 Lorentz invariants of padded jets ``p64 [B, N, 4]`` (float64, padded slots zeroed, as returned by
    :func:`check_jets`) with ``mask [B, N]``, entering through :func:`psi` with ``scale`` (GeV^2).

    Returns ``(node [B, N, 5], pair [B, N, N, 4])``: per particle ``psi(m_i^2)``, ``psi(p_i·P)``, ``psi(P^2)``,
    ``p_i·P / max(|P^2|, scale)`` clamped to [-10, 10] and ``log n``; per pair ``psi(p_i·p_j)``,
    ``psi((p_i - p_j)^2)``, ``psi(m_i^2)``, ``psi(m_j^2)`` (``P = sum_j p_j``, ``n`` = real particles)."""
    n = mask.sum(1).to(torch.float64)  # [B]
    jet = p64.sum(1)  # [B, 4] (padded slots are zero)
    m2 = minkowski_dot(p64, p64)  # [B, N]
    pp = minkowski_dot(p64, jet[:, None])  # [B, N]
    jet2 = minkowski_dot(jet, jet)[:, None].expand_as(m2)  # [B, N]
    # jet-frame energy fraction; |P^2| >= scale keeps the rounding noise of P^2 ~ 0 (one massless particle) small
    frac = pp / jet2.abs().clamp_min(scale)
    node = torch.stack([psi(m2, scale), psi(pp, scale), psi(jet2, scale), frac.clamp(-10, 10),
                        torch.log(n)[:, None].expand_as(m2)], dim=-1)
    dots = torch.einsum("bia,a,bja->bij", p64, torch.tensor(MINKOWSKI_METRIC, dtype=p64.dtype, device=p64.device), p64)
    sep = m2[:, :, None] + m2[:, None, :] - 2 * dots  # (p_i - p_j)^2
    pair = torch.stack([psi(dots, scale), psi(sep, scale), psi(m2, scale)[:, :, None].expand_as(dots),
                        psi(m2, scale)[:, None, :].expand_as(dots)], dim=-1)
    return node, pair


def jet_frame_features(momenta: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-particle ``[B, N, 7]``: ``log pT, log E, log(pT/pT_jet), log(E/E_jet), Δη, Δφ, ΔR`` (GeV, jet axis
    = direction of ``P = sum p``); padded slots give zeros. Not Lorentz invariant (only rotations about z)."""
    p = momenta.to(torch.float64)
    jet = p.sum(1, keepdim=True)
    tiny = 1e-9

    def kin(v):
        pt = torch.hypot(v[..., 1], v[..., 2]).clamp_min(tiny)
        return pt, torch.asinh(v[..., 3] / pt), torch.atan2(v[..., 2], v[..., 1]), v[..., 0].clamp_min(tiny)

    pt, eta, phi, e = kin(p)
    pt_j, eta_j, phi_j, e_j = kin(jet)
    deta = eta - eta_j
    dphi = torch.remainder(phi - phi_j + math.pi, 2 * math.pi) - math.pi
    feats = torch.stack([torch.log(pt), torch.log(e), torch.log(pt / pt_j), torch.log(e / e_j), deta, dphi,
                         torch.hypot(deta, dphi)], dim=-1)
    return torch.where(mask[..., None], feats, torch.zeros((), dtype=feats.dtype))

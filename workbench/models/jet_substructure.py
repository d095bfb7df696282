"""Jet substructure observables of padded jets: jet mass, exclusive-kT subjet axes and N-subjettiness.

Input: ``momenta [B, N, 4]`` = ``(E, px, py, pz)`` in GeV and ``mask [B, N]`` (bool, True = real particle), as every
jet model takes (:func:`~workbench.models.jet_features.check_jets`). Everything is computed in float64.

**N-subjettiness** (Thaler and Van Tilburg, arXiv 1011.2268), the normalized measure of FastJet contrib's
``Nsubjettiness`` with ``beta`` (default 1) and characteristic radius ``R0`` (default 0.8, the jet radius)::

    tau_N = sum_i pT_i min_k dR(i, a_k)^beta / sum_i pT_i R0^beta

over the constituents ``i`` and ``N`` axes ``a_k``; ``dR^2 = dy^2 + dphi^2`` in rapidity ``y`` and azimuth
``phi`` (as FastJet). The axes are the **exclusive-kT axes** (contrib's ``KT_Axes``): the constituents are merged
pairwise with the kT distance ``d_ij = min(pT_i^2, pT_j^2) dR_ij^2`` (``R = max_allowable_R``: no beam distance) and
E-scheme recombination (4-vectors add) until ``N`` pseudojets remain. A jet with at most ``N`` constituents has
``tau_N = 0``. Ratios ``tau_21 = tau_2 / tau_1`` and ``tau_32 = tau_3 / tau_2`` are small for two- and three-prong
jets (W/Z and top jets) and near 1 for one-prong QCD jets; a ratio with a zero denominator is 0.

These observables are invariant under rotations about the beam axis and boosts along it, **not** under general
Lorentz transformations (the jet mass is).
"""

from __future__ import annotations

import math

import torch

from workbench.models.jet_features import check_jets, minkowski_dot

__all__ = ["SUBSTRUCTURE_FEATURES", "exclusive_kt_axes", "jet_mass", "nsubjettiness", "substructure_features"]

#: Columns of :func:`substructure_features`.
SUBSTRUCTURE_FEATURES: tuple[str, ...] = ("mass", "tau_1", "tau_2", "tau_3", "tau_21", "tau_32")

_CHUNK = 512  # jets per chunk of the O(N^2) clustering (memory: chunk * N^2 float64)


def jet_mass(momenta: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Invariant mass ``sqrt(max(P^2, 0))`` in GeV ``[B]`` (float64) of ``P = sum`` of the real constituents."""
    p, mask = check_jets(momenta, mask)
    jet = p.double().sum(1)
    return minkowski_dot(jet, jet).clamp_min(0.0).sqrt()


def _pt_y_phi(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """pT, rapidity and azimuth over the last axis of float64 ``p [..., 4]``; empty slots get pT 0."""
    pt = torch.hypot(p[..., 1], p[..., 2])
    e, pz = p[..., 0], p[..., 3]
    tiny = 1e-300
    y = 0.5 * torch.log((e + pz).clamp_min(tiny) / (e - pz).clamp_min(tiny))
    return pt, y, torch.atan2(p[..., 2], p[..., 1])


def _delta_r2(y1: torch.Tensor, phi1: torch.Tensor, y2: torch.Tensor, phi2: torch.Tensor) -> torch.Tensor:
    dphi = torch.remainder(phi1 - phi2 + math.pi, 2 * math.pi) - math.pi
    return (y1 - y2) ** 2 + dphi**2


def _cluster_chunk(p: torch.Tensor, mask: torch.Tensor, counts: tuple[int, ...]
                   ) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """Exclusive-kT clustering of float64 ``p [B, N, 4]``: for each ``n`` of ``counts`` the pseudojets
    ``[B, N, 4]`` and their mask when ``n`` remain (jets with fewer constituents keep all of them)."""
    q, active = p.clone(), mask.clone()
    b, n = active.shape
    rows = torch.arange(b)
    eye = torch.eye(n, dtype=torch.bool)
    saved: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    pending = {c: torch.ones(b, dtype=torch.bool) for c in counts}

    def snapshot() -> None:
        left = active.sum(1)
        for c in counts:
            take = pending[c] & (left <= c)
            if bool(take.any()):
                if c not in saved:
                    saved[c] = (torch.zeros_like(q), torch.zeros_like(active))
                saved[c][0][take], saved[c][1][take] = q[take], active[take]
                pending[c] &= ~take

    snapshot()
    while any(bool(v.any()) for v in pending.values()):
        pt, y, phi = _pt_y_phi(q)
        pt2 = pt**2
        d = torch.minimum(pt2[:, :, None], pt2[:, None, :]) * _delta_r2(y[:, :, None], phi[:, :, None],
                                                                        y[:, None, :], phi[:, None, :])
        valid = active[:, :, None] & active[:, None, :] & ~eye
        d = torch.where(valid, d, torch.full((), math.inf, dtype=d.dtype))
        best = d.reshape(b, -1).argmin(1)
        i, j = best // n, best % n
        merge = active.sum(1) > min(c for c in counts if bool(pending[c].any()))
        if not bool(merge.any()):
            break
        r, i, j = rows[merge], i[merge], j[merge]
        q[r, i] = q[r, i] + q[r, j]
        q[r, j] = 0.0
        active[r, j] = False
        snapshot()
    return saved


def exclusive_kt_axes(momenta: torch.Tensor, mask: torch.Tensor | None, n_axes: int
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``n_axes`` exclusive-kT axes of each jet (module docstring): ``(axes [B, N, 4], axes_mask [B, N])``,
    the pseudojets left when ``n_axes`` remain, in the slots of the constituents they absorbed (float64)."""
    if isinstance(n_axes, bool) or not isinstance(n_axes, int) or n_axes < 1:
        raise ValueError(f"n_axes must be an integer >= 1, got {n_axes!r}")
    p, mask = check_jets(momenta, mask)
    parts = [_cluster_chunk(p[s : s + _CHUNK].double(), mask[s : s + _CHUNK], (n_axes,))[n_axes]
             for s in range(0, p.shape[0], _CHUNK)]
    return torch.cat([a for a, _ in parts]), torch.cat([m for _, m in parts])


def _tau(p: torch.Tensor, mask: torch.Tensor, axes: torch.Tensor, axes_mask: torch.Tensor, beta: float,
         r0: float) -> torch.Tensor:
    pt, y, phi = _pt_y_phi(p)
    _, ya, phia = _pt_y_phi(axes)
    dr2 = _delta_r2(y[:, :, None], phi[:, :, None], ya[:, None, :], phia[:, None, :])  # [B, N, N_axes slots]
    dr2 = torch.where(axes_mask[:, None, :], dr2, torch.full((), math.inf, dtype=dr2.dtype))
    nearest = dr2.min(2).values.sqrt() ** beta
    pt = torch.where(mask, pt, torch.zeros((), dtype=pt.dtype))
    nearest = torch.where(mask, nearest, torch.zeros((), dtype=pt.dtype))
    return (pt * nearest).sum(1) / (pt.sum(1) * r0**beta)


def nsubjettiness(momenta: torch.Tensor, mask: torch.Tensor | None = None, n_max: int = 3, *, beta: float = 1.0,
                  r0: float = 0.8) -> torch.Tensor:
    """``tau_1 ... tau_{n_max}`` ``[B, n_max]`` (float64) with exclusive-kT axes and the normalized measure
    (module docstring; ``beta`` > 0, ``r0`` > 0 the characteristic radius).

    Examples:
        >>> import torch
        >>> two_prong = torch.tensor([[[100.0, 100.0, 0.0, 0.0], [100.0, 0.0, 100.0, 0.0]]], dtype=torch.float64)
        >>> taus = nsubjettiness(two_prong, n_max=2)
        >>> bool(taus[0, 0] > 0), float(taus[0, 1])
        (True, 0.0)
    """
    if isinstance(n_max, bool) or not isinstance(n_max, int) or n_max < 1:
        raise ValueError(f"n_max must be an integer >= 1, got {n_max!r}")
    for name, value in (("beta", beta), ("r0", r0)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    p, mask = check_jets(momenta, mask)
    p = p.double()
    counts = tuple(range(1, n_max + 1))
    out = []
    for s in range(0, p.shape[0], _CHUNK):
        chunk, chunk_mask = p[s : s + _CHUNK], mask[s : s + _CHUNK]
        saved = _cluster_chunk(chunk, chunk_mask, counts)
        out.append(torch.stack([_tau(chunk, chunk_mask, *saved[c], beta, r0) for c in counts], dim=1))
    return torch.cat(out)


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.zeros((), dtype=num.dtype))


def substructure_features(momenta: torch.Tensor, mask: torch.Tensor | None = None, *, beta: float = 1.0,
                          r0: float = 0.8) -> torch.Tensor:
    """``[B, 6]`` float64: jet mass (GeV), ``tau_1``, ``tau_2``, ``tau_3``, ``tau_21``, ``tau_32``
    (:data:`SUBSTRUCTURE_FEATURES`)."""
    taus = nsubjettiness(momenta, mask, 3, beta=beta, r0=r0)
    mass = jet_mass(momenta, mask)
    return torch.stack([mass, taus[:, 0], taus[:, 1], taus[:, 2], _ratio(taus[:, 1], taus[:, 0]),
                        _ratio(taus[:, 2], taus[:, 1])], dim=1)

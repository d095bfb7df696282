"""Memory-bounded Debye pair sums ``S_p(Q) = sum_{i<j, (t_i, t_j) = p} sinc(Q r_ij)`` per species pair.

The Debye equation needs, for every unordered pair of species ``p = (a, b)`` with ``a <= b``, the sum of
``sin(Q r)/(Q r)`` over the atom pairs ``i < j`` of that species pair.  Two methods, both chunked over blocks of
rows of the (upper-triangular) distance matrix so that no temporary holds more than ``chunk_size`` entries:

* ``"direct"``: evaluates ``sinc(Q r_ij)`` for every pair and Q (exact; cost ``N^2/2 * nq``).
* ``"histogram"``: a Taylor-moment histogram.  Each distance is written ``r = r_k + delta`` with ``r_k`` the centre
  of its bin of width ``dr`` (a power of two, so ``r / dr`` is exact) and ``|delta| <= dr/2``; the moments
  ``M_{m,k} = sum delta^m`` (m = 0..3) are accumulated per bin, and ``S(Q) = sum_k sum_m M_{m,k} K_m(r_k, Q)`` with
  ``K_m(r, Q) = (1/m!) d^m/dr^m sinc(Q r)``.  The truncation error per pair is at most ``(Q dr/2)^4 / (4! * 5)``;
  ``dr`` is chosen from ``Q_max`` so this is ``< 2e-10`` (float64) or ``< 1e-7`` (float32).  The cost per pair does
  not depend on the number of Q points.

Both are differentiable with respect to the positions (the histogram through the moments; with gradients on, each
block is recomputed in the backward pass via ``torch.utils.checkpoint`` so memory stays bounded).
"""

from __future__ import annotations

import math

import torch
from torch.utils.checkpoint import checkpoint

__all__ = ["pair_sinc_sums", "species_pair_index"]

#: Number of Taylor moments of the histogram method (m = 0..3).
ORDER = 4
#: Q_max * dr of the histogram grid per dtype: truncation error (Q dr / 2)^4 / 120 per pair.
STEP_FACTOR = {torch.float64: 0.03, torch.float32: 0.12}
#: Below this argument the sinc derivatives come from their power series (the closed form loses digits at small x).
_SERIES_BELOW = 0.5


def species_pair_index(n_species: int) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """``[T, T]`` int64 table of the index of species pair ``(a, b)`` (symmetric) and the list of pairs ``a <= b``."""
    pairs = [(a, b) for a in range(n_species) for b in range(a, n_species)]
    table = torch.empty(n_species, n_species, dtype=torch.int64)
    for p, (a, b) in enumerate(pairs):
        table[a, b] = table[b, a] = p
    return table, pairs


def _row_blocks(n: int, chunk_pairs: int):
    """Blocks ``[s, e)`` of rows; row ``i`` pairs with columns ``s+1..n-1`` (upper triangle), ``<= chunk_pairs``
    entries per block."""
    s = 0
    while s < n - 1:
        rows = max(1, chunk_pairs // max(1, n - s - 1))
        e = min(n - 1, s + rows)
        yield s, e
        s = e


def _block(pos: torch.Tensor, s: int, e: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances ``[B, R, C]`` of rows ``s:e`` to columns ``s+1:`` and the mask ``[R, C]`` of pairs with ``j <= i``."""
    d = torch.cdist(pos[:, s:e], pos[:, s + 1:], compute_mode="donot_use_mm_for_euclid_dist")
    rows = torch.arange(e - s, device=pos.device)[:, None]
    cols = torch.arange(d.shape[2], device=pos.device)[None, :]
    return d, cols < rows


def _sinc_derivatives(x: torch.Tensor, order: int) -> torch.Tensor:
    """``[order, *x.shape]``: ``j0^(m)(x) / m!`` for m = 0..order-1, ``j0(x) = sin(x)/x``, ``x >= 0``."""
    small = x < _SERIES_BELOW
    xs = torch.where(small, x, torch.ones_like(x))
    xl = torch.where(small, torch.full_like(x, 1.0), x)
    out = []
    sin_shift = [torch.sin(xl + k * math.pi / 2) for k in range(order)]
    for m in range(order):
        # Leibniz on sin(x) * x^-1: sum_k C(m,k) sin(x + k pi/2) (-1)^(m-k) (m-k)! x^-(m-k+1)
        large = sum(math.comb(m, k) * sin_shift[k] * ((-1) ** (m - k) * math.factorial(m - k)) * xl ** (-(m - k + 1))
                    for k in range(m + 1))
        # power series sum_n (-1)^n x^(2n) / (2n+1)!, differentiated m times (terms up to x^16: error < 1e-18)
        series = torch.zeros_like(x)
        for n in range(9):
            if 2 * n >= m:
                coefficient = (-1) ** n / math.factorial(2 * n + 1) * math.factorial(2 * n) / math.factorial(2 * n - m)
                series = series + coefficient * xs ** (2 * n - m)
        out.append(torch.where(small, series, large) / math.factorial(m))
    return torch.stack(out)


def _histogram_block(pos, types_pair, s, e, dr, n_bins, n_slots, slot_offset):
    """Differentiable moment histogram ``[n_slots, ORDER]`` of rows ``s:e`` (used when gradients are needed)."""
    d, lower = _block(pos, s, e)
    u = d / dr
    k = torch.floor(u.detach())
    delta = (u - k - 0.5) * dr
    index = k.to(torch.int64)
    index = index.masked_fill(lower, n_bins)  # the trash bin
    if types_pair is not None:
        index = index + types_pair[s:e, s + 1:] * (n_bins + 1)
    index = index + slot_offset[:, None, None]
    moments = torch.stack([torch.ones_like(delta), delta, delta * delta, delta * delta * delta])
    hist = torch.zeros(ORDER, n_slots, dtype=pos.dtype, device=pos.device)
    return hist.index_add_(1, index.reshape(-1), moments.reshape(ORDER, -1)).T


class _Workspace:
    """Buffers of the largest block, reused by every block of the no-gradient histogram (fresh multi-megabyte
    tensors per elementwise step cost more in page faults than the arithmetic)."""

    def __init__(self, size: int, dtype: torch.dtype, device: torch.device):
        self.d = torch.empty(size, dtype=dtype, device=device)
        self.k = torch.empty(size, dtype=dtype, device=device)
        self.index = torch.empty(size, dtype=torch.int64, device=device)
        self.moments = torch.empty(ORDER, size, dtype=dtype, device=device)


@torch.no_grad()
def _histogram_block_fast(pos, types_pair, s, e, dr, n_bins, hist, slot_offset, work):
    """Adds the moment histogram of rows ``s:e`` into ``hist [ORDER, n_slots]`` in place; moments are in units of
    ``dr`` (``delta / dr``), rescaled by the caller."""
    batch, rows, cols = pos.shape[0], e - s, pos.shape[1] - s - 1
    size = batch * rows * cols
    d = work.d[:size].view(batch, rows, cols)
    k = work.k[:size].view(batch, rows, cols)
    # |x_i - x_j| from coordinate differences (exact, unlike the |x|^2 + |y|^2 - 2 x.y of matrix products)
    for c in range(3):
        torch.sub(pos[:, s:e, c, None], pos[:, None, s + 1:, c], out=k)
        if c == 0:
            torch.mul(k, k, out=d)
        else:
            d.addcmul_(k, k)
    d.sqrt_().mul_(1.0 / dr)
    torch.floor(d, out=k)
    frac = work.moments[1, :size]
    torch.sub(d.view(-1), k.view(-1), out=frac).sub_(0.5)
    work.moments[0, :size].fill_(1.0)
    torch.mul(frac, frac, out=work.moments[2, :size])
    torch.mul(work.moments[2, :size], frac, out=work.moments[3, :size])
    index = work.index[:size].view(batch, rows, cols)
    index.copy_(k)
    square = min(rows, cols)
    lower = torch.arange(square, device=pos.device)[None, :] < torch.arange(rows, device=pos.device)[:, None]
    index[:, :, :square].masked_fill_(lower, n_bins)  # pairs j <= i go to the trash bin
    if types_pair is not None:
        index.add_(types_pair[s:e, s + 1:] * (n_bins + 1))
    for b in range(1, batch):
        index[b].add_(int(slot_offset[b]))
    hist.index_add_(1, index.view(-1), work.moments[:, :size])


def pair_sinc_sums(pos: torch.Tensor, types: torch.Tensor, n_species: int, q: torch.Tensor, *,
                   method: str = "histogram", chunk_size: int = 2**22) -> torch.Tensor:
    """``[B, P, nq]`` sums of ``sinc(Q r_ij)`` over atom pairs ``i < j`` per species pair ``p`` (see
    :func:`species_pair_index`), for ``pos [B, N, 3]``, ``types [N]`` (int64 in ``0..n_species-1``) and ``q [nq]``.

    ``chunk_size`` bounds the entries of the per-block temporaries: atom pairs for the histogram, pairs times Q
    points for the direct sum.  Inputs are assumed validated by the caller.
    """
    batch, n, _ = pos.shape
    table, pairs = species_pair_index(n_species)
    n_pairs = len(pairs)
    types_pair = table.to(pos.device)[types[:, None], types[None, :]] if n_species > 1 else None
    out = torch.zeros(batch, n_pairs, q.shape[0], dtype=pos.dtype, device=pos.device)
    if n < 2:
        return out
    grad = torch.is_grad_enabled() and pos.requires_grad
    if method == "direct":
        for s, e in _row_blocks(n, max(1, chunk_size // q.shape[0])):
            d, lower = _block(pos, s, e)
            sinc = torch.sinc(d[..., None] * q / math.pi) * (~lower)[..., None]
            if types_pair is None:
                out[:, 0] += sinc.sum((1, 2))
            else:
                onehot = torch.nn.functional.one_hot(types_pair[s:e, s + 1:], n_pairs).to(pos.dtype)
                out = out + torch.einsum("brcq,rcp->bpq", sinc, onehot)
        return out
    if method != "histogram":
        raise ValueError(f"method must be 'direct' or 'histogram', got {method!r}")

    dr = 2.0 ** math.floor(math.log2(STEP_FACTOR.get(pos.dtype, 0.03) / float(q.abs().max())))
    with torch.no_grad():
        centred = pos - pos.mean(1, keepdim=True)
        d_max = 2 * float(centred.norm(dim=-1).max())
    n_bins = int(math.ceil(d_max / dr)) + 2
    slots_per_structure = n_pairs * (n_bins + 1)
    n_slots = batch * slots_per_structure
    slot_offset = torch.arange(batch, device=pos.device) * slots_per_structure
    # per-block histograms in the positions' dtype, accumulated (and turned into sums) in float64
    acc = torch.float64 if pos.device.type != "mps" else torch.float32
    blocks = list(_row_blocks(n, max(1, chunk_size // batch)))
    if grad:
        hist = torch.zeros(n_slots, ORDER, dtype=acc, device=pos.device)
        for s, e in blocks:
            args = (pos, types_pair, s, e, dr, n_bins, n_slots, slot_offset)
            hist = hist + checkpoint(_histogram_block, *args, use_reentrant=False).to(acc)
    else:
        work = _Workspace(batch * max((e - s) * (n - s - 1) for s, e in blocks), pos.dtype, pos.device)
        block_hist = torch.zeros(ORDER, n_slots, dtype=pos.dtype, device=pos.device)
        total = torch.zeros(ORDER, n_slots, dtype=acc, device=pos.device)
        for s, e in blocks:
            block_hist.zero_()
            _histogram_block_fast(pos, types_pair, s, e, dr, n_bins, block_hist, slot_offset, work)
            total += block_hist
        scale = torch.tensor([dr**m for m in range(ORDER)], dtype=acc, device=pos.device)
        hist = total.T * scale

    hist = hist.view(batch * n_pairs, n_bins + 1, ORDER)[:, :n_bins]
    occupied = hist[..., 0].detach() != 0
    rows, bins = torch.nonzero(occupied, as_tuple=True)
    moments = hist[rows, bins]  # [K, ORDER]
    radius = (bins.to(acc) + 0.5) * dr
    q = q.to(acc)
    return _bin_sums(moments, radius, rows, batch * n_pairs, q, chunk_size).view(batch, n_pairs, -1).to(pos.dtype)


def _bin_sums(moments: torch.Tensor, radius: torch.Tensor, rows: torch.Tensor, n_rows: int, q: torch.Tensor,
              chunk_size: int) -> torch.Tensor:
    """``[n_rows, nq]``: ``sum over bins of sum_m moments[:, m] K_m(radius, Q)``, scattered to ``rows``.

    With ``x = Q r`` and Leibniz on ``sin(x)/x``, ``K_m(r, Q) = sum_k c_mk Q^(k-1) r^-(m-k+1) sin(x + k pi/2)``, so
    the sum is ``Q^-1 A_0 + A_1 - Q A_2 - Q^2 A_3`` with ``A_k = sum_bins coef_k(r) {sin, cos, sin, cos}(Q r)``: two
    trigonometric evaluations per (bin, Q) and matrix products.  Where ``Q r < 0.5`` somewhere (small Q) that form
    loses digits, and those Q columns use the power series of :func:`_sinc_derivatives` instead.
    """
    out = torch.zeros(n_rows, q.shape[0], dtype=q.dtype, device=q.device)
    if radius.numel() == 0:
        return out
    scatter = torch.zeros(n_rows, radius.shape[0], dtype=q.dtype, device=q.device)
    scatter[rows, torch.arange(radius.shape[0], device=q.device)] = 1.0
    small_q = q * radius.min() < _SERIES_BELOW
    q_large = q[~small_q]
    coef = torch.zeros(ORDER, radius.shape[0], dtype=q.dtype, device=q.device)
    for k in range(ORDER):
        for m in range(k, ORDER):
            c = math.comb(m, k) * (-1) ** (m - k) * math.factorial(m - k) / math.factorial(m)
            coef[k] = coef[k] + c * moments[:, m] * radius ** (-(m - k + 1))
    weights = scatter[None] * coef[:, None, :]  # [ORDER, n_rows, K]
    per_chunk = max(1, chunk_size // max(1, q_large.shape[0]))
    large = torch.zeros(ORDER, n_rows, q_large.shape[0], dtype=q.dtype, device=q.device)
    for start in range(0, radius.shape[0], per_chunk):
        stop = start + per_chunk
        x = radius[start:stop, None] * q_large[None, :]
        sin, cos = torch.sin(x), torch.cos(x)
        large[0] += weights[0, :, start:stop] @ sin
        large[1] += weights[1, :, start:stop] @ cos
        large[2] += weights[2, :, start:stop] @ sin
        large[3] += weights[3, :, start:stop] @ cos
    out[:, ~small_q] = large[0] / q_large - q_large * large[2] + large[1] - q_large**2 * large[3]
    if bool(small_q.any()):
        q_small = q[small_q]
        powers = torch.stack([q_small**m for m in range(ORDER)])
        kernels = _sinc_derivatives(radius[:, None] * q_small[None, :], ORDER) * powers[:, None, :]
        out[:, small_q] = scatter @ torch.einsum("km,mkq->kq", moments, kernels)
    return out

"""Lorentz-group MACE (G-MACE) jet tagger on particle 4-momenta.

Input (checked by :func:`workbench.models.jet_features.check_jets`, as for the LorentzNet-style and Deep Sets
baselines of :mod:`workbench.models.lorentznet` and :mod:`workbench.models.deep_sets`): ``momenta [B, N, 4]`` =
``(E, px, py, pz)`` in GeV of the ``N`` constituents of each of ``B`` jets, zero-padded, and ``mask [B, N]`` (bool,
``True`` = real particle; ``None`` = all real). Output: ``[B, num_classes]`` logits (``num_classes=1``: one logit
per jet, for ``BCEWithLogitsLoss``). Padded slots are ignored whatever they contain; real particles must be finite,
and every jet needs at least one real particle.

:class:`LorentzMACE` is MACE (Batatia et al., arXiv 2206.07697) for the proper orthochronous Lorentz group, as
in lie-nn's G-MACE (Batatia et al., arXiv 2306.00091): per layer, with ``x_j`` the irrep-basis 4-vector of
particle ``j`` and ``h_j`` its hidden features ``C x ((0,0) + (1/2,1/2))``::

    A_i = Linear( sum_{j in jet} R_c(inv_ij) [ h_j (x) (1/n, x_j) ]_c )     # atomic basis, C x ((0,0)+(1/2,1/2))
    B_i = SymmetricContraction(A_i, group=Lorentz())                     # many-body product, order correlation
    h_i <- Linear(B_i) + Linear(h_i)                                     # self connection (one "element")

The "edge harmonic" is ``(1/n, x_j)``: its trivial part is ``1/n`` (``n`` = number of constituents, an
invariant) so scalar messages are averages over the jet, while 4-vector messages are sums of momenta (the sum of
all ``x_j`` is the jet 4-momentum). ``h_j (x) (1/n, x_j)`` uses the Lorentz couplings ``(0,0)x(1/2,1/2) ->
(1/2,1/2)`` and ``(1/2,1/2)x(1/2,1/2) -> (0,0)`` (the Minkowski product) per channel (MACE's ``uvu``
product; ``(1,0)+(0,1)+(1,1)`` are not kept). The weights ``R_c(inv_ij)`` are an MLP of pair invariants, so the
message is linear in ``h_j`` and the coupled products ``h_j (x) Y_j`` are computed once per particle, not per
pair. The jet is a fully connected graph (self pair included, padding masked). Initial features: an MLP of
particle invariants. Readout: the ``(0,0)`` features of every layer (complex; their real and imaginary parts are
each Lorentz invariant, since ``(0,0)`` is the trivial irrep) -> per-particle MLP -> masked mean -> MLP.

**Change of basis.** The library's ``(1/2,1/2)`` irrep acts on complex features; a real 4-vector ``p = (E, px,
py, pz)`` becomes ``x = S p`` with :func:`minkowski_to_irrep` ``S``, so that ``D_(1/2,1/2)(g) = S Λ(g) S^-1``
(``Λ(g) = Lorentz().vector_matrix(g)``). ``S`` is ``Q^-1`` of :meth:`Lorentz.vector_change_of_basis` (which
gives ``Λ = Q D Q^-1``) with its numerical noise removed and rescaled to be unitary; it is checked against
``Q`` when first built. Features are rows, so a batch of momenta maps as ``p @ S.T``. With this ``S`` the
library's ``(1/2,1/2) x (1/2,1/2) -> (0,0)`` coupling ``C`` gives ``x^T C x' = (p·p') / 2``.

**Invariants and their numerics** (:func:`workbench.models.jet_features.jet_invariants`). Minkowski products ``a·b =
a_0 b_0 - a_1 b_1 - a_2 b_2 - a_3 b_3`` of nearly collinear light-like momenta cancel catastrophically (``p_i·p_j ≈
E_i E_j θ_ij^2 / 2``) and span many decades (from ``1e-6`` to ``1e7`` GeV^2, more after a boost), so they are always
computed in float64 (whatever the model dtype) and enter the networks only through ``psi(s) = sign(s) log(1 + |s| /
invariant_scale)`` (the signed log of LorentzNet; ``invariant_scale`` in GeV^2, default 1), which is Lorentz
invariant because ``s`` is. Invariants used: ``m_i^2 = p_i·p_i``, ``p_i·P`` with the jet momentum ``P = sum_j p_j``,
``P^2``, the jet-frame energy fraction ``p_i·P / P^2``, ``log n`` (particle features) and ``p_i·p_j``, ``(p_i -
p_j)^2``, ``m_i^2``, ``m_j^2`` (pair features). The 4-vectors themselves enter as ``p / momentum_scale`` (a
constant, default 100 GeV: a fixed scale commutes with Lorentz transformations, a per-jet scale such as the jet pT
would not).
"""

from __future__ import annotations

import functools
import math

import torch

from workbench.groups import Irreps
from workbench.groups.lorentz import Lorentz
from workbench.models.jet_features import MLP, check_jets, jet_invariants, masked_mean
from workbench.nn.linear import Linear
from workbench.nn.symmetric_contraction import SymmetricContraction

__all__ = ["LorentzMACE", "minkowski_to_irrep"]

@functools.cache
def _minkowski_to_irrep_exact() -> torch.Tensor:
    r = 2**-0.5
    s = torch.tensor([[0, -1, 1j, 0], [1, 0, 0, 1], [-1, 0, 0, 1], [0, 1, 1j, 0]], dtype=torch.complex128) * r
    # S must be proportional to Q^-1 of the library (Λ = Q D Q^-1): S Q = c 1 with |c| != 0
    q = Lorentz().vector_change_of_basis().to(torch.complex128)
    sq = s @ q
    c = sq[0, 0]
    if abs(c) < 1e-6 or float((sq - c * torch.eye(4, dtype=sq.dtype)).abs().max()) > 1e-9 * abs(c):
        raise RuntimeError("the (1/2,1/2) basis of workbench.groups.lorentz changed: update minkowski_to_irrep")
    return s


def minkowski_to_irrep(dtype: torch.dtype = torch.complex128, device=None) -> torch.Tensor:
    """Unitary ``S [4, 4]`` mapping ``(E, px, py, pz)`` to the ``(1/2,1/2)`` irrep basis: ``x = S p`` and
    ``D_(1/2,1/2)(g) = S Λ(g) S^-1`` with ``Λ(g) = Lorentz().vector_matrix(g)``.

    ``S = [[0, -1, i, 0], [1, 0, 0, 1], [-1, 0, 0, 1], [0, 1, i, 0]] / sqrt(2)``: the components are
    ``(-(px - i py), E + pz, pz - E, px + i py) / sqrt(2)``, i.e. the entries of ``E + p·σ`` (up to signs).
    """
    return _minkowski_to_irrep_exact().to(dtype=dtype, device=device)


def _complex_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


# ---------------------------------------------------------------------------------------------- LorentzMACE
class _GMACELayer(torch.nn.Module):
    """One G-MACE interaction + product layer (see the module doc)."""

    def __init__(self, group: Lorentz, channels: int, first: bool, last: bool, correlation: int, hidden: int,
                 num_pair: int) -> None:
        super().__init__()
        c = channels
        self.channels = c
        self.irreps_in = Irreps(group, f"{c}x(0,0)" if first else f"{c}x(0,0)+{c}x(1/2,1/2)")
        irreps_a = Irreps(group, f"{c}x(0,0)+{c}x(1/2,1/2)")
        self.irreps_out = Irreps(group, f"{c}x(0,0)" if last else f"{c}x(0,0)+{c}x(1/2,1/2)")
        scalar = Irreps(group, "(0,0)")[0].ir
        vector = Irreps(group, "(1/2,1/2)")[0].ir
        # paths (input segment, edge part: 0 = 1/n, 1 = x_j, output segment of A) and their couplings
        ins = [scalar] if first else [scalar, vector]
        paths, couplings, out_of = [], [], {scalar: 0, vector: 1}
        for s, ir_in in enumerate(ins):
            for y, ir_y in enumerate((scalar, vector)):
                for ir_out in (scalar, vector):
                    if ir_out in self.irreps_in.products(ir_in, ir_y):
                        paths.append((s, y, out_of[ir_out]))
                        cg = irreps_a.coupling(ir_in, ir_y, ir_out)[0]  # [d_in, d_y, d_out], Frobenius norm 1
                        couplings.append(cg * math.sqrt(ir_out.dim))
        self.paths = paths
        # complex128 constants kept off the buffers: Module.to(torch.float64) would drop their imaginary parts
        self._couplings = [c.to(torch.complex128) for c in couplings]
        self._by_out = [[k for k, (_, _, o) in enumerate(paths) if o == out] for out in (0, 1)]
        self._in_dims = [1] + ([] if first else [4])
        self.linear_up = Linear(self.irreps_in, self.irreps_in, group=group)
        self.radial = MLP((num_pair, hidden, hidden, c * len(paths)))
        self.linear_a = Linear(irreps_a, irreps_a, group=group)
        self.product = SymmetricContraction(irreps_a, self.irreps_out, correlation, 1, group=group)
        self.linear = Linear(self.irreps_out, self.irreps_out, group=group)
        self.skip = Linear(self.irreps_in, self.irreps_out, group=group)

    def forward(self, h: torch.Tensor, x: torch.Tensor, inv_n: torch.Tensor, pair: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """``h [B, N, dim_in]`` complex, ``x [B, N, 4]`` complex irrep-basis 4-vectors, ``inv_n [B]`` (1/n),
        ``pair [B, N, N, F]`` real pair invariants, ``mask [B, N]`` -> ``[B, N, dim_out]``."""
        b, n, _ = h.shape
        c = self.channels
        up = self.linear_up(h)
        segs = [s.reshape(b, n, c, d) for s, d in zip(up.split([c * d for d in self._in_dims], -1), self._in_dims)]
        edge = (inv_n.to(h.dtype)[:, None, None].expand(b, n, 1), x)
        # per particle j and path: [h_j (x) Y_j]_c  (linear in the weights, so computed once per particle)
        terms: list[list[torch.Tensor]] = [[], []]
        for k, (s, y, o) in enumerate(self.paths):
            cg = self._couplings[k].to(dtype=h.dtype, device=h.device)
            terms[o].append(torch.einsum("bjci,bjy,iyk->bjck", segs[s], edge[y], cg))
        weights = self.radial(pair) * mask[:, None, :, None].to(pair.dtype)  # [B, N_i, N_j, C * P]
        weights = weights.reshape(b, n, n, len(self.paths), c).to(h.real.dtype)
        a_parts = []
        for o in (0, 1):
            t = torch.view_as_real(torch.stack(terms[o], dim=2))  # [B, N_j, P_o, C, d, 2] (real, imaginary)
            w = weights[:, :, :, self._by_out[o]]  # [B, N_i, N_j, P_o, C], real
            # the weights are real: one real contraction over (j, p) for both parts, instead of a complex one
            a = torch.einsum("bijpc,bjpcdr->bicdr", w, t)
            a_parts.append(torch.view_as_complex(a.contiguous()).reshape(b, n, -1))
        a = self.linear_a(torch.cat(a_parts, dim=-1))
        ones = torch.ones(b * n, 1, dtype=a.real.dtype, device=a.device)
        prod = self.product(a.reshape(b * n, -1), ones).reshape(b, n, -1)
        return self.linear(prod) + self.skip(h)


class LorentzMACE(torch.nn.Module):
    """Lorentz-invariant jet tagger: G-MACE (MACE for SO+(1,3)) on the constituents' 4-momenta.

    ``model(momenta [B, N, 4] GeV, mask [B, N] bool | None) -> logits [B, num_classes]``. Exactly invariant
    (up to rounding) under proper orthochronous Lorentz transformations of all momenta, permutations of the
    constituents and extra padded slots. Works in float32 or float64 (``model.double()``); invariants are always
    computed in float64.

    Args:
        num_classes: outputs per jet (1: a single logit).
        channels: multiplicity ``C`` of ``(0,0)`` and ``(1/2,1/2)`` in the hidden features and the atomic basis.
        correlation: order of the symmetric contraction (>= 1; MACE: 3).
        num_layers: interaction layers (the last one outputs only ``(0,0)``).
        hidden: width of the MLPs (pair weights, embeddings, readout).
        momentum_scale: GeV; 4-vectors enter as ``p / momentum_scale``.
        invariant_scale: GeV^2; invariants ``s`` enter as ``psi(s) = sign(s) log(1 + |s| / invariant_scale)``.
    """

    def __init__(self, num_classes: int = 2, channels: int = 8, correlation: int = 3, num_layers: int = 2,
                 hidden: int = 32, momentum_scale: float = 100.0, invariant_scale: float = 1.0) -> None:
        super().__init__()
        if int(num_classes) < 1 or int(channels) < 1 or int(num_layers) < 1 or int(hidden) < 1:
            raise ValueError(f"num_classes, channels, num_layers and hidden must be >= 1, got {num_classes}, "
                             f"{channels}, {num_layers}, {hidden}")
        if int(correlation) < 1:
            raise ValueError(f"correlation must be >= 1, got {correlation}")
        if not (momentum_scale > 0 and invariant_scale > 0):
            raise ValueError(f"momentum_scale and invariant_scale must be > 0, got {momentum_scale}, "
                             f"{invariant_scale}")
        self.group = Lorentz()
        self.num_classes, self.channels, self.correlation = int(num_classes), int(channels), int(correlation)
        self.momentum_scale, self.invariant_scale = float(momentum_scale), float(invariant_scale)
        c, nl = self.channels, int(num_layers)
        self.embedding = MLP((5, hidden, c))
        self.layers = torch.nn.ModuleList(
            _GMACELayer(self.group, c, first=i == 0, last=i == nl - 1, correlation=self.correlation,
                        hidden=int(hidden), num_pair=4)
            for i in range(nl)
        )
        # per layer: real and imaginary parts of the C invariants; plus the embedding
        self.node_readout = MLP((c + 2 * c * nl, hidden, hidden))
        self.head = MLP((hidden, hidden, self.num_classes))

    def forward(self, momenta: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        p, mask = check_jets(momenta, mask)
        dtype = self.embedding[0].weight.dtype
        cdtype = _complex_dtype(dtype)
        node, pair = jet_invariants(p.to(torch.float64), mask, self.invariant_scale)
        node, pair = node.to(dtype), pair.to(dtype)
        s = minkowski_to_irrep(cdtype, p.device)
        x = (p.to(dtype) / self.momentum_scale).to(cdtype) @ s.T  # [B, N, 4] in the (1/2,1/2) basis
        inv_n = 1.0 / mask.sum(1).to(dtype)
        h0 = self.embedding(node)
        h = h0.to(cdtype)
        scalars = [h0]
        for layer in self.layers:
            h = layer(h, x, inv_n, pair, mask)
            inv = h[..., : self.channels]  # the C x (0,0) segment comes first
            scalars.extend([inv.real, inv.imag])
        feats = self.node_readout(torch.cat(scalars, dim=-1))
        return self.head(masked_mean(feats, mask))

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

(:class:`workbench.models.blocks.MACELayer`, the layer of every MACE here, with :class:`LorentzConvolution`, the
Lorentz :class:`workbench.nn.EquivariantConvolution` whose edge hook gives 4-vector edge features).

The "edge harmonic" is ``(1/n, x_j)``: its trivial part is ``1/n`` (``n`` = number of constituents, an
invariant) so scalar messages are averages over the jet, while 4-vector messages are sums of momenta (the sum of
all ``x_j`` is the jet 4-momentum). ``h_j (x) (1/n, x_j)`` uses the Lorentz couplings ``(0,0)x(1/2,1/2) ->
(1/2,1/2)`` and ``(1/2,1/2)x(1/2,1/2) -> (0,0)`` (the Minkowski product) per channel (MACE's ``uvu``
product; ``(1,0)+(0,1)+(1,1)`` are not kept). The weights ``R_c(inv_ij)`` are an MLP of pair invariants. The
jet is a fully connected graph over its real particles (self pair included; padded slots have no edges).
Initial features: an MLP of particle invariants. Readout: the ``(0,0)`` features of every layer (complex; their
real and imaginary parts are each Lorentz invariant, since ``(0,0)`` is the trivial irrep) -> per-particle MLP ->
masked mean -> MLP.

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

import torch

from workbench.checks import check_tensor
from workbench.groups import Irreps
from workbench.groups.lorentz import Lorentz
from workbench.models.blocks import MACELayer
from workbench.models.jet_features import MLP, check_jets, jet_invariants, masked_mean
from workbench.nn.convolution import EquivariantConvolution

__all__ = ["LorentzConvolution", "LorentzMACE", "minkowski_to_irrep"]

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
class LorentzConvolution(EquivariantConvolution):
    """The G-MACE atomic basis on jets: :class:`workbench.nn.EquivariantConvolution` for the Lorentz group with
    4-vector edge features (module doc): ``A_i = Linear( sum_j [h_j (x) (1/n, x_j)]_{R(inv_ij)} )``.

    Overrides only the edge hooks: :meth:`edge_attributes` returns ``Y_ij = (1/n, x_j)`` (irreps ``(0,0) +
    (1/2,1/2)``; ``x`` is the ``(1/2,1/2)``-basis 4-vector passed as ``pos [N, 4]`` complex, ``inv_n [N]`` the
    ``1/n`` of each particle's jet) and the pair invariants ``pair [E, num_pair]`` as edge scalars;
    :meth:`radial_network` is the jet MLP ``num_pair -> hidden -> hidden -> weights`` (SiLU). The paths to the same
    irrep are summed (``sum_paths=True``, coupling ``sqrt(dim) C``) and messages are not rescaled
    (``avg_num_neighbors = 1``: the scalar part is already a mean over the jet).
    """

    source_edge_attributes = True  # Y_ij = (1/n, x_j) is the source's: the product is coupled once per particle

    def __init__(self, irreps_in: Irreps, irreps_out: Irreps, *, num_pair: int, hidden: int) -> None:
        group = irreps_in.group
        super().__init__(irreps_in, irreps_out, num_basis=num_pair, radial_hidden=(hidden, hidden),
                         avg_num_neighbors=1.0, backend="torch", irreps_edge=Irreps(group, "(0,0)+(1/2,1/2)"),
                         group=group, sum_paths=True)

    def radial_network(self, weight_numel: int) -> torch.nn.Module:
        return MLP((self.num_basis, *self.radial_hidden, weight_numel))

    def edge_attributes(self, pos: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor | None = None, *,
                        inv_n: torch.Tensor, pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``Y_j = (1/n, x_j)`` ``[N, 5]`` per source particle (complex; :attr:`source_edge_attributes`) and
        ``pair [E, num_pair]`` (real) as the edge scalars."""
        if shifts is not None:
            raise ValueError("LorentzConvolution takes no shifts")
        check_tensor(pos, "pos", shape=("N", 4), hint="Minkowski momenta")
        check_tensor(inv_n, "inv_n", shape=(pos.shape[0],), hint="one 1/n per row of pos")
        check_tensor(pair, "pair", shape=(edge_index.shape[1], self.num_basis), hint="E, num_basis")
        return torch.cat([inv_n.to(pos.dtype)[:, None], pos], dim=-1), pair


def _jet_graph(mask: torch.Tensor) -> torch.Tensor:
    """``edge_index [2, E]`` (source j -> target i, node ``b * N + n``): every ordered pair of real particles of the
    same jet, self pairs included (the jet is a fully connected graph)."""
    b, n = mask.shape
    pairs = mask[:, :, None] & mask[:, None, :]  # [B, i, j]
    jet, i, j = pairs.nonzero(as_tuple=True)
    return torch.stack([jet * n + j, jet * n + i])


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
        scalars, full = Irreps(self.group, f"{c}x(0,0)"), Irreps(self.group, f"{c}x(0,0)+{c}x(1/2,1/2)")
        convolution = functools.partial(LorentzConvolution, irreps_out=full, num_pair=4, hidden=int(hidden))
        self.layers = torch.nn.ModuleList(
            MACELayer(irreps_in=scalars if i == 0 else full, irreps_out=scalars if i == nl - 1 else full,
                      convolution=convolution, correlation=self.correlation, num_elements=1,
                      self_connection="linear")
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
        b, n = mask.shape
        inv_n = (1.0 / mask.sum(1).to(dtype)).repeat_interleave(n)  # [B * N]: 1/n of each particle's jet
        edge_index = _jet_graph(mask)
        pair = pair.reshape(b * n * n, -1)[edge_index[1] * n + edge_index[0] % n]  # pair[jet, i, j] per edge j -> i
        x = x.reshape(b * n, 4)
        ones = torch.ones(b * n, 1, dtype=dtype, device=p.device)
        h0 = self.embedding(node)
        h = h0.to(cdtype).reshape(b * n, -1)
        scalars = [h0]
        for layer in self.layers:
            h = layer(h, ones, x, edge_index, inv_n=inv_n, pair=pair)
            inv = layer.scalars(h).reshape(b, n, -1)  # the C x (0,0) segment
            scalars.extend([inv.real, inv.imag])
        feats = self.node_readout(torch.cat(scalars, dim=-1))
        return self.head(masked_mean(feats, mask))

"""Equiformer (Liao & Smidt, ICLR 2023, arXiv 2206.11990) for molecular properties.

Transformer blocks on irreps features ``x`` (pre-norm, residual)::

    x <- x + GraphAttention(LayerNorm(x))
    x <- x + FeedForward(LayerNorm(x))            # Linear -> Gate -> Linear

Equivariant graph attention with MLP attention and non-linear messages (the paper's Fig. 1/2), for an edge
``j -> i``:

    x_ij  = Linear_dst(x_i) + Linear_src(x_j)                               # message input
    f_ij  = Linear(DTP(x_ij, Y(r_ij); R(|r_ij|)))                           # depth-wise (uvu) tensor product
    f_ij  = [f^0_ij (scalars for attention) , v_ij (values)]
    a_ij  = softmax_j( w_h . LeakyReLU(f^0_ij,h) )                           # MLP attention, per head h
    m_ij  = Linear(DTP(Gate(v_ij), Y(r_ij); R'(|r_ij|)))                    # non-linear message
    out_i = Linear( concat_h sum_j a_ij,h m_ij,h )                           # heads split the channels

Layer norm is :class:`workbench.nn.EquivariantLayerNorm` (the paper's equivariant LayerNorm); the depth-wise
tensor products are :func:`workbench.nn.convolution.edge_tensor_product`. Atoms start from an element
embedding plus the paper's "edge-degree embedding" (a convolution of the embedding with the edge spherical
harmonics). Every channel count of the hidden irreps must be divisible by ``num_heads``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from workbench.groups import o3
from workbench.models.base import QM9_ELEMENTS, MolecularModel, split_scalars_vectors
from workbench.nn.activation import Gate
from workbench.nn.convolution import EquivariantConvolution, edge_tensor_product
from workbench.nn.graph import edge_vectors, scatter_sum
from workbench.nn.linear import Linear
from workbench.nn.norm import EquivariantDropout, EquivariantLayerNorm
from workbench.nn.radial import BesselBasis, PolynomialCutoff, RadialMLP
from workbench.nn.spherical_harmonics import SphericalHarmonics

__all__ = ["Equiformer", "GraphAttention", "segment_softmax"]


def segment_softmax(logits: torch.Tensor, index: torch.Tensor, num_segments: int) -> torch.Tensor:
    """Softmax of ``logits [E, H]`` over the edges sharing ``index [E]`` (each receiver), numerically stable."""
    shape = (num_segments,) + tuple(logits.shape[1:])
    expand = index.view(-1, *([1] * (logits.dim() - 1))).expand_as(logits)
    top = logits.new_full(shape, float("-inf")).scatter_reduce(0, expand, logits, "amax", include_self=True)
    ex = torch.exp(logits - top.index_select(0, index).detach())
    den = scatter_sum(ex, index, num_segments)
    return ex / den.index_select(0, index)


def _head_of_component(irreps: o3.Irreps, num_heads: int) -> torch.Tensor:
    """Head index of every component of ``irreps`` (e3nn layout): channel ``u`` of a ``mul x ir`` segment belongs
    to head ``u // (mul / num_heads)``."""
    heads = []
    for mul, ir in irreps:
        if mul % num_heads:
            raise ValueError(f"every multiplicity of {irreps} must be divisible by num_heads={num_heads}")
        per = mul // num_heads
        heads.append(torch.arange(mul).div(per, rounding_mode="floor").repeat_interleave(ir.dim))
    return torch.cat(heads)


class GraphAttention(torch.nn.Module):
    """Equivariant graph attention (module docstring): ``x [N, irreps.dim] -> [N, irreps.dim]``.

    Args:
        irreps: node feature irreps.
        irreps_sh: irreps of the edge spherical harmonics (given as ``sh [E, irreps_sh.dim]`` to forward).
        num_heads: attention heads; ``alpha_channels`` scalars per head enter the attention MLP.
        num_basis, radial_hidden: the radial MLPs' input (the edge embedding) and hidden widths.
    """

    def __init__(self, irreps, irreps_sh, num_heads: int, alpha_channels: int, num_basis: int,
                 radial_hidden: Sequence[int], dropout: float = 0.0) -> None:
        super().__init__()
        irreps = o3.Irreps(irreps)
        self.num_heads, self.alpha_channels = int(num_heads), int(alpha_channels)
        self.linear_src = Linear(irreps, irreps)
        self.linear_dst = Linear(irreps, irreps, biases=True)
        # first depth-wise TP -> attention scalars + gate inputs of the values
        self.gate = Gate.from_irreps(irreps)  # SiLU on the scalars, sigmoid gates (normalize2mom, as e3nn)
        irreps_alpha = o3.Irreps(f"{self.num_heads * self.alpha_channels}x0e")
        self.tp1 = edge_tensor_product(irreps, irreps_sh, irreps)
        self.radial1 = RadialMLP([num_basis, *radial_hidden, self.tp1.weight_numel])
        self.linear1 = Linear(self.tp1.irreps_out, irreps_alpha + o3.Irreps(self.gate.irreps_in))
        self._split = (irreps_alpha.dim, o3.Irreps(self.gate.irreps_in).dim)
        self.attention_vector = torch.nn.Parameter(
            torch.randn(self.num_heads, self.alpha_channels) / self.alpha_channels**0.5)
        # second depth-wise TP on the gated values: the non-linear message
        values = o3.Irreps(self.gate.irreps_out)
        self.tp2 = edge_tensor_product(values, irreps_sh, irreps)
        self.radial2 = RadialMLP([num_basis, *radial_hidden, self.tp2.weight_numel])
        self.linear2 = Linear(self.tp2.irreps_out, irreps)
        self.register_buffer("_heads", _head_of_component(irreps, self.num_heads), persistent=False)
        self.dropout = EquivariantDropout(irreps, dropout) if dropout else None
        self.projection = Linear(irreps, irreps, biases=True)

    def forward(self, x, sh, edge_embedding, edge_index):
        src, dst = edge_index
        n = x.shape[0]
        m = self.linear_src(x).index_select(0, src) + self.linear_dst(x).index_select(0, dst)
        f = self.linear1(self.tp1(m, sh, self.radial1(edge_embedding)))
        alpha_in, value = f.split(self._split, dim=-1)
        alpha_in = torch.nn.functional.leaky_relu(alpha_in.reshape(-1, self.num_heads, self.alpha_channels), 0.2)
        logits = (alpha_in * self.attention_vector.to(x.dtype)).sum(-1)  # [E, H]
        alpha = segment_softmax(logits, dst, n)
        msg = self.linear2(self.tp2(self.gate(value), sh, self.radial2(edge_embedding)))  # [E, irreps.dim]
        msg = msg * alpha.index_select(1, self._heads)
        out = scatter_sum(msg, dst, n)
        if self.dropout is not None:
            out = self.dropout(out)
        return self.projection(out)


class _FeedForward(torch.nn.Module):
    def __init__(self, irreps, hidden_irreps):
        super().__init__()
        self.gate = Gate.from_irreps(hidden_irreps)
        self.linear1 = Linear(irreps, self.gate.irreps_in, biases=True)
        self.linear2 = Linear(self.gate.irreps_out, irreps, biases=True)

    def forward(self, x):
        return self.linear2(self.gate(self.linear1(x)))


class Equiformer(MolecularModel):
    """Equiformer with ``num_layers`` transformer blocks (arguments of the base class pass through).

    Args:
        channels: multiplicity of every hidden irrep ``channels x (0e + 1o + ...)`` up to ``lmax``.
        lmax: highest degree of hidden features and edge spherical harmonics.
        num_layers: transformer blocks (the paper: 6 for QM9).
        num_heads: attention heads (the paper: 4); ``channels`` must be divisible by it.
        alpha_channels: scalars per head in the attention MLP.
        ffn_multiplier: width of the feed-forward hidden irreps relative to ``channels``.
        dropout: equivariant dropout on the attention output (the paper: 0.2 "alpha drop"; here on messages).
    """

    def __init__(self, channels: int = 32, lmax: int = 2, num_layers: int = 3, num_heads: int = 4,
                 alpha_channels: int = 8, ffn_multiplier: int = 2, num_basis: int = 8,
                 radial_hidden: Sequence[int] = (64,), avg_num_neighbors: float = 16.0, dropout: float = 0.0,
                 elements: Sequence[int] = QM9_ELEMENTS, r_max: float = 5.0, output: str = "scalar",
                 reduce: str = "sum") -> None:
        super().__init__(elements, r_max, output, reduce)
        if int(lmax) < 1 or int(num_layers) < 1:
            raise ValueError(f"need lmax >= 1 and num_layers >= 1, got {lmax}, {num_layers}")
        irreps = o3.Irreps.natural(int(channels), int(lmax))
        _head_of_component(irreps, int(num_heads))  # validates divisibility early
        self.irreps_hidden = irreps
        self.sh = SphericalHarmonics(int(lmax), normalize=True, normalization="component")
        self.radial_basis = BesselBasis(self.r_max, num_basis, normalize=True)
        self.cutoff = PolynomialCutoff(self.r_max, 6)
        self.embedding = Linear(f"{self.num_elements}x0e", irreps)
        self.edge_degree = EquivariantConvolution(f"{self.num_elements}x0e", irreps, lmax=int(lmax),
                                                  r_max=self.r_max, num_basis=num_basis,
                                                  radial_hidden=radial_hidden, avg_num_neighbors=avg_num_neighbors)
        self.norms1 = torch.nn.ModuleList()
        self.attentions = torch.nn.ModuleList()
        self.norms2 = torch.nn.ModuleList()
        self.ffns = torch.nn.ModuleList()
        for _ in range(int(num_layers)):
            self.norms1.append(EquivariantLayerNorm(irreps))
            self.attentions.append(GraphAttention(irreps, self.sh.irreps_out, num_heads, alpha_channels,
                                                  num_basis, radial_hidden, dropout))
            self.norms2.append(EquivariantLayerNorm(irreps))
            self.ffns.append(_FeedForward(irreps, o3.Irreps.natural(int(ffn_multiplier) * int(channels), int(lmax))))
        self.final_norm = EquivariantLayerNorm(irreps)
        self._init_head(channels, channels)

    def node_features(self, species, pos, edge_index, shifts=None):
        onehot = self.one_hot(species, pos.dtype)
        vec = edge_vectors(pos, edge_index, shifts)
        r = torch.linalg.norm(vec, dim=-1)
        sh = self.sh(vec)
        edge_embedding = self.radial_basis(r) * self.cutoff(r)[:, None]
        x = self.embedding(onehot) + self.edge_degree(onehot, pos, edge_index, shifts)
        for norm1, attention, norm2, ffn in zip(self.norms1, self.attentions, self.norms2, self.ffns):
            x = x + attention(norm1(x), sh, edge_embedding, edge_index)
            x = x + ffn(norm2(x))
        return split_scalars_vectors(self.final_norm(x), self.irreps_hidden)

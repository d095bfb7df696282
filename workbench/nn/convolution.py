"""Equivariant point convolution (NequIP/MACE interaction) for any group, with PyG-style hooks.

For each edge ``j -> i`` (``edge_index[0] = j`` the source, ``edge_index[1] = i`` the target)::

    (Y_ij, s_ij) = edge_attributes(pos, edge_index, ...)        # edge irreps [E, irreps_edge.dim], scalars [E, F]
    w_ij = radial(s_ij)                                         # per-edge tensor-product weights
    m_ij = message(x, Y, w, edge_index) = TP_uvu(x_j, Y_ij; w_ij)
    a_i  = aggregate(m, edge_index, N)  = sum_j m_ij / avg_num_neighbors
    out_i = update(a, x)                = Linear(a_i)

O(3) (``group=None``): ``r_ij = pos[i] - pos[j] + shift``, ``Y`` the spherical harmonics up to ``lmax`` (component
normalization, ``irreps_edge = 1x0e+1x1o+...``), ``s = Bessel(|r_ij|) * cutoff(|r_ij|)``. Any other group: pass
``irreps_edge`` and either give ``forward`` the edge features (``edge_attr=[E, irreps_edge.dim]``,
``edge_scalars=[E, num_basis]``) or subclass and override :meth:`EquivariantConvolution.edge_attributes` (e.g.
4-vector edge features for the Lorentz group, :class:`workbench.models.lorentz_mace.LorentzConvolution`). The
``uvu`` tensor product keeps every path ``ir_in x ir_edge -> ir_out`` whose ``ir_out`` occurs in ``irreps_out``
(NequIP's rule), one segment per path (``sum_paths=False``) or summed per output irrep (``sum_paths=True``, the
G-MACE form). The sum uses ``torch.Tensor.index_add`` (no torch-scatter). An empty edge set gives ``Linear(0)``.

``backend="triton"`` (or ``"auto"`` on CUDA with Triton installed) replaces gather + spherical harmonics + tensor
product + scatter by one fused kernel (:func:`workbench.kernels.fused_convolution`; ``deterministic=True`` uses the
sorted-receiver variant instead of atomics), for the O(3) convolution with the default hooks. Same numbers as the
torch path up to summation order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.groups import LieGroup, as_irreps, o3
from workbench.kernels import fused_convolution, resolve_backend
from workbench.kernels.dispatch import check_backend
from workbench.nn.graph import check_edge_index
from workbench.nn.linear import Linear
from workbench.nn.radial import BesselBasis, PolynomialCutoff, RadialMLP
from workbench.nn.spherical_harmonics import SphericalHarmonics
from workbench.nn.tensor_product import TensorProduct

__all__ = ["EquivariantConvolution", "edge_tensor_product"]


def edge_tensor_product(irreps_in: Any, irreps_edge: Any, irreps_wanted: Any, *, group: LieGroup | str | None = None,
                        sum_paths: bool = False) -> TensorProduct:
    """The channelwise (``uvu``) product ``x_j (x) Y_ij`` of a point convolution, with per-edge weights.

    Keeps every path ``ir_in x ir_edge -> ir`` whose ``ir`` occurs in ``irreps_wanted`` (NequIP's rule).
    ``sum_paths=False``: one output segment per path, in the order (input segment, edge segment, ``ir_in x
    ir_edge``), with e3nn's default normalization (feed ``irreps_out`` to a :class:`Linear`); shared by
    :class:`EquivariantConvolution` and the attention blocks of :mod:`workbench.models`. ``sum_paths=True``: the
    paths to the same irrep are summed into one segment (``irreps_out`` = the reached irreps of
    ``irreps_wanted`` in its order, multiplicity that of the inputs, which must all agree), each path scaled by
    ``sqrt(dim ir_out)`` only (component normalization, no path normalization), as in G-MACE.
    Raises ValueError when no path reaches ``irreps_wanted``.
    """
    irreps_in, irreps_edge = as_irreps(irreps_in, group), as_irreps(irreps_edge, group)
    wanted_irreps = as_irreps(irreps_wanted, group)
    wanted = [ir for _, ir in wanted_irreps]
    mid, instructions = [], []
    if sum_paths:
        muls = {mul for mul, _ in irreps_in}
        if len(muls) != 1:
            raise ValueError(f"sum_paths=True needs one multiplicity in irreps_in, got {irreps_in}")
        targets = list(dict.fromkeys(wanted))
        for i1, (_, ir1) in enumerate(irreps_in):
            for i2, (_, ir2) in enumerate(irreps_edge):
                reached = irreps_in.products(ir1, ir2)
                for k, ir in enumerate(targets):
                    if ir in reached:
                        instructions.append((i1, i2, k, "uvu", True))
        used = sorted({k for _, _, k, _, _ in instructions})
        remap = {k: n for n, k in enumerate(used)}
        instructions = [(a, b, remap[k], m, w) for a, b, k, m, w in instructions]
        mul = muls.pop()
        mid = [(mul, targets[k]) for k in used]
        normalization = {"path_normalization": "none"}
    else:
        for i1, (mul, ir1) in enumerate(irreps_in):
            for i2, (_, ir2) in enumerate(irreps_edge):
                for ir in irreps_in.products(ir1, ir2):
                    if ir in wanted:
                        instructions.append((i1, i2, len(mid), "uvu", True))
                        mid.append((mul, ir))
        normalization = {}
    if not instructions:
        raise ValueError(f"no path from {irreps_in} x {irreps_edge} reaches {wanted_irreps}")
    return TensorProduct(irreps_in, irreps_edge, irreps_in._new(mid), instructions, shared_weights=False,
                         internal_weights=False, group=irreps_in.group, **normalization)


class EquivariantConvolution(torch.nn.Module):
    """Equivariant convolution ``x [N, irreps_in.dim] -> [N, irreps_out.dim]`` over a graph, for any group.

    Args:
        irreps_in, irreps_out: node feature irreps (O(3) strings, or irreps of ``group``).
        irreps_edge: irreps of the edge attributes ``Y``; O(3) default: spherical harmonics up to ``lmax``.
            Required for any other group.
        group: ``None`` for O(3) or a ``workbench.groups`` group.
        lmax: maximum degree of the edge spherical harmonics (O(3) only, when ``irreps_edge`` is not given).
        r_max: cutoff radius (Bessel basis and polynomial envelope; O(3)).
        num_basis: number of Bessel functions (O(3)); for other groups the width ``F`` of ``edge_scalars``.
        radial_hidden: hidden widths of the radial MLP (:meth:`radial_network`).
        avg_num_neighbors: the message sum is divided by this number.
        sum_paths: sum the paths to the same output irrep (:func:`edge_tensor_product`).
        backend: ``"auto"`` | ``"triton"`` | ``"torch"`` (module docstring; the fused kernel covers O(3)).
        deterministic: with the Triton backend, sum messages in receiver order instead of with atomics.

    Hooks (override in a subclass, PyG style; each sees the same tensors the default uses):
    :meth:`edge_attributes`, :meth:`radial_network`, :meth:`message`, :meth:`aggregate`, :meth:`update`.
    A subclass whose edge attributes are those of the edge's source node sets :attr:`source_edge_attributes` and
    returns them per node from :meth:`edge_attributes`; the product is then coupled once per node.
    """

    #: True when :meth:`edge_attributes` returns ``[N, irreps_edge.dim]`` per source node instead of per edge.
    source_edge_attributes: bool = False

    def __init__(
        self,
        irreps_in: Any,
        irreps_out: Any,
        lmax: int = 3,
        r_max: float = 5.0,
        num_basis: int = 8,
        radial_hidden: Sequence[int] = (64,),
        avg_num_neighbors: float = 1.0,
        cutoff_p: int = 6,
        backend: str = "auto",
        deterministic: bool = False,
        *,
        irreps_edge: Any = None,
        group: LieGroup | str | None = None,
        sum_paths: bool = False,
    ) -> None:
        super().__init__()
        check_backend(backend)
        self.backend, self.deterministic = backend, bool(deterministic)
        self.irreps_in, self.irreps_out = as_irreps(irreps_in, group), as_irreps(irreps_out, group)
        self.group = self.irreps_in.group
        self.is_o3 = isinstance(self.irreps_in, o3.Irreps)
        if int(num_basis) < 1:
            raise ValueError(f"num_basis must be >= 1, got {num_basis}")
        self.num_basis, self.radial_hidden = int(num_basis), tuple(int(h) for h in radial_hidden)
        if self.is_o3 and irreps_edge is None:
            self.sh = SphericalHarmonics(int(lmax), normalize=True, normalization="component")
            self.irreps_edge = self.sh.irreps_out
        elif irreps_edge is None:
            raise ValueError(f"irreps_edge is required for group {self.group.name} (irreps of the edge attributes)")
        else:
            self.sh = None
            self.irreps_edge = as_irreps(irreps_edge, self.group)
        self.irreps_sh = self.irreps_edge  # the O(3) name
        self.tp = edge_tensor_product(self.irreps_in, self.irreps_edge, self.irreps_out, sum_paths=sum_paths)
        self.irreps_mid = self.tp.irreps_out
        if self.sh is not None:
            self.radial_basis = BesselBasis(r_max, num_basis, normalize=True)
            self.cutoff = PolynomialCutoff(r_max, cutoff_p)
        else:
            self.radial_basis = self.cutoff = None
        self.radial = self.radial_network(self.tp.weight_numel)
        self.linear = Linear(self.irreps_mid, self.irreps_out)
        self.avg_num_neighbors = float(avg_num_neighbors)
        if not self.avg_num_neighbors > 0:
            raise ValueError(f"avg_num_neighbors must be > 0, got {avg_num_neighbors}")

    # ------------------------------------------------------------------------------------------------ hooks
    def radial_network(self, weight_numel: int) -> torch.nn.Module:
        """The module mapping edge scalars ``[E, num_basis]`` to tensor-product weights ``[E, weight_numel]``
        (default: :class:`RadialMLP` ``[num_basis, *radial_hidden, weight_numel]``). Called once in ``__init__``."""
        return RadialMLP([self.num_basis, *self.radial_hidden, weight_numel])

    def edge_vectors(self, pos: torch.Tensor, edge_index: torch.Tensor,
                     shifts: torch.Tensor | None = None) -> torch.Tensor:
        """O(3): ``r_ij = pos[i] - pos[j] (+ shifts)`` ``[E, 3]``; raises ValueError for a zero-length edge."""
        check_tensor(pos, "pos", shape=("N", 3))
        src, dst = edge_index[0], edge_index[1]
        vec = pos.index_select(0, dst) - pos.index_select(0, src)
        if shifts is not None:
            check_tensor(shifts, "shifts", shape=(vec.shape[0], 3), hint="one row per edge")
            vec = vec + shifts.to(vec.dtype)
        return vec

    def _radial_embedding(self, vec: torch.Tensor) -> torch.Tensor:
        r = torch.linalg.norm(vec, dim=-1)
        if not torch.compiler.is_compiling() and vec.shape[0] and bool((r == 0).any()):
            raise ValueError("zero-length edge: two connected nodes sit at the same position")
        return self.radial_basis(r) * self.cutoff(r)[:, None]

    def edge_attributes(self, pos: torch.Tensor | None, edge_index: torch.Tensor, shifts: torch.Tensor | None = None,
                        edge_attr: torch.Tensor | None = None, edge_scalars: torch.Tensor | None = None,
                        **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Edge attributes ``Y [E, irreps_edge.dim]`` and edge scalars ``s [E, num_basis]`` (radial input).

        O(3) default: spherical harmonics of ``r_ij`` and ``Bessel(|r_ij|) * cutoff(|r_ij|)``. Otherwise (or when
        given) ``edge_attr`` and ``edge_scalars`` are returned as passed to ``forward``, after a shape check.
        Extra ``forward`` keywords arrive in ``kwargs`` (for subclasses).
        """
        num_edges = edge_index.shape[1]
        if edge_attr is None and edge_scalars is None and self.sh is not None:
            if kwargs:
                raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}")
            vec = self.edge_vectors(pos, edge_index, shifts)
            return self.sh(vec), self._radial_embedding(vec)
        if edge_attr is None or edge_scalars is None:
            raise ValueError("pass both edge_attr [E, irreps_edge.dim] and edge_scalars [E, num_basis] (or override "
                             "EquivariantConvolution.edge_attributes)")
        if kwargs:
            raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}")
        check_tensor(edge_attr, "edge_attr", shape=(num_edges, self.irreps_edge.dim), hint=self.irreps_edge)
        check_tensor(edge_scalars, "edge_scalars", shape=(num_edges, self.num_basis), hint="E, num_basis")
        return edge_attr, edge_scalars

    def message(self, x: torch.Tensor, edge_attr: torch.Tensor, weights: torch.Tensor,
                edge_index: torch.Tensor) -> torch.Tensor:
        """``m_ij = TP_uvu(x_j, Y_ij; w_ij)``: ``[E, irreps_mid.dim]``. With :attr:`source_edge_attributes`,
        ``edge_attr`` is ``[N, irreps_edge.dim]`` (an edge's attribute is its source node's) and the product is
        coupled once per node (:meth:`TensorProduct.gathered`)."""
        if self.source_edge_attributes:
            return self.tp.gathered(x, edge_attr, weights, edge_index[0])
        return self.tp(x.index_select(0, edge_index[0]), edge_attr, weights)

    def aggregate(self, messages: torch.Tensor, edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
        """``a_i = sum_j m_ij / avg_num_neighbors``: ``[N, irreps_mid.dim]``."""
        agg = messages.new_zeros(num_nodes, messages.shape[1]).index_add(0, edge_index[1], messages)
        return agg / self.avg_num_neighbors

    def update(self, aggregated: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``out_i = Linear(a_i)``: ``[N, irreps_out.dim]`` (``x`` is there for subclasses, e.g. a residual)."""
        return self.linear(aggregated)

    # ---------------------------------------------------------------------------------------------- forward
    def _fusable(self) -> bool:
        base = EquivariantConvolution
        cls = type(self)
        return (self.sh is not None and self.backend != "torch" and cls.edge_attributes is base.edge_attributes
                and cls.message is base.message and cls.aggregate is base.aggregate
                and cls.radial_network is base.radial_network)

    def _fused(self, x: torch.Tensor, vec: torch.Tensor, weights: torch.Tensor, edge_index: torch.Tensor):
        """Gather + spherical harmonics + uvu product + scatter in one Triton kernel, ``[N, irreps_mid.dim]``."""
        return fused_convolution(x, vec, weights, edge_index, self.tp.kernel_spec(), normalize=True,
                                 normalization="component", deterministic=self.deterministic, backend="triton")

    def forward(
        self,
        x: torch.Tensor,
        pos: torch.Tensor | None,
        edge_index: torch.Tensor,
        shifts: torch.Tensor | None = None,
        **edge_inputs: Any,
    ) -> torch.Tensor:
        """``x [N, irreps_in.dim]``, ``pos [N, 3]`` (O(3); other groups: whatever :meth:`edge_attributes` reads,
        or ``None``), ``edge_index [2, E]`` (source -> target), optional ``shifts [E, 3]``; further keywords go to
        :meth:`edge_attributes` (``edge_attr``, ``edge_scalars``, or a subclass's own). Returns
        ``[N, irreps_out.dim]``."""
        check_tensor(x, "x", shape=("N", self.irreps_in.dim), hint=self.irreps_in)
        if self.sh is not None and not edge_inputs:
            check_tensor(pos, "pos", shape=(x.shape[0], 3), hint="one row per row of x")
        if not torch.compiler.is_compiling():
            check_edge_index(edge_index, x.shape[0])
        if not edge_inputs and edge_index.shape[1] and self._fusable() and resolve_backend(self.backend, x) == "triton":
            vec = self.edge_vectors(pos, edge_index, shifts)
            weights = self.radial(self._radial_embedding(vec))
            return self.update(self._fused(x, vec, weights, edge_index) / self.avg_num_neighbors, x)
        edge_attr, edge_scalars = self.edge_attributes(pos, edge_index, shifts, **edge_inputs)
        weights = self.radial(edge_scalars)
        messages = self.message(x, edge_attr, weights, edge_index)
        return self.update(self.aggregate(messages, edge_index, x.shape[0]), x)

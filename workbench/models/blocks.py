"""Shared model blocks: :class:`MACELayer`, the one MACE layer of the molecular MACE, ShapeMACE and the Lorentz
G-MACE.

MACE (Batatia et al., NeurIPS 2022, arXiv 2206.07697; G-MACE, arXiv 2306.00091), for any group::

    A_i = Conv( Linear(h) )_i                        # atomic basis: convolution to irreps_a (passed in)
          [+ extra_basis_i]                          # optional extra term (ShapeMACE's centroid neighbour)
          [A_i <- A_i / rms(A_i)]                    # optional: one invariant RMS over all components
    B_i = SymmetricContraction(A_i; y_i)             # many-body product, body order correlation + 1
    h_i <- Linear(B_i) + SelfConnection(h_i, y_i)    # element-dependent skip (or a plain Linear)

``y_i`` are the node attributes (species one-hot ``[N, num_elements]``; a column of ones for one element).
The convolution is *composed in*: the layer receives a factory ``convolution(irreps_in) -> module`` (an
:class:`workbench.nn.EquivariantConvolution` or a subclass with other edge features, e.g.
:class:`workbench.models.lorentz_mace.LorentzConvolution`) whose ``irreps_in`` equals the layer's and whose
``irreps_out`` is the atomic basis. The factory is called after ``linear_up`` is built, so the parameters are
created (and randomly initialized) in the order ``linear_up, conv, product, linear, self_connection``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from workbench.checks import check_tensor
from workbench.groups import Irreps, LieGroup, as_irreps, o3
from workbench.nn.linear import Linear
from workbench.nn.symmetric_contraction import SymmetricContraction
from workbench.nn.tensor_product import FullyConnectedTensorProduct

__all__ = ["MACELayer"]

_SELF_CONNECTIONS = ("element", "linear")


class MACELayer(torch.nn.Module):
    """One MACE layer ``h [N, irreps_in.dim] -> [N, irreps_out.dim]`` (module docstring); keyword-only.

    Args:
        irreps_in: irreps of the incoming node features ``h`` (O(3) string or :class:`Irreps` of ``group``).
        irreps_out: irreps of the outgoing node features.
        convolution: ``convolution(irreps_in) -> module`` with ``module(x, pos, edge_index, **edge_inputs) ->
            [N, irreps_a.dim]`` and attributes ``irreps_in == irreps_in`` and ``irreps_out = irreps_a``.
        correlation: order of the symmetric contraction (>= 1; MACE: 3).
        num_elements: width of the node attributes ``y`` (species one-hot; 1 for a single element).
        self_connection: ``"element"``: MACE's element-dependent skip, a fully connected tensor product of ``h``
            with ``y`` (O(3)); ``"linear"``: a :class:`Linear` of ``h`` (one element, any group).
        normalize_atomic_basis: divide ``A_i`` by its RMS over all components (``+ eps``) before the product
            (ShapeMACE: keeps the cube of the product from amplifying changes of scale).
        eps: added to the mean square under the square root.
        group: ``None`` for O(3) or the group of string irreps.
    """

    def __init__(
        self,
        *,
        irreps_in: Any,
        irreps_out: Any,
        convolution: Callable[[Irreps], torch.nn.Module],
        correlation: int,
        num_elements: int = 1,
        self_connection: str = "element",
        normalize_atomic_basis: bool = False,
        eps: float = 1e-6,
        group: LieGroup | str | None = None,
    ) -> None:
        super().__init__()
        irreps_in, irreps_out = as_irreps(irreps_in, group), as_irreps(irreps_out, group)
        if not callable(convolution):
            raise TypeError(f"convolution must be a callable irreps_in -> module, got {type(convolution).__name__}")
        if self_connection not in _SELF_CONNECTIONS:
            raise ValueError(f"self_connection must be one of {_SELF_CONNECTIONS}, got {self_connection!r}")
        if isinstance(num_elements, bool) or not isinstance(num_elements, int) or num_elements < 1:
            raise ValueError(f"num_elements must be an integer >= 1, got {num_elements!r}")
        self.irreps_in, self.irreps_out = irreps_in, irreps_out
        self.linear_up = Linear(irreps_in, irreps_in)
        self.conv = convolution(irreps_in)
        if getattr(self.conv, "irreps_in", None) != irreps_in:
            raise ValueError(f"convolution(irreps_in) must build a module with irreps_in == {irreps_in}, got "
                             f"{getattr(self.conv, 'irreps_in', None)}")
        self.irreps_a = as_irreps(self.conv.irreps_out, irreps_in.group)
        self.normalize_atomic_basis, self.eps = bool(normalize_atomic_basis), float(eps)
        self.product = SymmetricContraction(self.irreps_a, irreps_out, int(correlation), num_elements)
        self.linear = Linear(irreps_out, irreps_out)
        self.self_connection_kind = self_connection
        if self_connection == "element":
            if not isinstance(irreps_in, o3.Irreps):
                raise ValueError("self_connection='element' is the O(3) tensor product with the species one-hot; use "
                                 f"'linear' for {irreps_in.group.name}")
            self.self_connection = FullyConnectedTensorProduct(irreps_in, f"{num_elements}x0e", irreps_out)
        else:
            self.self_connection = Linear(irreps_in, irreps_out)
        self._scalar_slices = [sl for (_, ir), sl in zip(irreps_out, irreps_out.slices()) if irreps_out.is_trivial(ir)]

    def forward(self, h: torch.Tensor, node_attrs: torch.Tensor, pos: torch.Tensor | None, edge_index: torch.Tensor,
                *, extra_basis: torch.Tensor | None = None, **edge_inputs: Any) -> torch.Tensor:
        """``h [N, irreps_in.dim]``, ``node_attrs [N, num_elements]`` (real), ``pos`` and ``edge_index [2, E]``
        and ``edge_inputs`` for the convolution, optional ``extra_basis [N, irreps_a.dim]`` added to ``A``;
        returns ``[N, irreps_out.dim]``."""
        a = self.conv(self.linear_up(h), pos, edge_index, **edge_inputs)
        if extra_basis is not None:
            check_tensor(extra_basis, "extra_basis", shape=(a.shape[0], a.shape[1]), hint=self.irreps_a)
            a = a + extra_basis
        if self.normalize_atomic_basis:
            a = a * torch.rsqrt(a.square().mean(dim=1, keepdim=True) + self.eps)
        out = self.linear(self.product(a, node_attrs))
        if self.self_connection_kind == "element":
            return out + self.self_connection(h, node_attrs)
        return out + self.self_connection(h)

    def scalars(self, h: torch.Tensor) -> torch.Tensor:
        """The trivial-irrep (invariant) columns of this layer's output ``h [..., irreps_out.dim]``:
        ``[..., number of invariant channels]`` (O(3): the ``0e`` segments), what a MACE readout reads."""
        check_tensor(h, "h", shape=(..., self.irreps_out.dim), hint=self.irreps_out)
        if not self._scalar_slices:
            raise ValueError(f"irreps_out {self.irreps_out} hold no invariant scalars to read out")
        return torch.cat([h[..., sl] for sl in self._scalar_slices], dim=-1)

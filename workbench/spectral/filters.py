"""Spectral graph filters ``y = h(L) x = U h(Lambda) U^T x`` and graphs carrying a signal, for the filter-learning
task of Lim et al. (arXiv 2202.13013, after Balcilar et al. 2021): learn ``x -> h(L) x`` for an unknown ``h``.

``L`` is the symmetric normalized Laplacian by default (eigenvalues in ``[0, 2]``, :mod:`workbench.spectral.laplacian`);
the named responses (:data:`FILTERS`) are Balcilar et al.'s on that interval:

- ``"low_pass"``: ``exp(-10 lambda^2)``; ``"high_pass"``: ``1 - exp(-10 lambda^2)``;
- ``"band_pass"``: ``exp(-10 (lambda - 1)^2)``; ``"band_reject"``: ``1 - exp(-10 (lambda - 1)^2)``;
- ``"comb"``: ``|sin(pi lambda)|``.

:func:`spectral_filter` applies a response (a name or any callable on a float64 tensor of eigenvalues) to signals
``[n, C]`` of one graph with a full float64 ``eigh``; a function of ``L`` does not depend on the eigenvectors' signs
or bases, so neither does the target. :class:`SignalGraph` / :func:`collate_signal_graphs` hold an encoded graph
(:func:`~workbench.spectral.encode_graph`) with its node signal and filtered target; :class:`SignalBatch` is their
batch for the models of :mod:`workbench.models.filter_nets`.

Examples:
    >>> import torch
    >>> from workbench.spectral import cycle_graph, spectral_filter
    >>> x = torch.zeros(6, 1, dtype=torch.float64); x[0] = 1.0
    >>> y = spectral_filter(cycle_graph(6), 6, x, lambda lam: 1.0 - lam)  # 1 - L_sym = D^-1/2 A D^-1/2
    >>> [round(v, 9) + 0.0 for v in y[:, 0].tolist()]
    [0.0, 0.5, 0.0, 0.0, 0.0, 0.5]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch

from workbench.checks import check_tensor
from workbench.spectral.batch import EncodedGraph, GraphBatch, collate_graphs
from workbench.spectral.laplacian import NORMALIZATIONS, laplacian

__all__ = ["FILTERS", "SignalBatch", "SignalGraph", "collate_signal_graphs", "filter_response", "spectral_filter"]

#: Named filter responses ``h(lambda)`` on the normalized Laplacian's spectrum ``[0, 2]`` (module docstring).
FILTERS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "low_pass": lambda lam: torch.exp(-10.0 * lam**2),
    "high_pass": lambda lam: 1.0 - torch.exp(-10.0 * lam**2),
    "band_pass": lambda lam: torch.exp(-10.0 * (lam - 1.0) ** 2),
    "band_reject": lambda lam: 1.0 - torch.exp(-10.0 * (lam - 1.0) ** 2),
    "comb": lambda lam: torch.abs(torch.sin(math.pi * lam)),
}


def filter_response(response: str | Callable[[torch.Tensor], torch.Tensor], eigvals: torch.Tensor) -> torch.Tensor:
    """``h(eigvals)``: ``response`` is a name of :data:`FILTERS` or a callable mapping a float tensor to one of the
    same shape; the result must be finite."""
    if isinstance(response, str):
        if response not in FILTERS:
            raise ValueError(f"response must be one of {sorted(FILTERS)} or a callable, got {response!r}")
        response = FILTERS[response]
    if not callable(response):
        raise ValueError(f"response must be a filter name or a callable, got {type(response).__name__}")
    h = response(eigvals)
    if not isinstance(h, torch.Tensor) or h.shape != eigvals.shape or not bool(torch.isfinite(h).all()):
        raise ValueError("response must map the eigenvalues to a finite tensor of the same shape")
    return h


def spectral_filter(edge_index: torch.Tensor, num_nodes: int, signal: torch.Tensor,
                    response: str | Callable[[torch.Tensor], torch.Tensor], normalization: str = "sym"
                    ) -> torch.Tensor:
    """``U h(Lambda) U^T signal`` for one graph, float64.

    Args:
        edge_index: ``[2, E]`` int64 local indices, both directions (isolated nodes and several components allowed).
        num_nodes: ``n >= 1``.
        signal: ``[n, C]`` finite float node signals (cast to float64).
        response: a name of :data:`FILTERS` or a callable ``h`` on the eigenvalues.
        normalization: Laplacian, ``"sym"`` (default; the named filters assume its ``[0, 2]`` spectrum) or
            ``"combinatorial"``.

    Returns ``[n, C]`` float64.
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    check_tensor(signal, "signal", shape=(num_nodes, "C"), dtype="float", finite=True, hint="one row per node")
    lam, u = torch.linalg.eigh(laplacian(edge_index, num_nodes, normalization))
    h = filter_response(response, lam)
    return u @ (h[:, None] * (u.T @ signal.double()))


@dataclass
class SignalGraph:
    """An :class:`~workbench.spectral.EncodedGraph` ``graph`` with node ``signal [n, C]`` and ``target [n, T]``
    (float64; e.g. ``spectral_filter`` of the signal, one column per filter)."""

    graph: EncodedGraph
    signal: torch.Tensor
    target: torch.Tensor


@dataclass
class SignalBatch:
    """A :class:`~workbench.spectral.GraphBatch` ``graphs`` with the stacked ``signal [N, C]`` and
    ``target [N, T]``."""

    graphs: GraphBatch
    signal: torch.Tensor
    target: torch.Tensor

    def with_graphs(self, graphs: GraphBatch) -> SignalBatch:
        """The same signals on other eigenvectors (a sign flip or a basis change of ``graphs``)."""
        return replace(self, graphs=graphs)

    def to(self, device: torch.device | str) -> SignalBatch:
        return SignalBatch(self.graphs.to(device), self.signal.to(device), self.target.to(device))


def collate_signal_graphs(items: Sequence[SignalGraph]) -> SignalBatch:
    """Stack :class:`SignalGraph` s (equal ``k``, signal channels and target columns) into a :class:`SignalBatch`."""
    if len(items) == 0:
        raise ValueError("collate_signal_graphs needs at least one graph")
    for i, g in enumerate(items):
        n = g.graph.x.shape[0]
        check_tensor(g.signal, f"items[{i}].signal", shape=(n, "C"), dtype="float", finite=True)
        check_tensor(g.target, f"items[{i}].target", shape=(n, "T"), dtype="float", finite=True)
    return SignalBatch(collate_graphs([g.graph for g in items]), torch.cat([g.signal for g in items]),
                       torch.cat([g.target for g in items]))

"""What every molecular model of :mod:`workbench.models` shares: element embedding, graph, readout heads.

A model maps a batch of molecules to one output per molecule::

    model(z [A], pos [A, 3], batch [A] | None, num_graphs: int | None) -> [B]      (output="scalar")
                                                                       -> [B, 3]   (output="dipole")

``z`` are atomic numbers (they must be among ``elements``), ``pos`` positions in Å, ``batch`` the molecule index
of every atom (PyG convention; ``None`` means one molecule). Edges are every pair closer than ``r_max`` within a
molecule (:func:`workbench.nn.radius_graph`), so outputs are invariant to atom order and translation.

Subclasses implement :meth:`MolecularModel.node_features`, which returns invariant per-atom scalars ``[A, S]``
and, for equivariant models, polar vectors ``[A, V, 3]`` (``1o``). The heads turn them into

- ``output="scalar"``: an MLP per atom, summed (``reduce="sum"``, extensive targets such as energies) or
  averaged (``reduce="mean"``, intensive targets such as the HOMO-LUMO gap) over each molecule: invariant;
- ``output="dipole"``: ``mu = sum_i (q_i - mean(q)) r_i + sum_i m_i`` with invariant atomic charges ``q_i`` (made
  to sum to zero per molecule, so ``mu`` does not depend on the origin) and atomic dipoles ``m_i``, a learned
  mix of the ``1o`` features: an O(3)-equivariant polar vector, as in SchNetPack and PaiNN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from workbench.checks import check_tensor
from workbench.nn.graph import radius_graph, scatter_sum

__all__ = ["QM9_ELEMENTS", "OUTPUTS", "REDUCTIONS", "NodeFeatures", "MolecularModel", "split_scalars_vectors"]

#: Atomic numbers of QM9 (H, C, N, O, F), the default ``elements`` of every model.
QM9_ELEMENTS: tuple[int, ...] = (1, 6, 7, 8, 9)
OUTPUTS = ("scalar", "dipole")
REDUCTIONS = ("sum", "mean")


@dataclass
class NodeFeatures:
    """Per-atom features a model hands to its head: ``scalars [A, S]`` (invariant) and ``vectors [A, V, 3]``
    (polar vectors, ``None`` for invariant models)."""

    scalars: torch.Tensor
    vectors: torch.Tensor | None = None


def split_scalars_vectors(x: torch.Tensor, irreps) -> NodeFeatures:
    """Split O(3) features ``x [A, irreps.dim]`` (e3nn layout) into their ``0e`` scalars ``[A, S]`` and ``1o``
    vectors ``[A, V, 3]`` (``None`` if there are none); other irreps are ignored."""
    scalars, vectors = [], []
    for (mul, ir), sl in zip(irreps, irreps.slices()):
        if ir.l == 0 and ir.p == 1:
            scalars.append(x[:, sl])
        elif ir.l == 1 and ir.p == -1:
            vectors.append(x[:, sl].reshape(x.shape[0], mul, 3))
    if not scalars:
        raise ValueError(f"irreps {irreps} hold no 0e scalars to read out")
    return NodeFeatures(torch.cat(scalars, dim=1), torch.cat(vectors, dim=1) if vectors else None)


class _AtomMLP(torch.nn.Sequential):
    def __init__(self, width: int) -> None:
        hidden = max(width // 2, 1)
        super().__init__(torch.nn.Linear(width, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, 1))


class MolecularModel(torch.nn.Module):
    """Base class: element indexing, radius graph and the scalar/dipole heads (module docstring).

    Args:
        elements: atomic numbers the model accepts; atom ``z`` gets species index ``elements.index(z)``.
        r_max: cutoff radius of the graph in Å.
        output: ``"scalar"`` or ``"dipole"``.
        reduce: ``"sum"`` or ``"mean"`` over the atoms of a molecule (scalar output only).
    """

    def __init__(self, elements: Sequence[int] = QM9_ELEMENTS, r_max: float = 5.0, output: str = "scalar",
                 reduce: str = "sum") -> None:
        super().__init__()
        elements = tuple(int(e) for e in elements)
        if not elements or len(set(elements)) != len(elements) or min(elements) < 1:
            raise ValueError(f"elements must be distinct positive atomic numbers, got {elements}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        if reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
        if not float(r_max) > 0:
            raise ValueError(f"r_max must be positive, got {r_max}")
        self.elements, self.r_max, self.output, self.reduce = elements, float(r_max), output, reduce
        table = torch.full((max(elements) + 1,), -1, dtype=torch.long)
        table[list(elements)] = torch.arange(len(elements))
        self.register_buffer("_species_of_z", table, persistent=False)

    @property
    def num_elements(self) -> int:
        return len(self.elements)

    def _init_head(self, num_scalars: int, num_vectors: int = 0) -> None:
        """Create the readout head; call at the end of the subclass ``__init__``."""
        self.head = _AtomMLP(num_scalars)
        self.vector_mix = (
            torch.nn.Parameter(torch.randn(num_vectors) / num_vectors**0.5)
            if self.output == "dipole" and num_vectors else None
        )

    def species(self, z: torch.Tensor) -> torch.Tensor:
        """Species index ``[A]`` of atomic numbers ``z [A]``; unknown elements raise ValueError."""
        check_tensor(z, "z", shape=("A",), dtype="int", hint="atomic numbers")
        z = z.long()
        bad = (z < 0) | (z >= self._species_of_z.shape[0])
        s = self._species_of_z[z.clamp(0, self._species_of_z.shape[0] - 1)]
        if bool((bad | (s < 0)).any()):
            unknown = sorted({int(v) for v in z[bad | (s < 0)]})
            raise ValueError(f"atomic numbers {unknown} are not among this model's elements {self.elements}")
        return s

    def node_features(self, species: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor,
                      shifts: torch.Tensor | None = None) -> NodeFeatures:
        """Per-atom features from species ``[A]``, positions ``[A, 3]``, edges ``[2, E]`` (source -> target) and,
        for periodic cells, the lattice translations of the edges ``shifts [E, 3]`` (edge vector
        ``pos[i] - pos[j] + shifts``; ``None``: no periodicity)."""
        raise NotImplementedError

    def forward(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor | None = None,
                num_graphs: int | None = None, cell: torch.Tensor | None = None,
                pbc: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs ``[B]`` / ``[B, 3]`` (module docstring). ``cell`` (``[3, 3]`` or ``[B, 3, 3]``, lattice vectors
        as rows, Å) and ``pbc`` (``[3]`` or ``[B, 3]`` bool) make the graph periodic: edges reach the periodic
        images closer than ``r_max`` and the edge shifts are ``n @ cell`` with integer ``n``, differentiable in
        ``cell`` (so a strain applied to ``pos`` and ``cell`` gives the stress by autograd)."""
        check_tensor(pos, "pos", shape=(z.shape[0], 3), dtype="float", finite=True, hint="one row per atom of z")
        if batch is None:
            batch = torch.zeros(z.shape[0], dtype=torch.long, device=pos.device)
        check_tensor(batch, "batch", shape=(z.shape[0],), hint="one graph index per atom of z")
        if num_graphs is None:
            num_graphs = int(batch.max()) + 1 if batch.numel() else 0
        species = self.species(z)
        periodic = pbc is not None and bool(torch.as_tensor(pbc).any())
        if periodic:
            if cell is None:
                raise ValueError("cell [3, 3] or [B, 3, 3] is required when pbc has a periodic direction")
            cell = torch.as_tensor(cell, dtype=pos.dtype, device=pos.device)
            cell = cell.expand(num_graphs, 3, 3) if cell.shape == (3, 3) else cell
            check_tensor(cell, "cell", shape=(num_graphs, 3, 3), finite=True, hint="or [3, 3] for every structure")
            edge_index, shifts = radius_graph(pos.detach(), self.r_max, batch, cell=cell.detach(), pbc=pbc)
            # integer image numbers n of every edge, then shifts = n @ cell again with the graph's own cell, so
            # that the shifts follow cell in autograd (stress)
            edge_cell = cell.index_select(0, batch.index_select(0, edge_index[0]))  # [E, 3, 3]
            images = torch.linalg.solve(edge_cell.detach().transpose(1, 2), shifts.unsqueeze(-1)).squeeze(-1)
            shifts = torch.einsum("ei,eij->ej", images.round(), edge_cell)
            feats = self.node_features(species, pos, edge_index, shifts=shifts)
        else:
            edge_index, _ = radius_graph(pos, self.r_max, batch)
            feats = self.node_features(species, pos, edge_index)
        atomic = self.head(feats.scalars).squeeze(-1)  # [A]
        total = scatter_sum(atomic, batch, num_graphs)  # [B]
        if self.output == "scalar" and self.reduce == "sum":
            return total
        atoms = scatter_sum(torch.ones_like(atomic), batch, num_graphs).clamp(min=1)  # [B]
        if self.output == "scalar":
            return total / atoms
        q = atomic - (total / atoms)[batch]
        # positions relative to each molecule's centroid: the same dipole (sum q = 0), less float32 cancellation
        centroid = scatter_sum(pos, batch, num_graphs) / atoms[:, None]
        per_atom = q[:, None] * (pos - centroid[batch])
        if self.vector_mix is not None and feats.vectors is not None:
            per_atom = per_atom + torch.einsum("avx,v->ax", feats.vectors, self.vector_mix.to(pos.dtype))
        return scatter_sum(per_atom, batch, num_graphs)

    def one_hot(self, species: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """``[A, num_elements]`` one-hot of species indices ``[A]`` (from :meth:`species`) in ``dtype``."""
        return torch.nn.functional.one_hot(species, self.num_elements).to(dtype)

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

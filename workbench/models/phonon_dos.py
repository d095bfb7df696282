"""Crystal -> phonon density of states: a periodic MACE and a composition-only baseline.

:class:`PeriodicDOSMACE` follows Chen et al. (Adv. Sci. 8, 2004214, 2021: an E(3)NN with two layers, ``lmax = 1``,
predicting a 51-bin DOS normalized to max 1) with the project's MACE layers on a periodic radius graph::

    edges, shifts = radius_graph(pos, r_max, batch, cell, pbc=True)       # every image closer than r_max
    h_i = MACELayer^T( ... Linear(onehot(z_i)) ... ; r_ij = pos_j - pos_i + shift_ij)
    dos = softplus( mean_{i in crystal} MLP([scalars of every layer]_i) )  # [B, bins], >= 0

The per-atom readout is averaged over the atoms of each crystal, so the prediction is intensive: a supercell of a
crystal, another choice of its cell, atoms wrapped into the cell or not, any rotation, reflection, translation or
atom order give the same DOS (tested in float64). :class:`CompositionDOSMLP` sees only the element fractions.

Inputs of both: ``z [A]`` atomic numbers, ``pos [A, 3]`` Å, ``cell [B, 3, 3]`` (rows = lattice vectors), ``batch
[A]`` crystal index of every atom, ``num_graphs`` B.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from workbench.checks import check_tensor
from workbench.groups import o3
from workbench.models.blocks import MACELayer
from workbench.nn.convolution import EquivariantConvolution
from workbench.nn.graph import radius_graph, scatter_sum
from workbench.nn.linear import Linear

__all__ = ["EMT_ATOMIC_NUMBERS", "CompositionDOSMLP", "PeriodicDOSMACE", "composition_fractions"]

#: Al, Ni, Cu, Pd, Ag, Pt, Au: the elements of ASE's EMT (default ``elements``).
EMT_ATOMIC_NUMBERS: tuple[int, ...] = (13, 28, 29, 46, 47, 78, 79)


def _species_table(elements: Sequence[int]) -> tuple[tuple[int, ...], torch.Tensor]:
    elements = tuple(int(e) for e in elements)
    if not elements or len(set(elements)) != len(elements) or min(elements) < 1:
        raise ValueError(f"elements must be distinct positive atomic numbers, got {elements}")
    table = torch.full((max(elements) + 1,), -1, dtype=torch.long)
    table[list(elements)] = torch.arange(len(elements))
    return elements, table


def _species(table: torch.Tensor, elements: tuple[int, ...], z: torch.Tensor) -> torch.Tensor:
    check_tensor(z, "z", shape=("A",), dtype="int", hint="atomic numbers")
    z = z.long()
    bad = (z < 0) | (z >= table.shape[0])
    s = table[z.clamp(0, table.shape[0] - 1)]
    if bool((bad | (s < 0)).any()):
        unknown = sorted({int(v) for v in z[bad | (s < 0)]})
        raise ValueError(f"atomic numbers {unknown} are not among this model's elements {elements}")
    return s


def _check_batch(z: torch.Tensor, pos: torch.Tensor, cell: torch.Tensor, batch: torch.Tensor | None,
                 num_graphs: int | None) -> tuple[torch.Tensor, int]:
    check_tensor(pos, "pos", shape=(z.shape[0], 3), dtype="float", finite=True, hint="one row per atom of z")
    if z.shape[0] == 0:
        raise ValueError("z is empty; a crystal needs at least one atom")
    if batch is None:
        batch = torch.zeros(z.shape[0], dtype=torch.long, device=pos.device)
    check_tensor(batch, "batch", shape=(z.shape[0],), dtype=(torch.int64, torch.int32),
                 hint="one crystal index per atom of z")
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1
    cell = cell if cell.dim() == 3 else cell[None]
    check_tensor(cell, "cell", shape=(num_graphs, 3, 3), dtype="float", finite=True,
                 hint="[B, 3, 3] lattice vectors as rows")
    return batch, num_graphs


def composition_fractions(z: torch.Tensor, batch: torch.Tensor, num_graphs: int, elements: Sequence[int],
                          dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``[B, len(elements)]`` fraction of each element in each crystal."""
    elements, table = _species_table(elements)
    onehot = torch.nn.functional.one_hot(_species(table.to(z.device), elements, z), len(elements)).to(dtype)
    counts = scatter_sum(onehot, batch.long(), num_graphs)
    return counts / counts.sum(1, keepdim=True).clamp(min=1)


class PeriodicDOSMACE(torch.nn.Module):
    """Periodic MACE predicting a ``bins``-point DOS per crystal (module docstring).

    Args:
        bins: DOS points per crystal (Chen et al.: 51).
        channels, lmax, sh_lmax, correlation, num_layers: MACE sizes (hidden ``channels x (0e + 1o + ...)`` up to
            ``lmax``, edge harmonics to ``sh_lmax``, symmetric contraction of order ``correlation``).
        r_max: cutoff in Å (4.5 Å: the first two fcc shells of every EMT element).
        num_basis, radial_hidden, avg_num_neighbors: radial embedding and message normalization.
        elements: atomic numbers the model accepts.

    Examples:
        >>> import torch
        >>> from workbench.groups import o3
        >>> _ = torch.manual_seed(0)
        >>> model = PeriodicDOSMACE(channels=4, num_layers=1).double()
        >>> cell = 3.61 * torch.tensor([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]], dtype=torch.float64)
        >>> z, pos = torch.tensor([29]), torch.zeros(1, 3, dtype=torch.float64)      # fcc Cu, one atom
        >>> dos = model(z, pos, cell[None])                                         # [1, 51]
        >>> q = o3.rand_matrix(dtype=torch.float64)
        >>> bool(torch.allclose(model(z, pos @ q.T, (cell @ q.T)[None]), dos, atol=1e-12))   # rotation
        True
    """

    def __init__(self, bins: int = 51, channels: int = 16, lmax: int = 1, sh_lmax: int = 2, correlation: int = 2,
                 num_layers: int = 2, r_max: float = 4.5, num_basis: int = 8, radial_hidden: Sequence[int] = (32,),
                 avg_num_neighbors: float = 18.0, elements: Sequence[int] = EMT_ATOMIC_NUMBERS) -> None:
        super().__init__()
        if min(int(bins), int(channels), int(num_layers), int(correlation)) < 1 or int(lmax) < 0 or \
                int(sh_lmax) < max(int(lmax), 1) or not float(r_max) > 0:
            raise ValueError(f"need bins, channels, num_layers, correlation >= 1, 0 <= lmax <= sh_lmax, sh_lmax >= 1 "
                             f"and r_max > 0; got {bins}, {channels}, {num_layers}, {correlation}, {lmax}, {sh_lmax}, "
                             f"{r_max}")
        self.elements, table = _species_table(elements)
        self.register_buffer("_species_of_z", table, persistent=False)
        self.r_max, self.bins = float(r_max), int(bins)
        n_el = len(self.elements)
        hidden = o3.Irreps.natural(int(channels), int(lmax))
        self.embedding = Linear(f"{n_el}x0e", f"{channels}x0e")
        convolution = functools.partial(EquivariantConvolution, irreps_out=o3.Irreps.natural(int(channels),
                                                                                             int(sh_lmax)),
                                        lmax=int(sh_lmax), r_max=self.r_max, num_basis=num_basis,
                                        radial_hidden=radial_hidden, avg_num_neighbors=avg_num_neighbors)
        irreps, layers = o3.Irreps(f"{channels}x0e"), []
        for _ in range(int(num_layers)):
            layers.append(MACELayer(irreps_in=irreps, irreps_out=hidden, convolution=convolution,
                                    correlation=int(correlation), num_elements=n_el, self_connection="element"))
            irreps = hidden
        self.layers = torch.nn.ModuleList(layers)
        width = int(channels) * (int(num_layers) + 1)
        self.head = torch.nn.Sequential(torch.nn.Linear(width, 2 * width), torch.nn.SiLU(),
                                        torch.nn.Linear(2 * width, self.bins))

    def forward(self, z: torch.Tensor, pos: torch.Tensor, cell: torch.Tensor, batch: torch.Tensor | None = None,
                num_graphs: int | None = None) -> torch.Tensor:
        """``[B, bins]`` non-negative DOS of the crystals (inputs: module docstring)."""
        batch, num_graphs = _check_batch(z, pos, cell, batch, num_graphs)
        cell = cell if cell.dim() == 3 else cell[None]
        species = _species(self._species_of_z, self.elements, z)
        edge_index, shifts = radius_graph(pos, self.r_max, batch, cell=cell.to(pos.dtype),
                                          pbc=torch.ones(num_graphs, 3, dtype=torch.bool, device=pos.device))
        onehot = torch.nn.functional.one_hot(species, len(self.elements)).to(pos.dtype)
        h = self.embedding(onehot)
        scalars = [h]
        for layer in self.layers:
            h = layer(h, onehot, pos, edge_index, shifts=shifts)
            scalars.append(layer.scalars(h))
        atomic = self.head(torch.cat(scalars, dim=1))  # [A, bins]
        counts = scatter_sum(torch.ones_like(atomic[:, :1]), batch, num_graphs)
        return torch.nn.functional.softplus(scatter_sum(atomic, batch, num_graphs) / counts.clamp(min=1))


class CompositionDOSMLP(torch.nn.Module):
    """Baseline: an MLP of the element fractions only (no geometry), ``[B, bins]`` non-negative."""

    def __init__(self, bins: int = 51, hidden: int = 64, elements: Sequence[int] = EMT_ATOMIC_NUMBERS) -> None:
        super().__init__()
        self.elements, _ = _species_table(elements)
        if int(bins) < 1 or int(hidden) < 1:
            raise ValueError(f"bins and hidden must be >= 1, got {bins}, {hidden}")
        self.net = torch.nn.Sequential(torch.nn.Linear(len(self.elements), hidden), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, int(bins)))

    def forward(self, z: torch.Tensor, pos: torch.Tensor, cell: torch.Tensor, batch: torch.Tensor | None = None,
                num_graphs: int | None = None) -> torch.Tensor:
        batch, num_graphs = _check_batch(z, pos, cell, batch, num_graphs)
        fractions = composition_fractions(z, batch, num_graphs, self.elements, pos.dtype)
        return torch.nn.functional.softplus(self.net(fractions))

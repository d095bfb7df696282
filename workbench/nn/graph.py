"""Radius graph in pure torch (batched, optional periodic cells) and scatter helpers.

Conventions (PyG): ``edge_index[0]`` is the source (sender) ``j``, ``edge_index[1]`` the target (receiver)
``i``; messages flow source -> target. For periodic systems the edge vector is

    edge_vec = pos[edge_index[1]] - pos[edge_index[0]] + shifts

with ``shifts = n @ cell`` (``n`` integer lattice translations), as in NequIP/MACE.
"""

from __future__ import annotations

import itertools
import math

import torch

from workbench.checks import check_tensor

__all__ = ["radius_graph", "edge_vectors", "scatter_sum", "check_edge_index"]


def check_edge_index(edge_index: torch.Tensor, num_nodes: int) -> None:
    """Raise a clear error unless ``edge_index`` is a long tensor ``[2, E]`` with entries in ``[0, num_nodes)``."""
    check_tensor(edge_index, "edge_index", shape=(2, "E"), dtype=(torch.int64, torch.int32))
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(
            f"edge_index has entries in [{int(edge_index.min())}, {int(edge_index.max())}] but there are "
            f"{num_nodes} nodes (valid range [0, {num_nodes - 1}])"
        )


def radius_graph(
    pos: torch.Tensor,
    r_max: float,
    batch: torch.Tensor | None = None,
    cell: torch.Tensor | None = None,
    pbc: torch.Tensor | None = None,
    self_interaction: bool = False,
    chunk_size: int = 4096,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs closer than ``r_max`` within each graph of the batch.

    Args:
        pos: positions ``[N, 3]``.
        r_max: cutoff radius (> 0); pairs with ``|edge_vec| < r_max`` are kept.
        batch: graph index per node ``[N]`` (long), default all zeros (one graph).
        cell: lattice vectors as rows, ``[3, 3]`` (all graphs) or ``[B, 3, 3]``; needed when ``pbc`` has a True.
            Positions need not lie inside the cell (they are wrapped internally; shifts refer to ``pos`` as given).
        pbc: periodic directions, ``[3]`` or ``[B, 3]`` bool; default no periodicity.
        self_interaction: keep ``i -> i`` edges with zero shift (default False; periodic images of the
            same atom are always kept).
        chunk_size: rows per distance block (bounds memory at ``chunk_size x N_graph`` per image).

    Returns:
        ``edge_index [2, E]`` (long, source -> target) and ``shifts [E, 3]`` (cartesian, same dtype as ``pos``).
    """
    check_tensor(pos, "pos", shape=("N", 3), dtype="float", finite=True)
    if not (isinstance(r_max, (int, float)) and r_max > 0 and math.isfinite(r_max)):
        raise ValueError(f"r_max must be a positive finite number, got {r_max!r}")
    n = pos.shape[0]
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=pos.device)
    check_tensor(batch, "batch", shape=(n,), dtype=(torch.int64, torch.int32), hint="one graph index per row of pos")
    num_graphs = int(batch.max()) + 1 if n else 0
    if n and int(batch.min()) < 0:
        raise ValueError("batch must be non-negative")
    periodic = pbc is not None and bool(torch.as_tensor(pbc).any())
    if periodic:
        pbc_t = torch.as_tensor(pbc, dtype=torch.bool, device=pos.device)
        if pbc_t.shape == (3,):
            pbc_t = pbc_t.expand(num_graphs, 3)
        check_tensor(pbc_t, "pbc", shape=(num_graphs, 3), hint="or [3] for every graph")
        if cell is None:
            raise ValueError("cell is required when pbc has a periodic direction")
        cell_t = torch.as_tensor(cell, dtype=pos.dtype, device=pos.device)
        if cell_t.shape == (3, 3):
            cell_t = cell_t.expand(num_graphs, 3, 3)
        check_tensor(cell_t, "cell", shape=(num_graphs, 3, 3), finite=True, hint="or [3, 3] for every graph")
    sources, targets, shift_list = [], [], []
    order = torch.argsort(batch, stable=True)
    counts = torch.bincount(batch, minlength=num_graphs).tolist() if n else []
    start = 0
    for b, count in enumerate(counts):
        idx = order[start : start + count]
        start += count
        if count == 0:
            continue
        p = pos[idx]
        offset = None
        if periodic:
            c = cell_t[b]
            vol = torch.abs(torch.linalg.det(c))
            if float(vol) <= 0:
                raise ValueError(f"cell of graph {b} is singular")
            # wrap into the cell along periodic directions (the image range below assumes fractional coordinates
            # in [0, 1)); the shifts returned refer to the positions as given
            frac = torch.linalg.solve(c.detach().T, p.detach().T).T
            offset = torch.floor(frac) * pbc_t[b].to(frac.dtype)
            p = p - offset @ c.detach()
            reps = []
            for k in range(3):
                if bool(pbc_t[b, k]):
                    cross = torch.linalg.cross(c[(k + 1) % 3], c[(k + 2) % 3])
                    height = float(vol / torch.linalg.norm(cross))
                    reps.append(range(-math.ceil(r_max / height), math.ceil(r_max / height) + 1))
                else:
                    reps.append(range(0, 1))
            images = torch.tensor(list(itertools.product(*reps)), dtype=pos.dtype, device=pos.device) @ c
        else:
            images = torch.zeros(1, 3, dtype=pos.dtype, device=pos.device)
        for shift in images:
            zero_shift = bool((shift == 0).all())
            for r0 in range(0, count, chunk_size):
                tgt = p[r0 : r0 + chunk_size]
                # edge_vec = pos[tgt] - pos[src] + shift
                vec = tgt[:, None, :] - p[None, :, :] + shift
                close = (vec.pow(2).sum(-1) < r_max * r_max).nonzero()
                t_loc, s_loc = close[:, 0] + r0, close[:, 1]
                if zero_shift and not self_interaction:
                    keep = t_loc != s_loc
                    t_loc, s_loc = t_loc[keep], s_loc[keep]
                sources.append(idx[s_loc])
                targets.append(idx[t_loc])
                if offset is None:
                    shift_list.append(shift.expand(len(s_loc), 3))
                else:
                    shift_list.append(shift + (offset[s_loc] - offset[t_loc]) @ c.detach())
    if not sources:
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device), pos.new_zeros(0, 3)
    src, dst, shifts = torch.cat(sources), torch.cat(targets), torch.cat(shift_list)
    # deterministic order: by target, then source
    key = torch.argsort(dst * (n + 1) + src, stable=True)
    return torch.stack([src[key], dst[key]]), shifts[key].contiguous()


def edge_vectors(pos: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor | None = None) -> torch.Tensor:
    """``pos[edge_index[1]] - pos[edge_index[0]] (+ shifts)``, shape ``[E, 3]``."""
    check_tensor(pos, "pos", shape=("N", 3), dtype="float", finite=True)
    check_edge_index(edge_index, pos.shape[0])
    vec = pos.index_select(0, edge_index[1]) - pos.index_select(0, edge_index[0])
    if shifts is not None:
        check_tensor(shifts, "shifts", shape=(vec.shape[0], 3), hint="one row per edge")
        vec = vec + shifts.to(vec.dtype)
    return vec


def scatter_sum(src: torch.Tensor, index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Sum rows of ``src [E, ...]`` into ``[num_nodes, ...]`` by ``index [E]`` (torch ``index_add``)."""
    check_tensor(index, "index", shape=(src.shape[0],), hint="one entry per row of src")
    out = src.new_zeros((num_nodes,) + tuple(src.shape[1:]))
    return out.index_add(0, index, src)

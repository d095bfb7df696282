"""Data-parallel training with ``torch.distributed`` (launched by ``torchrun``): the process group from the
environment, per-rank batches balanced by graph size, metric reductions and rank-0-only writes.

``torchrun --nproc_per_node N ...`` starts N processes and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT`` in each; :func:`init_distributed` reads them and joins the process group
(``gloo`` on CPU, ``nccl`` when CUDA is available; ``WORKBENCH_DIST_BACKEND`` overrides). Without those variables
(a plain ``python`` run) everything here is a single-process no-op, so the same code runs either way.

How a global batch is shared (:func:`balanced_partition`): the loop draws the *same* global batches as a
single-process run (:func:`workbench.train.epoch_batches`, seeded by ``(seed, epoch)``), and each global batch is
split over the ranks by greedy bin-packing on a per-item cost (atoms or edges of a graph): items in decreasing cost go
to the rank with the smallest load so far. Each rank then weights its loss by its share of the global batch, so that
DDP's gradient average equals the gradient of the single-process mean loss (see :func:`workbench.train.fit`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from workbench.train.batching import epoch_batches

__all__ = ["BACKEND_ENV", "DistributedInfo", "init_distributed", "distributed_info", "is_main_process", "barrier",
           "main_process_first", "all_reduce_sums", "balanced_partition", "BalancedBatchSampler"]

#: Environment variable that overrides the backend chosen by :func:`init_distributed` ("gloo" or "nccl").
BACKEND_ENV = "WORKBENCH_DIST_BACKEND"
_BACKENDS = ("gloo", "nccl")


@dataclass(frozen=True)
class DistributedInfo:
    """Where this process stands: ``rank`` in ``0..world_size-1``, ``local_rank`` on its node, the ``backend``
    (None when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer (as torchrun sets it), got {raw!r}") from exc


def distributed_info() -> DistributedInfo:
    """The current process group's rank and size (rank 0 of 1 when none is initialized)."""
    if dist.is_available() and dist.is_initialized():
        return DistributedInfo(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", 0), dist.get_backend())
    return DistributedInfo()


def init_distributed(backend: str | None = None, timeout_s: float = 1800.0) -> DistributedInfo:
    """Join the process group that ``torchrun`` describes in the environment, once; return this process's place.

    ``WORLD_SIZE`` unset or 1: nothing is initialized and rank 0 of 1 is returned. ``backend``: "gloo" or "nccl";
    default ``$WORKBENCH_DIST_BACKEND``, else "nccl" when CUDA is available (then ``cuda:LOCAL_RANK`` becomes the
    current device), else "gloo". A group that is already initialized is used as it is.
    """
    if dist.is_available() and dist.is_initialized():
        return distributed_info()
    world = _env_int("WORLD_SIZE", 1)
    if world <= 1:
        return DistributedInfo()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    backend = backend or os.environ.get(BACKEND_ENV) or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS} (argument or ${BACKEND_ENV}), got {backend!r}")
    missing = [v for v in ("RANK", "MASTER_ADDR", "MASTER_PORT") if not os.environ.get(v)]
    if missing:
        raise RuntimeError(f"WORLD_SIZE={world} but {', '.join(missing)} unset: launch with torchrun "
                           "(torchrun --nproc_per_node N ...), which sets them")
    local_rank = _env_int("LOCAL_RANK", 0)
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend, timeout=_dt.timedelta(seconds=timeout_s))
    return distributed_info()


def is_main_process() -> bool:
    """True on rank 0 (and in a single-process run): the process that writes files."""
    return distributed_info().is_main


def barrier() -> None:
    """Wait for every rank (no-op in a single-process run)."""
    if distributed_info().is_distributed:
        dist.barrier()


@contextlib.contextmanager
def main_process_first() -> Iterator[None]:
    """Rank 0 runs the block first (e.g. writing a split or a run config), then the other ranks run it (reading
    what rank 0 wrote). A single-process run just runs it."""
    info = distributed_info()
    if info.is_distributed and not info.is_main:
        dist.barrier()
    try:
        yield
    finally:
        if info.is_distributed and info.is_main:
            dist.barrier()


def all_reduce_sums(values: dict[str, float], device: torch.device | str = "cpu") -> dict[str, float]:
    """Sums of ``values`` over the ranks (float64; the same keys on every rank, in any order). Identity in a
    single-process run."""
    if not distributed_info().is_distributed:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return dict(zip(keys, t.cpu().tolist()))


def balanced_partition(sizes: Sequence[float] | np.ndarray, parts: int) -> list[list[int]]:
    """Split positions ``0..len(sizes)-1`` into ``parts`` lists of nearly equal total size (greedy bin-packing).

    Items are taken in decreasing size (ties: lower position first) and each goes to the part with the smallest
    total so far (ties: lower part). Each list is returned in increasing position order. Deterministic; a part is
    empty only when there are fewer items than parts.

    Examples:
        >>> balanced_partition([9, 1, 1, 5, 4], 2)  # loads 9 + 1 and 1 + 5 + 4
        [[0, 1], [2, 3, 4]]
    """
    if isinstance(parts, bool) or not isinstance(parts, (int, np.integer)) or parts < 1:
        raise ValueError(f"parts must be an integer >= 1, got {parts!r}")
    cost = np.asarray(sizes, dtype=np.float64)
    if cost.ndim != 1 or not np.all(np.isfinite(cost)) or np.any(cost < 0):
        raise ValueError(f"sizes must be a 1-D sequence of finite non-negative numbers, got shape {cost.shape}")
    order = np.lexsort((np.arange(cost.size), -cost))
    loads = np.zeros(parts)
    out: list[list[int]] = [[] for _ in range(parts)]
    for i in order:
        p = int(np.argmin(loads))
        out[p].append(int(i))
        loads[p] += cost[i]
    return [sorted(part) for part in out]


class BalancedBatchSampler:
    """This rank's share of every global batch, balanced by item size: a batch sampler for
    ``torch.utils.data.DataLoader(dataset, batch_sampler=...)`` that replaces ``DistributedSampler`` for graphs.

    Global batches are :func:`workbench.train.epoch_batches` ``(len(sizes), batch_size, seed, epoch)`` (the order
    of a single-process run); each is split by :func:`balanced_partition` on ``sizes`` (e.g. atoms or edges per
    graph). Call :meth:`set_epoch` before each epoch. ``rank``/``world_size`` default to the process group's.

    Examples:
        >>> s = BalancedBatchSampler([10, 2, 3, 7, 1, 1], batch_size=6, seed=0, rank=0, world_size=2)
        >>> [sum([10, 2, 3, 7, 1, 1][i] for i in b) for b in s]
        [12]
    """

    def __init__(self, sizes: Sequence[float] | np.ndarray, batch_size: int, seed: int = 0,
                 rank: int | None = None, world_size: int | None = None):
        info = distributed_info()
        self.sizes = np.asarray(sizes, dtype=np.float64)
        if self.sizes.ndim != 1 or self.sizes.size == 0:
            raise ValueError(f"sizes must be a non-empty 1-D sequence (one cost per item), got shape "
                             f"{self.sizes.shape}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.batch_size, self.seed, self.epoch = int(batch_size), int(seed), 0
        self.world_size = info.world_size if world_size is None else int(world_size)
        self.rank = info.rank if rank is None else int(rank)
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank must be in [0, world_size={self.world_size}), got {self.rank}")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def global_batches(self) -> list[torch.Tensor]:
        return epoch_batches(self.sizes.size, self.batch_size, self.seed, self.epoch)

    def __len__(self) -> int:
        return -(-self.sizes.size // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches():
            idx = batch.tolist()
            parts = balanced_partition(self.sizes[idx], self.world_size)
            yield [idx[p] for p in parts[self.rank]]

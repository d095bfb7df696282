"""The batch order of every training run: one permutation per epoch, seeded by ``(seed, epoch)``."""

from __future__ import annotations

import torch

__all__ = ["epoch_batches"]


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[torch.Tensor]:
    """Index batches of one epoch: a permutation of ``range(n)`` drawn from a generator seeded by (seed, epoch)."""
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    perm = torch.randperm(n, generator=gen)
    return list(perm.split(batch_size))

"""Training: one loop for all models (AdamW, schedules, EMA), atomic checkpoints, exact resumption, CSV metrics."""

from workbench.train.checkpoint import load_checkpoint, save_checkpoint
from workbench.train.ema import ExponentialMovingAverage
from workbench.train.loop import TrainConfig, TrainResult, epoch_batches, evaluate, fit, load_best_weights

__all__ = [
    "ExponentialMovingAverage",
    "TrainConfig",
    "TrainResult",
    "epoch_batches",
    "evaluate",
    "fit",
    "load_best_weights",
    "load_checkpoint",
    "save_checkpoint",
]

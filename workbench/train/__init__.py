"""Training: one loop for all models (AdamW, schedules, EMA), atomic checkpoints, exact resumption, CSV metrics;
energy + force losses for interatomic potentials (:class:`EnergyForceLoss`); data-parallel training under torchrun
(:mod:`workbench.train.distributed`)."""

from workbench.train.checkpoint import load_checkpoint, save_checkpoint
from workbench.train.distributed import (
    BalancedBatchSampler,
    balanced_partition,
    init_distributed,
    is_main_process,
    main_process_first,
)
from workbench.train.ema import ExponentialMovingAverage
from workbench.train.forces import EnergyForceLoss, potential_errors, predict_potential
from workbench.train.loop import TrainConfig, TrainResult, epoch_batches, evaluate, fit, load_best_weights

__all__ = [
    "BalancedBatchSampler",
    "balanced_partition",
    "init_distributed",
    "is_main_process",
    "main_process_first",
    "EnergyForceLoss",
    "ExponentialMovingAverage",
    "TrainConfig",
    "TrainResult",
    "epoch_batches",
    "evaluate",
    "fit",
    "load_best_weights",
    "load_checkpoint",
    "potential_errors",
    "predict_potential",
    "save_checkpoint",
]

"""One training loop for every model: AdamW, cosine/plateau schedules, EMA, checkpoints with exact resume.

The loop owns the batching: each epoch's order is a permutation drawn from a generator seeded by
``(seed, epoch)``, so a run that is killed and restarted with the same ``output_dir`` replays the same batches and,
with the optimizer, scheduler, EMA and random states restored from the checkpoint, ends with the same weights and
metrics as an uninterrupted run (bitwise on CPU for deterministic models).

Files written to ``output_dir``: ``checkpoint.pt`` (every ``checkpoint_every`` steps and at each epoch end),
``metrics.csv`` (one row per epoch) and ``best_model.pt`` (weights with the lowest validation loss).

Under ``torchrun`` (``WORLD_SIZE > 1``) the same loop trains data-parallel with
``torch.nn.parallel.DistributedDataParallel`` (:mod:`workbench.train.distributed`: gloo on CPU, NCCL on CUDA). Every
rank walks the same global batches as a single-process run; each global batch is split over the ranks by
:func:`~workbench.train.distributed.balanced_partition` on ``item_sizes`` (atoms or edges per graph), and each rank
scales its mean loss by ``world_size * n_rank / n_global`` so that DDP's gradient average is the gradient of the
global mean loss: for a loss that is a mean over items (and a model without batch-coupled layers or randomness),
the weights follow the single-process run up to floating-point rounding. Train and validation metrics are summed
over the ranks; rank 0 alone writes the files; every rank resumes from rank 0's checkpoint (``output_dir`` on a
file system all ranks see).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from workbench.train.batching import epoch_batches
from workbench.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from workbench.train.distributed import (
    DistributedInfo,
    all_reduce_sums,
    balanced_partition,
    barrier,
    init_distributed,
)
from workbench.train.ema import ExponentialMovingAverage

__all__ = ["TrainConfig", "TrainResult", "LossFn", "fit", "evaluate", "epoch_batches", "load_best_weights",
           "epoch_line"]

#: ``loss_fn(model, batch) -> (loss, metrics)``: a scalar loss to minimise and float metrics to average.
LossFn = Callable[[torch.nn.Module, Any], "tuple[torch.Tensor, dict[str, float]]"]

SCHEDULES = ("cosine", "plateau", "constant")
# Fields that must agree between a checkpoint and the config resuming it (others, e.g. epochs, may change).
_RESUME_KEYS = ("batch_size", "seed", "schedule", "lr", "weight_decay", "ema_decay", "warmup_steps")


@dataclass
class TrainConfig:
    """Hyper-parameters of :func:`fit`.

    ``schedule``: "cosine" (per step, with linear warm-up, down to ``lr * min_lr_ratio``), "plateau" (per epoch on
    the validation loss, factor ``plateau_factor`` after ``plateau_patience`` epochs) or "constant".
    """

    epochs: int = 10
    batch_size: int = 32
    eval_batch_size: int | None = None
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.01
    plateau_patience: int = 5
    plateau_factor: float = 0.5
    ema_decay: float | None = None
    grad_clip: float | None = None
    checkpoint_every: int = 50
    seed: int = 0
    progress: bool = True
    eval_requires_grad: bool = False  # True for losses that differentiate (e.g. forces from energies)

    def validate(self) -> None:
        for name in ("epochs", "batch_size", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainConfig.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"TrainConfig.lr must be a positive finite number, got {self.lr}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"TrainConfig.ema_decay must be in (0, 1) or None, got {self.ema_decay}")


@dataclass
class TrainResult:
    """What :func:`fit` produced: the per-epoch history and where the files are."""

    history: pd.DataFrame
    output_dir: Path
    step: int
    completed: bool
    resumed_from_step: int = 0
    best_val_loss: float | None = None
    files: dict[str, Path] = field(default_factory=dict)


def _collate(items: list[Any]) -> Any:
    return torch.utils.data.default_collate(items)


def _make_batch(dataset: Sequence[Any], indices: torch.Tensor, collate_fn: Callable[[list[Any]], Any]) -> Any:
    return collate_fn([dataset[int(i)] for i in indices])


def _evaluation_sums(model: torch.nn.Module, loss_fn: LossFn, dataset: Sequence[Any], positions: torch.Tensor,
                     batch_size: int, collate_fn: Callable[[list[Any]], Any], requires_grad: bool,
                     device: torch.device | None = None) -> dict[str, float]:
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    try:
        with torch.set_grad_enabled(requires_grad):
            for idx in positions.split(batch_size):
                loss, metrics = loss_fn(model, _to_device(_make_batch(dataset, idx, collate_fn), device))
                n = len(idx)
                for key, value in {"loss": float(loss.detach()), **metrics}.items():
                    sums[key] = sums.get(key, 0.0) + float(value) * n
    finally:
        model.train(was_training)
    return sums


def evaluate(model: torch.nn.Module, loss_fn: LossFn, dataset: Sequence[Any], batch_size: int = 64,
             collate_fn: Callable[[list[Any]], Any] | None = None, requires_grad: bool = False) -> dict[str, float]:
    """Size-weighted means of ``loss`` and every metric of ``loss_fn`` over ``dataset`` (model in eval mode)."""
    if len(dataset) == 0:
        raise ValueError("evaluate: the dataset is empty")
    sums = _evaluation_sums(model, loss_fn, dataset, torch.arange(len(dataset)), batch_size,
                            collate_fn or _collate, requires_grad)
    return {k: v / len(dataset) for k, v in sums.items()}


def _evaluate_ranks(model: torch.nn.Module, loss_fn: LossFn, dataset: Sequence[Any], batch_size: int,
                    collate_fn: Callable[[list[Any]], Any], requires_grad: bool, info: DistributedInfo,
                    device: torch.device | None) -> dict[str, float]:
    """:func:`evaluate` with the dataset cut into one contiguous chunk per rank and the sums reduced over ranks
    (every rank evaluates all of it when there are fewer items than ranks)."""
    n = len(dataset)
    if not info.is_distributed or n < info.world_size:
        sums = _evaluation_sums(model, loss_fn, dataset, torch.arange(n), batch_size, collate_fn, requires_grad,
                                device)
        return {k: v / n for k, v in sums.items()}
    chunk = torch.tensor_split(torch.arange(n), info.world_size)[info.rank]
    sums = _evaluation_sums(model, loss_fn, dataset, chunk, batch_size, collate_fn, requires_grad, device)
    return {k: v / n for k, v in all_reduce_sums(sums, _reduce_device(info)).items()}


def _reduce_device(info: DistributedInfo) -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if info.backend == "nccl" else torch.device("cpu")


def _to_device(batch: Any, device: torch.device | None) -> Any:
    """``batch`` on ``device`` (tensors, objects with ``.to``, and tuples/lists/dicts of them); None: unchanged."""
    if device is None or device.type == "cpu":
        return batch
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch.to(device) if hasattr(batch, "to") else batch


def _distributed_model(model: torch.nn.Module, info: DistributedInfo) -> tuple[torch.nn.Module, torch.device | None]:
    """``model`` wrapped in DDP for this process group, and the device batches go to (None: stay on the CPU)."""
    devices = {p.device for p in model.parameters()}
    if len(devices) != 1:
        raise ValueError(f"fit: a distributed run needs all parameters on one device, got {sorted(map(str, devices))}")
    (device,) = devices
    if info.backend == "nccl" and device.type != "cuda":
        raise ValueError("fit: the process group uses NCCL, which needs the model on cuda:LOCAL_RANK, but it is on "
                         f"{device}; move it there, or train on the CPU with WORKBENCH_DIST_BACKEND=gloo")
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids), (device if device.type == "cuda" else None)


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int):
    if config.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=config.plateau_factor, patience=config.plateau_patience)
    warmup = max(int(config.warmup_steps), 0)

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        if config.schedule == "constant":
            return 1.0
        progress = min(max(step - warmup, 0) / max(total_steps - warmup, 1), 1.0)
        return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def fit(
    model: torch.nn.Module,
    loss_fn: LossFn,
    train_set: Sequence[Any],
    val_set: Sequence[Any] | None = None,
    *,
    config: TrainConfig | None = None,
    output_dir: str | Path,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    max_steps: int | None = None,
    item_sizes: Sequence[float] | None = None,
) -> TrainResult:
    """Train ``model`` on ``train_set``; resume from ``output_dir/checkpoint.pt`` when it exists.

    Args:
        loss_fn: ``(model, batch) -> (loss, {metric: float})``; the loss is minimised, metrics are averaged.
        train_set, val_set: indexable datasets; items are combined by ``collate_fn`` (default: torch's).
        output_dir: where checkpoint, metrics.csv and best_model.pt go; reusing it resumes the run.
        max_steps: stop (with a checkpoint) after this many optimizer steps in total; the run can be resumed.
            Used to split long runs and to test resumption.
        item_sizes: ``[len(train_set)]`` cost of each training item (atoms or edges of a graph) by which a global
            batch is shared between ranks under torchrun (module docstring); default 1 per item. Unused in a
            single-process run. Under DDP, ``loss_fn`` receives the DDP wrapper: call it like the model.

    Returns:
        :class:`TrainResult` with one history row per completed epoch (``epoch, step, lr, train_loss,
        train_<metric>..., val_loss, val_<metric>..., seconds``).
    """
    config = config or TrainConfig()
    config.validate()
    if len(train_set) == 0:
        raise ValueError("fit: train_set is empty")
    collate_fn = collate_fn or _collate
    info = init_distributed()
    sizes = _check_item_sizes(item_sizes, len(train_set))
    out = Path(output_dir)
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
    barrier()
    ckpt_path, csv_path, best_path = out / CHECKPOINT_NAME, out / "metrics.csv", out / "best_model.pt"

    n_batches = math.ceil(len(train_set) / config.batch_size)
    total_steps = n_batches * config.epochs
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = _scheduler(optimizer, config, total_steps)
    ema = ExponentialMovingAverage(model, config.ema_decay) if config.ema_decay else None

    step, epoch, batch_index = 0, 0, 0
    sums: dict[str, float] = {}
    seen = 0
    history: list[dict[str, float]] = []
    best_val: float | None = None
    elapsed = 0.0
    state = load_checkpoint(ckpt_path)
    if state is not None:
        saved = state["config"]
        clash = {k: (saved.get(k), getattr(config, k)) for k in _RESUME_KEYS if saved.get(k) != getattr(config, k)}
        if clash:
            details = ", ".join(f"{k}: checkpoint {a!r} vs now {b!r}" for k, (a, b) in clash.items())
            raise ValueError(f"{ckpt_path} was written with another configuration ({details}); "
                             "use a new output_dir or the same settings")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        set_rng_state(state["rng"])
        step, epoch, batch_index = state["step"], state["epoch"], state["batch_index"]
        sums, seen, history = state["sums"], state["seen"], state["history"]
        best_val, elapsed = state["best_val"], state["elapsed"]
    resumed_from = step
    train_model, device = _distributed_model(model, info) if info.is_distributed else (model, None)

    def checkpoint() -> None:
        if not info.is_main:
            return
        save_checkpoint(ckpt_path, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "ema": ema.state_dict() if ema is not None else None, "rng": rng_state(),
            "step": step, "epoch": epoch, "batch_index": batch_index, "sums": sums, "seen": seen,
            "history": history, "best_val": best_val, "elapsed": elapsed + time.perf_counter() - t0,
            "config": asdict(config),
        })

    t0 = time.perf_counter()
    progress = config.progress and info.is_main
    bar = tqdm(total=total_steps, initial=min(step, total_steps), desc="train", disable=not progress, leave=False)
    stopped = False
    model.train()
    try:
        while epoch < config.epochs and not stopped:
            batches = epoch_batches(len(train_set), config.batch_size, config.seed, epoch)
            while batch_index < len(batches):
                global_batch = batches[batch_index]
                if info.is_distributed:
                    local, weight = _rank_share(global_batch, sizes, info)
                    loss, metrics = loss_fn(train_model, _to_device(_make_batch(train_set, local, collate_fn), device))
                    step_sums = all_reduce_sums({f"m_{k}": float(v) * weight for k, v in
                                                 {"loss": float(loss.detach()), **metrics}.items()},
                                                _reduce_device(info))
                    n_global = len(global_batch)
                    step_means = {k[2:]: v / n_global for k, v in step_sums.items()}
                    loss_value = step_means["loss"]
                else:
                    loss, metrics = loss_fn(model, _make_batch(train_set, global_batch, collate_fn))
                    loss_value = float(loss.detach())
                    step_means = {"loss": loss_value, **metrics}
                if not math.isfinite(loss_value):
                    checkpoint()
                    raise FloatingPointError(
                        f"loss is {loss_value} at step {step} (epoch {epoch}); last good state in {ckpt_path}")
                optimizer.zero_grad(set_to_none=True)
                if info.is_distributed:  # DDP averages over ranks: weight each rank by its share of the batch
                    (loss * (info.world_size * weight / len(global_batch))).backward()
                else:
                    loss.backward()
                if config.grad_clip:
                    torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
                optimizer.step()
                if config.schedule != "plateau":
                    scheduler.step()
                if ema is not None:
                    ema.update()
                n = len(global_batch)
                seen += n
                for key, value in step_means.items():
                    sums[key] = sums.get(key, 0.0) + float(value) * n
                step += 1
                batch_index += 1
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{loss_value:.4g}")
                if step % config.checkpoint_every == 0:
                    checkpoint()
                if max_steps is not None and step >= max_steps and batch_index < len(batches):
                    stopped = True
                    break
            if stopped:
                break
            row: dict[str, float] = {"epoch": epoch, "step": step, "lr": optimizer.param_groups[0]["lr"]}
            row.update({f"train_{k}": v / max(seen, 1) for k, v in sums.items()})
            if val_set is not None and len(val_set) > 0:
                ctx = ema.applied() if ema is not None else contextlib.nullcontext()
                with ctx:
                    val = _evaluate_ranks(model, loss_fn, val_set, config.eval_batch_size or config.batch_size,
                                          collate_fn, config.eval_requires_grad, info, device)
                    if best_val is None or val["loss"] < best_val:
                        best_val = val["loss"]
                        if info.is_main:
                            torch.save(model.state_dict(), best_path)
                row.update({f"val_{k}": v for k, v in val.items()})
            if config.schedule == "plateau":
                scheduler.step(row.get("val_loss", row["train_loss"]))
            row["seconds"] = elapsed + time.perf_counter() - t0
            history.append(row)
            if info.is_main:
                pd.DataFrame(history).to_csv(csv_path, index=False)
            if progress:  # one line per epoch: what a headless run (`workbench run`) echoes live
                tqdm.write(epoch_line(row, config.epochs, out.name))
            epoch, batch_index, sums, seen = epoch + 1, 0, {}, 0
            checkpoint()
            if max_steps is not None and step >= max_steps:
                stopped = epoch < config.epochs
        if stopped:
            checkpoint()
    finally:
        bar.close()
    barrier()  # rank 0's files are complete before any rank reads them
    files = {"checkpoint": ckpt_path, "metrics": csv_path}
    if best_path.exists():
        files["best_model"] = best_path
    return TrainResult(history=pd.DataFrame(history), output_dir=out, step=step, completed=not stopped,
                       resumed_from_step=resumed_from, best_val_loss=best_val, files=files)



def _check_item_sizes(item_sizes: Sequence[float] | None, n: int) -> torch.Tensor:
    if item_sizes is None:
        return torch.ones(n, dtype=torch.float64)
    sizes = torch.as_tensor(np.asarray(item_sizes, dtype=np.float64))
    if sizes.shape != (n,) or not bool(torch.isfinite(sizes).all()) or bool((sizes < 0).any()):
        raise ValueError(f"fit: item_sizes must hold one finite non-negative cost per training item ([{n}]), got "
                         f"shape {tuple(sizes.shape)}")
    return sizes


def _rank_share(global_batch: torch.Tensor, sizes: torch.Tensor, info: DistributedInfo) -> tuple[torch.Tensor, int]:
    """This rank's items of a global batch (bin-packed by size) and how many of them count. A rank left without
    items (fewer items than ranks) runs the batch's first item with weight 0, so that DDP still hears from it."""
    parts = balanced_partition(sizes[global_batch].numpy(), info.world_size)
    mine = global_batch[torch.tensor(parts[info.rank], dtype=torch.long)]
    if mine.numel() == 0:
        return global_batch[:1], 0
    return mine, int(mine.numel())


def epoch_line(row: dict[str, float], epochs: int, name: str = "") -> str:
    """One history row as the line :func:`fit` prints after each epoch (``progress=True``).

    ``row`` holds ``epoch`` (0-based), ``seconds`` and losses/metrics (``train_*``, ``val_*``); ``name`` (the
    run's folder name) tells models apart. Example: ``schnet epoch 3/10: train_loss 0.123, val_loss 0.2 (4.1 s)``.
    """
    values = ", ".join(f"{key} {value:.4g}" for key, value in row.items()
                       if key.startswith(("train_", "val_")) and isinstance(value, (int, float)))
    head = f"{name} epoch" if name else "epoch"
    return f"{head} {int(row['epoch']) + 1}/{epochs}: {values} ({row.get('seconds', 0.0):.1f} s)"


def load_best_weights(model: torch.nn.Module, result: TrainResult) -> torch.nn.Module:
    """Load into ``model`` the weights with the lowest validation loss that :func:`fit` saved in ``result.files``
    (``best_model.pt``; nothing happens when there is none, e.g. without a validation set). Returns ``model``."""
    best = result.files.get("best_model")
    if best is not None:
        model.load_state_dict(torch.load(best, weights_only=True))
    return model

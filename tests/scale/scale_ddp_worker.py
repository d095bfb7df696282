"""A tiny QM9 training for the DDP tests, run as ``torchrun --nproc_per_node N scale_ddp_worker.py OUT ...``
(or with plain ``python`` for one process). float64 throughout; rank 0 writes ``OUT/final.pt`` (the final weights)
and ``OUT/history.csv``. ``--die-at-step K``: rank ``world_size - 1`` kills itself (``os._exit``) when it starts
training step K, as a crashed node would.
"""

from __future__ import annotations

import argparse
import os

import torch

from workbench.data.batch import collate_atoms
from workbench.data.qm9 import QM9Dataset
from workbench.models import build_model
from workbench.train import TrainConfig, fit, init_distributed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--model", default="schnet")
    parser.add_argument("--n-train", type=int, default=17)  # 17 = 2 x 8 + 1: the last global batch has 1 item
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--die-at-step", type=int, default=0)
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    train(**vars(parser.parse_args()))


def train(out: str, model: str = "schnet", n_train: int = 17, batch_size: int = 8, epochs: int = 3,
          die_at_step: int = 0, dtype: str = "float64") -> None:
    """Train and, on rank 0, write ``out/final.pt``, ``out/history.csv`` and ``out/resumed_from.txt``."""
    args = argparse.Namespace(out=out, model=model, n_train=n_train, batch_size=batch_size, epochs=epochs,
                              die_at_step=die_at_step, dtype=dtype)
    dtype = getattr(torch, args.dtype)
    torch.set_default_dtype(dtype)
    info = init_distributed()
    full = QM9Dataset(targets=["gap"], dtype=dtype)
    train_set = full.subset(list(range(args.n_train)))
    val = full.subset(list(range(100, 107)))
    y = torch.tensor(full.target_array()[:, 0])
    mean, std = float(y.mean()), float(y.std())
    torch.manual_seed(0)
    net = build_model(args.model, channels=8, num_layers=2, lmax=1, r_max=4.0, output="scalar", reduce="mean",
                      avg_num_neighbors=8.0)
    calls = {"train_steps": 0}

    def loss_fn(m: torch.nn.Module, batch):
        if m.training:
            calls["train_steps"] += 1
            if args.die_at_step and calls["train_steps"] == args.die_at_step and info.rank == info.world_size - 1:
                os._exit(3)
        out = m(batch.z, batch.pos, batch.batch, batch.num_graphs)
        target = ((batch.y[:, 0] - mean) / std).to(out.dtype)
        loss = torch.nn.functional.l1_loss(out, target)
        return loss, {"mae": float((out.detach() - target).abs().mean()) * std}

    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=5e-3, schedule="cosine", grad_clip=10.0,
                         checkpoint_every=2, seed=0, progress=False)
    sizes = full.conformers.n_atoms[train_set.indices]
    result = fit(net, loss_fn, train_set, val, config=config, output_dir=args.out, collate_fn=collate_atoms,
                 item_sizes=sizes)
    if info.is_main:
        torch.save(net.state_dict(), os.path.join(args.out, "final.pt"))
        result.history.to_csv(os.path.join(args.out, "history.csv"), index=False)
        with open(os.path.join(args.out, "resumed_from.txt"), "w") as f:
            f.write(str(result.resumed_from_step))


if __name__ == "__main__":
    main()

"""Scale-out on one machine: a notebook sweep on 1 vs 2 Dask workers, and DDP training on 1 vs 2 processes.

1. Sweep: ``notebooks/pipelines/shapes.ipynb`` at 4 points (models ``shape_mace``/``pointnet`` x seeds 0/1, small
   data and 3 epochs) through :func:`workbench.sweep.run_sweep` on a ``LocalCluster`` of 1 and then 2 workers; wall
   time of each sweep and the ratio.
2. DDP: MACE on QM9 (``gap``, the shipped subset, float32, global batch 32) trained with the shared loop
   (:func:`workbench.train.fit`) under ``torchrun --nproc_per_node P`` for P = 1 and 2 (gloo, one thread per
   process), and for reference 1 process with 2 threads; training samples per second and the ratio.

Writes benchmarks/results/scale_out.csv (one row per measurement, with the load average at its start, since the
machine may be shared) and prints the ratios. The 2-worker sweep's summary figure (plotly,
``widgets.sweep_summary_figure``) goes to ``summary.html`` beside its ``sweep.csv`` (a temporary folder, printed).

    nice -n 10 .venv/bin/python benchmarks/scale_out.py [--skip-sweep] [--skip-ddp] [--n-train 192] [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from workbench.data.batch import collate_atoms
from workbench.data.qm9 import QM9Dataset
from workbench.models import build_model
from workbench.runner import repo_root
from workbench.sweep import run_sweep
from workbench.train import TrainConfig, fit, init_distributed

RESULTS = Path(__file__).resolve().parent / "results"
SHAPES = repo_root() / "notebooks" / "pipelines" / "shapes.ipynb"
SWEEP_GRID = {"models": [["shape_mace"], ["pointnet"]], "seed": [0, 1]}
SWEEP_FIXED = {"classes": ["sphere", "cube", "helix"], "n_train_per_class": 8, "n_val_per_class": 2,
               "n_test_per_class": 3, "num_points": 24, "epochs": 3, "batch_size": 8, "channels": 4}


def _load() -> float:
    return os.getloadavg()[0]


def ddp_worker(out: str, n_train: int, epochs: int, batch_size: int) -> None:
    """One rank of the DDP measurement (run under torchrun); rank 0 writes ``out/throughput.json``."""
    info = init_distributed()
    full = QM9Dataset(targets=["gap"])
    train = full.subset(list(range(n_train)))
    y = torch.tensor(full.target_array()[:, 0])
    mean, std = float(y.mean()), float(y.std())
    torch.manual_seed(0)
    model = build_model("mace", channels=16, lmax=1, num_layers=2, r_max=5.0, output="scalar", reduce="mean",
                        avg_num_neighbors=10.0)

    def loss_fn(m, batch):
        out_ = m(batch.z, batch.pos, batch.batch, batch.num_graphs)
        target = ((batch.y[:, 0] - mean) / std).to(out_.dtype)
        return torch.nn.functional.l1_loss(out_, target), {}

    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=1e-3, schedule="constant", checkpoint_every=10**6,
                         progress=False)
    start = time.perf_counter()
    fit(model, loss_fn, train, None, config=config, output_dir=out, collate_fn=collate_atoms,
        item_sizes=full.conformers.n_atoms[train.indices])
    seconds = time.perf_counter() - start
    if info.is_main:
        Path(out, "throughput.json").write_text(json.dumps(
            {"processes": info.world_size, "seconds": seconds, "samples": n_train * epochs,
             "samples_per_second": n_train * epochs / seconds}))


def measure_ddp(processes: int, threads: int, args: argparse.Namespace) -> dict:
    out = tempfile.mkdtemp(prefix=f"scale-ddp-{processes}x{threads}-")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "WORKBENCH_DIST_BACKEND": "gloo",
           "PYTHONPATH": str(repo_root())}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
           __file__, "--ddp-worker", out, "--n-train", str(args.n_train), "--epochs", str(args.epochs),
           "--batch-size", str(args.batch_size)]
    load = _load()
    subprocess.run(cmd, env=env, check=True, cwd=repo_root())
    result = json.loads(Path(out, "throughput.json").read_text())
    return {"kind": "ddp", "setting": f"{processes} process(es) x {threads} thread(s)", "processes": processes,
            "threads_per_process": threads, "value": result["samples_per_second"], "unit": "samples/s",
            "seconds": result["seconds"], "load_average_1min": load,
            "detail": f"MACE QM9 gap, {args.n_train} molecules x {args.epochs} epochs, global batch {args.batch_size}"}


def measure_sweep(workers: int) -> tuple[dict, pd.DataFrame, Path]:
    out = Path(tempfile.mkdtemp(prefix=f"scale-sweep-{workers}w-"))
    grid = {**SWEEP_GRID, **{k: [v] for k, v in SWEEP_FIXED.items()}}
    load = _load()
    start = time.perf_counter()
    result = run_sweep(SHAPES, grid, out, workers=workers, progress=True)
    seconds = time.perf_counter() - start
    if result.failed:
        raise RuntimeError(f"{result.failed} sweep point(s) failed:\n{result.table[['point', 'error']]}")
    return ({"kind": "sweep", "setting": f"{workers} worker(s)", "processes": workers, "threads_per_process": 1,
             "value": seconds, "unit": "s", "seconds": seconds, "load_average_1min": load,
             "detail": f"shapes.ipynb, 4 points (models x seeds), {SWEEP_FIXED}"}, result.table, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ddp-worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n-train", type=int, default=192)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-ddp", action="store_true")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    if args.ddp_worker:
        ddp_worker(args.ddp_worker, args.n_train, args.epochs, args.batch_size)
        return
    rows = []
    if not args.skip_ddp:
        for processes, threads in ((1, 1), (2, 1), (1, 2)):
            rows.append(measure_ddp(processes, threads, args))
            print(rows[-1], flush=True)
    if not args.skip_sweep:
        table, folder = None, None
        for workers in (1, 2):
            row, table, folder = measure_sweep(workers)
            rows.append(row)
            print(row, flush=True)
        try:
            from widgets import sweep_summary_figure, write_figure_html  # plotly: the figure only

            fig = sweep_summary_figure(table, "accuracy.{models}.o3", x="seed", line="models",
                                       title="shapes sweep: rotated + reflected test accuracy per model and seed")
            print(f"summary figure: {write_figure_html(fig, folder / 'summary.html')}")
        except ImportError as exc:
            print(f"(no summary figure: {exc})")
    frame = pd.DataFrame(rows)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    frame.to_csv(Path(args.out) / "scale_out.csv", index=False)
    by = frame.set_index("setting")["value"]
    if not args.skip_ddp:
        print(f"DDP samples/s, 2 processes / 1 process (1 thread each): "
              f"{by['2 process(es) x 1 thread(s)'] / by['1 process(es) x 1 thread(s)']:.2f}")
    if not args.skip_sweep:
        print(f"sweep wall time, 1 worker / 2 workers: {by['1 worker(s)'] / by['2 worker(s)']:.2f}")


if __name__ == "__main__":
    main()

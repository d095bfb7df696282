"""Data-parallel training in the shared loop: balanced per-rank batches, and a 2-process gloo DDP run (torchrun) of a
tiny QM9 training that ends with the weights of a 1-process run with the same global batch (float64, 1e-10), also
after one rank was killed and the run resumed from rank 0's checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scale_ddp_worker
import torch
from timeouts import scaled

from workbench.train import BalancedBatchSampler, TrainConfig, balanced_partition, epoch_batches, fit

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(scale_ddp_worker.__file__)
# float64 weights of the same training differ only by summation order (DDP's all-reduce, per-rank partial sums):
# measured 3e-16 on weights of size ~1; the bound leaves room for other BLAS builds.
WEIGHT_TOLERANCE = 1e-10


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "WORKBENCH_DIST_BACKEND": "gloo"}


def _torchrun(out: Path, *extra: str, nproc: int = 2) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", str(WORKER),
           str(out), *extra]
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=scaled(600), cwd=ROOT)


def _max_weight_difference(a: Path, b: Path) -> float:
    wa, wb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert wa.keys() == wb.keys()
    return max(float((wa[k] - wb[k]).abs().max()) for k in wa)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 1-process run (in this process, float64; the default dtype is restored)."""
    out = tmp_path_factory.mktemp("one_process")
    saved = torch.get_default_dtype()
    try:
        scale_ddp_worker.train(str(out))
    finally:
        torch.set_default_dtype(saved)
    return out


def test_balanced_partition_is_deterministic_complete_and_balanced() -> None:
    rng = np.random.default_rng(0)
    sizes = rng.integers(3, 30, size=64)
    parts = balanced_partition(sizes, 4)
    assert parts == balanced_partition(sizes, 4)
    assert sorted(i for p in parts for i in p) == list(range(64))
    loads = [int(sizes[p].sum()) for p in parts]
    assert max(loads) - min(loads) <= sizes.max()  # greedy bin-packing bound
    # baseline: equal item counts (what torch's DistributedSampler does) is much less balanced on these sizes
    naive = [int(sizes[i::4].sum()) for i in range(4)]
    assert max(loads) - min(loads) < max(naive) - min(naive)
    assert balanced_partition([5, 1], 3) == [[0], [1], []]
    with pytest.raises(ValueError, match="parts"):
        balanced_partition([1, 2], 0)
    with pytest.raises(ValueError, match="sizes"):
        balanced_partition([1, -2], 2)


def test_sampler_ranks_share_exactly_the_single_process_global_batches() -> None:
    sizes = np.arange(1, 23)
    samplers = [BalancedBatchSampler(sizes, batch_size=5, seed=3, rank=r, world_size=3) for r in range(3)]
    for epoch in (0, 1):
        for s in samplers:
            s.set_epoch(epoch)
        per_rank = [list(s) for s in samplers]
        globals_ = epoch_batches(len(sizes), 5, 3, epoch)
        assert all(len(b) == len(globals_) == len(samplers[0]) for b in per_rank)
        for k, batch in enumerate(globals_):
            assert sorted(i for r in range(3) for i in per_rank[r][k]) == sorted(batch.tolist())
    assert [list(s) for s in samplers] == per_rank  # same epoch, same batches
    samplers[0].set_epoch(0)
    assert list(samplers[0]) != per_rank[0]  # another epoch, another order
    with pytest.raises(ValueError, match="rank"):
        BalancedBatchSampler(sizes, 5, rank=3, world_size=3)


def test_item_sizes_must_match_the_training_set(tmp_path: Path) -> None:
    model = torch.nn.Linear(2, 1)
    data = [(torch.zeros(2), torch.zeros(1))] * 4

    def loss_fn(m, batch):
        return torch.nn.functional.mse_loss(m(batch[0]), batch[1]), {}

    with pytest.raises(ValueError, match="item_sizes"):
        fit(model, loss_fn, data, config=TrainConfig(epochs=1, progress=False), output_dir=tmp_path, item_sizes=[1, 2])


def test_two_process_gloo_run_matches_one_process(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "two"
    run = _torchrun(out)
    assert run.returncode == 0, run.stderr[-3000:]
    diff = _max_weight_difference(reference / "final.pt", out / "final.pt")
    assert diff <= WEIGHT_TOLERANCE, diff
    one, two = pd.read_csv(reference / "history.csv"), pd.read_csv(out / "history.csv")
    cols = ["train_loss", "train_mae", "val_loss", "val_mae"]
    np.testing.assert_allclose(two[cols].to_numpy(), one[cols].to_numpy(), rtol=1e-10)
    # the weights moved: a run that did not train would not match by accident
    start = tmp_path / "untrained"
    saved = torch.get_default_dtype()
    try:
        scale_ddp_worker.train(str(start), epochs=1, n_train=8)
    finally:
        torch.set_default_dtype(saved)
    assert _max_weight_difference(reference / "final.pt", start / "final.pt") > 1e-4


@pytest.mark.slow
def test_killed_two_process_run_resumes_from_rank0_checkpoint(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    run = _torchrun(out, "--die-at-step", "6")  # the last rank dies at step 6; checkpoints every 2 steps
    assert run.returncode != 0
    assert not (out / "final.pt").exists()
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert state["step"] == 4  # the last checkpoint before the crash (every 2 steps and at epoch ends: 3, 6)
    again = _torchrun(out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert int((out / "resumed_from.txt").read_text()) == state["step"]
    diff = _max_weight_difference(reference / "final.pt", out / "final.pt")
    assert diff <= WEIGHT_TOLERANCE, diff


def test_train_command_rejects_unknown_pipelines_and_fields(tmp_path: Path, capsys) -> None:
    from workbench import cli

    assert cli.main(["train", "nope", "--out", str(tmp_path / "a")]) == 2
    assert "unknown pipeline 'nope'; available: qm9" in capsys.readouterr().err
    assert cli.main(["train", "qm9", "-p", "lr_max", "1", "--out", str(tmp_path / "b")]) == 2
    assert "unknown parameter 'lr_max'" in capsys.readouterr().err
    assert cli.main(["train", "qm9", "-p", "epochs", "two", "--out", str(tmp_path / "c")]) == 2
    assert "'epochs'" in capsys.readouterr().err
    assert not any((tmp_path / n).exists() for n in "abc")


@pytest.mark.slow
def test_qm9_pipeline_under_torchrun_writes_metrics_once(tmp_path: Path) -> None:
    out = tmp_path / "qm9"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "workbench",
           "train", "qm9", "-p", "models", "schnet", "-p", "n_train", "24", "-p", "n_val", "8", "-p", "n_test", "8",
           "-p", "epochs", "1", "-p", "channels", "8", "-p", "batch_size", "8", "-p", "progress", "false",
           "--out", str(out)]
    run = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=scaled(600), cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("ranks: 2 (gloo)") == 1  # rank 0 alone reports
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 24 and metrics["test_mae"]["schnet"] > 0
    history = pd.read_csv(out / "schnet" / "metrics.csv")
    assert list(history["step"]) == [3]  # 24 molecules / global batch 8: 3 steps, not 3 per rank

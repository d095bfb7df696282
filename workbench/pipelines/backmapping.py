"""The backmapping pipeline: CGVAE against the linear lift on alanine dipeptide, for several CG resolutions.

:func:`run_backmapping` loads the trajectory (the shipped ``data/cg_alanine`` frames simulated by the project
with OpenMM, or a user's own file through :func:`workbench.cg.read_trajectory`), splits it in time (first
``train_fraction`` of the frames for training, the next ``val_fraction`` for validation, the rest for testing:
neighbouring MD frames are correlated, so a random split would leak), and for every bead count ``N`` of
``config.n_beads``:

- builds the Girvan–Newman mapping of the all-atom bond graph into ``N`` beads (centre of mass);
- fits :class:`~workbench.cg.LinearBackmapping` (least squares on the training frames);
- trains a :class:`~workbench.cg.CGVAE` (its decoder's linear term started at that lift) with
  :func:`workbench.train.fit` (loss :func:`~workbench.cg.cgvae_loss` with heavy atoms weighted ``heavy_weight``
  times the hydrogens in the MSE and a linear KL warm-up, AdamW, cosine
  schedule; best validation weights kept) in ``<output_dir>/cgvae_<N>/``;
- evaluates both on the test frames: reconstruction (CGVAE: ``z`` = mean of ``q``) and generation (CGVAE:
  ``num_samples`` draws of the conditional prior for each of the first ``n_sample_frames`` test frames; the lift is
  deterministic, its "sample" is its reconstruction): heavy-atom RMSD (in the CG frame and after Kabsch
  alignment), all-atom RMSD, graph-edit ratio of the heavy-atom bond graph, steric clashes, sample diversity
  (mean pairwise RMSD between samples), Jensen–Shannon divergence of the (phi, psi) histogram of the samples
  against that of the same frames' reference structures (20-degree bins), generation throughput (samples/s),
  and the float32 equivariance error of the trained decoder under a random rotation + translation.

Files in ``output_dir``: ``metrics.json`` (everything, with the config and the paper's values), ``results.csv`` (one
row per bead count and model), ``samples.npz`` (for the first test frame: reference, beads and samples of every
resolution, for the 3D view) and per CGVAE the training folder (``metrics.csv``, checkpoints).
Calling it again with the same ``output_dir`` and config resumes from the checkpoints.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from workbench.cg import (
    CGVAE,
    LinearBackmapping,
    Trajectory,
    backbone_dihedrals,
    cgvae_loss,
    dihedral,
    graph_edit_ratio,
    load_cg_alanine,
    partition_mapping,
    ramachandran_js_divergence,
    read_trajectory,
    rmsd,
    sample_diversity,
    steric_clashes,
)
from workbench.cg.alanine import DEFAULT_CG_ALANINE_DIR
from workbench.cg.mapping import CGMapping
from workbench.groups import o3
from workbench.pipelines.common import (
    check_integers,
    check_numbers,
    cosine_train_config,
    fit_models,
    guard_run_folder,
    resolve_config,
)
from workbench.train import load_best_weights

__all__ = ["BackmappingRunConfig", "BackmappingRunResult", "run_backmapping", "PAPER_ALANINE_DIPEPTIDE",
           "MODEL_NAMES"]

MODEL_NAMES = ("cgvae", "linear")
_RESUMABLE_FIELDS = ("epochs", "max_steps", "progress", "checkpoint_every")

#: The CGVAE paper's alanine dipeptide draft values as quoted in issue 21 (only the ends of the bead range are
#: quoted there): heavy-atom reconstruction RMSD (Å) and graph-edit ratio, per bead count.
PAPER_ALANINE_DIPEPTIDE: dict[str, dict[int, float]] = {
    "cgvae_rmsd": {3: 0.21, 12: 0.063},
    "linear_rmsd": {3: 0.941, 12: 0.148},
    "cgvae_ged": {3: 0.0, 12: 0.0},
    "linear_ged": {3: 1.22, 12: 0.037},
}


@dataclass
class BackmappingRunConfig:
    """Parameters of :func:`run_backmapping` (the notebook's parameters map onto these).

    Data: ``trajectory`` (a user's file; empty: the shipped ``data_dir``), ``topology`` (PDB for a DCD/XTC),
    ``n_frames`` (> 0: use only the first ``n_frames``), ``train_fraction``, ``val_fraction``. Mappings:
    ``n_beads`` (bead counts). CGVAE: ``channels``, ``latent_channels``, ``num_layers``, ``correlation``, loss
    weights ``beta`` (KL, reached after ``kl_warmup_steps`` linear warm-up steps) and ``gamma`` (bond lengths; 1
    pulled the heavy atoms away from the lift to fix hydrogen bond lengths, 0.1 does not), ``heavy_weight`` (weight
    of each heavy atom's squared error in the MSE, hydrogens 1: with equal weights the hydrogens, which the beads do
    not place, dominate the loss and the heavy atoms barely move from the lift), ``start_from_linear``
    (start the decoder's linear term at the fitted lift and its network output at zero,
    :meth:`~workbench.cg.CGVAE.init_linear_from`).
    Training: ``epochs``, ``batch_size``, AdamW ``lr`` and
    ``weight_decay``, ``seed``, ``max_steps`` (> 0: stop each model there; resumable). Evaluation:
    ``num_samples`` samples for each of the first ``n_sample_frames`` test frames.
    """

    trajectory: str = ""
    topology: str = ""
    data_dir: str = ""
    n_frames: int = 0
    train_fraction: float = 0.7
    val_fraction: float = 0.1
    n_beads: Sequence[int] = (3, 4, 6, 8, 12)
    channels: int = 16
    latent_channels: int = 8
    num_layers: int = 2
    correlation: int = 2
    beta: float = 0.005
    gamma: float = 0.1
    heavy_weight: float = 10.0
    kl_warmup_steps: int = 100
    epochs: int = 20
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.0
    start_from_linear: bool = True
    num_samples: int = 8
    n_sample_frames: int = 50
    seed: int = 0
    checkpoint_every: int = 200
    max_steps: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.n_beads, str):
            self.n_beads = tuple(int(v) for v in self.n_beads.split(",") if v.strip())
        self.n_beads = tuple(self.n_beads)

    def validate(self) -> None:
        """Raise ValueError naming the field for any bad value (before anything is computed or written)."""
        if not self.n_beads or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2
                                   for n in self.n_beads) or len(set(self.n_beads)) != len(self.n_beads):
            raise ValueError(f"n_beads must be distinct integers >= 2, got {list(self.n_beads)}")
        check_integers(self, {"n_frames": 0, "channels": 1, "latent_channels": 1, "num_layers": 1,
                              "correlation": 1, "epochs": 1, "batch_size": 1, "num_samples": 2,
                              "n_sample_frames": 1, "seed": 0, "checkpoint_every": 1, "max_steps": 0,
                              "kl_warmup_steps": 0})
        check_numbers(self, (("train_fraction", 0.0, True), ("val_fraction", 0.0, True), ("beta", 0.0, False),
                             ("gamma", 0.0, False), ("heavy_weight", 0.0, True), ("lr", 0.0, True),
                             ("weight_decay", 0.0, False)))
        if self.train_fraction + self.val_fraction >= 1.0:
            raise ValueError(f"train_fraction + val_fraction must be < 1 (the rest is the test set), got "
                             f"{self.train_fraction} + {self.val_fraction}")
        if self.topology and not self.trajectory:
            raise ValueError("topology is only read with trajectory= (a DCD/XTC file)")


@dataclass
class BackmappingRunResult:
    """What :func:`run_backmapping` produced: ``results`` (one row per bead count and model), ``metrics``
    (``metrics.json``), ``mappings`` / ``models`` / ``linear`` per bead count, the ``trajectory`` and its
    ``split`` (frame indices), ``samples`` (for the first test frame, per bead count: ``[S, n, 3]``), ``histories``
    (per CGVAE), ``completed`` (False when ``max_steps`` stopped a model early), the written ``files`` and
    ``ramachandran``: (phi, psi) ``[M, 2]`` in degrees of the sampled frames' references (``"reference"``) and of
    the generated structures (``"cgvae_<N>"``, ``"linear_<N>"``), for a peptide (empty otherwise)."""

    results: pd.DataFrame | None
    metrics: dict[str, Any]
    mappings: dict[int, CGMapping]
    models: dict[int, CGVAE]
    linear: dict[int, LinearBackmapping]
    trajectory: Trajectory
    split: dict[str, np.ndarray]
    samples: dict[int, np.ndarray]
    histories: dict[str, pd.DataFrame]
    output_dir: Path
    completed: bool
    files: dict[str, Path] = field(default_factory=dict)
    ramachandran: dict[str, np.ndarray] = field(default_factory=dict)


def _load(config: BackmappingRunConfig) -> Trajectory:
    if config.trajectory:
        traj = read_trajectory(config.trajectory, config.topology or None)
    else:
        traj = load_cg_alanine(config.data_dir or DEFAULT_CG_ALANINE_DIR)
    if config.n_frames:
        if config.n_frames > traj.n_frames:
            raise ValueError(f"n_frames must be <= the {traj.n_frames} frames of the trajectory, got "
                             f"{config.n_frames}")
        traj = traj.subset(slice(0, config.n_frames))
    return traj


def _split(n: int, config: BackmappingRunConfig) -> dict[str, np.ndarray]:
    n_train, n_val = int(round(n * config.train_fraction)), int(round(n * config.val_fraction))
    if n_train < 1 or n_val < 1 or n - n_train - n_val < 1:
        raise ValueError(f"{n} frames leave an empty train/val/test split with train_fraction="
                         f"{config.train_fraction}, val_fraction={config.val_fraction}; use more frames")
    idx = np.arange(n)
    return {"train": idx[:n_train], "val": idx[n_train:n_train + n_val], "test": idx[n_train + n_val:]}


def _phi_psi(traj: Trajectory, positions: np.ndarray) -> np.ndarray | None:
    """``[M, 2]`` (phi, psi) of the first residue that has both, over all frames of ``positions [..., n, 3]``."""
    try:
        quads = dict(backbone_dihedrals(traj.atom_names, traj.residue_names, traj.residue_index))
    except ValueError:
        return None
    phis = sorted(k for k in quads if k.startswith("phi_") and "psi_" + k[4:] in quads)
    if not phis:
        return None
    res = phis[0][4:]
    pos = positions.reshape(-1, traj.n_atoms, 3)
    return np.stack([dihedral(pos, quads["phi_" + res]), dihedral(pos, quads["psi_" + res])], axis=1)


def _equivariance_error(model: CGVAE, coarse: torch.Tensor, seed: int) -> float:
    """Max |decode(R X + t, D(R) z) - (R decode(X, z) + t)| (Å) in the model's dtype, on ``coarse``."""
    gen = torch.Generator().manual_seed(seed)
    rot = o3.rand_matrix(generator=gen, dtype=coarse.dtype)
    shift = torch.randn(3, generator=gen, dtype=coarse.dtype)
    z = torch.randn(coarse.shape[0], model.n_beads, model.irreps_latent.dim, generator=gen, dtype=coarse.dtype)
    d = model.irreps_latent.D_from_matrix(rot).to(coarse.dtype)
    with torch.no_grad():
        out = model.decode(coarse, z)
        moved = model.decode(coarse @ rot.T + shift, z @ d.T)
    return float((moved - (out @ rot.T + shift)).abs().max())


def _evaluate(name: str, n_beads: int, traj: Trajectory, recon: np.ndarray, samples: np.ndarray,
              test: np.ndarray, sample_frames: np.ndarray, seconds: float, ref_phi_psi: np.ndarray | None
              ) -> dict[str, Any]:
    heavy = traj.heavy
    ref = traj.positions[test]
    ref_s = traj.positions[sample_frames]
    s = samples.shape[0]
    row: dict[str, Any] = {
        "n_beads": n_beads, "model": name,
        "rmsd_heavy_recon": float(rmsd(recon, ref, heavy).mean()),
        "rmsd_heavy_recon_aligned": float(rmsd(recon, ref, heavy, align=True).mean()),
        "rmsd_all_recon": float(rmsd(recon, ref).mean()),
        "ged_heavy_recon": float(graph_edit_ratio(recon, traj.bonds, traj.elements, heavy).mean()),
        "rmsd_heavy_sample": float(rmsd(samples, ref_s[None], heavy).mean()),
        "ged_heavy_sample": float(graph_edit_ratio(samples.reshape(-1, traj.n_atoms, 3), traj.bonds,
                                                   traj.elements, heavy).mean()),
        "clashes_per_sample": float(steric_clashes(samples.reshape(-1, traj.n_atoms, 3), traj.bonds,
                                                   traj.elements).mean()),
        "diversity_heavy": float(sample_diversity(samples, heavy).mean()) if s > 1 else 0.0,
        "samples_per_s": float(samples.shape[0] * samples.shape[1] / max(seconds, 1e-9)),
    }
    gen_phi_psi = _phi_psi(traj, samples)
    row["ramachandran_jsd"] = (ramachandran_js_divergence(ref_phi_psi, gen_phi_psi, bins=18)
                               if ref_phi_psi is not None and gen_phi_psi is not None else None)
    return row


def run_backmapping(config: BackmappingRunConfig | None = None, output_dir: str | Path = "runs/backmapping",
                    **overrides: Any) -> BackmappingRunResult:
    """Train and compare CGVAE and the linear lift for every bead count (module docstring). Keyword
    ``overrides`` replace config fields.

    Raises:
        ValueError: bad values (named), a bead count larger than the number of atoms, a trajectory too short for
            the split, or an ``output_dir`` holding a run with another configuration.
    """
    config = resolve_config(BackmappingRunConfig, config, overrides, "run_backmapping")
    t_start = time.perf_counter()
    traj = _load(config)
    too_many = [n for n in config.n_beads if n > traj.n_atoms]
    if too_many:
        raise ValueError(f"n_beads must be <= the {traj.n_atoms} atoms of the trajectory, got {too_many}")
    split = _split(traj.n_frames, config)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    guard_run_folder(out, config, _RESUMABLE_FIELDS, "backmapping")
    torch.manual_seed(config.seed)

    mappings = {n: partition_mapping(traj.bonds, traj.masses, n) for n in config.n_beads}
    positions = torch.as_tensor(traj.positions, dtype=torch.float32)
    train_set, val_set = positions[split["train"]], positions[split["val"]]
    train_config = cosine_train_config(config)

    linear = {n: LinearBackmapping(m).fit(traj.positions[split["train"]]) for n, m in mappings.items()}

    def build(name: str) -> CGVAE:
        torch.manual_seed(config.seed)
        n_beads = int(name.split("_")[1])
        model = CGVAE(mappings[n_beads], channels=config.channels, latent_channels=config.latent_channels,
                      num_layers=config.num_layers, correlation=config.correlation)
        return model.init_linear_from(linear[n_beads]) if config.start_from_linear else model

    atom_weights = torch.where(torch.as_tensor(traj.heavy), float(config.heavy_weight), 1.0)

    def loss_fn(model: torch.nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        return cgvae_loss(model, batch, config.beta, config.gamma, config.kl_warmup_steps, atom_weights)

    names = [f"cgvae_{n}" for n in config.n_beads]
    fitted, fits, files = fit_models(names, build, loss_fn, train_set, val_set, train_config, out, config.max_steps)
    histories = {name: result.history for name, result in fits.items()}
    models = {n: fitted[f"cgvae_{n}"] for n in config.n_beads}
    if not all(r.completed for r in fits.values()):
        return BackmappingRunResult(None, {}, mappings, models, linear, traj, split, {}, histories, out, False,
                                    files)

    test = split["test"]
    sample_frames = test[:config.n_sample_frames]
    ref_phi_psi = _phi_psi(traj, traj.positions[sample_frames])
    gen = torch.Generator().manual_seed(config.seed + 1)
    rows, first_samples, equivariance = [], {}, {}
    angles = {} if ref_phi_psi is None else {"reference": ref_phi_psi}
    for n in config.n_beads:
        model, mapping = models[n], mappings[n]
        load_best_weights(model, fits[f"cgvae_{n}"])
        model.eval()
        recon = model.reconstruct(positions[test]).double().numpy()
        coarse_s = mapping.coarse(positions[sample_frames])
        t0 = time.perf_counter()
        samples = model.sample(coarse_s, config.num_samples, generator=gen).double().numpy()
        seconds = time.perf_counter() - t0
        row = _evaluate("cgvae", n, traj, recon, samples, test, sample_frames, seconds, ref_phi_psi)
        equivariance[n] = _equivariance_error(model, mapping.coarse(positions[test[:8]]), config.seed)
        row.update({"decoder_equivariance_error": equivariance[n], "best_val_loss": fits[f"cgvae_{n}"].best_val_loss,
                    "train_seconds": float(histories[f"cgvae_{n}"]["seconds"].iloc[-1]),
                    "parameters": sum(p.numel() for p in model.parameters())})
        rows.append(row)
        first_samples[n] = samples[:, 0]
        if ref_phi_psi is not None:
            angles[f"cgvae_{n}"] = _phi_psi(traj, samples)
            angles[f"linear_{n}"] = _phi_psi(traj, linear[n](mapping.coarse(traj.positions[sample_frames])))
        t0 = time.perf_counter()
        lift = linear[n](mapping.coarse(traj.positions[test]))
        seconds = time.perf_counter() - t0
        lin_samples = lift[None, :len(sample_frames)]
        lin_row = _evaluate("linear", n, traj, lift, lin_samples, test, sample_frames, seconds * len(sample_frames)
                            / len(test), ref_phi_psi)
        lin_row.update({"diversity_heavy": 0.0, "parameters": int(linear[n].weight.size)})
        rows.append(lin_row)
    results = pd.DataFrame(rows)
    for key, col in (("cgvae_rmsd", "paper_rmsd_heavy"), ("cgvae_ged", "paper_ged_heavy")):
        lin_key = key.replace("cgvae", "linear")
        results[col] = [PAPER_ALANINE_DIPEPTIDE[key if m == "cgvae" else lin_key].get(int(n), np.nan)
                        for n, m in zip(results["n_beads"], results["model"])]
    results.to_csv(out / "results.csv", index=False)
    files["results"] = out / "results.csv"
    first = int(test[0])
    np.savez_compressed(out / "samples.npz", reference=traj.positions[first], elements=traj.elements,
                        bonds=traj.bonds, **{f"samples_{n}": first_samples[n] for n in config.n_beads},
                        **{f"beads_{n}": mappings[n].coarse(traj.positions[first]) for n in config.n_beads},
                        **{f"assignment_{n}": mappings[n].assignment for n in config.n_beads})
    files["samples"] = out / "samples.npz"
    by = {(int(r["n_beads"]), r["model"]): r for r in rows}
    wins = [n for n in config.n_beads
            if by[(n, "cgvae")]["rmsd_heavy_recon"] < by[(n, "linear")]["rmsd_heavy_recon"]]
    summary: dict[str, Any] = {
        "n_frames": traj.n_frames, "n_atoms": traj.n_atoms, "n_heavy": int(traj.heavy.sum()),
        "split": {k: int(len(v)) for k, v in split.items()},
        "trajectory_info": traj.info,
        "mappings": {str(n): [[str(traj.atom_names[i]) for i in b] for b in m.beads()] for n, m in mappings.items()},
        "results": json.loads(results.to_json(orient="records")),
        "cgvae_beats_linear_rmsd_at": wins,
        "decoder_equivariance_error": {str(k): v for k, v in equivariance.items()},
        "paper_alanine_dipeptide": {k: {str(n): v for n, v in d.items()} for k, d in PAPER_ALANINE_DIPEPTIDE.items()},
        "config": json.loads(json.dumps(asdict(config))),
        "wall_seconds_this_call": time.perf_counter() - t_start,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2, default=float) + "\n", encoding="utf-8")
    files["metrics_json"] = out / "metrics.json"
    return BackmappingRunResult(results, summary, mappings, models, linear, traj, split, first_samples, histories,
                                out, True, files, angles)

"""What the Action-Angle Network's frequency calibration does, variant by variant, on a finished run folder.

Loads the trained Action-Angle Network of ``run_action_angle(output_dir=RUN, ...)`` (its best validation weights,
``RUN/action_angle/best_model.pt``, built with the folder's ``run_config.json``) and prints the test MSE at every test
jump and MSE(last) / MSE(first) for:

- ``uncalibrated``: the trained weights as they are;
- ``offset only``: ``omega_0`` shifted by the mean difference between the angle slopes measured over the training
  window and the model's ``omega(J)`` (a constant per degree of freedom; the scatter across trajectories stays);
- ``ridge R``: :func:`workbench.dynamics.calibrate_frequencies` with ridge ``R`` (the pipeline uses 1e-6);
- the same uncalibrated / default-calibrated pair on ``--unseen`` fresh trajectories (another seed), to show the
  refit does not merely memorise the training trajectories.

Usage (evaluation only, well under a minute)::

    python benchmarks/action_angle_calibration.py runs/aa_equal40 [--unseen-seed 7]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from workbench.dynamics import calibrate_frequencies, make_dynamics_dataset
from workbench.dynamics.calibration import measured_frequencies
from workbench.pipelines.action_angle import ActionAngleRunConfig, build_dynamics_model, predict


def _errors(model, data, jumps):
    out = []
    for j in jumps:
        x0, jump, x1 = data.pairs("test", [j])
        out.append(float(((predict(model, x0, jump) - x1) ** 2).mean()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run_action_angle output_dir")
    parser.add_argument("--unseen-seed", type=int, default=7, help="seed of the fresh trajectories")
    args = parser.parse_args()
    saved = json.loads((args.run / "run_config.json").read_text(encoding="utf-8"))
    config = ActionAngleRunConfig(**{k: v for k, v in saved.items() if k in ActionAngleRunConfig.__dataclass_fields__})
    jumps = list(config.test_jumps)

    def dataset(seed):
        return make_dynamics_dataset(config.system, config.n_trajectories, config.n_samples, config.dt,
                                     config.train_fraction, config.test_fraction, seed, config.n_oscillators)

    data, unseen = dataset(config.seed), dataset(args.unseen_seed)
    weights = torch.load(args.run / "action_angle" / "best_model.pt", weights_only=True)

    def fresh():
        model = build_dynamics_model("action_angle", data.system.n_dof, config)
        model.load_state_dict(weights)
        return model.eval()

    rows = []
    model = fresh()
    rows.append(("uncalibrated", _errors(model, data, jumps)))
    actions, slopes, _ = measured_frequencies(model, data.section("train"))
    with torch.no_grad():
        model.base_frequency.add_((slopes - model.frequencies(actions).mean(1)).mean(0))
    rows.append(("offset only", _errors(model, data, jumps)))
    for ridge in (1e-2, 1e-4, 1e-6, 1e-8):
        model = fresh()
        calibrate_frequencies(model, data.section("train"), ridge=ridge)
        rows.append((f"ridge {ridge:g}", _errors(model, data, jumps)))
    model = fresh()
    rows.append((f"unseen seed {args.unseen_seed}: uncalibrated", _errors(model, unseen, jumps)))
    calibrate_frequencies(model, data.section("train"))
    rows.append((f"unseen seed {args.unseen_seed}: ridge 1e-06", _errors(model, unseen, jumps)))
    print("| variant | " + " | ".join(f"MSE({j})" for j in jumps) + f" | MSE({jumps[-1]}) / MSE({jumps[0]}) |")
    print("| --- " * (len(jumps) + 2) + "|")
    for name, errs in rows:
        print(f"| {name} | " + " | ".join(f"{e:.2e}" for e in errs) + f" | {errs[-1] / errs[0]:.2f} |")


if __name__ == "__main__":
    main()

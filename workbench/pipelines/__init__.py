"""workbench.pipelines: the end-to-end jobs behind ``notebooks/pipelines/`` (resumable, headless, tested).

Every pipeline resolves its config the same way (:func:`workbench.pipelines.common.resolve_config`: a config
dataclass plus keyword overrides, unknown names rejected), trains through the one fitting loop
(:func:`workbench.pipelines.common.fit_models` over :func:`workbench.train.fit`), guards its run folder against a
changed config, and writes ``metrics.json``, per-model ``metrics.csv`` and a ``comparison.csv`` built by
:func:`compare_models` (each model beside the baseline, on the same split).

- :func:`run_qm9`: molecular models (SchNet, NequIP, MACE, Equiformer) on a QM9 label, e.g.
  ``run_qm9(models=["mace", "schnet"], target="gap", output_dir="runs/qm9")``.
- :func:`run_shapes`: ShapeMACE against PointNet (plain and rotation-augmented) and invariant-feature logistic
  regression on aligned shapes, tested on aligned, rotated, rotated + reflected.
- :func:`run_jets`: the Lorentz G-MACE against LorentzNet-style and Deep Sets taggers and the physics baselines
  (jet-mass cut, N-subjettiness classifier), tested on boosted jets.
- :func:`run_normals`: Tensor-Frames PointNet++ and MPNN against the same networks without frames, with rotation
  augmentation, and ShapeMACE, on surface normals of O(3)-transformed clouds.
- :func:`run_action_angle`: the Action-Angle Network against Euler-update, Neural ODE and Hamiltonian networks on
  simulated oscillators, Kepler orbits or the double pendulum: test error and cost against the time jump.
"""

from workbench.pipelines import action_angle, backmapping, common, compare, jets, normals, qm9, shapes
from workbench.pipelines.action_angle import ActionAngleRunConfig, run_action_angle
from workbench.pipelines.backmapping import BackmappingRunConfig, run_backmapping
from workbench.pipelines.compare import compare_models
from workbench.pipelines.jets import JetsRunConfig, run_jets
from workbench.pipelines.normals import NormalsRunConfig, run_normals
from workbench.pipelines.qm9 import QM9RunConfig, run_qm9
from workbench.pipelines.shapes import ShapesRunConfig, run_shapes

__all__ = [
    "BackmappingRunConfig",
    "backmapping",
    "run_backmapping",
    "ActionAngleRunConfig",
    "action_angle",
    "run_action_angle",
    "JetsRunConfig",
    "QM9RunConfig",
    "ShapesRunConfig",
    "common",
    "compare",
    "compare_models",
    "jets",
    "normals",
    "NormalsRunConfig",
    "run_normals",
    "qm9",
    "run_jets",
    "run_qm9",
    "run_shapes",
    "shapes",
]

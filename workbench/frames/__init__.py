"""Tensor Frames (Lippmann, Gerhartz, Remme, Hamprecht, arXiv 2405.15389): local frames that make any
message-passing network O(d)-equivariant.

- frames: :func:`gram_schmidt_frames` (O(d) frames from equivariant vectors, reflections through the orientation
  sign, documented fallback), :class:`LearnedFrames` (learned vectors from neighbourhoods), :class:`PCAFrames` (the
  non-learned baseline), :class:`IdentityFrames` (no frames), :func:`frame_predictor`;
- features: :class:`TensorReps` (scalars, vectors, rank-k tensors, pseudo-tensors, O(3) irreps through
  :class:`workbench.groups.o3.Irreps`) with the frame-change maps of their representations;
- the wrapper: :class:`FrameMessagePassing` runs an existing module (the project's convolution, a stock
  torch_geometric layer) in local frames;
- graphs: :func:`knn_graph` of batched clouds.
- models for per-point vector regression (point-cloud normals): :class:`FramesPointNet2`, :class:`FramesMPNN`,
  :class:`ShapeMACENormals`, :class:`RandomO3VectorAugmentation`.
"""

from workbench.frames.augmentation import RandomO3VectorAugmentation
from workbench.frames.gram_schmidt import Frames, cofactor_vector, gram_schmidt_frames
from workbench.frames.learned_frames import LearnedFrames
from workbench.frames.mace_normals import ShapeMACENormals
from workbench.frames.mpnn import EdgeMLPConv, FramesMPNN
from workbench.frames.neighbours import check_points, knn_graph
from workbench.frames.pca_frames import PCAFrames
from workbench.frames.pointnet2 import FramesPointNet2, SetAbstraction
from workbench.frames.predictors import FRAME_KINDS, IdentityFrames, frame_predictor
from workbench.frames.tensor_reps import TensorKind, TensorReps
from workbench.frames.wrapper import FrameMessagePassing, message_copies

__all__ = [
    "FRAME_KINDS", "EdgeMLPConv", "FrameMessagePassing", "Frames", "FramesMPNN", "FramesPointNet2",
    "IdentityFrames", "LearnedFrames", "PCAFrames", "RandomO3VectorAugmentation", "SetAbstraction",
    "ShapeMACENormals", "TensorKind", "TensorReps", "check_points", "cofactor_vector", "frame_predictor",
    "gram_schmidt_frames", "knn_graph", "message_copies",
]

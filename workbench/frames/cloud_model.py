"""What the Tensor-Frames point-cloud models share: normalization, the k-NN graph, the frames, the input features
and the map of the per-point output vector back to the global frame.

``points [B, P, 3]`` are centred and scaled to unit RMS radius (:func:`workbench.models.shapes.normalize_clouds`,
commutes with O(3) and permutations), joined to their ``k`` nearest neighbours (:func:`knn_graph`) and given
frames by the predictor (``"learned"``, ``"pca"`` or ``"none"``, :func:`frame_predictor`). The input features of
every point are ``1x0+1x1``: a constant and its position relative to the centroid (a vector, so it changes frame
like one). A model returns one local vector per point; :meth:`FramesCloudModel.to_global` sends it back with
``F^T``. With ``frames="none"`` every frame is the identity and the model is the same network without frames.
"""

from __future__ import annotations

import torch

from workbench.frames.neighbours import check_points, knn_graph
from workbench.frames.predictors import frame_predictor
from workbench.frames.tensor_reps import TensorReps
from workbench.models.shapes import normalize_clouds

__all__ = ["FramesCloudModel", "INPUT_REPS"]

#: Input features of every point: a constant scalar and the position relative to the centroid.
INPUT_REPS = TensorReps("1x0+1x1")


class FramesCloudModel(torch.nn.Module):
    """Base of :class:`FramesMPNN` and :class:`FramesPointNet2` (module docstring); ``frames`` one of
    :data:`workbench.frames.FRAME_KINDS`, ``k`` neighbours for the graph and the frames."""

    def __init__(self, frames: str = "learned", k: int = 16) -> None:
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise ValueError(f"k must be an integer >= 2 (neighbours per point), got {k!r}")
        self.frames_kind, self.k = frames, k
        self.frame_predictor = frame_predictor(frames, 3)
        #: how many points took the frame fallback in the last forward (see gram_schmidt_frames)
        self.last_degenerate = 0

    @property
    def uses_frames(self) -> bool:
        return self.frames_kind != "none"

    def prepare(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalized positions ``[B*P, 3]``, k-NN edges, frames ``[B*P, 3, 3]`` and input features ``[B*P, 4]``
        (global frame)."""
        check_points(points, self.k + 1)
        if points.shape[2] != 3:
            raise ValueError(f"points must be [B, P, 3], got {tuple(points.shape)}")
        x = normalize_clouds(points)
        edge_index = knn_graph(x, self.k)
        pos = x.reshape(-1, 3)
        frames = self.frame_predictor(pos, edge_index)
        self.last_degenerate = int(frames.degenerate.sum())
        features = torch.cat([pos.new_ones(pos.shape[0], 1), pos], dim=1)
        return pos, edge_index, frames.matrix, features

    @staticmethod
    def to_global(local_vectors: torch.Tensor, frames: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """``F^T v`` per point, reshaped to ``shape`` (``[B, P, 3]``)."""
        return torch.einsum("nji,nj->ni", frames, local_vectors).reshape(shape)

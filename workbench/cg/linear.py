"""The linear CG -> FG baseline: a least-squares lift of bead positions back to atom positions.

With ``c`` the centroid of the beads, every atom is a fixed linear combination of the centred beads::

    x_i = c + sum_I W[i, I] (X_I - c)

``W [n, N]`` minimises the squared error over the training frames (``numpy.linalg.lstsq``, minimum-norm: the
centred beads sum to zero, so ``W`` is determined up to a constant per row, which the minimum norm fixes). The lift
commutes with rotations, reflections and translations of the beads, like the CGVAE decoder, but it is one
deterministic structure per CG frame.
"""

from __future__ import annotations

import numpy as np

from workbench.cg.mapping import CGMapping
from workbench.checks import check_array

__all__ = ["LinearBackmapping"]


class LinearBackmapping:
    """Least-squares lift (module docstring) for one :class:`CGMapping`; :meth:`fit` then :meth:`__call__`.

    >>> import numpy as np
    >>> from workbench.cg.mapping import CGMapping
    >>> mapping = CGMapping(np.array([0, 0, 1]), np.ones(3))
    >>> x = np.random.default_rng(0).normal(size=(50, 3, 3))
    >>> lift = LinearBackmapping(mapping).fit(x)
    >>> lift(mapping.coarse(x)).shape
    (50, 3, 3)
    """

    def __init__(self, mapping: CGMapping) -> None:
        if not isinstance(mapping, CGMapping):
            raise TypeError(f"mapping must be a CGMapping, got {type(mapping).__name__}")
        self.mapping = mapping
        self.weight: np.ndarray | None = None

    def fit(self, positions: np.ndarray) -> LinearBackmapping:
        """Fit ``W`` on atom positions ``[T, n, 3]`` (Å; their beads come from the mapping). Returns self."""
        positions = check_array(np.asarray(positions), "positions", shape=("T", self.mapping.n_atoms, 3),
                                dtype="float", finite=True)
        coarse = self.mapping.coarse(positions)
        centre = coarse.mean(axis=1, keepdims=True)
        a = (coarse - centre).transpose(0, 2, 1).reshape(-1, self.mapping.n_beads)      # [T*3, N]
        b = (positions - centre).transpose(0, 2, 1).reshape(-1, self.mapping.n_atoms)   # [T*3, n]
        self.weight = np.linalg.lstsq(a, b, rcond=None)[0].T                            # [n, N]
        return self

    def __call__(self, coarse: np.ndarray) -> np.ndarray:
        """Atom positions ``[..., n, 3]`` of bead positions ``[..., N, 3]``."""
        if self.weight is None:
            raise RuntimeError("LinearBackmapping: call fit(positions) first")
        coarse = check_array(np.asarray(coarse), "coarse", shape=(..., self.mapping.n_beads, 3), dtype="float",
                             finite=True)
        centre = coarse.mean(axis=-2, keepdims=True)
        return centre + self.weight @ (coarse - centre)

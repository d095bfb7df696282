"""A non-equivariant baseline for Hamiltonian prediction: an MLP from raw Cartesian coordinates to the upper
triangles of ``H`` and ``S`` of one fixed molecule (fixed atoms, fixed order).

It is symmetric by construction but neither rotation equivariant nor permutation equivariant: it sees the
coordinates in the frame they are given in (as SchNOrb-era models trained on MD17 frames, which are not rotated).
It is the baseline of the Hamiltonian pipeline (same split) and the equivariance tests' failing baseline.
"""

from __future__ import annotations

import torch

from workbench.checks import check_tensor

__all__ = ["CartesianHamiltonianMLP"]


class CartesianHamiltonianMLP(torch.nn.Module):
    """``(z [A], pos [A, 3], batch) -> (H, S)`` ``[B, n, n]`` for molecules equal to the template ``z``.

    Args:
        z: atomic numbers of the molecule this baseline is for (every input must equal it).
        num_orbitals: ``n``, the AOs of that molecule.
        hidden: widths of the hidden layers (SiLU).

    The centred coordinates ``[A * 3]`` go through the MLP to ``2 * n(n+1)/2`` numbers, de-standardized with the
    training mean and std set by :meth:`fit_normalization`.
    """

    def __init__(self, z: torch.Tensor, num_orbitals: int, hidden: tuple[int, ...] = (128, 128)) -> None:
        super().__init__()
        check_tensor(z, "z", shape=("A",), dtype="int", hint="atomic numbers of the template molecule")
        if int(num_orbitals) < 1:
            raise ValueError(f"num_orbitals must be >= 1, got {num_orbitals}")
        self.register_buffer("template", z.long().clone())
        self.n = int(num_orbitals)
        iu = torch.triu_indices(self.n, self.n)
        self.register_buffer("_iu", iu, persistent=False)
        m = iu.shape[1]
        sizes = [3 * len(z), *[int(h) for h in hidden], 2 * m]
        layers: list[torch.nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.SiLU()]
        self.mlp = torch.nn.Sequential(*layers[:-1])
        self.register_buffer("mean", torch.zeros(2 * m))
        self.register_buffer("std", torch.ones(2 * m))

    @torch.no_grad()
    def fit_normalization(self, H: torch.Tensor, S: torch.Tensor) -> None:
        """Per-entry mean and std of the training ``H``, ``S`` ``[N, n, n]``."""
        for name, M in (("H", H), ("S", S)):
            check_tensor(M, name, shape=("N", self.n, self.n), dtype="float", hint=f"{self.n} AOs")
        t = torch.cat([H[:, self._iu[0], self._iu[1]], S[:, self._iu[0], self._iu[1]]], dim=1).to(self.mean.dtype)
        self.mean.copy_(t.mean(0))
        self.std.copy_(t.std(0).clamp_min(1e-6) if len(t) > 1 else torch.ones_like(self.std))

    def forward(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor | None = None,
                num_graphs: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        A = len(self.template)
        check_tensor(pos, "pos", shape=("N", 3), dtype="float", finite=True)
        check_tensor(z, "z", shape=(pos.shape[0],), dtype="int")
        if pos.shape[0] % A:
            raise ValueError(f"pos: {pos.shape[0]} atoms is not a whole number of {A}-atom template molecules")
        B = pos.shape[0] // A
        if num_graphs is not None and int(num_graphs) != B:
            raise ValueError(f"num_graphs={num_graphs} but the input holds {B} molecules of {A} atoms")
        if not bool((z.long().view(B, A) == self.template).all()):
            raise ValueError(f"z: this baseline is for the molecule {self.template.tolist()} only (same atom order)")
        x = pos.view(B, A, 3)
        x = (x - x.mean(1, keepdim=True)).reshape(B, 3 * A)
        t = self.mlp(x.to(self.mean.dtype)) * self.std + self.mean
        m = self._iu.shape[1]
        out = []
        for part in (t[:, :m], t[:, m:]):
            M = part.new_zeros(B, self.n, self.n)
            M[:, self._iu[0], self._iu[1]] = part
            M = M + M.transpose(1, 2) - torch.diag_embed(M.diagonal(dim1=1, dim2=2))
            out.append(M.to(pos.dtype))
        return out[0], out[1]

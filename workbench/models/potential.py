"""Interatomic potentials from any molecular model: energies, forces ``-dE/dr`` and stresses by autograd.

One mechanism for every :class:`~workbench.models.base.MolecularModel` (SchNet, NequIP, MACE, Equiformer, or a
user's own): :class:`Potential` wraps a model with scalar, summed output and reads

    E = sum_i E0[z_i] + energy_scale * model(z, pos, batch, cell, pbc)             [B]   eV
    F = -dE/dpos                                                                   [A, 3] eV/Å
    stress = (1/V) dE/d(strain) at strain 0                                        [B, 3, 3] eV/Å³ (periodic)

where the (symmetric) strain acts on positions and cell alike, ``pos -> pos (1 + strain)``,
``cell -> cell (1 + strain)``, as in NequIP and MACE (ASE's convention: a compressed crystal that pushes
outwards has negative diagonal stress). ``E0`` are per-element reference energies
(:func:`workbench.data.potentials.fit_atomic_energies`), ``energy_scale`` makes the model's outputs O(1)
(typically the RMS force, :func:`workbench.data.potentials.force_rms`). Forces are exactly the negative gradient
of the energy the model computes, so an MD run with them conserves that energy up to the integrator's error;
with ``create_graph=True`` (training) the forces can be differentiated again (force-matching losses).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from workbench.checks import check_tensor
from workbench.models.base import MolecularModel
from workbench.nn.graph import scatter_sum

__all__ = ["Potential", "PotentialOutput"]


@dataclass
class PotentialOutput:
    """What :meth:`Potential.forward` returns: ``energy [B]`` (eV), ``forces [A, 3]`` (eV/Å, ``None`` unless
    asked) and ``stress [B, 3, 3]`` (eV/Å³, ``None`` unless asked)."""

    energy: torch.Tensor
    forces: torch.Tensor | None = None
    stress: torch.Tensor | None = None


class Potential(torch.nn.Module):
    """An energy model with forces and stresses by autograd (module docstring).

    Args:
        model: a :class:`MolecularModel` with ``output="scalar"`` and ``reduce="sum"`` (its output, times
            ``energy_scale``, is the energy above the references).
        atomic_energies: ``E0`` per element of ``model.elements`` (eV), default zeros.
        energy_scale: multiplies the model's output (eV), > 0.

    Examples:
        >>> import torch
        >>> from workbench.models import SchNet
        >>> from workbench.models.potential import Potential
        >>> _ = torch.manual_seed(0)
        >>> pot = Potential(SchNet(channels=8, num_interactions=1, elements=(1, 8)), [-13.6, -2041.0]).double()
        >>> z = torch.tensor([8, 1, 1])
        >>> pos = torch.tensor([[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]], dtype=torch.float64)
        >>> out = pot(z, pos)
        >>> out.energy.shape, out.forces.shape
        (torch.Size([1]), torch.Size([3, 3]))
        >>> bool(out.forces.sum(0).abs().max() < 1e-12)       # no net force on a free molecule
        True
    """

    def __init__(self, model: MolecularModel, atomic_energies: Sequence[float] | torch.Tensor | None = None,
                 energy_scale: float = 1.0) -> None:
        super().__init__()
        if not isinstance(model, MolecularModel):
            raise TypeError(f"model must be a workbench MolecularModel (SchNet, NequIP, MACE, Equiformer), got "
                            f"{type(model).__name__}")
        if model.output != "scalar" or model.reduce != "sum":
            raise ValueError(f"model must have output='scalar' and reduce='sum' (an extensive energy), got "
                             f"output={model.output!r}, reduce={model.reduce!r}")
        if not (float(energy_scale) > 0 and torch.isfinite(torch.tensor(float(energy_scale)))):
            raise ValueError(f"energy_scale must be a positive finite number, got {energy_scale!r}")
        e0 = torch.zeros(model.num_elements, dtype=torch.float64) if atomic_energies is None else \
            torch.as_tensor(atomic_energies, dtype=torch.float64).clone()
        check_tensor(e0, "atomic_energies", shape=(model.num_elements,), finite=True,
                     hint=f"one energy per element of {model.elements}")
        self.model = model
        self.register_buffer("atomic_energies", e0)
        self.register_buffer("energy_scale", torch.tensor(float(energy_scale), dtype=torch.float64))

    @property
    def elements(self) -> tuple[int, ...]:
        return self.model.elements

    @property
    def r_max(self) -> float:
        return self.model.r_max

    def forward(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor | None = None,
                num_graphs: int | None = None, cell: torch.Tensor | None = None, pbc: torch.Tensor | None = None,
                *, compute_forces: bool = True, compute_stress: bool = False,
                create_graph: bool = False) -> PotentialOutput:
        """Energies ``[B]`` and, as asked, forces ``[A, 3]`` and stresses ``[B, 3, 3]``.

        ``z [A]`` atomic numbers, ``pos [A, 3]`` Å, ``batch [A]`` structure of each atom (default one structure),
        ``cell [B, 3, 3]`` or ``[3, 3]`` and ``pbc [B, 3]`` or ``[3]`` for periodic structures. Stress needs
        every structure periodic in all three directions (a volume). ``create_graph``: keep the graph of the
        forces (training with a force loss). Gradients are taken even under ``torch.no_grad()``.
        """
        check_tensor(pos, "pos", shape=(z.shape[0], 3), dtype="float", finite=True, hint="one row per atom of z")
        if batch is None:
            batch = torch.zeros(z.shape[0], dtype=torch.long, device=pos.device)
        if num_graphs is None:
            num_graphs = int(batch.max()) + 1 if batch.numel() else 0
        periodic = pbc is not None and bool(torch.as_tensor(pbc).any())
        if compute_stress:
            if not periodic or cell is None:
                raise ValueError("stress needs a periodic cell: pass cell [B, 3, 3] and pbc all True")
            if not bool(torch.as_tensor(pbc).all()):
                raise ValueError("stress needs pbc True in all three directions (a volume)")
        with torch.enable_grad():
            positions = pos if (pos.requires_grad and create_graph) else pos.detach().requires_grad_(compute_forces)
            cells = None
            if periodic:
                if cell is None:
                    raise ValueError("cell [3, 3] or [B, 3, 3] is required when pbc has a periodic direction")
                cells = torch.as_tensor(cell, dtype=pos.dtype, device=pos.device)
                cells = cells.expand(num_graphs, 3, 3) if cells.shape == (3, 3) else cells
            strain = None
            if compute_stress:
                strain = torch.zeros(num_graphs, 3, 3, dtype=pos.dtype, device=pos.device, requires_grad=True)
                sym = 0.5 * (strain + strain.transpose(1, 2))
                positions_in = positions + torch.einsum("ai,aij->aj", positions, sym.index_select(0, batch))
                cells = cells + torch.bmm(cells, sym)
            else:
                positions_in = positions
            raw = self.model(z, positions_in, batch, num_graphs, cell=cells, pbc=pbc if periodic else None)
            species = self.model.species(z)
            reference = scatter_sum(self.atomic_energies.to(pos.dtype).index_select(0, species), batch, num_graphs)
            energy = reference + self.energy_scale.to(pos.dtype) * raw
            forces = stress = None
            wrt = ([positions] if compute_forces else []) + ([strain] if compute_stress else [])
            if wrt:
                grads = torch.autograd.grad(energy.sum(), wrt, create_graph=create_graph, allow_unused=True)
                grads = [torch.zeros_like(w) if g is None else g for g, w in zip(grads, wrt)]
                if compute_forces:
                    forces = -grads[0]
                if compute_stress:
                    volume = torch.linalg.det(cells.detach()).abs()
                    stress = grads[-1] / volume[:, None, None]
        if wrt and not create_graph:  # the graph was freed by autograd.grad: hand back plain values
            energy = energy.detach()
        return PotentialOutput(energy=energy, forces=forces, stress=stress)

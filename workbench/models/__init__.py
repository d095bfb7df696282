"""workbench.models: molecular property models on :mod:`workbench.nn`.

- :class:`SchNet`: invariant baseline (distances only).
- :class:`NequIP`: gated equivariant convolutions (arXiv 2101.03164).
- :class:`MACE`: many-body atomic cluster expansion messages (arXiv 2206.07697).
- :class:`Equiformer`: equivariant graph attention transformer (arXiv 2206.11990).

All share :class:`~workbench.models.base.MolecularModel`'s interface:
``model(z [A], pos [A, 3], batch [A], num_graphs) -> [B]`` (``output="scalar"``) or ``[B, 3]`` (``"dipole"``).
:func:`build_model` makes one by name with common hyper-parameters. :class:`Potential` turns any of them into an
interatomic potential (energy, forces and stress by autograd; periodic cells through ``cell``/``pbc``).

Jet taggers (``model(momenta [B, N, 4], mask [B, N]) -> [B, num_classes]``; inputs and four-vector features in
:mod:`workbench.models.jet_features`): :class:`LorentzMACE` (G-MACE for SO+(1,3)), :class:`LorentzNetLite`
(LorentzNet-style, arXiv 2201.08187) and :class:`DeepSetsTagger` (non-equivariant baseline).

Graph regressors with eigenvector positional encodings (``model(batch: workbench.spectral.GraphBatch) -> [B]``):
:class:`SignNet` (sign invariant), :class:`BasisNet` (basis invariant), baselines :class:`LapPE` (random sign
flips) and :class:`RWSE`, on a :class:`GINBackbone` or :class:`GraphTransformer`; :func:`build_pe_regressor`.
Node-level spectral filter learners with the same encodings: :class:`SpectralFilterNet`; eigenvector-free
baselines :class:`GINFilterNet`, :class:`ChebFilterNet`.
"""

from __future__ import annotations

from typing import Any

from workbench.models.base import OUTPUTS, QM9_ELEMENTS, REDUCTIONS, MolecularModel, NodeFeatures
from workbench.models.basisnet import BasisNet
from workbench.models.deep_sets import DeepSetsTagger
from workbench.models.equiformer import Equiformer
from workbench.models.filter_baselines import ChebFilterNet, GINFilterNet
from workbench.models.filter_nets import FILTER_ENCODINGS, SpectralFilterNet
from workbench.models.gin import GINBackbone
from workbench.models.graph_transformer import GraphTransformer
from workbench.models.hamiltonian_baselines import CartesianHamiltonianMLP
from workbench.models.lap_pe import LapPE
from workbench.models.lorentz_mace import LorentzMACE
from workbench.models.lorentznet import LorentzNetLite
from workbench.models.mace import MACE
from workbench.models.nequip import NequIP
from workbench.models.pe_regressor import BACKBONES, ENCODINGS, PEGraphRegressor, build_pe_regressor
from workbench.models.phisnet import PhiSNet
from workbench.models.phonon_dos import CompositionDOSMLP, PeriodicDOSMACE
from workbench.models.potential import Potential, PotentialOutput
from workbench.models.rwse_pe import RWSE
from workbench.models.schnet import SchNet
from workbench.models.signnet import SignNet

__all__ = ["MODELS", "OUTPUTS", "QM9_ELEMENTS", "REDUCTIONS", "DeepSetsTagger", "Equiformer", "LorentzMACE",
           "LorentzNetLite", "MACE", "MolecularModel", "NequIP", "NodeFeatures", "SchNet", "build_model",
           "BACKBONES", "ENCODINGS", "BasisNet", "GINBackbone", "GraphTransformer", "LapPE", "PEGraphRegressor",
           "RWSE", "SignNet", "build_pe_regressor", "FILTER_ENCODINGS", "SpectralFilterNet", "ChebFilterNet",
           "GINFilterNet", "CompositionDOSMLP", "PeriodicDOSMACE", "Potential", "PotentialOutput"]
__all__ += ["PhiSNet", "CartesianHamiltonianMLP"]

#: name -> (class, is it equivariant beyond invariants)
MODELS: dict[str, type[MolecularModel]] = {"schnet": SchNet, "nequip": NequIP, "mace": MACE, "equiformer": Equiformer}


def build_model(name: str, *, channels: int = 32, lmax: int = 2, num_layers: int | None = None,
                **kwargs: Any) -> MolecularModel:
    """Model ``name`` (one of :data:`MODELS`) with ``channels`` and ``lmax`` mapped onto each architecture.

    ``lmax`` is the degree of the hidden features (NequIP, Equiformer; MACE's ``L`` is ``min(lmax, 1)`` hidden
    with ``sh_lmax = lmax`` for its atomic basis; SchNet ignores it). ``num_layers`` defaults to each class's
    default. Other keyword arguments (``r_max``, ``output``, ``reduce``, ``avg_num_neighbors``, ...) pass through.
    """
    key = str(name).lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(MODELS)}")
    if int(channels) < 1 or int(lmax) < 0:
        raise ValueError(f"channels must be >= 1 and lmax >= 0, got {channels}, {lmax}")
    if key == "schnet":
        kwargs.pop("avg_num_neighbors", None)
        if num_layers is not None:
            kwargs["num_interactions"] = num_layers
        return SchNet(channels=channels, **kwargs)
    if num_layers is not None:
        kwargs["num_layers"] = num_layers
    if key == "mace":
        return MACE(channels=channels, lmax=min(int(lmax), 1), sh_lmax=max(int(lmax), 1), **kwargs)
    return MODELS[key](channels=channels, lmax=max(int(lmax), 1), **kwargs)

"""SignNet and BasisNet, float64: exact sign / basis invariance on graphs with real eigenvalue multiplicities
(cycle, grid, hypercube, benzene), LapPE failing the same tests (non-vacuous), permutation equivariance of node
outputs for every encoding and backbone, masks for graphs smaller than k, disconnected graphs, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.models import BACKBONES, ENCODINGS, BasisNet, SignNet, build_pe_regressor
from workbench.spectral import (
    collate_graphs,
    cycle_graph,
    encode_graph,
    grid_graph,
    hypercube_graph,
    random_basis_change,
    random_sign_flips,
    undirected,
)

pytestmark = pytest.mark.unit

K, STEPS = 8, 6


def _benzene():
    """Benzene's heavy-atom graph (C_6 with aromatic bonds, type 3), and one carbon type."""
    edges = cycle_graph(6)
    return encode_graph(torch.zeros(6, dtype=torch.int64), edges, torch.full((12,), 3), k=K, rwse_steps=STEPS)


def _graphs():
    g = [
        encode_graph(torch.arange(8) % 3, cycle_graph(8), k=K, rwse_steps=STEPS),        # C_8: pairs
        encode_graph(torch.arange(9) % 2, grid_graph(3, 3), k=K, rwse_steps=STEPS),      # 3x3 grid
        encode_graph(torch.zeros(8, dtype=torch.int64), hypercube_graph(3), k=K, rwse_steps=STEPS),  # Q_3: 1,3,3,1
        _benzene(),
        # disconnected: a triangle, an edge and an isolated node (eigenvalue 0 twice under "sym")
        encode_graph(torch.tensor([0, 1, 2, 0, 1, 2]), undirected([(0, 1), (1, 2), (2, 0), (3, 4)]), k=K,
                     rwse_steps=STEPS),
        encode_graph(torch.tensor([1, 2, 1]), undirected([(0, 1), (1, 2)]), k=K, rwse_steps=STEPS),  # n < k
    ]
    return collate_graphs(g)


@pytest.fixture(scope="module")
def batch():
    return _graphs()


def _model(backbone, encoding, seed=0):
    torch.manual_seed(seed)
    model = build_pe_regressor(backbone, encoding, num_node_types=4, num_edge_types=4, k=K, rwse_steps=STEPS,
                               hidden=16, layers=3, pe_dim=8, pe_hidden=8).double()
    return model.eval()


def _max_change(model, batch, transformed):
    with torch.no_grad():
        a, b = model.node_features(batch), model.node_features(transformed)
        ga, gb = model(batch), model(transformed)
    return max(float((a - b).abs().max()), float((ga - gb).abs().max()))


def test_the_graphs_have_real_multiplicities(batch):
    first = batch.ptr[:-1]
    mult = batch.eig_multiplicity[first]
    assert int(mult.max()) == 3  # Q_3
    assert (mult[:4] >= 2).any(dim=1).all()  # C_8, grid, Q_3 and benzene each have a degenerate eigenspace
    assert batch.eig_mask[first][5].tolist() == [True] * 3 + [False] * 5  # the 3-node path is padded


@pytest.mark.parametrize("backbone", BACKBONES)
def test_signnet_is_invariant_to_sign_flips_and_lappe_is_not(batch, backbone):
    gen = torch.Generator().manual_seed(1)
    for trial in range(3):
        flipped = random_sign_flips(batch, gen)
        assert float((flipped.eigvecs - batch.eigvecs).abs().max()) > 0.1
        assert _max_change(_model(backbone, "signnet", trial), batch, flipped) <= 1e-10
        assert _max_change(_model(backbone, "basisnet", trial), batch, flipped) <= 1e-10
        assert _max_change(_model(backbone, "lappe", trial), batch, flipped) > 1e-3


@pytest.mark.parametrize("backbone", BACKBONES)
def test_basisnet_is_invariant_to_eigenspace_rotations_and_signnet_lappe_are_not(batch, backbone):
    gen = torch.Generator().manual_seed(2)
    for trial in range(3):
        rotated = random_basis_change(batch, gen)
        assert _max_change(_model(backbone, "basisnet", trial), batch, rotated) <= 1e-10
        assert _max_change(_model(backbone, "lappe", trial), batch, rotated) > 1e-3
        # SignNet is only sign invariant: a rotation inside a 2- or 3-dimensional eigenspace changes it
        assert _max_change(_model(backbone, "signnet", trial), batch, rotated) > 1e-6


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_node_outputs_are_permutation_equivariant(batch, backbone, encoding):
    gen = torch.Generator().manual_seed(3)
    perm = torch.cat([int(batch.ptr[b]) + torch.randperm(int(batch.ptr[b + 1] - batch.ptr[b]), generator=gen)
                      for b in range(batch.num_graphs)])
    moved = batch.permuted(perm)
    model = _model(backbone, encoding)
    with torch.no_grad():
        h, h_moved = model.node_features(batch), model.node_features(moved)
        y, y_moved = model(batch), model(moved)
    assert float((h_moved - h[perm]).abs().max()) <= 1e-10
    assert float((y_moved - y).abs().max()) <= 1e-10
    assert float((h_moved - h).abs().max()) > 1e-6  # the permutation really moved node features


@pytest.mark.parametrize("encoder", [SignNet(K, 8, 8), BasisNet(K, 8, 8)], ids=["signnet", "basisnet"])
def test_padding_columns_are_ignored(batch, encoder):
    encoder = encoder.double().eval()
    garbage = batch.eigvecs.clone()
    garbage[~batch.eig_mask] = 0.7  # finite junk in the padding of the graphs smaller than k
    assert bool((~batch.eig_mask).any())
    with torch.no_grad():
        assert float((encoder(batch.with_eigvecs(garbage)) - encoder(batch)).abs().max()) <= 1e-12


def test_lappe_flips_signs_in_training_only(batch):
    model = _model("gin", "lappe")
    with torch.no_grad():
        assert torch.equal(model(batch), model(batch))
        model.train()
        torch.manual_seed(0)
        a = model(batch)
        b = model(batch)
    assert float((a - b).abs().max()) > 1e-6


def test_bad_input_raises(batch):
    model = _model("gin", "signnet")
    bad = batch.eigvecs.clone()
    bad[0, 0] = math.nan
    with pytest.raises(ValueError, match="eigvecs must be finite"):
        batch.with_eigvecs(bad)
    from dataclasses import replace

    with pytest.raises(ValueError, match="batch.eigvecs must be finite"):
        model(replace(batch, eigvecs=bad))
    with pytest.raises(ValueError, match=r"batch.eigvecs must have shape \[N, 8\]"):
        model(replace(batch, eigvecs=batch.eigvecs[:, :4]))
    with pytest.raises(ValueError, match="unknown encoding"):
        build_pe_regressor("gin", "lape", num_node_types=2, num_edge_types=1, k=4, rwse_steps=4)
    with pytest.raises(ValueError, match="unknown backbone"):
        build_pe_regressor("gatedgcn", "none", num_node_types=2, num_edge_types=1, k=4, rwse_steps=4)
    with pytest.raises(ValueError, match="permutation of the nodes within each graph"):
        batch.permuted(torch.arange(batch.x.shape[0]).flip(0))

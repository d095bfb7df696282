"""Jet taggers (workbench.models.lorentz_mace, .lorentznet, .deep_sets; inputs from .jet_features): Lorentz invariance
(random elements and rapidity-2 boosts), permutation and padding invariance, the (1/2,1/2) change of basis, the non-
invariance of the Deep Sets baseline, gradients and bad input. Synthetic jets only (random light particles around a
jet axis, E ~ 10-300 GeV).

Relative error below means ``max |got - expected| / max |expected|`` over the batch.
"""

from __future__ import annotations

import copy
import functools
import math

import pytest
import torch

from workbench.groups import Irreps
from workbench.groups.lorentz import Lorentz
from workbench.models.deep_sets import DeepSetsTagger
from workbench.models.jet_features import check_jets, minkowski_dot
from workbench.models.lorentz_mace import LorentzMACE, minkowski_to_irrep
from workbench.models.lorentznet import LorentzNetLite

pytestmark = pytest.mark.unit


def _jets(sizes=(7, 12, 3), n_max=14, seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded float64 jets: ``sizes[b]`` particles of mass 0.14 GeV within ~0.3 rad of a random axis."""
    g = torch.Generator().manual_seed(seed)
    p = torch.zeros(len(sizes), n_max, 4, dtype=torch.float64)
    mask = torch.zeros(len(sizes), n_max, dtype=torch.bool)
    for b, n in enumerate(sizes):
        axis = torch.randn(3, generator=g, dtype=torch.float64)
        d = axis / axis.norm() + 0.15 * torch.randn(n, 3, generator=g, dtype=torch.float64)
        d = d / d.norm(dim=1, keepdim=True)
        e = 10.0 + 290.0 * torch.rand(n, generator=g, dtype=torch.float64)
        p[b, :n, 0] = e
        p[b, :n, 1:] = torch.sqrt(e**2 - 0.14**2)[:, None] * d
        mask[b, :n] = True
    return p, mask


def _rel(got: torch.Tensor, expected: torch.Tensor) -> float:
    got, expected = got.detach().double(), expected.detach().double()
    return float((got - expected).abs().max() / expected.abs().max())


@functools.cache
def _built(name: str, correlation: int = 3) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "mace":
        return LorentzMACE(num_classes=2, channels=4, correlation=correlation, num_layers=2, hidden=16)
    if name == "lorentznet":
        return LorentzNetLite(num_classes=2, hidden=16, num_layers=2)
    return DeepSetsTagger(num_classes=2, hidden=16)


def _model(name: str, correlation: int = 3, dtype=torch.float64) -> torch.nn.Module:
    return copy.deepcopy(_built(name, correlation)).to(dtype)


def _transforms():
    lor = Lorentz()
    g = torch.Generator().manual_seed(7)
    out = [("random", lor.vector_matrix(lor.random_element(g))) for _ in range(2)]
    direction = torch.randn(3, generator=g, dtype=torch.float64)
    out.append(("boost y=2", lor.vector_matrix(lor.boost(2.0, direction))))
    composed = lor.vector_matrix(lor.rotation(1.1, [1.0, 2.0, -0.5])) @ lor.vector_matrix(lor.boost(-1.5, [0, 0, 1]))
    out.append(("rotation o boost", composed))
    return out


def test_change_of_basis_intertwines():
    lor = Lorentz()
    s = minkowski_to_irrep()
    ir = lor.irrep("(1/2,1/2)")
    assert torch.allclose(s @ s.conj().T, torch.eye(4, dtype=s.dtype), atol=1e-15)  # unitary
    g = torch.Generator().manual_seed(3)
    elements = [lor.random_element(g) for _ in range(3)] + [lor.boost(2.0, [0.2, -1.0, 0.4])]
    for el in elements:
        lam = lor.vector_matrix(el).to(torch.complex128)
        d = ir.matrix(el).to(torch.complex128)
        assert float((s @ lam @ torch.linalg.inv(s) - d).abs().max()) <= 1e-12 * float(d.abs().max())
    # the Minkowski product is an invariant of the irrep basis: x^T C x with the library's (0,0) coupling
    p = torch.randn(6, 4, generator=g, dtype=torch.float64)  # generic (time-, space- and light-like mixed)
    x = p.to(torch.complex128) @ s.T
    m2 = minkowski_dot(p, p)
    assert float(m2.abs().min()) > 1e-3
    # Schur: the (1/2,1/2)x(1/2,1/2)->(0,0) coupling is proportional to S^-T eta S^-1

    sp = Irreps(lor, "(1/2,1/2)+(0,0)")
    v, z = sp[0].ir, sp[1].ir
    c = sp.coupling(v, v, z)[0, :, :, 0]
    ratio = torch.einsum("ni,ij,nj->n", x, c, x) / m2
    assert float((ratio - ratio[0]).abs().max()) <= 1e-12 * float(ratio[0].abs())


@pytest.mark.parametrize("correlation", [2, 3])
def test_mace_lorentz_invariance(correlation):
    model = _model("mace", correlation)
    p, mask = _jets()
    out = model(p, mask)
    assert out.shape == (3, 2) and out.dtype == torch.float64
    for name, lam in _transforms():
        assert torch.allclose(lam.T @ Lorentz().metric @ lam, Lorentz().metric, atol=1e-9 * lam.abs().max() ** 2)
        assert _rel(model(p @ lam.T, mask), out) <= 1e-8, name


def test_lorentznet_lite_invariance():
    model = _model("lorentznet")
    p, mask = _jets()
    out = model(p, mask)
    for name, lam in _transforms():
        assert _rel(model(p @ lam.T, mask), out) <= 1e-8, name


def test_float32_invariance():
    model = _model("mace", dtype=torch.float32)
    p, mask = _jets()
    out = model(p.float(), mask)
    assert out.dtype == torch.float32
    lam = _transforms()[2][1]
    assert _rel(model((p @ lam.T).float(), mask), out) <= 1e-4


@pytest.mark.parametrize("name", ["mace", "lorentznet", "deepsets"])
def test_permutation_and_padding_invariance(name):
    model = _model(name)
    p, mask = _jets()
    out = model(p, mask)
    g = torch.Generator().manual_seed(1)
    perm = torch.randperm(p.shape[1], generator=g)  # moves padded slots between real ones too
    assert _rel(model(p[:, perm], mask[:, perm]), out) <= 1e-10
    padded = torch.cat([p, torch.zeros(3, 5, 4, dtype=p.dtype)], dim=1)
    padded[:, -2:] = 1e6  # the contents of padded slots are ignored
    pmask = torch.cat([mask, torch.zeros(3, 5, dtype=torch.bool)], dim=1)
    assert _rel(model(padded, pmask), out) <= 1e-10
    # a jet's output does not depend on the other jets of the batch
    assert _rel(model(p[1:2], mask[1:2]), out[1:2]) <= 1e-10


def test_mace_sees_the_momenta():
    model = _model("mace")
    p, mask = _jets()
    out = model(p, mask)
    q = p.clone()
    q[0, 0] = q[0, 1]  # a different jet (not a Lorentz image of the first)
    assert _rel(model(q, mask)[0], out[0]) > 1e-4
    assert _rel(model(2 * p, mask), out) > 1e-4  # not scale invariant: GeV matter


def test_deepsets_not_boost_invariant():
    model = _model("deepsets")
    p, mask = _jets()
    out = model(p, mask)
    lam = _transforms()[2][1]
    assert _rel(model(p @ lam.T, mask), out) > 1e-3
    # but it is invariant under rotations about the beam (z) axis
    rot = Lorentz().vector_matrix(Lorentz().rotation(0.7, [0, 0, 1]))
    assert _rel(model(p @ rot.T, mask), out) <= 1e-10


@pytest.mark.parametrize("name", ["mace", "lorentznet", "deepsets"])
def test_gradients_flow(name):
    model = _model(name, dtype=torch.float32)
    p, mask = _jets()
    p = p.float().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(model(p, mask), torch.tensor([0, 1, 1]))
    loss.backward()
    assert torch.isfinite(p.grad).all() and p.grad[mask].abs().sum() > 0
    assert float(p.grad[~mask].abs().max()) == 0.0
    params = [q for q in model.parameters() if q.requires_grad]
    assert all(q.grad is not None and torch.isfinite(q.grad).all() for q in params)
    assert sum(int(q.grad.abs().sum() > 0) for q in params) >= 0.9 * len(params)


def test_one_logit_and_no_mask():
    torch.manual_seed(0)
    model = LorentzMACE(num_classes=1, channels=2, correlation=2, num_layers=1, hidden=8).double()
    p, mask = _jets((4, 4), 4)
    assert mask.all()
    assert torch.allclose(model(p), model(p, mask))
    assert model(p).shape == (2, 1)


def test_bad_inputs():
    model = _model("mace")
    p, mask = _jets()
    empty = mask.clone()
    empty[1] = False
    with pytest.raises(ValueError, match=r"row\(s\) \[1\].*no constituents"):
        model(p, empty)
    bad = p.clone()
    bad[2, 1, 0] = math.nan
    with pytest.raises(ValueError, match=r"finite.*\[2\]"):
        model(bad, mask)
    bad[2, 1, 0] = math.inf
    with pytest.raises(ValueError, match="finite"):
        DeepSetsTagger()(bad.float(), mask)
    with pytest.raises(ValueError, match=r"\[B, N, 4\]"):
        model(p[..., :3], mask)
    with pytest.raises(ValueError, match=r"\[B, N, 4\]"):
        model(p[0], mask[0])
    with pytest.raises(ValueError, match="mask"):
        model(p, mask[:, :-1])
    with pytest.raises(ValueError, match="mask"):
        model(p, mask.double())
    with pytest.raises(ValueError, match="empty batch"):
        check_jets(p[:0], mask[:0])
    with pytest.raises(ValueError, match="correlation"):
        LorentzMACE(correlation=0)
    with pytest.raises(ValueError, match="channels"):
        LorentzMACE(channels=0)
    # a NaN in a padded slot is ignored
    pad_nan = p.clone()
    pad_nan[2, -1] = math.nan
    assert torch.isfinite(model(pad_nan, mask)).all()

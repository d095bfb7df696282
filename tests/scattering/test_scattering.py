"""workbench.scattering: element tables, Debye I(Q)/S(Q)/F(Q), PDFs, powder patterns, refinement; invariances
(each shown failing for a non-invariant quantity) and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from tests.scattering.structures import FCC_BASIS, fcc_cluster, random_orthogonal
from workbench.scattering import (
    debye_scattering,
    neutron_scattering_lengths,
    pair_distribution,
    pdf_from_structure_factor,
    powder_pattern,
    powder_profile,
    supported_elements,
    xray_form_factors,
)
from workbench.scattering.refine import aligned_rmsd, refine_positions

F64 = torch.float64


def _alloy(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = fcc_cluster(3.7, n) + 0.05 * torch.randn(n, 3, dtype=F64, generator=g)
    species = ["Cu", "Au", "Ni"] * (n // 3) + ["Cu"] * (n % 3)
    return species, pos


# ---------------------------------------------------------------- element tables

def test_form_factors_at_zero_are_electron_counts_and_decay():
    z = torch.tensor([1, 13, 29, 79])
    f = xray_form_factors(z, torch.tensor([1e-9, 5.0, 20.0], dtype=F64))
    assert torch.allclose(f[:, 0], z.to(F64), rtol=1e-3, atol=0)  # the fit reproduces Z to 0.04 e
    assert bool((f[:, 1] < f[:, 0]).all() and (f[:, 2] < f[:, 1]).all())
    assert neutron_scattering_lengths(torch.tensor([1, 29])).tolist() == [-3.739, 7.718]  # Sears 1992


def test_unknown_element_lists_supported():
    with pytest.raises(ValueError, match="unknown element 'Xx'.*supported: H, He, Li"):
        debye_scattering(["Cu", "Xx"], torch.zeros(2, 3, dtype=F64), torch.ones(3, dtype=F64))
    with pytest.raises(ValueError, match="unknown element 'Po' for neutron"):
        neutron_scattering_lengths(torch.tensor([84]))
    assert "Po" in supported_elements("xray") and "Po" not in supported_elements("neutron")


# ---------------------------------------------------------------- Debye equation

def test_two_atoms_analytic_with_debye_waller():
    pos = torch.tensor([[0.0, 0, 0], [0, 0, 2.3]], dtype=F64)
    q = torch.linspace(0.3, 15, 50, dtype=F64)
    out = debye_scattering(["Cu", "Al"], pos, q, biso={"Cu": 0.4, "Al": 0.8})
    f = xray_form_factors(torch.tensor([13, 29]), q)
    dw = torch.exp(-(q**2) * 1.2 / (16 * math.pi**2))
    expected = f[0] ** 2 + f[1] ** 2 + 2 * f[0] * f[1] * dw * torch.sin(2.3 * q) / (2.3 * q)
    assert torch.allclose(out.intensity, expected, rtol=1e-12)
    mean_f = (f[0] + f[1]) / 2
    assert torch.allclose(out.structure_factor, 1 + (expected - f[0] ** 2 - f[1] ** 2) / (2 * mean_f**2))
    assert torch.allclose(out.reduced_structure_factor, q * (out.structure_factor - 1))


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-6)])
def test_histogram_matches_direct_sum(dtype, tol):
    species, pos = _alloy(120)
    q = torch.linspace(0.05, 25, 300, dtype=F64)
    exact = debye_scattering(species, pos, q, method="direct").intensity
    fast = debye_scattering(species, pos.to(dtype), q.to(dtype), method="histogram", chunk_size=1000).intensity
    assert float(((fast.double() - exact).abs() / exact.abs()).max()) < tol


def test_partials_recombine_and_batches_match():
    species, pos = _alloy(30)
    q = torch.linspace(0.5, 12, 40, dtype=F64)
    out = debye_scattering(species, pos, q, radiation="neutron", biso=0.5)
    b = neutron_scattering_lengths(torch.tensor([28, 29, 79]))  # symbols come sorted by Z: Ni, Cu, Au
    assert out.symbols == ["Ni", "Cu", "Au"]
    c = out.fractions
    weights = (c[:, None] * c[None, :] * b[:, None] * b[None, :])[..., None] / (c * b).sum() ** 2
    assert torch.allclose(((out.partial_structure_factors - 1) * weights).sum((0, 1)), out.structure_factor - 1)
    stacked = torch.stack([pos, pos.flip(0) * 1.01])
    batched = debye_scattering(species, stacked, q, radiation="neutron", biso=0.5)
    second = debye_scattering(species, pos.flip(0) * 1.01, q, radiation="neutron", biso=0.5)
    assert torch.allclose(batched.intensity[0], out.intensity, rtol=1e-12)
    assert torch.allclose(batched.intensity[1], second.intensity, rtol=1e-12)


# ---------------------------------------------------------------- invariance (float64 <= 1e-10)

def _spectra(species, pos, cell_frac=None):
    q = torch.linspace(0.2, 20, 80, dtype=F64)
    r = torch.linspace(1.0, 8.0, 120, dtype=F64)
    out = {}
    for method in ("direct", "histogram"):
        d = debye_scattering(species, pos, q, method=method, biso={"Cu": 0.3, "Au": 0.2, "Ni": 0.4})
        out[f"I_{method}"], out[f"S_{method}"], out[f"F_{method}"] = d.intensity, d.structure_factor, \
            d.reduced_structure_factor
        out[f"Sab_{method}"] = d.partial_structure_factors
    pdf = pair_distribution(species, pos, r, radiation="xray")
    out["R"], out["G"], out["Gab"] = pdf.rdf, pdf.reduced_pdf, pdf.partial_pdfs
    out["G_from_F"] = pdf_from_structure_factor(q, out["F_direct"], r, qdamp=0.02, lorch=True)
    return out


def _fixed_direction_intensity(species, pos):
    """Single-crystal intensity |sum_j f_j exp(i k.r_j)|^2 at one fixed k vector: not rotation invariant."""
    k = torch.tensor([1.3, -0.4, 0.9], dtype=F64)
    z = torch.tensor([29 if s == "Cu" else 79 if s == "Au" else 28 for s in species])
    phase = pos @ k
    return (z * torch.cos(phase)).sum() ** 2 + (z * torch.sin(phase)).sum() ** 2


@pytest.mark.parametrize("reflect", [False, True])
def test_every_spectrum_is_e3_and_permutation_invariant(reflect):
    species, pos = _alloy(36, seed=1)
    rotation = random_orthogonal(3, reflect)
    perm = torch.randperm(len(species), generator=torch.Generator().manual_seed(5))
    moved = (pos @ rotation.T + torch.tensor([4.0, -7.5, 2.25], dtype=F64))[perm]
    moved_species = [species[i] for i in perm.tolist()]
    before, after = _spectra(species, pos), _spectra(moved_species, moved)
    for name in before:
        scale = float(before[name].abs().max())
        assert float((before[name] - after[name]).abs().max()) <= 1e-10 * scale, name
    # the same check on a quantity that is not invariant fails
    a, b = _fixed_direction_intensity(species, pos), _fixed_direction_intensity(moved_species, moved)
    assert float((a - b).abs()) > 1e-3 * float(a)


def test_powder_pattern_invariant_under_rotation_origin_shift_and_permutation():
    cell = torch.tensor([[3.7, 0.1, 0.0], [0.0, 3.8, 0.2], [0.1, 0.0, 3.9]], dtype=F64)
    frac = torch.tensor(FCC_BASIS, dtype=F64) + 0.01 * torch.arange(12, dtype=F64).reshape(4, 3) / 12
    species = ["Cu", "Au", "Au", "Ni"]
    base = powder_pattern(species, frac, cell, two_theta_range=(10, 120))
    rotation = random_orthogonal(11, True)
    perm = [2, 0, 3, 1]
    moved = powder_pattern([species[i] for i in perm], (frac[perm] + torch.tensor([0.3, -0.2, 0.7], dtype=F64)),
                           cell @ rotation.T, two_theta_range=(10, 120))
    assert torch.allclose(base.two_theta, moved.two_theta, atol=1e-10, rtol=0)
    assert float((base.intensity - moved.intensity).abs().max()) <= 1e-10 * 100
    # non-invariant: stretching the cell moves the peaks
    stretched = powder_pattern(species, frac, cell * 1.01, two_theta_range=(10, 120))
    assert float((stretched.two_theta[:3] - base.two_theta[:3]).abs().max()) > 0.1


# ---------------------------------------------------------------- PDF

@pytest.mark.parametrize("element,a", [("Cu", 3.615), ("Al", 4.0495)])
def test_pdf_peaks_at_fcc_nearest_neighbour_distance(element, a):
    pos = fcc_cluster(a, 200)
    r = torch.linspace(1.5, 4.5, 3001, dtype=F64)
    nn = a / math.sqrt(2)
    direct = pair_distribution([element] * 200, pos, r, sigma=0.05, density=4 / a**3)
    assert abs(float(r[direct.reduced_pdf.argmax()]) - nn) < 1.5e-3
    first_shell = r < 3.1  # R(r) grows with the shell populations (12, 6, 24, ...): its first peak
    assert abs(float(r[first_shell][direct.rdf[first_shell].argmax()]) - nn) < 1.5e-3
    q = torch.linspace(0.02, 30.0, 3000, dtype=F64)
    fq = debye_scattering([element] * 200, pos, q, biso=0.2).reduced_structure_factor
    via_fourier = pdf_from_structure_factor(q, fq, r)
    assert abs(float(r[via_fourier.argmax()]) - nn) < 1.5e-3


def test_pdf_from_fq_equals_direct_pdf_for_matching_broadening():
    species, pos = _alloy(30, seed=2)
    biso = 0.5
    sigma = math.sqrt(biso) / (2 * math.pi)
    q = torch.linspace(0.005, 45.0, 9000, dtype=F64)
    r = torch.linspace(1.5, 7.0, 200, dtype=F64)
    fq = debye_scattering(species, pos, q, radiation="neutron", biso=biso).reduced_structure_factor
    direct = pair_distribution(species, pos, r, sigma=sigma, radiation="neutron").reduced_pdf
    assert float((pdf_from_structure_factor(q, fq, r) - direct).abs().max()) < 2e-3 * float(direct.abs().max())


# ---------------------------------------------------------------- powder

def test_powder_profile_integrates_to_intensity_and_neutron_option():
    cell = torch.eye(3, dtype=F64) * 4.0495
    frac = torch.tensor(FCC_BASIS, dtype=F64)
    peaks = powder_pattern(["Al"] * 4, frac, cell, radiation="neutron", wavelength=1.54, scaled=False)
    assert peaks.multiplicity[:3].tolist() == [8, 6, 12]  # (111), (200), (220)
    assert all(sum(h) % 2 == 0 or all(v % 2 for v in h) for hs in peaks.hkl for h in hs)  # fcc selection rule
    grid = torch.linspace(float(peaks.two_theta[0]) - 3, float(peaks.two_theta[0]) + 3, 6001, dtype=F64)
    profile = powder_profile(peaks, grid, fwhm=0.2, eta=0.0)
    assert abs(float(torch.trapezoid(profile, grid)) / float(peaks.intensity[0]) - 1) < 1e-6


# ---------------------------------------------------------------- refinement

def test_refinement_recovers_distorted_cluster():
    ref = fcc_cluster(3.615, 13)  # Cu cuboctahedron
    q = torch.linspace(0.5, 20.0, 150, dtype=F64)
    target = debye_scattering(["Cu"] * 13, ref, q, biso=0.3).structure_factor
    start = ref + 0.15 * torch.randn(13, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    refined, losses = refine_positions(["Cu"] * 13, start, q, target, steps=40, biso=0.3)
    assert losses[-1] < 1e-3 * losses[0]
    assert float(aligned_rmsd(refined, ref)) < float(aligned_rmsd(start, ref)) / 20


def test_histogram_gradient_matches_direct_gradient():
    species, pos = _alloy(20, seed=4)
    q = torch.linspace(0.5, 15.0, 60, dtype=F64)
    grads = []
    for method in ("direct", "histogram"):
        x = pos.clone().requires_grad_(True)
        debye_scattering(species, x, q, method=method, chunk_size=50).intensity.sum().backward()
        grads.append(x.grad)
    assert torch.allclose(grads[0], grads[1], rtol=1e-8, atol=1e-8 * float(grads[0].abs().max()))


# ---------------------------------------------------------------- bad input

def test_bad_input_errors():
    q = torch.linspace(0.5, 5, 5, dtype=F64)
    pos = torch.zeros(2, 3, dtype=F64)
    with pytest.raises(ValueError, match="structure is empty"):
        debye_scattering([], torch.zeros(0, 3, dtype=F64), q)
    with pytest.raises(ValueError, match=r"q must be > 0"):
        debye_scattering(["Cu", "Cu"], pos, torch.tensor([0.0, 1.0], dtype=F64))
    with pytest.raises(ValueError, match=r"q must be > 0"):
        debye_scattering(["Cu", "Cu"], pos, torch.tensor([-1.0, 1.0], dtype=F64))
    with pytest.raises(ValueError, match=r"r must be > 0"):
        pair_distribution(["Cu", "Cu"], pos, torch.tensor([0.0, 1.0], dtype=F64))
    with pytest.raises(ValueError, match="pos must have shape"):
        debye_scattering(["Cu", "Cu"], torch.zeros(2, 2, dtype=F64), q)
    with pytest.raises(ValueError, match="species has 3 entries but pos has 2"):
        debye_scattering(["Cu"] * 3, pos, q)
    with pytest.raises(ValueError, match="must be finite"):
        debye_scattering(["Cu", "Cu"], torch.tensor([[0.0, 0, 0], [math.nan, 0, 0]], dtype=F64), q)
    with pytest.raises(ValueError, match="needs a periodic structure"):
        powder_pattern(["Cu"], torch.zeros(1, 3, dtype=F64), None)
    with pytest.raises(ValueError, match="non-zero volume"):
        powder_pattern(["Cu"], torch.zeros(1, 3, dtype=F64), torch.zeros(3, 3, dtype=F64))
    with pytest.raises(ValueError, match="biso must be >= 0"):
        debye_scattering(["Cu", "Cu"], pos, q, biso=-1.0)
    with pytest.raises(ValueError, match="method must be"):
        debye_scattering(["Cu", "Cu"], pos, q, method="fft")

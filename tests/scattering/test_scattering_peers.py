"""Parity with the peer libraries a user would otherwise pick (oracles only, skipped when not installed):
DebyeCalculator for the Debye I(Q)/S(Q), pymatgen's XRDCalculator for powder patterns."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tests.scattering.structures import fcc_cluster
from workbench.scattering import atomic_numbers, debye_scattering, element_symbols, powder_pattern

F64 = torch.float64


@pytest.mark.parametrize("radiation", ["xray", "neutron"])
def test_debye_intensity_matches_debyecalculator(radiation):
    debyecalculator = pytest.importorskip("debyecalculator")
    pos = fcc_cluster(3.7, 150) + 0.03 * torch.randn(150, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    species = (["Cu", "Au", "Ni"] * 50)[:150]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calc = debyecalculator.DebyeCalculator(qmin=0.5, qmax=25.0, qstep=0.05, biso=0.3, device="cpu",
                                               dtype=F64, radiation_type=radiation)
        peer_i = calc.iq((species, pos.numpy()))[1]
        peer_s = calc.sq((species, pos.numpy()))[1]
    q = calc.q.squeeze(-1)
    ours = debye_scattering(species, pos, q, radiation=radiation, biso=0.3)
    # DebyeCalculator sums each pair once and halves the self term: its I(Q) is half the Debye I(Q), and its S(Q)
    # is the pair term alone over N <f>^2, i.e. (S(Q) - 1) / 2 in our convention. Same Waasmaier-Kirfel and Sears
    # tables, same Debye-Waller factor exp(-Q^2 B / (8 pi^2)) on the distinct pairs.
    assert np.max(np.abs(ours.intensity.numpy() / 2 - peer_i) / np.abs(peer_i)) < 1e-4
    peer_scale = np.abs(peer_s).max()
    assert np.max(np.abs((ours.structure_factor.numpy() - 1) / 2 - peer_s)) < 1e-4 * peer_scale


def _pymatgen_form_factor(params):
    """pymatgen's XRDCalculator form factor f = Z - 41.78214 s^2 sum_i a_i exp(-b_i s^2) (its own 4-Gaussian table),
    so that our intensities can be compared with the same scattering factors."""

    def form_factor(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        rows = []
        for symbol, zi in zip(element_symbols(z), z.tolist()):
            coeffs = torch.tensor(params[symbol], dtype=s.dtype)
            gauss = (coeffs[:, 0, None] * torch.exp(-coeffs[:, 1, None] * s[None] ** 2)).sum(0)
            rows.append(zi - 41.78214 * s**2 * gauss)
        return torch.stack(rows)

    return form_factor


@pytest.mark.parametrize("name", ["Cu", "NaCl", "CsCl", "Al3Ni_L12"])
def test_powder_pattern_matches_pymatgen(name):
    pytest.importorskip("pymatgen")
    from pymatgen.analysis.diffraction.xrd import ATOMIC_SCATTERING_PARAMS, XRDCalculator
    from pymatgen.core import Lattice, Structure

    structures = {
        "Cu": Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.615), ["Cu"], [[0, 0, 0]]),
        "NaCl": Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
        "CsCl": Structure.from_spacegroup("Pm-3m", Lattice.cubic(4.12), ["Cs", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]),
        "Al3Ni_L12": Structure(Lattice.tetragonal(3.57, 3.60), ["Ni", "Al", "Al", "Al"],
                               [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]),
    }
    structure = structures[name]
    peer = XRDCalculator(wavelength="CuKa").get_pattern(structure, scaled=True, two_theta_range=(0, 120))
    species = [site.specie.symbol for site in structure]
    frac = torch.tensor(structure.frac_coords, dtype=F64)
    cell = torch.tensor(structure.lattice.matrix, dtype=F64)
    ours = powder_pattern(species, frac, cell, two_theta_range=(0, 120),
                          form_factor=_pymatgen_form_factor(ATOMIC_SCATTERING_PARAMS))
    visible = ours.intensity > 1e-3  # pymatgen drops scaled intensities below 1e-3
    np.testing.assert_allclose(ours.two_theta[visible].numpy(), peer.x, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.intensity[visible].numpy(), peer.y, rtol=1e-2)
    peer_multiplicity = [sum(h["multiplicity"] for h in family) for family in peer.hkls]
    assert ours.multiplicity[visible].tolist() == peer_multiplicity
    # With our default Waasmaier-Kirfel form factors the positions are the same and the intensities differ only
    # through the form factors (pymatgen's is a different 4-Gaussian fit, f = Z - 41.78 s^2 sum a e^(-b s^2)):
    # measured 1.2% (Cu), 2.9% (CsCl) and 10% on the weak odd reflections of NaCl (|f_Na - f_Cl|^2).
    default = powder_pattern(species, frac, cell, two_theta_range=(0, 120))
    np.testing.assert_allclose(default.two_theta[visible].numpy(), peer.x, rtol=0, atol=1e-8)
    assert np.max(np.abs(default.intensity[visible].numpy() - peer.y) / peer.y) < 0.15
    assert atomic_numbers(species).numel() == len(structure)

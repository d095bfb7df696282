"""Scattering spectra of structures: X-ray/neutron total scattering (Debye equation), pair distribution functions
and powder diffraction patterns, in torch (batched, differentiable, float32/float64, any device).

* :mod:`~workbench.scattering.elements`: Waasmaier–Kirfel X-ray form factors, Sears neutron scattering lengths.
* :mod:`~workbench.scattering.debye`: I(Q), S(Q), F(Q), partial S_ab(Q) of finite structures (chunked pair sums).
* :mod:`~workbench.scattering.pdf`: G(r), R(r), partial G_ab(r) directly and by the sine transform of F(Q).
* :mod:`~workbench.scattering.powder`: powder diffraction of periodic crystals (reflections, profiles).
* :mod:`~workbench.scattering.phonons`: phonon DOS, dispersion and neutron-weighted DOS (phonopy, 'spectra' extra).
"""

from workbench.scattering.debye import (
    DebyeResult,
    debye_intensity,
    debye_scattering,
    reduced_structure_factor,
    structure_factor,
)
from workbench.scattering.elements import (
    atomic_numbers,
    element_symbols,
    neutron_scattering_lengths,
    scattering_factors,
    supported_elements,
    xray_form_factors,
)
from workbench.scattering.pdf import PDFResult, pair_distribution, pdf_from_structure_factor
from workbench.scattering.phonons import (
    DOS_BINS,
    DOS_MAX_THZ,
    EMT_ELEMENTS,
    PhononBands,
    PhononResult,
    average_frequency,
    bin_dos,
    compute_phonons,
    dos_bin_centres,
    heat_capacity,
    normalize_dos,
)
from workbench.scattering.powder import CU_KALPHA, PowderPeaks, powder_pattern, powder_profile

__all__ = [
    "CU_KALPHA",
    "DOS_BINS",
    "DOS_MAX_THZ",
    "EMT_ELEMENTS",
    "PhononBands",
    "PhononResult",
    "average_frequency",
    "bin_dos",
    "dos_bin_centres",
    "heat_capacity",
    "normalize_dos",
    "compute_phonons",
    "DebyeResult",
    "PDFResult",
    "PowderPeaks",
    "atomic_numbers",
    "debye_intensity",
    "debye_scattering",
    "element_symbols",
    "neutron_scattering_lengths",
    "pair_distribution",
    "pdf_from_structure_factor",
    "powder_pattern",
    "powder_profile",
    "reduced_structure_factor",
    "scattering_factors",
    "structure_factor",
    "supported_elements",
    "xray_form_factors",
]

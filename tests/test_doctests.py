"""The docstring Examples of the main entry points run, and every listed entry point has at least one.

A newcomer copies these first: ``wb.o3.Irreps(...)``, ``wb.groups.by_name(...)``, a layer, a model, a pipeline.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

#: The main entry points (module, attribute or "" for the module docstring) that must carry runnable Examples.
ENTRY_POINTS = [
    ("workbench", ""),
    ("workbench.checks", ""),
    ("workbench.data", ""),
    ("workbench.groups.irreps", "Irreps"),
    ("workbench.groups.o3.irreps", "Irreps"),
    ("workbench.groups.lookup", "by_name"),
    ("workbench.groups.group", "intertwining_error"),
    ("workbench.groups.o3.spherical_harmonics", "spherical_harmonics"),
    ("workbench.nn.linear", "Linear"),
    ("workbench.equivariance.lie_derivative", "lie_derivative"),
    ("workbench.pipelines.compare", "compare_models"),
    ("workbench.pipelines.qm9", "run_qm9"),
    ("workbench.nn.activation", "Gate.from_irreps"),
    ("workbench.models.mace", "MACE"),
    ("widgets.spectra_explorer", "spectra_state"),
    ("workbench.spectral.laplacian", ""),
    ("workbench.frames.tensor_reps", ""),
    ("workbench.frames.gram_schmidt", ""),
    ("workbench.frames.wrapper", ""),
    ("workbench.spectral.eigen", ""),
    ("workbench.spectral.eigenspaces", ""),
    ("workbench.spectral.rwse", ""),
    ("workbench.spectral.symmetries", ""),
    ("workbench.spectral.batch", ""),
    ("workbench.spectral.named_graphs", ""),
    ("workbench.models.pe_regressor", ""),
    ("workbench.scattering.elements", ""),
    ("workbench.scattering.debye", ""),
    ("workbench.scattering.pdf", ""),
    ("workbench.scattering.powder", ""),
    ("workbench.scattering.refine", ""),
    ("workbench.dynamics", ""),
    ("workbench.dynamics.dataset", ""),
    ("workbench.dynamics.oscillators", ""),
    ("workbench.dynamics.kepler", ""),
    ("workbench.dynamics.symplectic", ""),
    ("workbench.dynamics.action_angle", ""),
    ("workbench.dynamics.calibration", ""),
    ("workbench.pipelines.action_angle", ""),
    ("workbench.spectral.filters", ""),
    ("workbench.spectral.random_graphs", ""),
    ("workbench.models.filter_nets", ""),
    ("workbench.scattering.phonons", ""),
    ("workbench.models.phonon_dos", "PeriodicDOSMACE"),
    ("workbench.models.filter_baselines", ""),
    ("workbench.spectral.images", ""),
    ("workbench.partition", ""),
    ("workbench.partition.graphs", ""),
    ("workbench.partition.metrics", ""),
    ("workbench.partition.baselines", ""),
    ("workbench.partition.coarsening", ""),
    ("workbench.partition.refinement", ""),
    ("workbench.partition.nested_dissection", ""),
    ("workbench.partition.gnn_partitioner", ""),
    ("workbench.partition.rl_refinement", ""),
    ("workbench.partition.separator_rl", ""),
    ("workbench.pipelines.partitioning", ""),
    ("workbench.hamiltonian.basis", "OrbitalBasis"),
    ("workbench.hamiltonian.ao_convention", "shell_conversion"),
    ("workbench.hamiltonian.dataset", "load_hamiltonians"),
    ("workbench.hamiltonian.eigen", "generalized_eigh"),
    ("workbench.models.phisnet", "PhiSNet"),
    ("workbench.models.phisnet", "block_irreps"),
    ("workbench.hamiltonian.block_errors", "block_errors"),
    ("workbench.hamiltonian.block_errors", "summarize_block_errors"),
    ("workbench.cg.mapping", "partition_mapping"),
    ("workbench.cg.mapping", "mapping_matrix"),
    ("workbench.cg.linear", "LinearBackmapping"),
    ("workbench.cg.metrics", "rmsd"),
    ("workbench.cg.trajectory", "covalent_bonds"),
    ("workbench.cg.cgvae", "CGVAE"),
    ("workbench.models.potential", "Potential"),
    ("workbench.data.potentials", "fit_atomic_energies"),
    ("workbench.data.potential_data", "load_potential_dataset"),
    ("workbench.calculators.ase_calculator", "WorkbenchCalculator"),
    ("workbench.pipelines.potential", "run_potential"),
    ("workbench.train.distributed", "balanced_partition"),
    ("workbench.train.distributed", "BalancedBatchSampler"),
    ("workbench.sweep", "parse_grid_values"),
    ("workbench.sweep", "point_name"),
    ("workbench.sweep", "run_sweep"),
]

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

#: Entry points whose Examples need an optional extra: (module, attribute) -> the module the extra installs. ``make
#: test`` installs them all; a venv without one skips these examples (the code raises an ImportError naming the extra).
NEEDS_EXTRA = {("workbench.pipelines.partitioning", ""): "pymetis"}


def _doctests(module_name: str, attribute: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    obj = module
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    name = f"{module_name}.{attribute}" if attribute else module_name
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, module=module, globs=vars(module).copy())
    return [t for t in tests if t.examples]


@pytest.mark.parametrize(("module_name", "attribute"), ENTRY_POINTS, ids=[f"{m}:{a}" for m, a in ENTRY_POINTS])
def test_entry_point_examples_run(module_name: str, attribute: str):
    if (module_name, attribute) in NEEDS_EXTRA:
        pytest.importorskip(NEEDS_EXTRA[module_name, attribute])
    tests = _doctests(module_name, attribute)
    assert tests, f"{module_name}.{attribute} has no docstring Examples"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {module_name}.{attribute} failed"

"""Alanine dipeptide (ACE-ALA-NME) simulated by the project with OpenMM: the shipped ``data/cg_alanine`` data.

Method (:func:`simulate_alanine_dipeptide`; every setting is recorded in the manifest):

- topology: the ten heavy atoms of ``CC(=O)N[C@@H](C)C(=O)NC`` (L-alanine) embedded by RDKit ETKDG (seed), written
  as a PDB with the standard ACE/ALA/NME names; OpenMM's ``Modeller.addHydrogens`` adds the 12 hydrogens from the
  force field's templates (22 atoms, OpenMM's order);
- force field: Amber ff14SB (``amber14-all.xml``) with OBC2 implicit solvent (``implicit/obc2.xml``), both bundled
  with OpenMM; no cutoff, bonds to hydrogen constrained;
- dynamics: ``LangevinMiddleIntegrator`` at 300 K, friction 1/ps, 2 fs step, after energy minimization and
  ``equilibration_ps`` discarded; one frame every ``stride_ps``; OpenMM's CPU platform on one thread with
  deterministic forces, and the hydrogens started from a seeded RNG, so the same seed rebuilds the same file.

Positions are stored in ångström as float32 in ``trajectory.npz`` (with elements, bonds, masses, names, times).
"""

from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from workbench.cg.trajectory import Trajectory
from workbench.data.manifest import MANIFEST_NAME, read_verified_npz, sha256_file, write_npz_reproducible
from workbench.version import __version__

__all__ = ["simulate_alanine_dipeptide", "build_cg_alanine", "load_cg_alanine", "require_openmm",
           "DEFAULT_CG_ALANINE_DIR"]

DEFAULT_CG_ALANINE_DIR = Path(__file__).resolve().parents[2] / "data" / "cg_alanine"
_FILE = "trajectory.npz"
_SMILES = "CC(=O)N[C@@H](C)C(=O)NC"
# (residue, residue number, PDB atom name, element) of the SMILES heavy atoms, in SMILES order
_HEAVY = [("ACE", 1, "CH3", "C"), ("ACE", 1, "C", "C"), ("ACE", 1, "O", "O"), ("ALA", 2, "N", "N"),
          ("ALA", 2, "CA", "C"), ("ALA", 2, "CB", "C"), ("ALA", 2, "C", "C"), ("ALA", 2, "O", "O"),
          ("NME", 3, "N", "N"), ("NME", 3, "C", "C")]


def require_openmm() -> Any:
    """The ``openmm`` module; ImportError naming the ``md`` extra when missing."""
    try:
        import openmm  # optional heavy dependency (the 'md' extra): simulating the shipped trajectory only
    except ImportError as err:
        raise ImportError("simulating alanine dipeptide needs OpenMM (the 'md' extra): pip install "
                          "'equivariant-workbench[md]'") from err
    return openmm


def _heavy_atom_pdb(seed: int) -> str:
    try:
        from rdkit import Chem  # optional heavy dependency (the 'chem' extra): initial heavy-atom coordinates only
        from rdkit.Chem import AllChem
    except ImportError as err:
        raise ImportError("building the alanine dipeptide needs RDKit (the 'chem' extra): pip install "
                          "'equivariant-workbench[chem]'") from err
    mol = Chem.AddHs(Chem.MolFromSmiles(_SMILES))
    if AllChem.EmbedMolecule(mol, randomSeed=int(seed)) != 0:
        raise RuntimeError(f"RDKit could not embed {_SMILES} with seed {seed}")
    pos = mol.GetConformer().GetPositions()
    lines = []
    for i, (res, num, name, element) in enumerate(_HEAVY):
        x, y, z = pos[i]
        lines.append(f"ATOM  {i + 1:5d} {(' ' + name) if len(name) < 4 else name:<4s} {res:3s} A{num:4d}    "
                     f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00          {element:>2s}")
    return "\n".join(lines + ["END"]) + "\n"


def simulate_alanine_dipeptide(length_ps: float = 500.0, stride_ps: float = 0.25, equilibration_ps: float = 10.0,
                               temperature_k: float = 300.0, timestep_fs: float = 2.0, friction_per_ps: float = 1.0,
                               seed: int = 0) -> Trajectory:
    """Run the simulation of the module docstring and return its frames (``length_ps / stride_ps`` of them).

    ``info`` holds the settings, OpenMM's version, the wall time and the throughput (steps/s, frames/s).
    """
    for name, value in (("length_ps", length_ps), ("stride_ps", stride_ps), ("temperature_k", temperature_k),
                        ("timestep_fs", timestep_fs), ("friction_per_ps", friction_per_ps)):
        if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    if not (np.isfinite(equilibration_ps) and equilibration_ps >= 0):
        raise ValueError(f"equilibration_ps must be a finite number >= 0, got {equilibration_ps!r}")
    steps_per_frame = int(round(stride_ps * 1000.0 / timestep_fs))
    if steps_per_frame < 1 or abs(steps_per_frame * timestep_fs - stride_ps * 1000.0) > 1e-6:
        raise ValueError(f"stride_ps must be a whole number of {timestep_fs} fs steps, got {stride_ps}")
    n_frames = int(round(length_ps / stride_ps))
    if n_frames < 1:
        raise ValueError(f"length_ps must hold at least one stride ({stride_ps} ps), got {length_ps}")
    openmm = require_openmm()
    from openmm import app, unit  # optional heavy dependency (the 'md' extra), as above

    pdb = app.PDBFile(io.StringIO(_heavy_atom_pdb(seed)))
    forcefield = app.ForceField("amber14-all.xml", "implicit/obc2.xml")
    modeller = app.Modeller(pdb.topology, pdb.positions)
    # addHydrogens starts the new hydrogens at positions from Python's global `random`: seed it for a reproducible
    # build, and give the caller's random state back afterwards
    state = random.getstate()
    random.seed(int(seed))
    try:
        modeller.addHydrogens(forcefield, platform=openmm.Platform.getPlatformByName("Reference"))
    finally:
        random.setstate(state)
    system = forcefield.createSystem(modeller.topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    integrator = openmm.LangevinMiddleIntegrator(temperature_k * unit.kelvin, friction_per_ps / unit.picosecond,
                                                 timestep_fs * unit.femtosecond)
    integrator.setRandomNumberSeed(int(seed) + 1)  # 0 would mean "pick a seed at random" in OpenMM
    platform = openmm.Platform.getPlatformByName("CPU")
    simulation = app.Simulation(modeller.topology, system, integrator, platform,
                               {"Threads": "1", "DeterministicForces": "true"})
    simulation.context.setPositions(modeller.positions)
    simulation.minimizeEnergy()
    simulation.context.setVelocitiesToTemperature(temperature_k * unit.kelvin, int(seed) + 1)
    simulation.step(int(round(equilibration_ps * 1000.0 / timestep_fs)))
    frames = np.empty((n_frames, modeller.topology.getNumAtoms(), 3))
    start = time.perf_counter()
    for k in range(n_frames):
        simulation.step(steps_per_frame)
        state = simulation.context.getState(getPositions=True)
        frames[k] = state.getPositions(asNumpy=True).value_in_unit(unit.angstrom)
    wall = time.perf_counter() - start
    atoms = list(modeller.topology.atoms())
    bonds = [[a.index, b.index] for a, b in modeller.topology.bonds()]
    masses = [system.getParticleMass(i).value_in_unit(unit.dalton) for i in range(len(atoms))]
    info = {"generator": "workbench.cg.alanine.simulate_alanine_dipeptide", "openmm_version": openmm.__version__,
            "smiles": _SMILES, "force_field": ["amber14-all.xml", "implicit/obc2.xml"],
            "integrator": "LangevinMiddleIntegrator", "temperature_k": temperature_k, "timestep_fs": timestep_fs,
            "friction_per_ps": friction_per_ps, "length_ps": length_ps, "stride_ps": stride_ps,
            "equilibration_ps": equilibration_ps, "constraints": "HBonds", "nonbonded": "NoCutoff",
            "platform": "CPU, 1 thread, DeterministicForces", "seed": int(seed), "wall_s": round(wall, 3),
            "steps_per_s": round(n_frames * steps_per_frame / wall, 1), "frames_per_s": round(n_frames / wall, 2)}
    return Trajectory(frames, [a.element.atomic_number for a in atoms], bonds, masses, [a.name for a in atoms],
                      [a.residue.name for a in atoms], [a.residue.index for a in atoms],
                      equilibration_ps + stride_ps * np.arange(1, n_frames + 1), info)


def build_cg_alanine(out: str | Path = DEFAULT_CG_ALANINE_DIR, seed: int = 0, length_ps: float = 500.0,
                     stride_ps: float = 0.25) -> Path:
    """Simulate (:func:`simulate_alanine_dipeptide`) and write ``out/trajectory.npz`` + ``manifest.json``;
    ``workbench build-data cg_alanine`` calls this. Returns ``out``."""
    traj = simulate_alanine_dipeptide(length_ps=length_ps, stride_ps=stride_ps, seed=seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {"positions": traj.positions.astype(np.float32), "elements": traj.elements.astype(np.int8),
              "bonds": traj.bonds.astype(np.int16), "masses": traj.masses, "atom_names": traj.atom_names,
              "residue_names": traj.residue_names, "residue_index": traj.residue_index.astype(np.int8),
              "time_ps": traj.time_ps}
    write_npz_reproducible(out / _FILE, arrays)
    manifest = {"builder": "workbench.cg.alanine.build_cg_alanine", "workbench_version": __version__,
                "generator": f"OpenMM {traj.info['openmm_version']} molecular dynamics (see method)",
                "numpy_version": np.__version__, "seed": int(seed), "method": traj.info,
                "units": {"positions": "angstrom (float32)", "masses": "dalton", "time_ps": "ps"},
                "counts": {"frames": traj.n_frames, "atoms": traj.n_atoms, "heavy_atoms": int(traj.heavy.sum()),
                           "bonds": len(traj.bonds)},
                "topology": [f"{r}{i + 1}:{a}" for r, i, a in zip(traj.residue_names, traj.residue_index,
                                                                   traj.atom_names)],
                "files": {_FILE: {"file": _FILE, "sha256": sha256_file(out / _FILE),
                                  "bytes": (out / _FILE).stat().st_size}}}
    try:
        from rdkit import __version__ as rdkit_version  # optional heavy dependency (the 'chem' extra), version only
        manifest["rdkit_version"] = rdkit_version
    except ImportError:  # pragma: no cover - the build above needed it
        pass
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def load_cg_alanine(folder: str | Path = DEFAULT_CG_ALANINE_DIR, verify: bool = True) -> Trajectory:
    """The shipped alanine dipeptide trajectory (``data/cg_alanine``), checked against its manifest sha256."""
    manifest, arrays, _ = read_verified_npz(folder, _FILE, "the shipped alanine dipeptide frames are built by "
                                            "`workbench build-data cg_alanine`",
                                            "rebuild with `workbench build-data cg_alanine`", verify=verify)
    return Trajectory(arrays["positions"].astype(np.float64), arrays["elements"], arrays["bonds"], arrays["masses"],
                      arrays["atom_names"], arrays["residue_names"], arrays["residue_index"], arrays["time_ps"],
                      dict(manifest.get("method", {})))

"""Top-quark tagging jets: a Pythia 8 + FastJet generator (extra ``hep``) and the jet set shipped in ``data/jets``.

The recipe follows the Top Quark Tagging Reference Dataset (Kasieczka, Plehn et al., "The Machine Learning
Landscape of Top Taggers", SciPost Phys. 7, 014 (2019), arXiv 1902.09914) **without its Delphes detector
simulation**; a simple parametric detector response stands in for it (see "Detector response" below):

======================== ==============================================================================================
collisions               pp at sqrt(s) = 14 TeV, Pythia 8 with its default tune (Monash 2013)
signal                   hadronic ttbar (``Top:gg2ttbar``, ``Top:qqbar2ttbar``; W -> quarks only)
background               QCD dijets (``HardQCD:all``)
generation window        pT-hat in [:attr:`JetGeneratorConfig.pthat_min`, :attr:`~JetGeneratorConfig.pthat_max`]
underlying event         no multi-parton interactions, no pile-up (as the reference set)
particles                all stable *visible* final-state particles (neutrinos dropped), hadron level, then the
                         detector response (:attr:`JetGeneratorConfig.smearing`, :attr:`~JetGeneratorConfig.massless`)
jets                     anti-kT, R = 0.8 (FastJet); the *leading* jet of the event is kept if its pT is in
                         [550, 650] GeV and its |eta| < 2
signal truth             the jet axis is within ΔR < 0.8 of a parton-level top and of all three of its decay quarks
                         (b and the two quarks of the W), taken from Pythia's hard-process record
constituents             up to :attr:`~JetGeneratorConfig.max_constituents` (200), by decreasing pT, as (E, px, py,
                         pz) in GeV
======================== ==============================================================================================

**Detector response** (:func:`detector_response`, applied to every visible particle before jet clustering, seeded
by ``numpy.random.default_rng([seed, 1])`` for the signal run and ``[seed, 2]`` for the background run):

- ``smearing="atlas_like"`` (default; :data:`DETECTOR_RESOLUTION`): charged particles are tracks with
  ``sigma(pT)/pT = 1% (+) 0.05% pT/GeV`` and exact direction; photons are ECAL deposits with
  ``sigma(E)/E = 10%/sqrt(E/GeV) (+) 1%`` and Gaussian (η, φ) noise of the std of a 0.025 cell (``0.025/sqrt(12)``);
  other neutral hadrons are HCAL deposits with ``sigma(E)/E = 50%/sqrt(E/GeV) (+) 3%`` and the std of a 0.1 cell
  (``(+)``: added in quadrature; Gaussian factors clipped at 1% of the true value). Resolutions of the ATLAS
  detector's order, not a simulation: no cells, no merging of nearby deposits, no thresholds or efficiencies.
  ``smearing="none"``: the particles as Pythia made them.
- ``massless=True`` (default): every constituent gets ``E = |p|`` (the reference set's energy-flow objects are
  treated as massless); ``False`` keeps the hadron masses (smeared energies then keep the mass: ``|p| =
  sqrt(E^2 - m^2)``, floored at 0).

Sets generated before these options existed (the shipped ``data/jets``, whose manifest has no ``massless`` or
``smearing`` entry) are hadron level with true masses and no smearing: :meth:`JetSet.generator_config` reads them so.

**What still differs from the reference set:** no Delphes simulation (the reference constituents are energy-flow
objects of the ATLAS card, built from calorimeter cells and tracks, so multiplicities there are lower), another
Pythia version and random seeds, and far fewer jets. Taggers trained here cannot be compared number for number with
results on the reference set; say so wherever both appear.

Files (``data/jets/``, written by :func:`generate_jets`; nothing in CI or the main job needs Pythia)
    ``top_tagging_jets.npz`` (byte-reproducible, no pickles), for ``J`` jets and ``P`` constituents in total:

    ================== ============= ===============================================================
    ``constituents``    [P, 4] f32    (E, px, py, pz) in GeV; jet ``j`` owns rows ``ptr[j]:ptr[j+1]``
    ``ptr``             [J+1] i64     offsets, sorted by decreasing constituent pT within each jet
    ``label``           [J] i8        1 = top (signal), 0 = QCD (background)
    ``split``           [J] i8        0 = train, 1 = validation, 2 = test (60/20/20, as the reference set)
    ``jet``             [J, 4] f64    the jet 4-momentum (all its constituents, also those cut by the limit)
    ``n_particles``     [J] i16       number of constituents before the ``max_constituents`` limit
    ================== ============= ===============================================================

    ``manifest.json`` records every Pythia setting, the versions, seeds, counts, efficiencies, cross sections and the
    sha256 of the npz; :func:`load_jets` refuses a file that does not match.

Generate more (needs ``pip install 'equivariant-workbench[hep]'``; pythia8mc compiles from source for 30+ min)::

    from workbench.data.jets import JetGeneratorConfig, generate_jets
    generate_jets("my_jets", JetGeneratorConfig(n_signal=50_000, n_background=50_000, seed=1))
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from workbench.data.manifest import (
    MANIFEST_NAME,
    read_verified_npz,
    sha256_file,
    write_npz_reproducible,
)
from workbench.groups.lorentz import Lorentz
from workbench.version import __version__

__all__ = ["CONSTITUENT_ORDERS", "DEFAULT_JETS_DIR", "DETECTOR_RESOLUTION", "SMEARING_MODELS", "SPLITS",
           "SHIPPED_JETS_CONFIG", "JetGeneratorConfig", "JetSet", "boost_jets", "detector_response", "generate_jets",
           "generate_shipped_jets", "load_jets", "pad_jets", "pythia_settings", "random_boost_matrices",
           "select_constituents"]

#: The jet set shipped with the workbench: ``<checkout>/data/jets``.
DEFAULT_JETS_DIR: Path = Path(__file__).resolve().parents[2] / "data" / "jets"
#: Split codes of the ``split`` array.
SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}
#: Detector responses of :attr:`JetGeneratorConfig.smearing`.
SMEARING_MODELS: tuple[str, ...] = ("none", "atlas_like")
#: The ``"atlas_like"`` resolution model: per kind of particle, the stochastic term ``a`` (``a / sqrt(E/GeV)`` for
#: calorimeters), the constant term ``c``, the tracker's linear term ``b`` (``b pT/GeV``), and the std of the
#: Gaussian noise on η and on φ (the std of a uniform cell of that width: ``width / sqrt(12)``). Terms add in
#: quadrature.
DETECTOR_RESOLUTION: dict[str, dict[str, float]] = {
    "track": {"stochastic": 0.0, "constant": 0.01, "linear_pt": 5e-4, "angle_sigma": 0.0},
    "photon": {"stochastic": 0.10, "constant": 0.01, "linear_pt": 0.0, "angle_sigma": 0.025 / math.sqrt(12.0)},
    "neutral_hadron": {"stochastic": 0.50, "constant": 0.03, "linear_pt": 0.0, "angle_sigma": 0.1 / math.sqrt(12.0)},
}
#: Orders of :func:`select_constituents`: by lab-frame pT (the storage order), or by the energy in the jet's rest
#: frame (``p_i . P``, Lorentz invariant).
CONSTITUENT_ORDERS: tuple[str, ...] = ("pt", "rest_frame_energy")
_LEGACY_DETECTOR = {"massless": False, "smearing": "none"}
_NPZ = "top_tagging_jets.npz"
_NEUTRINOS = (12, 14, 16)
_PROCESSES = ("signal", "background")


@dataclass
class JetGeneratorConfig:
    """Settings of :func:`generate_jets` (all recorded in the manifest).

    ``n_signal`` / ``n_background``: accepted jets wanted of each class; ``seed``: the signal run uses Pythia seed
    ``2 seed + 1``, the background run ``2 seed + 2`` (Pythia's seed 0 would mean "from the clock"), the split and
    the storage order ``numpy.random.default_rng(seed)``;
    ``ecm`` (GeV); generation window ``pthat_min``/``pthat_max`` (GeV); jet selection ``pt_min``/``pt_max`` (GeV) and
    ``eta_max``; ``jet_radius`` (anti-kT R) and ``match_radius`` (ΔR of the top and its quarks to the jet axis);
    ``max_constituents`` kept per jet; ``mpi``: multi-parton interactions (off, as the reference set);
    ``split_fractions`` (train, val, test); ``max_events_factor``: give up after this many events per wanted jet;
    ``extra_settings``: more ``Pythia.readString`` lines for both processes; ``smearing`` (one of
    :data:`SMEARING_MODELS`) and ``massless``: the detector response (module docstring; the defaults follow the
    reference set's convention of massless, detector-level constituents).
    """

    n_signal: int = 10_000
    n_background: int = 10_000
    seed: int = 0
    ecm: float = 14_000.0
    pthat_min: float = 500.0
    pthat_max: float = 700.0
    pt_min: float = 550.0
    pt_max: float = 650.0
    eta_max: float = 2.0
    jet_radius: float = 0.8
    match_radius: float = 0.8
    max_constituents: int = 200
    mpi: bool = False
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    max_events_factor: int = 50
    extra_settings: Sequence[str] = field(default_factory=tuple)
    smearing: str = "atlas_like"
    massless: bool = True

    def validate(self) -> None:
        """Raise ValueError naming the field for any bad value."""
        for name in ("n_signal", "n_background", "max_constituents", "max_events_factor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 449_999_999:
            raise ValueError(f"seed must be an integer in [0, 449999999) (Pythia takes 2 seed + 1 and 2 seed + 2), "
                             f"got {self.seed!r}")
        for name in ("ecm", "pthat_min", "pthat_max", "pt_min", "pt_max", "eta_max", "jet_radius", "match_radius"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if not (self.pthat_min < self.pthat_max and self.pt_min < self.pt_max):
            raise ValueError("need pthat_min < pthat_max and pt_min < pt_max, got "
                             f"[{self.pthat_min}, {self.pthat_max}] and [{self.pt_min}, {self.pt_max}]")
        fractions = tuple(float(f) for f in self.split_fractions)
        if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1.0) > 1e-9:
            raise ValueError(f"split_fractions must be three positive numbers summing to 1, got {self.split_fractions}")
        if self.smearing not in SMEARING_MODELS:
            raise ValueError(f"smearing must be one of {SMEARING_MODELS}, got {self.smearing!r}")
        if not isinstance(self.massless, (bool, np.bool_)):
            raise ValueError(f"massless must be True or False, got {self.massless!r}")


def pythia_settings(config: JetGeneratorConfig, process: str) -> list[str]:
    """The ``Pythia.readString`` lines of one run (``process`` = ``"signal"`` or ``"background"``), seed included."""
    if process not in _PROCESSES:
        raise ValueError(f"process must be one of {_PROCESSES}, got {process!r}")
    # Pythia's seeds are 1..900000000 (0 means "from the clock"): signal 2 seed + 1, background 2 seed + 2
    seed = 2 * int(config.seed) + (1 if process == "signal" else 2)
    lines = [
        f"Beams:eCM = {config.ecm:g}",
        f"PhaseSpace:pTHatMin = {config.pthat_min:g}",
        f"PhaseSpace:pTHatMax = {config.pthat_max:g}",
        f"PartonLevel:MPI = {'on' if config.mpi else 'off'}",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Print:quiet = on",
        "Next:numberCount = 0",
    ]
    if process == "signal":
        lines += ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on",
                  # hadronic top decays: W -> quarks only (t -> b W is the only top channel switched on by default)
                  "24:onMode = off", "24:onIfAny = 1 2 3 4 5"]
    else:
        lines += ["HardQCD:all = on"]
    return lines + [str(s) for s in config.extra_settings]


def _delta_r(eta1: float, phi1: float, eta2: float, phi2: float) -> float:
    dphi = (phi1 - phi2 + math.pi) % (2.0 * math.pi) - math.pi
    return math.hypot(eta1 - eta2, dphi)


def _top_partons(process_record: Any) -> list[list[tuple[float, float]]]:
    """Per top of the hard process: ``[(eta, phi)]`` of the top, its b quark and the two quarks of its W."""
    tops = []
    for i in range(process_record.size()):
        p = process_record[i]
        if abs(p.id()) != 6:
            continue
        partons = [(p.eta(), p.phi())]
        for d in p.daughterList():
            q = process_record[d]
            if abs(q.id()) == 5:
                partons.append((q.eta(), q.phi()))
            elif abs(q.id()) == 24:
                partons += [(process_record[k].eta(), process_record[k].phi()) for k in q.daughterList()
                            if 1 <= abs(process_record[k].id()) <= 5]
        if len(partons) == 4:  # top, b, q, q'
            tops.append(partons)
    return tops


def detector_response(momenta: np.ndarray, kind: np.ndarray, rng: np.random.Generator | None, *,
                      smearing: str = "atlas_like", massless: bool = True) -> np.ndarray:
    """The detector-level momenta ``[n, 4]`` (E, px, py, pz; GeV, float64) of particles ``momenta [n, 4]``.

    ``kind [n]``: 0 = charged (track), 1 = photon (ECAL), 2 = neutral hadron (HCAL). ``smearing`` and ``massless``
    as in the module docstring (resolutions :data:`DETECTOR_RESOLUTION`); ``rng`` draws three standard normals per
    particle (always, whatever ``kind``, so the stream does not depend on the mix), and may be None without smearing.

    Examples:
        >>> import numpy as np
        >>> p = np.array([[10.0, 6.0, 0.0, 0.0]])  # a massive particle: m = 8 GeV
        >>> detector_response(p, np.array([0]), None, smearing="none", massless=True).tolist()
        [[6.0, 6.0, 0.0, 0.0]]
    """
    if smearing not in SMEARING_MODELS:
        raise ValueError(f"smearing must be one of {SMEARING_MODELS}, got {smearing!r}")
    p = np.asarray(momenta, dtype=np.float64)
    kind = np.asarray(kind)
    if p.ndim != 2 or p.shape[1] != 4 or kind.shape != (len(p),) or not np.all((kind >= 0) & (kind <= 2)):
        raise ValueError(f"need momenta [n, 4] and kind [n] in {{0, 1, 2}}, got {p.shape} and {kind.shape}")
    e, vec = p[:, 0].copy(), p[:, 1:].copy()
    mass2 = np.maximum(e**2 - np.sum(vec**2, axis=1), 0.0)
    if smearing != "none":
        if rng is None:
            raise ValueError("smearing needs a numpy random Generator rng")
        z = rng.standard_normal((len(p), 3))
        pt = np.hypot(vec[:, 0], vec[:, 1])
        pabs = np.linalg.norm(vec, axis=1)
        eta = np.arcsinh(vec[:, 2] / np.maximum(pt, 1e-300))
        phi = np.arctan2(vec[:, 1], vec[:, 0])
        res = [DETECTOR_RESOLUTION[k] for k in ("track", "photon", "neutral_hadron")]
        col = {key: np.array([r[key] for r in res])[kind] for key in res[0]}
        safe_e = np.maximum(e, 1e-12)
        sigma = np.sqrt((col["stochastic"] / np.sqrt(safe_e)) ** 2 + col["constant"] ** 2
                        + (col["linear_pt"] * pt) ** 2)
        factor = np.maximum(1.0 + sigma * z[:, 0], 0.01)
        eta = eta + col["angle_sigma"] * z[:, 1]
        phi = phi + col["angle_sigma"] * z[:, 2]
        track = kind == 0
        # tracks: |p| scales with the measured pT; calorimeter deposits: E is measured, |p| follows from the mass
        new_e = np.where(track, np.sqrt((pabs * factor) ** 2 + mass2), e * factor)
        new_p = np.where(track, pabs * factor, np.sqrt(np.maximum(new_e**2 - mass2, 0.0)))
        direction = np.stack([np.cos(phi) / np.cosh(eta), np.sin(phi) / np.cosh(eta), np.tanh(eta)], axis=1)
        e, vec = new_e, new_p[:, None] * direction
    if massless:
        e = np.linalg.norm(vec, axis=1)
    return np.concatenate([e[:, None], vec], axis=1)


def _leading_jet(pythia: Any, fastjet: Any, jet_def: Any, config: JetGeneratorConfig,
                 rng: np.random.Generator) -> tuple[Any, np.ndarray] | None:
    """The leading anti-kT jet of the current event (clustered from the detector-level particles) and its
    constituents ``[n, 4]`` (E, px, py, pz) by pT. The jet's kinematics (pt, eta, E, ...) are its own; only its
    constituents needed the cluster sequence, read here."""
    event = pythia.event
    rows, kinds = [], []
    for i in range(event.size()):
        p = event[i]
        if p.isFinal() and p.isVisible() and abs(p.id()) not in _NEUTRINOS:
            rows.append((p.e(), p.px(), p.py(), p.pz()))
            kinds.append(0 if p.isCharged() else (1 if p.id() == 22 else 2))
    if not rows:
        return None
    momenta = np.asarray(rows, dtype=np.float64)
    if config.smearing != "none" or config.massless:
        momenta = detector_response(momenta, np.asarray(kinds), rng, smearing=config.smearing,
                                    massless=bool(config.massless))
    pseudojets = []
    for k, (e, px, py, pz) in enumerate(momenta):
        pj = fastjet.PseudoJet(float(px), float(py), float(pz), float(e))
        pj.set_user_index(k)
        pseudojets.append(pj)
    sequence = fastjet.ClusterSequence(pseudojets, jet_def)
    jets = fastjet.sorted_by_pt(sequence.inclusive_jets(0.0))
    if not jets:
        return None
    jet = jets[0]
    index = np.array([c.user_index() for c in jet.constituents()], dtype=np.int64)
    constituents = momenta[index]
    pt = np.hypot(constituents[:, 1], constituents[:, 2])
    return jet, constituents[np.argsort(-pt, kind="stable")]


def _quiet_pythia(pythia8mc: Any) -> Any:
    """A ``Pythia`` instance without the start-up banner (its default XML path, as the module sets it)."""
    default_xml = pythia8mc.__file__.rsplit("/", 1)[0] + "/../../../share/Pythia8/xmldoc"
    try:
        return pythia8mc.Pythia(default_xml, False)
    except Exception:  # noqa: BLE001 - other layouts: fall back to the module's own default (prints the banner)
        return pythia8mc.Pythia()


def _run_process(config: JetGeneratorConfig, process: str, progress: bool) -> tuple[list[np.ndarray], list, dict]:
    import fastjet  # optional heavy dependency: the 'hep' extra
    import pythia8mc  # optional heavy dependency: the 'hep' extra

    wanted = config.n_signal if process == "signal" else config.n_background
    pythia = _quiet_pythia(pythia8mc)
    settings = pythia_settings(config, process)
    for line in settings:
        if not pythia.readString(line):
            raise ValueError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialise the {process} run (settings: {settings})")
    jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, float(config.jet_radius))
    rng = np.random.default_rng([int(config.seed), 1 if process == "signal" else 2])  # the detector response
    jets: list[np.ndarray] = []
    four: list[tuple[float, float, float, float]] = []
    counts = {"events": 0, "failed_events": 0, "no_jet": 0, "outside_pt_window": 0, "outside_eta": 0,
              "not_top_matched": 0, "accepted": 0}
    max_events = wanted * config.max_events_factor
    bar = tqdm(total=wanted, desc=f"{process} jets", disable=not progress)
    t0 = time.perf_counter()
    while counts["accepted"] < wanted:
        if counts["events"] >= max_events:
            raise RuntimeError(f"{process}: only {counts['accepted']} of {wanted} jets accepted after {max_events} "
                               f"events (counts {counts}); widen the pT-hat window or raise max_events_factor")
        counts["events"] += 1
        if not pythia.next():
            counts["failed_events"] += 1
            continue
        found = _leading_jet(pythia, fastjet, jet_def, config, rng)
        if found is None:
            counts["no_jet"] += 1
            continue
        jet, constituents = found
        if not config.pt_min <= jet.pt() <= config.pt_max:
            counts["outside_pt_window"] += 1
            continue
        if abs(jet.eta()) >= config.eta_max:
            counts["outside_eta"] += 1
            continue
        if process == "signal":
            eta, phi = jet.eta(), jet.phi_std()
            matched = any(all(_delta_r(eta, phi, e, f) < config.match_radius for e, f in top)
                          for top in _top_partons(pythia.process))
            if not matched:
                counts["not_top_matched"] += 1
                continue
        jets.append(constituents.astype(np.float32))
        four.append((jet.E(), jet.px(), jet.py(), jet.pz()))
        counts["accepted"] += 1
        bar.update(1)
    bar.close()
    info = {"settings": settings, "counts": counts, "seconds": time.perf_counter() - t0,
            "efficiency": counts["accepted"] / counts["events"],
            "sigma_gen_mb": float(pythia.infoPython().sigmaGen())}
    return jets, four, info


def generate_jets(out_dir: str | Path | None = None, config: JetGeneratorConfig | None = None, *,
                  seed: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Generate top (signal) and QCD (background) jets with Pythia 8 + FastJet; write the npz and its manifest.

    Needs the ``hep`` extra (``pythia8mc``, ``fastjet``). Returns the manifest written to
    ``<out_dir>/manifest.json`` (default :data:`DEFAULT_JETS_DIR`). The recipe is in the module docstring; every
    Pythia setting, the seeds, event counts per cut, efficiencies and cross sections are recorded.
    ``seed`` (if given) replaces ``config.seed``. (``workbench build-data jets`` rebuilds the shipped set through
    :func:`generate_shipped_jets`.)
    """
    config = config or JetGeneratorConfig()
    if seed is not None:
        config = JetGeneratorConfig(**{**asdict(config), "seed": seed})
    config.validate()
    try:
        import fastjet  # noqa: F401  (fail early, with the extra named)
        import pythia8mc  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"generating jets needs the 'hep' extra (pip install pythia8mc fastjet): {exc}") from exc
    results = {p: _run_process(config, p, progress) for p in _PROCESSES}
    jets = results["signal"][0] + results["background"][0]
    four = results["signal"][1] + results["background"][1]
    label = np.array([1] * len(results["signal"][0]) + [0] * len(results["background"][0]), dtype=np.int8)
    # split 60/20/20, stratified by class (a random permutation within each class), then store the jets in another
    # random order, so that every split -- and the first n jets of it -- mixes both classes
    rng = np.random.default_rng(int(config.seed))
    split = np.zeros(len(jets), dtype=np.int8)
    for cls in (0, 1):
        members = rng.permutation(np.flatnonzero(label == cls))
        n_train = int(round(config.split_fractions[0] * len(members)))
        n_val = int(round(config.split_fractions[1] * len(members)))
        split[members[n_train : n_train + n_val]] = SPLITS["val"]
        split[members[n_train + n_val :]] = SPLITS["test"]
    order = rng.permutation(len(jets))
    n_particles = np.array([len(jets[i]) for i in order], dtype=np.int16)
    kept = [jets[i][: config.max_constituents] for i in order]
    ptr = np.zeros(len(kept) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(k) for k in kept])
    arrays = {"constituents": np.concatenate(kept).astype(np.float32), "ptr": ptr, "label": label[order],
              "split": split[order], "jet": np.asarray(four, dtype=np.float64)[order], "n_particles": n_particles}
    out = Path(out_dir) if out_dir is not None else DEFAULT_JETS_DIR
    out.mkdir(parents=True, exist_ok=True)
    write_npz_reproducible(out / _NPZ, arrays)
    manifest: dict[str, Any] = {
        "builder": "workbench.data.jets.generate_jets",
        "workbench_version": __version__,
        "pythia8mc_version": _package_version("pythia8mc"),
        "fastjet_version": _package_version("fastjet"),
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "config": json.loads(json.dumps(asdict(config))),
        "processes": {p: results[p][2] for p in _PROCESSES},
        "counts": {"jets": len(kept), "signal": int(label.sum()), "background": int((label == 0).sum()),
                   **{f"{name}": int((split == code).sum()) for name, code in SPLITS.items()},
                   "constituents": int(ptr[-1]), "jets_truncated": int((n_particles > config.max_constituents).sum())},
        "recipe": ("Top Quark Tagging Reference Dataset recipe (Kasieczka et al., arXiv 1902.09914) without its "
                   "Delphes simulation: pp 14 TeV, hadronic ttbar vs QCD dijets, no MPI / pile-up, anti-kT R=0.8 on "
                   "stable visible particles after the detector response (config smearing, massless), leading jet "
                   "with pT in [pt_min, pt_max] and |eta| < eta_max, signal jets matched to a top and its three "
                   "decay quarks within match_radius"),
        "detector": {"smearing": config.smearing, "massless": bool(config.massless),
                     "resolution": DETECTOR_RESOLUTION if config.smearing == "atlas_like" else None},
        "detector_note": _detector_note(config.smearing, bool(config.massless)),
        "format": "numpy npz (no pickles): constituents [P,4] f32 (E,px,py,pz GeV), ptr [J+1] i64, label [J] i8 "
                  "(1 = top), split [J] i8 (0 train, 1 val, 2 test), jet [J,4] f64, n_particles [J] i16",
        "files": {_NPZ: {"file": _NPZ, "sha256": sha256_file(out / _NPZ), "bytes": (out / _NPZ).stat().st_size,
                         "n_jets": len(kept)}},
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


#: The recipe of the shipped ``data/jets`` (generated before the detector options: hadron level, true masses, no
#: smearing); :func:`generate_shipped_jets` rebuilds it byte for byte.
SHIPPED_JETS_CONFIG = JetGeneratorConfig(smearing="none", massless=False)


def generate_shipped_jets(out_dir: str | Path | None = None, *, seed: int | None = None, progress: bool = True
                          ) -> dict[str, Any]:
    """Rebuild the shipped jet set: :func:`generate_jets` with :data:`SHIPPED_JETS_CONFIG` (the
    ``workbench build-data jets`` hook; ``seed`` replaces its seed 0). New sets should use :func:`generate_jets`,
    whose defaults follow the reference dataset's convention (massless, smeared constituents)."""
    return generate_jets(out_dir, SHIPPED_JETS_CONFIG, seed=seed, progress=progress)


def _detector_note(smearing: str, massless: bool) -> str:
    mass = ("massless (E = |p|), as the reference dataset's energy-flow objects" if massless
            else "with their true hadron masses")
    if smearing == "none":
        return (f"NO detector simulation: constituents are stable hadron-level particles, {mass}, not the Delphes "
                "(ATLAS card) energy-flow objects of the reference dataset.")
    return (f"Parametric {smearing} detector response (workbench.data.jets.DETECTOR_RESOLUTION: tracks, ECAL photons, "
            f"HCAL neutral hadrons), constituents {mass}; not the Delphes simulation of the reference dataset.")


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# ------------------------------------------------------------------------------------------------------ loading
@dataclass
class JetSet:
    """Jets as ragged arrays (see the module docstring for shapes): ``constituents [P, 4]`` float32 (E, px, py, pz)
    in GeV, ``ptr [J+1]``, ``label [J]`` (1 = top), ``split [J]`` (:data:`SPLITS`), ``jet [J, 4]`` and
    ``n_particles [J]``; ``manifest`` is the dataset's manifest (empty for an in-memory set)."""

    constituents: np.ndarray
    ptr: np.ndarray
    label: np.ndarray
    split: np.ndarray
    jet: np.ndarray
    n_particles: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.label)
        if self.ptr.shape != (n + 1,) or self.ptr[0] != 0 or self.ptr[-1] != len(self.constituents):
            raise ValueError(f"ptr must have shape [{n + 1}] from 0 to {len(self.constituents)}, got {self.ptr.shape}")
        if np.any(np.diff(self.ptr) < 1):
            empty = np.flatnonzero(np.diff(self.ptr) < 1)[:5].tolist()
            raise ValueError(f"every jet needs at least one constituent; empty jets at rows {empty}")
        for name in ("split", "n_particles"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, label has {n}")
        if self.jet.shape != (n, 4) or self.constituents.ndim != 2 or self.constituents.shape[1] != 4:
            raise ValueError("constituents must be [P, 4] and jet [J, 4]")
        if not np.all(np.isfinite(self.constituents)):
            raise ValueError("constituents hold non-finite momenta")

    def __len__(self) -> int:
        return len(self.label)

    @property
    def multiplicity(self) -> np.ndarray:
        """Stored constituents per jet ``[J]``."""
        return np.diff(self.ptr)

    def indices(self, split: str) -> np.ndarray:
        """Rows of ``split`` (``"train"``, ``"val"`` or ``"test"``)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
        return np.flatnonzero(self.split == SPLITS[split])

    def generator_config(self) -> JetGeneratorConfig:
        """The :class:`JetGeneratorConfig` recorded in the manifest; a manifest written before the detector options
        existed (no ``massless``/``smearing``) means hadron level, true masses, no smearing."""
        cfg = dict(self.manifest.get("config") or {})
        if not cfg:
            raise ValueError("this jet set has no manifest config (an in-memory set?)")
        for key, legacy in _LEGACY_DETECTOR.items():
            cfg.setdefault(key, legacy)
        cfg["split_fractions"] = tuple(cfg.get("split_fractions", (0.6, 0.2, 0.2)))
        cfg["extra_settings"] = tuple(cfg.get("extra_settings", ()))
        return JetGeneratorConfig(**cfg)

    def padded(self, rows: Sequence[int] | np.ndarray | None = None, max_constituents: int | None = None,
               dtype: torch.dtype = torch.float64, order: str = "pt"
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(momenta [B, N, 4], mask [B, N] bool, labels [B] long)`` of ``rows`` (default all), the leading
        ``max_constituents`` of each jet (default all) in ``order`` (:func:`select_constituents`; ``"pt"`` = the
        storage order), zero-padded to the longest jet of the selection."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        labels = torch.as_tensor(self.label[rows].astype(np.int64))
        if order not in CONSTITUENT_ORDERS:
            raise ValueError(f"order must be one of {CONSTITUENT_ORDERS}, got {order!r}")
        jets = [self.constituents[self.ptr[r] : self.ptr[r + 1]] for r in rows]
        if order == "pt":
            return pad_jets(jets, max_constituents, dtype) + (labels,)
        momenta, mask = pad_jets(jets, None, torch.float64)
        momenta, mask = select_constituents(momenta, mask, max_constituents, order)
        return momenta.to(dtype), mask, labels


def pad_jets(jets: Sequence[np.ndarray], max_constituents: int | None = None, dtype: torch.dtype = torch.float64
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad a list of ``[n_i, 4]`` constituent arrays: ``(momenta [B, N, 4], mask [B, N])``, ``N`` =
    ``min(max n_i, max_constituents)``; each jet keeps its first (leading) ``max_constituents`` rows."""
    if max_constituents is not None and max_constituents < 1:
        raise ValueError(f"max_constituents must be >= 1, got {max_constituents}")
    if len(jets) == 0:
        raise ValueError("no jets to pad")
    lengths = [min(len(j), max_constituents or len(j)) for j in jets]
    n = max(lengths)
    momenta = np.zeros((len(jets), n, 4), dtype=np.float64)
    mask = np.zeros((len(jets), n), dtype=bool)
    for i, (j, k) in enumerate(zip(jets, lengths)):
        momenta[i, :k] = j[:k]
        mask[i, :k] = True
    return torch.as_tensor(momenta, dtype=dtype), torch.as_tensor(mask)


def select_constituents(momenta: torch.Tensor, mask: torch.Tensor, max_constituents: int | None,
                        order: str = "rest_frame_energy") -> tuple[torch.Tensor, torch.Tensor]:
    """The leading ``max_constituents`` (None = all) of padded jets ``momenta [B, N, 4]``, ``mask [B, N]``, sorted
    by ``order`` (decreasing; stable): ``"pt"`` (lab-frame transverse momentum) or ``"rest_frame_energy"``
    (``p_i . P`` with ``P`` the sum of *all* given constituents: the energy in the jet's rest frame times its
    mass, a Lorentz invariant). Returns ``(momenta [B, N', 4], mask [B, N'])`` with ``N' = min(N, max_constituents)``.

    With ``"rest_frame_energy"``, selecting and then boosting equals boosting every constituent and then selecting
    (the order is computed in float64; only keys equal to rounding could swap). With ``"pt"`` it does not: a boost
    changes which constituents lead.
    """
    if order not in CONSTITUENT_ORDERS:
        raise ValueError(f"order must be one of {CONSTITUENT_ORDERS}, got {order!r}")
    if momenta.dim() != 3 or momenta.shape[-1] != 4 or mask.shape != momenta.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(f"need momenta [B, N, 4] and a bool mask [B, N], got {tuple(momenta.shape)} and "
                         f"{tuple(mask.shape)} {mask.dtype}")
    if max_constituents is not None and (isinstance(max_constituents, bool) or max_constituents < 1):
        raise ValueError(f"max_constituents must be >= 1 or None, got {max_constituents!r}")
    p = momenta.double() * mask[..., None]
    if order == "pt":
        key = torch.hypot(p[..., 1], p[..., 2])
    else:
        jet = p.sum(1, keepdim=True)
        key = p[..., 0] * jet[..., 0] - (p[..., 1:] * jet[..., 1:]).sum(-1)
    key = torch.where(mask, key, torch.full((), -math.inf, dtype=key.dtype))
    idx = torch.sort(key, dim=1, descending=True, stable=True).indices
    n = momenta.shape[1] if max_constituents is None else min(int(max_constituents), momenta.shape[1])
    idx = idx[:, :n]
    picked = torch.gather(momenta, 1, idx[..., None].expand(-1, -1, 4))
    kept = torch.gather(mask, 1, idx)
    longest = int(kept.sum(1).max()) if kept.numel() else 0
    return (picked * kept[..., None])[:, :longest], kept[:, :longest]


def load_jets(root: str | Path | None = None, *, verify: bool = True) -> JetSet:
    """Load a folder written by :func:`generate_jets` (default :data:`DEFAULT_JETS_DIR`, the shipped set).

    Raises:
        FileNotFoundError: no manifest or no data file in ``root`` (the message names the folder and how to build it).
        ValueError: the file's sha256 differs from the manifest (with ``verify``) or its arrays are inconsistent.
    """
    folder = Path(root) if root is not None else DEFAULT_JETS_DIR
    manifest, arrays, _ = read_verified_npz(
        folder, _NPZ, f"the workbench ships a jet set in {DEFAULT_JETS_DIR}, or generate one with "
        "workbench.data.jets.generate_jets(out_dir) (needs the 'hep' extra: pythia8mc, fastjet)",
        "regenerate it with workbench.data.jets.generate_jets()", verify)
    return JetSet(manifest=manifest, **arrays)


# ------------------------------------------------------------------------------------------------------ boosts
def random_boost_matrices(n: int, max_rapidity: float = 2.0, *, seed: int = 0, dtype: torch.dtype = torch.float64
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` pure boosts along isotropic random directions with rapidity uniform in ``[0, max_rapidity]``.

    Returns ``(Lambda [n, 4, 4], directions [n, 3], rapidities [n])``; ``Lambda`` acts on column 4-vectors
    ``(E, px, py, pz)``: ``p' = Lambda p`` (so a row batch maps as ``p @ Lambda.T``).
    """
    if n < 1 or not (math.isfinite(max_rapidity) and max_rapidity >= 0):
        raise ValueError(f"need n >= 1 and a finite max_rapidity >= 0, got {n}, {max_rapidity}")
    g = torch.Generator().manual_seed(int(seed))
    direction = torch.randn(n, 3, generator=g, dtype=torch.float64)
    direction = direction / direction.norm(dim=1, keepdim=True)
    rapidity = torch.rand(n, generator=g, dtype=torch.float64) * max_rapidity
    group = Lorentz()
    lam = torch.stack([group.vector_matrix(group.boost(float(y), d.numpy())) for y, d in zip(rapidity, direction)])
    return lam.to(dtype), direction.to(dtype), rapidity.to(dtype)


def boost_jets(momenta: torch.Tensor, mask: torch.Tensor, boosts: torch.Tensor) -> torch.Tensor:
    """Apply one Lorentz matrix per jet: ``momenta [B, N, 4]``, ``boosts [B, 4, 4]`` -> ``[B, N, 4]`` (padding
    stays zero). Computed in float64, returned in the dtype of ``momenta``."""
    if boosts.shape != (momenta.shape[0], 4, 4):
        raise ValueError(f"need one [4, 4] matrix per jet: boosts {tuple(boosts.shape)}, momenta "
                         f"{tuple(momenta.shape)}")
    out = torch.einsum("bnj,bij->bni", momenta.double(), boosts.double())
    return (out * mask[..., None]).to(momenta.dtype)

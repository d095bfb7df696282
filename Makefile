# Equivariant Workbench: the commands the README names.
#   make demo   set up (venv + packages) and run the main job headlessly; prints the run folder
#   make test   set up (venv + packages + Debian chromium) and run the whole test suite
#   make lab    JupyterLab on a working copy of notebooks/ (runs/lab/), offline-safe settings
#   make bench  run the benchmarks (CSV tables under benchmarks/results/)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The local CPU wheel: installed first, so nothing later resolves a (CUDA) torch.
TORCH := torch==2.13.0
EXTRAS := widgets,notebooks,test,gpu,qm9,dynamics,spectra,scattering-peers,partition,graph,scale
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo test test-fast lab bench lint chromium clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	@# the jet generator's extra, from wheels only (never a 30-minute Pythia build); its test skips without it
	@$(BIN)/pip install --quiet --only-binary pythia8mc,fastjet -e ".[hep]" \
	  || echo "note: no pythia8mc/fastjet wheels for this platform; the jet generator test will be skipped"
	@# the simulation and quantum-chemistry extras, from wheels only (pyscf, openmm, tblite): their builders' tests,
	@# the Hamiltonian pipeline's SCF timing and the orbital viewer's browser test skip without them
	@$(BIN)/pip install --quiet --only-binary pyscf,openmm,tblite -e ".[qc,md,xtb]" \
	  || echo "note: no pyscf/openmm/tblite wheels for this platform; the tests that need them will be skipped"
	@$(BIN)/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') else f'torch {v} was pulled in; expected the local 2.13.0 CPU wheel')"
	@touch $@

setup: $(STAMP)

chromium:
	@if ! test -x /usr/bin/chromium; then \
	  echo "installing Debian chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

demo: setup
	$(BIN)/workbench run notebooks/pipelines/qm9.ipynb

# every core (at most 4 workers); tests/conftest.py keeps each module on one worker and hands out the notebook
# executions first. The browser tests then run on their own: beside notebook kernels training on every core,
# JupyterLab's widget manager failed to render widgets ("Error displaying widget") at load ~11 on 2 cores.
# Tutorials that a browser test runs in full are not also executed headlessly here (tests/browser_coverage.py).
PARALLEL := -n auto --maxprocesses 4 --dist loadfile

test: setup chromium
	@status=0; \
	$(BIN)/python -m pytest $(PARALLEL) -m "not browser and not browser_covered" || status=$$?; \
	$(BIN)/python -m pytest -m browser || status=$$?; \
	exit $$status

test-fast: setup
	$(BIN)/python -m pytest $(PARALLEL) -m "not browser and not slow"

lab: setup
	@# a copy: outputs and the runs/ the notebooks write never land in the tracked notebooks/
	$(BIN)/python -m widgets.lab notebooks --workdir runs/lab

bench: setup
	$(BIN)/workbench bench

lint: setup
	$(BIN)/ruff check workbench widgets tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache

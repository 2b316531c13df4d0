# Set-up and everyday commands. Both main targets create .venv with a Python >= 3.12 found on this
# machine (PATH first, then pyenv's versions, which is where these machines keep 3.12 and 3.13).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
CANDIDATES := python3.13 python3.12 $(sort $(wildcard $(PYENV_ROOT)/versions/3.1[2-9]*/bin/python3)) python3
BASE_PYTHON ?= $(firstword $(foreach p,$(CANDIDATES),$(shell command -v $(p) >/dev/null 2>&1 && $(p) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && echo $(p))))

.PHONY: demo test lint typecheck check clean bench bench-quick bench-open bench-writer bench-remote fuzz mutate docs

$(PY):
	@test -n "$(BASE_PYTHON)" || { echo "no Python >= 3.12 found (looked for: $(CANDIDATES))" >&2; exit 1; }
	$(BASE_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: $(PY) setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e '.[demo]'
	@touch $@

$(VENV)/.test-installed: $(PY) setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(VENV)/bin/hdmf-ai demo --out demo-out

test: $(VENV)/.test-installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check hdmf_ai tests benchmarks docs
	$(VENV)/bin/ruff format --check hdmf_ai tests benchmarks docs

typecheck: $(VENV)/.test-installed
	$(VENV)/bin/mypy

check: lint typecheck test

# storage benchmarks (never part of the tests): ratios to raw h5py, Parquet, np.save and the reference 0.2.0
$(VENV)/.bench-installed: $(VENV)/.test-installed
	$(PY) -m pip install --quiet -e '.[bench]'
	@touch $@

bench: $(VENV)/.bench-installed
	$(PY) benchmarks/run.py

bench-quick: $(VENV)/.bench-installed
	$(PY) benchmarks/run.py --quick

# opening: import time against h5py + hdmf.common, the 500-file sweep and open + one column of 1M rows, against
# raw h5py in the same run (about 1.5 GB of scratch, deleted after): benchmarks/OPENING.md
bench-open: $(VENV)/.bench-installed
	$(PY) benchmarks/imports.py
	$(PY) benchmarks/sweep.py

# the batched writer at 1M and 10M rows (~20 GB written, then deleted; check free space): benchmarks/WRITER.md
bench-writer: $(VENV)/.test-installed
	$(PY) benchmarks/writer.py

# remote reads: bytes and requests per access against moto's S3 server on loopback: benchmarks/REMOTE.md
bench-remote: $(VENV)/.bench-installed
	$(PY) benchmarks/remote.py

# fuzz the reader for FUZZ_SECONDS with byte flips, then as long with structure-aware edits (coverage-guided
# with atheris, the fuzz extra); findings in .cache/fuzz-findings
FUZZ_SECONDS ?= 300
$(VENV)/.fuzz-installed: $(VENV)/.test-installed
	$(PY) -m pip install --quiet -e '.[fuzz]' || echo "atheris did not install: make fuzz tries random inputs"
	@touch $@

fuzz: $(VENV)/.fuzz-installed
	$(PY) tests/fuzz/fuzz_reader.py --seconds $(FUZZ_SECONDS)
	$(PY) tests/fuzz/fuzz_reader.py --structure --seconds $(FUZZ_SECONDS)

# mutation testing (mutmut, into .cache/mutmut-lib) of checks, coercion, invariants, policy, safety and the
# statistics, one module after another, each against its own in-process tests (a time limit per test, no child
# processes); scores per module in tests/MUTATION.md, written only for a run that tested every mutant.
# MUTATE_MODULES=hdmf_ai/coercion.py for one; MUTATE_JOBS=1 for one worker (default: one per core).
MUTATE_MODULES ?=
mutate: $(VENV)/.test-installed
	$(PY) tests/mutate.py $(MUTATE_MODULES)

# the documentation site (docs/_build/html): tutorials executed (sphinx-gallery re-runs only changed ones),
# specification and CLI reference generated; every warning is an error (-W), each reported (--keep-going),
# unresolved references (-n) and broken links within the site too. Every page is re-read (-E) into a fresh
# output directory, so that no stale page hides or causes a problem.
$(VENV)/.docs-installed: $(PY) setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e '.[docs]'
	@touch $@ $(VENV)/.demo-installed

docs: $(VENV)/.docs-installed
	rm -rf docs/_build/html
	$(PY) -m sphinx -b html -E -W --keep-going -n -q docs docs/_build/html

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache docs/_build docs/gallery docs/api/generated docs/format/_generated docs/sg_execution_times.rst

# `make quickstart` runs the whole loop; `make test` runs the default test suite.
# Both create the virtual environment in .venv on first use (and refresh it when pyproject.toml changes).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= dev,server,gguf,ray
# torch 2.13.0 has a CPU build on these machines; a GPU user installs their own torch first.
TORCH ?= torch==2.13.0
export OMP_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export RAY_AUTH_MODE ?= disabled

.PHONY: quickstart test test-all bench lint install chromium

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH)"
	CMAKE_ARGS="$${CMAKE_ARGS:--DGGML_NATIVE=OFF}" $(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

quickstart: $(STAMP)
	$(VENV)/bin/prmkit quickstart $(ARGS)

# The HTML-report test renders pages in headless Chromium (skipped, with the reason, where it cannot be installed).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
		|| echo "note: chromium is not installed; the report-rendering test will be skipped"

test: $(STAMP) chromium
	$(PY) -m pytest $(ARGS)

test-all: $(STAMP) chromium
	$(PY) -m pytest -m "slow or not slow" $(ARGS)

bench: $(STAMP)
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

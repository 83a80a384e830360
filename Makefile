# `make quickstart` runs the whole loop; `make test` runs the default test suite.
# Both install into .venv on first use, pinned to constraints.txt: the exact versions the suite last
# passed with. `make lock` refreshes that file from the newest versions pyproject.toml allows, and only
# when the whole suite passes on them (`make test-latest` runs that check alone).
VENV ?= .venv
PY := $(VENV)/bin/python
LOCK := constraints.txt
LATEST ?= .venv-latest
# The default quickstart needs the core package only; the tests and real mode need the extras.
EXTRAS ?=
TEST_EXTRAS ?= dev,server,gguf,ray
# torch 2.13.0 has a CPU build on these machines; a GPU user installs their own torch first. torch is
# the one dependency the lock leaves to the user.
TORCH ?= torch==2.13.0
# llama-cpp-python compiles from source: a portable build, so the cached wheel runs on any x86-64 CPU.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export OMP_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false
export RAY_AUTH_MODE ?= disabled

.PHONY: quickstart test test-all test-latest test-verl lock bench lint install chromium llama-server

# $(call venv,DIR): a virtualenv in DIR with an up-to-date pip and torch.
define venv
	test -x $(1)/bin/python || python3 -m venv $(1)
	$(1)/bin/python -m pip install -q --upgrade pip $(2)
	$(1)/bin/python -c "import torch" 2>/dev/null || $(1)/bin/python -m pip install -q "$(TORCH)"
endef

$(VENV)/.core: pyproject.toml $(LOCK)
	$(call venv,$(VENV),--constraint $(LOCK))
	$(PY) -m pip install -q --constraint $(LOCK) -e .
	rm -f $(VENV)/.extras-*
	touch $@

$(VENV)/.extras-%: $(VENV)/.core
	$(PY) -m pip install -q --constraint $(LOCK) -e ".[$*]"
	touch $@

# no extras: the core package alone
$(VENV)/.extras-: $(VENV)/.core
	touch $@

install: $(VENV)/.extras-$(EXTRAS)

quickstart: install
	$(VENV)/bin/prmkit quickstart $(ARGS)

# The HTML-report test renders pages in headless Chromium (skipped, with the reason, where it cannot be installed).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
		|| echo "note: chromium is not installed; the report-rendering test will be skipped"

test: $(VENV)/.extras-$(TEST_EXTRAS) chromium
	$(PY) -m pytest $(ARGS)

test-all: $(VENV)/.extras-$(TEST_EXTRAS) chromium
	$(PY) -m pytest -m "slow or not slow" $(ARGS)

# A fresh environment with the newest versions that pyproject.toml allows (torch stays $(TORCH)),
# its versions in $(LATEST)/versions.txt, and the default suite run on it.
test-latest: chromium
	rm -rf $(LATEST)
	$(call venv,$(LATEST))
	echo "$(TORCH)" > $(LATEST)/torch.txt
	$(LATEST)/bin/python -m pip install -q --upgrade --upgrade-strategy eager --constraint $(LATEST)/torch.txt \
		-e ".[$(TEST_EXTRAS)]"
	$(LATEST)/bin/python -m pip freeze --all --exclude-editable > $(LATEST)/versions.txt
	@echo "== newest versions (also in $(LATEST)/versions.txt):" && cat $(LATEST)/versions.txt
	$(LATEST)/bin/python -m pytest $(ARGS)

# prmkit's rewards called by real verl (CPU, no GPU extras). verl pins its own transformers range, so it
# gets an environment of its own, with prmkit installed beside it without its dependencies (prmkit's
# rewards need only the light ones) and tested by tests/rl/test_verl_real.py.
VERL_VENV ?= .venv-verl
VERL ?= verl==0.9.1
test-verl:
	$(call venv,$(VERL_VENV))
	$(VERL_VENV)/bin/python -m pip install -q "$(VERL)" "math-verify>=0.9,<1" "typer>=0.29,<1" "rich>=15,<16" \
		"pydantic>=2.14,<3" "httpx>=0.29,<1" "pytest>=9.2,<10" "pytest-timeout>=2.4,<3"
	$(VERL_VENV)/bin/python -m pip install -q --no-deps -e .
	$(VERL_VENV)/bin/python -m pytest -W "ignore::DeprecationWarning" tests/rl/test_verl_real.py $(ARGS)

# Pin the versions test-latest just passed with (torch excluded: see TORCH above).
lock: test-latest
	{ echo "# The exact versions the test suite passed with; refresh with 'make lock'. torch is left to the user."; \
	  grep -v -i -E '^torch==' $(LATEST)/versions.txt; } > $(LOCK)
	@echo "wrote $(LOCK)"

# llama.cpp's own server, `llama-server`, which decodes several requests together (`--parallel`), unlike
# llama-cpp-python's. It is built from the llama.cpp source that the installed llama-cpp-python vendors
# (same version, same CMAKE_ARGS), in about 10-15 minutes on 2 cores, for benchmarks/server_concurrency.py
# and the slow test that uses it (tests/generation/test_llama_server.py).
LLAMA_SERVER_DIR ?= .cache/llama-server
llama-server: $(LLAMA_SERVER_DIR)/llama-server

$(LLAMA_SERVER_DIR)/llama-server: | $(VENV)/.extras-$(TEST_EXTRAS)
	rm -rf $(LLAMA_SERVER_DIR)/src $(LLAMA_SERVER_DIR)/build && mkdir -p $(LLAMA_SERVER_DIR)/src
	$(PY) -m pip download -q --no-deps --no-binary :all: -d $(LLAMA_SERVER_DIR)/src \
		"llama-cpp-python==$$($(PY) -c 'import llama_cpp; print(llama_cpp.__version__)')"
	tar xzf $(LLAMA_SERVER_DIR)/src/llama_cpp_python-*.tar.gz -C $(LLAMA_SERVER_DIR)/src
	cmake -S $(LLAMA_SERVER_DIR)/src/llama_cpp_python-*/vendor/llama.cpp -B $(LLAMA_SERVER_DIR)/build \
		-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
		-DLLAMA_BUILD_SERVER=ON -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF $(CMAKE_ARGS)
	cmake --build $(LLAMA_SERVER_DIR)/build --target llama-server -j "$$(nproc)"
	cp $(LLAMA_SERVER_DIR)/build/bin/llama-server $@
	rm -rf $(LLAMA_SERVER_DIR)/src $(LLAMA_SERVER_DIR)/build

bench: $(VENV)/.extras-$(TEST_EXTRAS)
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: $(VENV)/.extras-$(TEST_EXTRAS)
	$(VENV)/bin/ruff check src tests benchmarks

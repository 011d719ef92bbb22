# The README's two commands: `make demo` and `make test`.
# Each creates .venv when missing and reinstalls only when the project files change.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The torch pair that installs from this machine's disk (CUDA build; runs on CPU too).
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
DEPS := pyproject.toml client/pyproject.toml

.PHONY: demo test lint typecheck format clean-demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.demo-installed: $(BIN)/python $(DEPS)
	$(BIN)/pip install --quiet -e '.[worker,baselines]' -e ./client $(TORCH_PINS)
	touch $@

$(VENV)/.test-installed: $(VENV)/.demo-installed
	$(BIN)/pip install --quiet -e '.[dev,worker,baselines]' -e ./client $(TORCH_PINS)
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/podium-server demo

test: $(VENV)/.test-installed
	@command -v bwrap >/dev/null 2>&1 || echo "note: bubblewrap (bwrap) is missing, so the sandbox's isolation tests skip; install it with: apt-get install bubblewrap"
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check server client baselines tests benchmarks
	$(BIN)/ruff format --check server client baselines
	$(BIN)/lint-imports

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy server client/podium

format: $(VENV)/.test-installed
	$(BIN)/ruff format server client baselines tests benchmarks
	$(BIN)/ruff check --fix server client baselines tests benchmarks

clean-demo:
	rm -rf podium-data

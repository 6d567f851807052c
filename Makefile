# Two commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# the native rules core (rules/native, Rust) is built by `pip install` with cargo;
# rustup installs cargo under ~/.cargo/bin, which need not be on PATH
export PATH := $(HOME)/.cargo/bin:$(PATH)
NATIVE := rules/native/Cargo.toml rules/native/Cargo.lock $(wildcard rules/native/src/*.rs)

.PHONY: demo test setup stack-up stack-down

setup: $(VENV)/.installed

# a change to the Rust sources re-runs the install, which rebuilds rules/_native*.so
$(VENV)/.installed: pyproject.toml $(NATIVE)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

# runs the main job on the bundled sample data (data/)
demo: setup
	$(BIN)/shixin stack up
	$(BIN)/shixin demo

# the pytest session brings Kafka and PostgreSQL up itself
test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

stack-up: setup
	$(BIN)/shixin stack up

stack-down: setup
	$(BIN)/shixin stack down

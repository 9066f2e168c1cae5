# The two commands: `make demo` (the main job: train the digits net, print its test accuracy) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test bench lint format clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: setup
	$(BIN)/cnnc train examples/digits.cnn --quiet

test: setup
	$(BIN)/python -m pytest -q

bench: setup  # by hand: cnnc against PyTorch in the same run (docs/performance.md)
	$(BIN)/python benchmarks/bench_nets.py
	$(BIN)/python benchmarks/bench_conv.py
	$(BIN)/python benchmarks/bench_jit.py
	$(BIN)/python benchmarks/bench_train_digits.py

lint: setup
	$(BIN)/ruff check cnnc tests benchmarks
	$(BIN)/ruff format --check cnnc tests benchmarks

format: setup
	$(BIN)/ruff format cnnc tests
	$(BIN)/ruff check --fix cnnc tests

clean:
	rm -rf $(VENV) build dist .pytest_cache

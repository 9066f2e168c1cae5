# The two commands: `make demo` (the main job: train the digits net, print its test accuracy) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint format clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: setup
	$(BIN)/cnnc train examples/digits.cnn --augment crop --quiet

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check cnnc tests
	$(BIN)/ruff format --check cnnc tests

format: setup
	$(BIN)/ruff format cnnc tests
	$(BIN)/ruff check --fix cnnc tests

clean:
	rm -rf $(VENV) build dist .pytest_cache

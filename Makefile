# Winnow: `make test` sets everything up on a fresh machine and runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test bench lint clean

install: $(STAMP)

# Re-runs only when the dependencies change; a half-made venv is repaired, not duplicated.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/python benchmarks/selection.py
	$(BIN)/python benchmarks/scoring.py
	$(BIN)/python benchmarks/embedding.py
	$(BIN)/python benchmarks/report.py

lint: install
	$(BIN)/python -m compileall -q selection_engine tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

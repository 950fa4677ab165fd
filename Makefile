# The two commands a new engineer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LANDING   ?= data_samples/landing
WAREHOUSE ?= warehouse

.PHONY: run test install install-test ui bench-ingest samples clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'

## make run: install, then sync the bundled sample district into ./warehouse/
run: install
	$(BIN)/shiyou sync --landing $(LANDING) --warehouse $(WAREHOUSE)

## make test: install what the tests need, then run them
test: install-test
	$(BIN)/python -m pytest

## make ui: the Dagster UI on the same definitions (http://127.0.0.1:3000)
ui: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[ui]'
	$(BIN)/dagster dev -w workspace.yaml

## make samples: regenerate data_samples/ from the seeded generator
samples: install
	$(BIN)/python -m shiyou.synth --residents 2000 --seed 20261120 --date 2026-11-20 --out data_samples

## make bench-ingest: the 1M-resident ingest benchmark (see docs/benchmarks.md)
bench-ingest: install
	$(BIN)/python benchmarks/bench_ingest.py --residents 1000000

clean:
	rm -rf $(VENV) warehouse .bench

# The two commands: `make run` (the whole system) and `make test` (the whole suite, the layer contracts first).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint install

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m lfr_governance.launcher run

lint: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache

test: lint
	$(PY) -m lfr_governance.launcher test $(PYTEST_ARGS)

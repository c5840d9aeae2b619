PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite runs on every CPU (pytest-xdist); `make test PYTEST_ARGS=...` replaces this.
PYTEST_ARGS ?= -n auto
# `make run PORT=8100 HOST=0.0.0.0`: where to serve. The embedded issuer follows (tokens name
# it in `iss`), unless REGISTRY_ISSUER is set; a wildcard host is reached at 127.0.0.1.
HOST ?= 127.0.0.1
PORT ?= 8000
REACHED := $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))
run: export REGISTRY_ISSUER ?= http://$(REACHED):$(PORT)

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p var
	$(BIN)/registry db upgrade
	$(BIN)/registry seed --demo
	$(BIN)/registry serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check api schema policies db tests
	$(BIN)/mypy api schema policies db

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)
	$(BIN)/python -m tests.bench.limiter
	$(BIN)/python -m tests.bench.observe

clean:
	rm -rf $(VENV) var/registry.db

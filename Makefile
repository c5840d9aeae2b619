PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite runs on every CPU (pytest-xdist); `make test PYTEST_ARGS=...` replaces this.
PYTEST_ARGS ?= -n auto

.PHONY: run test lint bench bench-scale clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p var
	$(BIN)/registry db upgrade
	$(BIN)/registry seed --demo
	$(BIN)/registry serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check api schema policies db tests
	$(BIN)/mypy api schema policies db

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)
	$(BIN)/python -m tests.bench.limiter

# Growth with data (PostgreSQL): 5,000 vs 1,000,000 judgments, a database of its own per
# size (registry_scale_N, dropped and created); SCALE_ARGS e.g. --sizes 5000,200000.
bench-scale: $(STAMP)
	$(BIN)/python -m tests.bench.scale $(SCALE_ARGS)

clean:
	rm -rf $(VENV) var/registry.db

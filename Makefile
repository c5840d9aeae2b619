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

.PHONY: run test lint bench bench-scale bench-import clean browser lock schema

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

# The browser tests (tests/browser) drive Debian's Chromium and ChromeDriver: installed here
# where they are missing and this is root with apt-get (CI, a fresh machine); elsewhere the
# tests skip, saying so (REQUIRE_BROWSER=1 makes that a failure). The graphql-http audit's
# npm packages are installed by its test (`npm ci` in tests/graphql_over_http).
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	else \
	  echo "make: the browser tests need Debian's chromium and chromium-driver, which only root can install:"; \
	  echo "      sudo apt-get install chromium chromium-driver (until then tests/browser is skipped)"; \
	fi

test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check api schema policies db tests
	$(BIN)/mypy api schema policies db

# The registry beside the reference apps (DESIGN §3): ../shared/bench/compare.py, where the
# workspace has it (COMPARE=path/to/compare.py elsewhere; COMPARE_ARGS e.g. --rounds 2).
COMPARE ?= ../shared/bench/compare.py
COMPARE_ARGS ?= --rounds 1 --postgres postgresql+psycopg://postgres@127.0.0.1:5432

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)
	$(BIN)/python -m tests.bench.limiter
	$(BIN)/python -m tests.bench.observe
	@if [ -f "$(COMPARE)" ]; then \
	  REGISTRY_RATE_BUCKET=1000000000 REGISTRY_RATE_RESTORE=1000000000 \
	    $(PYTHON) $(COMPARE) $(COMPARE_ARGS); \
	else echo "make: $(COMPARE) not found: the comparison with the reference apps is skipped (COMPARE=...)"; fi

# Growth with data (PostgreSQL): 5,000 vs 1,000,000 judgments, a database of its own per
# size (registry_scale_N, dropped and created); SCALE_ARGS e.g. --sizes 5000,200000.
bench-scale: $(STAMP)
	$(BIN)/python -m tests.bench.scale $(SCALE_ARGS)

# `registry import notices` on PostgreSQL: 20,000 judgment notices into a database of its own
# (registry_bench_import, dropped and created), timed; IMPORT_ARGS e.g. --notices 100000.
bench-import: $(STAMP)
	$(BIN)/python -m tests.bench.importer $(IMPORT_ARGS)

# The Docker image installs from requirements.lock: every package pinned with its hashes,
# resolved from pyproject.toml's dependencies (tests/unit/test_lock_file.py checks the two
# agree). Run after changing a dependency; pip-tools goes into its own venv.
lock:
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet pip-tools
	$(VENV)-lock/bin/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url \
	  --no-emit-find-links --output-file=requirements.lock pyproject.toml

# The SDL that client code generators read offline (tests/api/test_schema_documentation.py
# fails when it is stale).
schema: $(STAMP)
	$(BIN)/registry schema export > schema.graphql

clean:
	rm -rf $(VENV) var/registry.db

# Continuum: two commands on a fresh machine.
#   make run    install, seed the demo company into the embedded SQLite store (and plan it),
#               serve on :8501
#   make test   install, start what the tests need (PostgreSQL, Chromium), run the checks
#               (ruff, mypy, import-linter) and every test
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
LIFETIMES := benchmarks/.venv-lifetimes/bin/python

.PHONY: run test install install-dev postgres chromium demo bench clean

run: install
	$(BIN)/python -m planning demo --if-empty
	$(BIN)/python -m planning plan recompute --if-missing --reason "first plan of the store"
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: install-dev postgres chromium audit lint
	$(BIN)/python -m pytest

# The checks configured in pyproject.toml: ruff (lint and format), mypy on planning/ and ui/,
# and import-linter's contracts (the layer order; an engine that never imports Streamlit).
.PHONY: lint
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Known advisories in the pinned runtime dependencies (and what they pull in), from the
# package index's vulnerability data, which pip-audit reaches itself. --strict: a dependency
# that cannot be looked up fails the audit. Found advisories always fail make test. Where the
# vulnerability data cannot be reached at all (a mirror or proxy that serves packages but not
# their per-release data), nothing could be checked: the audit says so loudly and make test
# goes on, rather than failing every run or passing silently. `make test AUDIT_STRICT=`
# relaxes --strict.
.PHONY: audit
AUDIT_STRICT ?= --strict
audit: install-dev
	@out=$$($(BIN)/pip-audit $(AUDIT_STRICT) --requirement requirements.txt \
	    --vulnerability-service pypi --progress-spinner off 2>&1); rc=$$?; \
	echo "$$out" | tail -n 20; \
	if [ $$rc -eq 0 ]; then exit 0; fi; \
	if echo "$$out" | grep -qiE "known vulnerabilit|^Name +Version +ID"; then exit $$rc; fi; \
	if echo "$$out" | grep -qiE "could not be audited|connection|timed out|resolve"; then \
	  echo "pip-audit NOT RUN: the package index's vulnerability data is unreachable from"; \
	  echo "this machine, so no advisory was checked. Run 'make audit' where pip-audit can"; \
	  echo "reach its service before trusting the pins."; \
	  exit 0; \
	fi; \
	exit $$rc

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

# A real PostgreSQL for the integration tests. CONTINUUM_TEST_POSTGRES_URL wins; otherwise the
# local cluster on $(PG_HOST):$(PG_PORT) is installed if missing and started if down.
postgres:
	@if [ -n "$$CONTINUUM_TEST_POSTGRES_URL" ]; then exit 0; fi; \
	if ! command -v pg_ctlcluster >/dev/null 2>&1; then \
	  echo "Installing PostgreSQL (Debian package)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  v=$$(ls /etc/postgresql | sort -V | tail -1); \
	  sed -i 's/^\(host[[:space:]]\+all[[:space:]]\+all[[:space:]]\+127.0.0.1\/32[[:space:]]\+\)[a-z0-9-]\+/\1trust/' /etc/postgresql/$$v/main/pg_hba.conf; \
	fi; \
	if ! pg_isready -q -h $(PG_HOST) -p $(PG_PORT); then \
	  v=$$(ls /etc/postgresql | sort -V | tail -1); \
	  echo "Starting PostgreSQL $$v"; \
	  pg_ctlcluster --skip-systemctl-redirect $$v main start; \
	  for i in $$(seq 1 30); do pg_isready -q -h $(PG_HOST) -p $(PG_PORT) && break; sleep 1; done; \
	fi; \
	pg_isready -h $(PG_HOST) -p $(PG_PORT)

# Debian's Chromium for the browser tests (Playwright drives it through executable_path).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Chromium (Debian package)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

demo: install
	$(BIN)/python -m planning demo

# Every benchmark prints a table and writes benchmarks/results/<name>.json. `make bench` runs
# them all; `make bench-forecast` (bench-value, bench-team, ...) runs one.
bench: install-dev postgres $(LIFETIMES)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

bench-%: benchmarks/bench_%.py install-dev postgres $(LIFETIMES)
	$(BIN)/python $<

# lifetimes 0.11.3, the reference the value benchmark is timed against, in its own venv: a
# benchmark-only dependency that stays out of the app's environment.
$(LIFETIMES): | $(VENV)/bin/python
	$(PYTHON) -m venv benchmarks/.venv-lifetimes
	benchmarks/.venv-lifetimes/bin/pip install --quiet lifetimes==0.11.3 pandas==3.1.1 \
	  numpy==2.4.6 scipy==1.17.1 pyarrow==26.0.1

clean:
	rm -rf $(VENV) data/continuum.db data/continuum.db-wal data/continuum.db-shm

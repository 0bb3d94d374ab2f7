# ChargeOps: `make run` to try it, `make test` for the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8501
HOST ?= localhost

.PHONY: install migrate seed run app sidecar test test-fast lint format bench clean-db

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) -m db.migrate upgrade

# Reference data always; demo data on first start only (the seeder is idempotent).
seed: migrate
	$(PY) -m db.seed

# Migrate, seed on first start, run the scheduler sidecar in the background and the app.
run: seed
	@echo "Starting the scheduler sidecar and the app on http://$(HOST):$(PORT)"
	@$(PY) -m scheduler & SIDECAR=$$!; \
	trap 'kill $$SIDECAR 2>/dev/null; wait $$SIDECAR 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/streamlit run app/main.py --server.port $(PORT) --server.address $(HOST)

app: migrate
	$(VENV)/bin/streamlit run app/main.py --server.port $(PORT) --server.address $(HOST)

sidecar: migrate
	$(PY) -m scheduler

# The whole suite: unit, integration (SQLite and PostgreSQL), pages (AppTest), e2e (Chromium).
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest --ignore=tests/faults
	$(PY) -m pytest tests/faults  # last and alone: it restarts PostgreSQL

test-fast: install
	$(PY) -m pytest -m "not e2e and not slow" -q --ignore=tests/faults

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) -m bench.overview_bench
	$(PY) -m bench.dispatch_bench
	$(PY) -m bench.allocation_bench
	$(PY) -m bench.reporting_bench
	$(PY) -m bench.load_test --users 10 --seconds 180

# Back up DATABASE_URL and DATA_DIR into var/backups/chargeops-<UTC time>/ (README, "Backup and restore").
backup: install
	$(PY) -m db.backup backup

# Restore BACKUP=var/backups/chargeops-... (default: the newest) into DATABASE_URL and DATA_DIR;
# a non-empty target is refused unless FORCE=1. Stop the app and the sidecar first.
restore: install
	$(PY) -m db.backup restore $(BACKUP) $(if $(FORCE),--force)

.PHONY: backup restore

clean-db:
	rm -f var/chargeops.db var/chargeops.db-wal var/chargeops.db-shm

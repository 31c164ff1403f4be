# AIRM Curator. `make run` serves the demo catalog; `make test` runs the whole suite.
# DATABASE_URL picks the database (unset: SQLite in db.sqlite3); PORT the port (default 8000).

SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: help install run serve migrate demo test test-postgres lint format lock bench clean

help:
	@echo "make run            install, migrate, load reference + demo data, serve on :$(PORT)"
	@echo "make test           run the whole test suite (DATABASE_URL selects the database)"
	@echo "make test-postgres  the whole suite against PostgreSQL on 127.0.0.1:5432"
	@echo "make lint           ruff check and format check"
	@echo "make lock           re-resolve requirements.lock from pyproject.toml"

$(STAMP): requirements.lock
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (python3.13, python3.12 or python3)."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@touch $@

install: $(STAMP)

migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

demo: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py load_reference_data --with-demo

run: demo
	@echo
	@echo "Serving AIRM Curator on http://127.0.0.1:$(PORT)/  (admin: http://127.0.0.1:$(PORT)/admin/)"
	DEBUG=$${DEBUG:-1} PORT=$(PORT) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install
	DEBUG=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install
	DEBUG=1 DATABASE_URL=$${DATABASE_URL:-postgres://root@127.0.0.1:5432/airm} $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
	  --python-version 3.12 -o requirements.lock

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

# AIRM Curator. `make run` serves the demo catalog; `make test` runs the whole suite.
# DATABASE_URL picks the database (unset: SQLite in db.sqlite3); PORT the port (default 8000).
# `make serve` runs the site as in production (see README, "Deploying"); `make worker` runs the
# background worker that goes beside it.

SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

WEB_CONCURRENCY ?= 2

.PHONY: help install run serve worker migrate demo test test-postgres lint typecheck format lock bench clean

help:
	@echo "make run            install, migrate, load reference + demo data, serve on :$(PORT)"
	@echo "                    (with a background worker beside the development server)"
	@echo "make serve          production: migrate, collect static files, gunicorn on"
	@echo "                    127.0.0.1:$(PORT) with WEB_CONCURRENCY workers (needs SECRET_KEY)"
	@echo "make worker         production: the background worker (run beside make serve)"
	@echo "make test           run the whole test suite (DATABASE_URL selects the database)"
	@echo "make test-postgres  the whole suite against PostgreSQL on 127.0.0.1:5432"
	@echo "make lint           ruff check, format check, mypy, migrations in step"
	@echo "make typecheck      mypy on the typed core (see CONTRIBUTING.md)"
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

# The worker runs in the background of this shell and is stopped when the server stops.
run: demo
	@echo
	@echo "Serving AIRM Curator on http://127.0.0.1:$(PORT)/  (admin: http://127.0.0.1:$(PORT)/admin/)"
	@echo "A background worker runs beside it (imports, batch decisions); both stop with Ctrl-C."
	@export DEBUG=$${DEBUG:-1} PORT=$(PORT); \
	$(BIN)/python manage.py db_worker --no-reload --interval 0.5 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Production serving: no DEBUG, static files collected (hashed, compressed) and served by
# WhiteNoise, gunicorn on the loopback interface behind a TLS proxy; logs on standard output.
serve: install
	@test -n "$$SECRET_KEY" || { echo "make serve needs SECRET_KEY (and ALLOWED_HOSTS): see README, Deploying." >&2; exit 1; }
	DEBUG=0 $(BIN)/python manage.py migrate --noinput
	DEBUG=0 $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	DEBUG=0 PORT=$(PORT) WEB_CONCURRENCY=$(WEB_CONCURRENCY) \
	  exec $(BIN)/gunicorn -c python:airm_site.gunicorn_conf

worker: install
	@test -n "$$SECRET_KEY" || { echo "make worker needs SECRET_KEY: see README, Deploying." >&2; exit 1; }
	DEBUG=0 exec $(BIN)/python manage.py db_worker --no-reload

# The suite's settings (tests/settings.py) need nothing from the environment: plain `pytest`
# works the same.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://root@127.0.0.1:5432/airm} $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
	  --python-version 3.12 -o requirements.lock

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

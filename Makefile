# vidu_web: `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SANDBOX_PORT ?= 8765
# The test suite runs on PostgreSQL (real row locks for the concurrency tests).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/vidu_web

.PHONY: setup run serve worker test test-setup lint bench screenshots clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# Development set-up: DEBUG on unless said otherwise (production runs these by hand, README "Deploy").
setup: $(VENV)/.installed
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py createcachetable

run: setup
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} PORT=$(PORT) SANDBOX_PORT=$(SANDBOX_PORT) $(PY) manage.py devrun

# Production: DEBUG off, so both need DJANGO_SECRET_KEY (and stop naming it without one).
# serve collects static files first: with DEBUG off every page is rendered from their manifest.
serve: $(VENV)/.installed
	DJANGO_DEBUG=false $(PY) manage.py collectstatic --noinput --verbosity 0
	DJANGO_DEBUG=false exec $(VENV)/bin/gunicorn --config deploy/gunicorn.conf.py vidu_web.wsgi

worker: $(VENV)/.installed
	DJANGO_DEBUG=false exec $(PY) manage.py qcluster

# Installs (as root) or starts what the tests need, or stops saying what to run: see bin/test-setup.
test-setup:
	@TEST_DATABASE_URL='$(TEST_DATABASE_URL)' PYTHON='$(PYTHON)' bin/test-setup

# Two pytest processes (pytest-xdist), a test file each at a time, so a file's module fixtures
# (a devrun, a sandbox) start once; PYTEST_WORKERS=0 runs them all in this one process.
PYTEST_WORKERS ?= 2
test: test-setup $(VENV)/.installed
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) bench/run_all.py

screenshots: test-setup $(VENV)/.installed
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest tests/e2e/screenshots.py -q

clean:
	rm -rf $(VENV) staticfiles test-results

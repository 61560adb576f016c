# vidu_web: `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SANDBOX_PORT ?= 8765
# The test suite runs on PostgreSQL (real row locks for the concurrency tests).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/vidu_web

.PHONY: setup run test test-setup lint bench screenshots clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

run: setup
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} PORT=$(PORT) SANDBOX_PORT=$(SANDBOX_PORT) $(PY) manage.py devrun

# Installs (as root) or starts what the tests need, or stops saying what to run: see bin/test-setup.
test-setup:
	@TEST_DATABASE_URL='$(TEST_DATABASE_URL)' PYTHON='$(PYTHON)' bin/test-setup

test: test-setup $(VENV)/.installed
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) bench/run_all.py

screenshots: test-setup $(VENV)/.installed
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest tests/e2e/screenshots.py -q

clean:
	rm -rf $(VENV) staticfiles test-results

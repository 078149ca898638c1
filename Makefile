# The two commands a newcomer needs: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The test matrix (the classifiers in pyproject.toml say the same): Django 5.2 on Python 3.11 in $(VENV)
# (everything), the newest Django, 6.1, on 3.12 in $(VENV6), and Django 6.0 on 3.13 in $(VENV313) (the
# suite without the browser tests). Django 6 needs Python 3.12+.
PY312 ?= env PYENV_VERSION=3.12.1 python3.12
VENV6 ?= .venv-django6
PY313 ?= env PYENV_VERSION=3.13.0 python3.13
VENV313 ?= .venv-py313
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL := $(filter postgres://% postgresql://%,$(DATABASE_URL))

.PHONY: demo test lint test-python test-postgres test-django6 test-django60-py313 test-django-suite frontend frontend-test install install-dev bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(VENV)/.installed-demo: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e '.[demo]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make demo: install, migrate, seed, and serve the demo site with the live dashboard on 127.0.0.1:8000
## (make demo PORT=8123 for another port; a busy port stops here with a message, not a silent hang)
demo: $(VENV)/.installed-demo
	@$(PY) demo_site/check_port.py $(HOST) $(PORT)
	env -u DATABASE_URL -u LIFECYCLE_REDIS_URL $(PY) manage.py migrate --noinput
	env -u DATABASE_URL -u LIFECYCLE_REDIS_URL $(PY) manage.py seed_demo
	@echo ""
	@echo "  Demo site:  http://$(HOST):$(PORT)/"
	@echo "  Dashboard:  http://$(HOST):$(PORT)/__lifecycle__/"
	@echo ""
	env -u DATABASE_URL -u LIFECYCLE_REDIS_URL $(PY) manage.py runserver $(HOST):$(PORT)

## make test: everything CI runs (frontend checks, the Python suite on SQLite and PostgreSQL, on Django 6.1 and on
## Django 6.0 with Python 3.13, Django's own suite)
test: lint frontend-test test-python test-postgres test-django6 test-django60-py313 test-django-suite

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend-test: frontend/node_modules/.installed
	cd frontend && npm test && npm run check-build

## make frontend: rebuild the dashboard into lifecycle/static/lifecycle/ (commit the result)
frontend: frontend/node_modules/.installed
	cd frontend && npm run build

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check lifecycle tests demo_site bench django_suite
	$(PY) -m mypy

test-python: $(VENV)/.installed-dev
	env -u DATABASE_URL $(PY) -m pytest -p xdist -n 2

test-postgres: $(VENV)/.installed-dev
ifeq ($(PG_URL),)
	@echo "SKIPPED the PostgreSQL run: DATABASE_URL does not point to PostgreSQL (.ci/run sets it)."
else
	DATABASE_URL=$(PG_URL) $(PY) -m pytest -m sql_backends
endif

$(VENV6)/.installed: pyproject.toml
	test -x $(VENV6)/bin/python || $(PY312) -m venv $(VENV6)
	$(VENV6)/bin/python -m pip install -q --upgrade pip
	$(VENV6)/bin/python -m pip install -q -e '.[dev]' 'Django>=6.1,<6.2'
	touch $@

$(VENV313)/.installed: pyproject.toml
	test -x $(VENV313)/bin/python || $(PY313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install -q --upgrade pip
	$(VENV313)/bin/python -m pip install -q -e '.[dev]' 'Django>=6.0,<6.1'
	touch $@

## make test-django-suite: Django's own tests of what lifecycle patches (django_suite/run.py lists the
## modules), plainly and with lifecycle recording every test, on Django 5.2 and 6.x: nothing may break
test-django-suite: $(VENV)/.installed-dev $(VENV6)/.installed
	$(PY) django_suite/run.py
	$(VENV6)/bin/python django_suite/run.py

test-django6: $(VENV6)/.installed
	env -u DATABASE_URL $(VENV6)/bin/python -m pytest -m "not browser" -p xdist -n 2

test-django60-py313: $(VENV313)/.installed
	env -u DATABASE_URL $(VENV313)/bin/python -m pytest -m "not browser" -p xdist -n 2

## make bench: overhead vs bare and the peers, idle query cost, memory over 10,000 requests, live stream
## (by hand, on a quiet machine, about 25 minutes; not part of make test; see bench/README.md)
bench:
	test -x .venv-bench/bin/python || ($(PYTHON) -m venv .venv-bench && .venv-bench/bin/pip install -q -e . -r bench/requirements.txt)
	.venv-bench/bin/python bench/overhead.py
	.venv-bench/bin/python bench/idle_query.py
	.venv-bench/bin/python bench/memory.py
	.venv-bench/bin/python bench/stream.py

clean:
	rm -rf $(VENV) $(VENV6) $(VENV313) frontend/node_modules build *.egg-info

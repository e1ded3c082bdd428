# PseudoRec NGCF: `make run` serves the site, `make test` runs every test.
# Both install what they need into .venv and reuse whatever is already there.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev data db catalogue lint format clean

run: install data db catalogue
	$(MANAGE) runserver $(HOST):$(PORT)

test: install-dev data
	$(PY) -m pytest

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

data: install
	$(MANAGE) fetch_movielens

db: install
	$(MANAGE) migrate --no-input

catalogue: db data
	$(MANAGE) import_movielens

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles

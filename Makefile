# PseudoRec NGCF: `make run` serves the site (gunicorn, DEBUG off), `make dev` is
# the autoreloading development server (DEBUG on), `make test` runs every test.
# Both install what they need into .venv and reuse whatever is already there.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run dev test install install-dev data db catalogue model lint format clean

# gunicorn.conf.py: DEBUG off, whitenoise static, the project's error pages.
# The site under gunicorn, with the For-you warmer beside it (docs/DESIGN.md).
run: install data db catalogue model
	DJANGO_DEBUG=0 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(MANAGE) warm_for_you & w=$$!; \
	trap 'kill $$w' EXIT INT TERM; \
	GUNICORN_BIND=$(HOST):$(PORT) $(PY) -m gunicorn -c gunicorn.conf.py

dev: install data db catalogue model
	DJANGO_DEBUG=1 $(MANAGE) runserver $(HOST):$(PORT)

test: install-dev data mariadb chromium
	$(PY) -m pytest --ignore=tests/stack
	DATABASE_URL=$(MARIADB_TEST_URL) $(PY) -m pytest tests/movie tests/stack

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip

$(VENV)/.installed: requirements.txt | $(PY) sysdeps
	$(PY) -m pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY) sysdeps
	$(PY) -m pip install -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

data: install
	$(MANAGE) fetch_movielens

db: install
	$(MANAGE) migrate --no-input
	$(MANAGE) collectstatic --no-input -v0

# The Korean catalogue: locale/ko/LC_MESSAGES/django.po, edited by hand, compiled
# to django.mo (committed, so the site runs without GNU gettext; a test checks the
# two agree). After changing page strings: `make messages`, translate, commit.
.PHONY: messages
messages: install sysdeps
	$(MANAGE) makemessages -l ko --ignore=.venv --ignore=tests --ignore=artifacts \
		--ignore=staticfiles --ignore=benchmarks --ignore=scripts --ignore=devservers \
		--ignore=pytorch_models
	$(MANAGE) compilemessages

catalogue: db data
	$(MANAGE) import_movielens

# The browser tests (tests/browser) drive Debian's chromium through Playwright, which
# must never download a browser of its own. Installed only when missing (needs root).
.PHONY: chromium
chromium:
	@test -x /usr/bin/chromium || { export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq chromium; }

# Trains the default checkpoint on first run (progress bar), reuses it afterwards.
model: catalogue
	$(MANAGE) train_ngcf --if-missing --promote --threads 1

# The real stack (README, "Running on MariaDB + Kafka + DynamoDB").
# mysqlclient builds against libmariadb-dev: install the Debian build deps if missing.
MARIADB_TEST_URL ?= mysql://root@127.0.0.1:3306/pseudorec
STACK := DJANGO_ENV_FILE=.env.stack
.PHONY: sysdeps mariadb stack-up stack-down run-stack bench-clicks

sysdeps:
	@bash scripts/sysdeps.sh

mariadb:
	@bash scripts/mariadb_ensure.sh

# BROKER_STORAGE=memory: the broker keeps its log in memory instead of moto's S3
# (faster; a broker restart loses what it held).
BROKER_STORAGE ?= s3
stack-up: install-dev mariadb
	$(PY) -m devservers up --broker-storage $(BROKER_STORAGE)
	mariadb --protocol=tcp -h 127.0.0.1 -uroot -e "CREATE DATABASE IF NOT EXISTS pseudorec CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
	$(STACK) $(MANAGE) migrate --no-input
	$(STACK) $(MANAGE) dynamodb_setup
	$(STACK) $(PY) -c "import devservers; devservers.s3_bucket_create('http://127.0.0.1:18000', 'pseudorec-models')"
	$(STACK) $(MANAGE) rekey_visitors

stack-down:
	$(PY) -m devservers down

# The site on the stack, with the click consumer, the outbox relay, the For-you
# warmer and the scheduled retraining (RETRAIN_INTERVAL) beside it.
run-stack: stack-up data
	$(STACK) $(MANAGE) import_movielens
	$(STACK) $(MANAGE) train_ngcf --if-missing --promote --threads 1
	$(STACK) $(MANAGE) consume_clicks & c=$$!; $(STACK) $(MANAGE) relay_outbox & r=$$!; \
	$(STACK) $(MANAGE) warm_for_you & w=$$!; \
	$(STACK) $(MANAGE) retrain_periodically & t=$$!; \
	trap 'kill $$c $$r $$w $$t' EXIT INT TERM; $(STACK) $(MANAGE) runserver $(HOST):$(PORT)

bench-clicks: stack-up data
	$(STACK) $(MANAGE) import_movielens
	$(STACK) $(PY) -m benchmarks.click_pipeline --clicks 1000 --visitors 10 --client-threads 8

# Benchmarks (figures in docs/BENCHMARKS.md); each needs `make model` first.
.PHONY: bench-train bench-train-scale bench-pss bench-foldin bench-foldin-graded bench-graded-sweep bench-finetune-objectives bench-latency bench-http bench-events bench-search
.PHONY: bench-retrain bench-swap bench-impressions bench-load profile-pages
bench-train: install data
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) benchmarks/train_ngcf_ml100k.py --threads 1 --seeds 0 1 2
bench-train-scale: install
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m benchmarks.train_ngcf_scale --sizes ml100k original 10x --threads 1 2 --epochs 3
bench-pss: catalogue
	$(PY) -m benchmarks.serving_pss --synthetic 10x --cache-dir data/bench
bench-foldin: catalogue
	OMP_NUM_THREADS=1 $(MANAGE) evaluate_foldin --seed 0 --threads 1
bench-foldin-graded: catalogue
	OMP_NUM_THREADS=1 $(MANAGE) evaluate_foldin --graded --seeds 0 2 --threads 1
bench-graded-sweep: catalogue
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m benchmarks.graded_sweep --seeds 1 3 4 --centrings 0.7 0.75 0.8 0.85 --lrs 0.03 0.1
bench-finetune-objectives: catalogue
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m benchmarks.finetune_objectives --seeds 1 3 4
bench-latency: model
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) benchmarks/ngcf_latency.py --checkpoint data/checkpoints/ngcf-ml100k.pt --synthetic original --synthetic 10x --cache-dir data/bench --index-nprobe 1 2 4
bench-http: model
	$(PY) -m benchmarks.ngcf_http --requests 200
# Locust: visitor journeys (home, posters, clicks, ratings, NGCF page, API) against
# the site as `make run` serves it (on a copy of its database), or against a
# running one: `make bench-load URL=http://127.0.0.1:8000`.
LOAD_USERS ?= 8
LOAD_TIME ?= 60s
bench-load: install-dev model
	$(PY) -m benchmarks.load --users $(LOAD_USERS) --run-time $(LOAD_TIME) $(if $(URL),--url $(URL))
# Where a page's milliseconds go, in-process (docs/BENCHMARKS.md).
profile-pages: install-dev model
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m benchmarks.page_profile --views 50
# Visitors (one client thread each) posting at once through gunicorn on the default
# SQLite database: events accepted per second, lost, duplicated. 8 x 200 for the
# rate, then the loss check at its defaults, 16 visitors x 50 events.
bench-events: catalogue
	$(PY) -m benchmarks.event_load --serve --visitors 8 --events 200
	$(PY) -m benchmarks.event_load --serve

# Title search on the imported catalogue: ranking, search page, suggestions.
bench-search: catalogue
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m benchmarks.search_page --repeats 50
# Retraining on MovieLens + 10,000 and 100,000 synthetic visitor events.
bench-retrain: catalogue
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 LOG_LEVEL=WARNING $(PY) -m benchmarks.retrain_clicklog --events 10000 100000 --threads 1
# Promotion and rollback under load: seconds until every gunicorn worker serves it.
bench-swap: model
	$(PY) -m benchmarks.model_swap --checkpoint data/checkpoints/ngcf-ml100k.pt --workers 2 --clients 4
# What recording an impression adds to a page (p50/p95).
bench-impressions: install
	$(PY) -m benchmarks.impression_cost --pages 1000

# README screenshots from the real catalogue and checkpoint (docs/screenshots/).
.PHONY: screenshots
# fonts-nanum: a Korean font for the Korean screenshot (Debian, installed if missing).
screenshots: install-dev model chromium
	@fc-list :lang=ko | grep -q . || { export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-nanum; }
	$(PY) -m scripts.screenshots

# CI runs this before the tests: ruff's lint and format check, and no function in
# movie/ or pytorch_models/ longer than 80 lines.
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m scripts.function_lengths

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles

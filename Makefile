# Winnow: `make run` sets up and starts the web app + worker with a demo; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test bench lint clean image image-test

install: $(STAMP)

# Re-runs only when the dependencies change; a half-made venv is repaired, not duplicated.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test,lint,distributed]'
	touch $(STAMP)

# Web server and django-q2 worker on SQLite, with the digits demo dataset and a demo run.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py serve

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/selection.py
	$(BIN)/python benchmarks/scoring.py
	$(BIN)/python benchmarks/embedding.py
	$(BIN)/python benchmarks/report.py
	$(BIN)/python benchmarks/gallery.py
	$(BIN)/python benchmarks/gallery_load.py
	$(BIN)/python benchmarks/ray_pass.py
	$(BIN)/python benchmarks/active_learning.py

# The gates CI runs before the tests: ruff (style, bugs, the engine's import ban), mypy (strict
# for the engine, looser for the web app), Django's checks and no model change without a migration.
lint: install
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# The container image (Dockerfile) built with buildah on a debootstrapped Debian base: for build
# machines without a Docker engine or a registry of base images (elsewhere: `docker build .`).
image:
	scripts/build-image-locally

# Builds the image, then runs inside it: winnow --help, the Lightly worker's step-3 coral command
# on the three mount points, and the web role's /healthz and login page.
image-test: image
	scripts/image-test

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts

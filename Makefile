PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $(VENV)/.installed-run $@

APPS := happycrm accounts leads messaging conversations campaigns templates_app notifications webhooks

## make run: install, migrate, load the demo data and serve on http://127.0.0.1:8000
## One ASGI server (uvicorn, reloading on code changes) serves the pages, the admin, the static files and the
## live stream: under WSGI (runserver) the endless stream would never be sent.
run: $(VENV)/.installed-run
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-happycrm.settings.local} $(BIN)/uvicorn happycrm.asgi:application \
		--host 127.0.0.1 --port 8000 --timeout-graceful-shutdown 1 --reload $(APPS:%=--reload-dir %)

## make test: install what the tests need and run the whole suite
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Podium: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
PYTEST_WORKERS ?= 2

.PHONY: install run test test-pg test-e2e translations extract-messages lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed translations

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy --statistics -d app/translations 2>&1 | grep -v '^$$' || true

extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -o app/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching --ignore-obsolete

run: install
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) demo load
	@echo ""
	@echo "Podium on http://127.0.0.1:$(PORT)  -- demo accounts, password podium-demo:"
	@echo "  admin@example.com  leader@example.com  coach@example.com  agent@example.com"
	@echo ""
	SHOW_DEMO_ACCOUNTS=1 SCHEDULER_IN_PROCESS=1 $(FLASK) run --no-reload --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

test-pg: install
	TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not e2e"

test-e2e: install
	$(BIN)/python -m pytest tests/e2e

lint: $(VENV)/.installed
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m bench.outcomes

clean:
	rm -rf $(VENV) instance/*.db

# Fieldscore: `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite lint typecheck bench bench-analytics bench-dashboard bench-phone bench-login install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	HOST=$(HOST) PORT=$(PORT) $(BIN)/fieldscore serve --demo-if-empty

# The whole suite on SQLite and PostgreSQL (PostgreSQL tests skip only when no server is
# reachable; CI sets FIELDSCORE_REQUIRE_POSTGRES=1 so that skipping fails instead).
test: lint typecheck
	$(BIN)/python -m pytest tests -q

# Lint and format check (ruff, configured in pyproject.toml) run before every test run;
# `ruff format backend api_schemas tests benchmarks` fixes what the format check reports.
lint: $(STAMP)
	$(BIN)/ruff check backend api_schemas
	$(BIN)/ruff format --check backend api_schemas tests benchmarks

# mypy --strict over backend/ and api_schemas/ (pyproject.toml), run by `make test` after the lint.
typecheck: $(STAMP)
	$(BIN)/mypy

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest tests -q -m "not postgres"

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.run --only analytics
	$(BIN)/python -m benchmarks.dashboard
	$(BIN)/python -m benchmarks.phone_app

# Only the dashboard's first render in Chromium (its own section of docs/benchmarks.md);
# `make bench-dashboard DASHBOARD_ARGS="--reports 1000000"` measures it over a million reports too.
bench-dashboard: $(STAMP)
	$(BIN)/python -m benchmarks.dashboard $(DASHBOARD_ARGS)

# Only the phone app's section of docs/benchmarks.md (Chromium: page weight, cold/warm start, outbox sync).
bench-phone: $(STAMP)
	$(BIN)/python -m benchmarks.phone_app

# Only analytics at a million reports on SQLite and PostgreSQL, against the same aggregates in hand-written SQL.
bench-analytics: $(STAMP)
	$(BIN)/python -m benchmarks.run --only analytics

# Only the login flood (issue 13): rewrites its own section of docs/benchmarks.md, keeps the rest.
bench-login: $(STAMP)
	$(BIN)/python -m benchmarks.run --only login

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

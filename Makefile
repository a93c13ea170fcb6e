# evalset: every target sets up the virtual environment it needs, so a fresh clone needs nothing else.
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check
PYTEST_ARGS ?= -n 2

$(VENV)/.server: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e '.[server]'
	touch $@

$(VENV)/.dev: $(VENV)/.server tests/compat/requirements.txt tests/compat/requirements-deps.txt
	$(PIP) -e '.[server,test,dev]'
	# Logfire's own clients, for the wire-compatibility suite only (evalset never depends on them):
	# logfire-sdk pins a certifi newer than the registry has, so it goes in without its dependencies,
	# and pip is told not to report that one known conflict (--no-warn-conflicts): it is harmless.
	$(PIP) --no-warn-conflicts --no-deps -r tests/compat/requirements.txt
	$(PIP) --no-warn-conflicts -r tests/compat/requirements-deps.txt
	touch $@

.PHONY: help install serve test lint format bench
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(VENV)/.dev ## set up .venv with the server, test and dev tools

serve: $(VENV)/.server ## set up and start the server on SQLite in ./.evalset (prints URL and a first key)
	$(VENV)/bin/evalset serve

test: $(VENV)/.dev ## set up and run the whole test suite (SQLite and the PostgreSQL on 127.0.0.1:5432)
	@echo "make test: every server test runs on SQLite and on PostgreSQL. The PostgreSQL half needs a server on"
	@echo "  127.0.0.1:5432 (user postgres, trust auth), or EVALSET_TEST_PG_URL=postgresql://USER:PASS@HOST:PORT/postgres;"
	@echo "  when none answers, that half is skipped with a note (EVALSET_TEST_REQUIRE_PG=1, as in CI, fails instead)."
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev ## ruff and pyright
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/pyright

format: $(VENV)/.dev ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

bench: $(VENV)/.dev ## run the benchmarks (prints figures; slow)
	$(PY) bench/bench_server.py --backend both

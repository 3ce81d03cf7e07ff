# Two commands do the whole set-up on a machine with Python 3.11+:
#   make run    virtualenv, install, migrate, demo data, web + worker + beat
#   make test   the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What the app runs on; the dev extra (tests, linters, browsers' driver) comes on top.
STAMP  := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# The pip that comes with the venv (Python 3.11 ships one that installs all of this) and
# the pins CI tested. --no-compile: Python compiles each module the first time it is
# imported, instead of pip compiling every file of every package up front.
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -c requirements.lock

.PHONY: run test lint install clean bench backup

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency pins change. `make run` installs the runtime alone
# (about a third of the download); `make test` adds the dev extra once.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(PIP) -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(PIP) -e '.[dev]'
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

run: $(STAMP)
	bin/run-local

test: $(DEV_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

# Seeds 1k/10k/100k portfolios into its own database and measures them (bench/README.md).
bench: $(DEV_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# A consistent copy of the database while it runs, in var/backups/ (README: Backup and
# restore); the same environment defaults as `make run`.
backup: $(STAMP)
	DEBUG="$${DEBUG:-true}" $(BIN)/python manage.py backup $(BACKUP_ARGS)

clean:
	rm -rf $(VENV) var

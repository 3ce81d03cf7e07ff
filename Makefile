# Two commands do the whole set-up on a machine with Python 3.11+:
#   make run    virtualenv, install, migrate, demo data, web + worker + beat
#   make test   the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint install clean bench backup

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency pins change.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	bin/run-local

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Seeds 1k/10k/100k portfolios into its own database and measures them (bench/README.md).
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# A consistent copy of the database while it runs, in var/backups/ (README: Backup and
# restore); the same environment defaults as `make run`.
backup: $(STAMP)
	DEBUG="$${DEBUG:-true}" $(BIN)/python manage.py backup $(BACKUP_ARGS)

clean:
	rm -rf $(VENV) var

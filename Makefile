# make run: the whole platform on this machine · make test: the test suite (see docs/HACKING.md)

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: venv run test test-pg bench lint clean system-run system-test test-faults

venv: $(STAMP)

# Reinstall only when the dependencies changed (pyproject.toml newer than the stamp).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

run: system-run venv
	$(BIN)/python -m runner

# pytest exits non-zero when no test ran (exit code 5), so an empty run fails too.
test: system-test venv
	$(BIN)/python -m pytest -q

test-pg: system-test venv
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q

bench: venv
	$(BIN)/python -m bench

lint: venv
	$(BIN)/ruff check . && $(BIN)/mypy --exclude '^\.venv/' .

# Everything make run created: app and Temporal databases, caught mails, generated files.
clean:
	rm -rf var/

# The Debian packages each command needs (apt-get as root, else the exact command to run).
system-run:
	scripts/system-packages.sh run

system-test:
	scripts/system-packages.sh test

# kill -9 / restart of the real stack's processes during purchases, withdrawals, payments (tests/faults)
test-faults: venv
	$(BIN)/python -m pytest -q -m faults tests/faults

# Two commands on a fresh machine: `make run` (offline demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/python -m bot demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.broadcast
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.picking
	$(BIN)/python -m bench.keywords
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.taste

# Refresh the message catalogs from the source (then translate the new zh entries).
messages: $(VENV)/.installed-test
	$(BIN)/pybabel extract --no-location --omit-header --sort-output -o bot/locales/messages.pot bot handlers
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i bot/locales/messages.pot -d bot/locales -D messages

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache

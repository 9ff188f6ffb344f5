# Two commands for a fresh machine: `make demo` and `make test`. Both bootstrap .venv
# from nothing but Python and pip, with the exact versions in constraints.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/daypulse demo --dir demo

# PySpark's tests run last, in their own pytest: the JVM they start would otherwise stay up
# (and busy) through every later test.
test: $(STAMP)
	$(BIN)/ruff check src tests
	bash scripts/test-services
	$(BIN)/python -m pytest -m "not spark"
	$(BIN)/python -m pytest -m spark

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not spark"

lint: $(STAMP)
	$(BIN)/ruff check src tests

bench: $(STAMP)
	$(BIN)/python bench/engine.py

# Every pack metric over the demo company (4 backends) and the 10M-event company (DuckDB,
# PostgreSQL): bench/packs.py --help for the flags, bench/README.md for the figures.
.PHONY: bench-packs
bench-packs: $(STAMP)
	$(BIN)/python bench/packs.py

clean:
	rm -rf $(VENV) demo .pytest_cache

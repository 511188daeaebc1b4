# The two commands of the README: `make chat` (main job) and `make test` (whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: chat test install lint bench clean

chat: install
	$(BIN)/gangmaker chat

test: install
	scripts/test.sh

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/gangmaker i18n compile >/dev/null
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/bench_seed_overview.py --db both

clean:
	rm -rf $(VENV) gangmaker.db gangmaker.db-wal gangmaker.db-shm

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-memory schema clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,otel]'
	touch $(STAMP)

# Where `make run` listens: `make run PORT=8001 HOST=0.0.0.0` (not taken from the environment).
PORT = 8000
HOST = 127.0.0.1

run: $(STAMP)
	$(BIN)/clientgraph serve --demo --host $(HOST) --port $(PORT)

# Test processes (pytest-xdist): one per CPU, at most 4 (each holds a database per backend and
# its pools); `make test TEST_WORKERS=0` runs the suite in this one process. A module runs whole
# in one worker (--dist loadscope), so its module-scoped servers start once.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(min(4, os.cpu_count() or 1))')

test: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# RSS of a real server under mixed load, on SQLite then PostgreSQL (about 2 × MINUTES).
MINUTES ?= 10
POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
bench-memory: $(STAMP)
	$(BIN)/python -m bench.memory --minutes $(MINUTES)
	$(BIN)/python -m bench.memory --minutes $(MINUTES) --database-url $(POSTGRES_URL)

schema: $(STAMP)
	$(BIN)/clientgraph export-schema > schema.graphql

clean:
	rm -rf $(VENV) var .pytest_cache

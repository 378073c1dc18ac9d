# Xiangzhi Gateway: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS := constraints.txt

.PHONY: demo test bench fuzz lint install system-deps clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"

# Installs exactly the pinned versions (constraints.txt); bounds live in pyproject.toml. setuptools'
# notice about editable installs is informational (our packages are the checkout's folders by design).
$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install -q -c $(CONSTRAINTS) -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Chromium (browser tests) and PostgreSQL (store tests) from Debian's packages, when we may install them.
system-deps:
	@bash scripts/system-deps.sh

demo: $(STAMP)
	$(BIN)/python -m gateway.demo $(if $(FEDERATION),--second-county)

# The suite on every core (pytest-xdist): a module's tests stay on one worker, the slowest modules start
# first (tests/support/parallel.py). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto
# mypy's cache lives outside the checkout, so a fresh clone on a machine that ran it before starts warm (~35 s cold,
# ~5 s warm); mypy re-checks every module whose content differs from what it cached (by hash).
MYPY_CACHE ?= $(HOME)/.cache/xiangzhi-gateway/mypy
test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/mypy --cache-dir $(MYPY_CACHE)
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Bench report bench/results/YYYY-MM-DD.md; e.g. make bench BENCH_ARGS="--quick" or "--only by-id".
BENCH_ARGS ?=
# Sync rows: SYNC_SIZES="100000 1000000" adds the 1M county (about 10 minutes on a 2-core box).
SYNC_SIZES ?= 100000
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.sync_bench --sizes $(SYNC_SIZES) | tee bench/results/$$(date +%F)-sync.md
	$(BIN)/python -m bench.audit_bench --verify-only | tee bench/results/$$(date +%F)-verify.md

# Schemathesis against a live demo gateway (scripts/fuzz.sh); e.g. make fuzz FUZZ_SECONDS=120.
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --cache-dir $(MYPY_CACHE)
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

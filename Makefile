# Hozen: the two commands of the README.
#   make demo   run Hozen on its embedded default (SQLite under var/, demo data) at http://127.0.0.1:$(PORT)/
#   make test   install the dev tools and Debian's chromium if missing, then run the whole test suite
#   make screenshots  every demo role's dashboard at desktop and phone width under docs/screenshots/
#   make fuzz   a longer Schemathesis campaign over every API operation (HOZEN_FUZZ_EXAMPLES cases per
#               operation, default 1000, no time limit; HOZEN_FUZZ_SEED for another seed)
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8000
BIN     = $(VENV)/bin

.PHONY: demo test fuzz venv venv-dev chromium lint messages clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

# Debian's chromium for the browser tests, and a Japanese font (IPAex Gothic) so pages and
# screenshots render Japanese text rather than empty boxes.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && [ -f /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf ]; } || { \
	  echo "Installing Debian's chromium and a Japanese font for the browser tests…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipaexfont-gothic >/dev/null; }

demo: venv
	$(BIN)/hozen demo --port $(PORT)
	PORT=$(PORT) $(BIN)/hozen serve --port $(PORT)

# pytest exits 5 when no test ran: make fails on any non-zero exit, so "no tests" fails too.
# The suite runs on every core (pytest-xdist; each test file whole on one worker, TEST_WORKERS=0 for
# one process): each worker has its own test database (SQLite file, or test_<db>_gw<n> on PostgreSQL).
TEST_WORKERS ?= auto
test: venv-dev chromium
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The fuzz test of the test run, longer: more cases per operation (150 in make test), no time limit.
HOZEN_FUZZ_EXAMPLES ?= 1000
fuzz: venv-dev
	HOZEN_FUZZ_EXAMPLES=$(HOZEN_FUZZ_EXAMPLES) HOZEN_FUZZ_BUDGET_SECONDS=0 \
	  $(BIN)/python -m pytest tests/api/test_fuzz_openapi.py $(PYTEST_ARGS)

lint: venv-dev
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports --no-cache

messages: venv-dev
	$(BIN)/python scripts/messages.py

# Every demo role's dashboard at desktop (1280 px) and phone (390 px) width, under docs/screenshots/
# (the accessibility walk of tests/browser/test_accessibility.py saves them): regenerate and commit
# them with a change to the screens.
screenshots: venv-dev chromium
	HOZEN_SCREENSHOTS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser/test_accessibility.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache

# Benchmarks (benchmarks/README.md): scratch databases only, never var/; each script rewrites its own
# section of docs/benchmarks.md. PostgreSQL is measured too when one answers on 127.0.0.1:5432.
.PHONY: bench
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(VENV)/.installed $(VENV)/.installed-dev $@

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/audit_bench.py
	$(BIN)/python benchmarks/audit_scale_bench.py
	$(BIN)/python benchmarks/crypto_bench.py
	$(BIN)/python benchmarks/designation_bench.py
	$(BIN)/python benchmarks/assessment_bench.py --part nominate
	$(BIN)/python benchmarks/access_bench.py
	$(BIN)/python benchmarks/vault_bench.py
	$(BIN)/python benchmarks/reconcile_bench.py
	$(BIN)/python benchmarks/throughput_bench.py

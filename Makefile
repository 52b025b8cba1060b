# Two commands do everything: `make demo` (the main job) and `make test` (every check);
# `make test-fast` is the quick tier of the checks (no dbt build).
# Both create the environment first: a pinned uv installs the locked dependencies (uv.lock).
PYTHON ?= python3.11
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SYNCED := $(VENV)/.synced-$(UV_VERSION)
SQL_PATHS := models tests/dbt
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup demo test test-fast checks-dbt checks-other lint sqllint dbt-checks browser-deps pytest docs benchmark benchmark-rcf benchmark-seismic benchmark-spark clean

setup: $(SYNCED) profiles.yml

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(SYNCED): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

profiles.yml: profiles.yml.example
	cp profiles.yml.example profiles.yml

# The demo's data is simulated, then the pipeline runs on it (a second `eventlake run` skips).
demo: setup
	$(BIN)/eventlake demo --simulate-only
	$(BIN)/eventlake run

# Every check, then pytest. The checks run as two chains side by side (two cores): sqllint then
# dbt-checks, which both write dbt's target/; and ruff, iac-lint (target/athena, target/iac)
# and browser-deps, which never touch it. Each chain's output is printed in one piece.
test: setup
	$(MAKE) --no-print-directory -j2 --output-sync=recurse checks-dbt checks-other
	$(MAKE) --no-print-directory pytest

checks-dbt:
	$(MAKE) --no-print-directory sqllint
	$(MAKE) --no-print-directory dbt-checks

checks-other:
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory iac-lint
	$(MAKE) --no-print-directory browser-deps

# sqllint has just compiled the project for Athena and Redshift (target/cloud-sql): the engine
# tests read those compiles instead of making them again (tests/engines/conftest.py).
test: export EVENTLAKE_TEST_CLOUD_SQL := $(CURDIR)/target/cloud-sql
# dbt-checks has just parsed the project: the tests that read the manifest start from it.
test test-fast: export EVENTLAKE_TEST_PARSED_MANIFEST := $(CURDIR)/target/manifest.json

# The quick tier, for every change: lint, dbt parse, and the tests that build no lake (unit
# tests, the CLI, the Athena/Redshift compiles, the AWS definitions): no dbt build, no browser,
# no PostgreSQL. `make test` runs all of it again, and everything else.
FAST_TESTS := not dbt and not browser and not postgres
test-fast: setup lint dbt-checks
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "$(FAST_TESTS)"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The dbt templater compiles against an empty lake of its own, so lint never depends on (or
# touches) whatever data a developer has built locally.
# sqlfluff lints files in two processes (two cores; the other check chain is done in seconds).
# Its pool leaves a semaphore that Python's resource tracker warns about at exit: noise, hidden.
SQLFLUFF_LINT := PYTHONWARNINGS="ignore:resource_tracker:UserWarning" $(BIN)/sqlfluff lint --processes 2
sqllint: setup
	mkdir -p target/sqlfluff-lake
	EVENTLAKE_DATA_DIR=target/sqlfluff-lake $(SQLFLUFF_LINT) $(SQL_PATHS)
	# The SQL sent to Athena and Redshift, macros included (the dbt templater skips macro files,
	# so they are linted as rendered): every distinct statement, in the engine's sqlfluff dialect.
	$(BIN)/python tests/engines/cloud_sql.py target/cloud-sql
	$(SQLFLUFF_LINT) --config .sqlfluff-rendered --disregard-sqlfluffignores --dialect athena target/cloud-sql/athena
	$(SQLFLUFF_LINT) --config .sqlfluff-rendered --disregard-sqlfluffignores --dialect redshift target/cloud-sql/redshift

# dbt parse proves the project and its yml are valid before the slower pytest suite runs dbt.
dbt-checks: setup
	$(BIN)/dbt parse --project-dir . --profiles-dir .

# The browser tests (tests/browser/) drive Debian's chromium. Install it when missing and this
# user can (root with apt-get, as in CI); otherwise those tests skip and say why.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing and cannot be installed here: the browser tests will skip"; fi

# pytest-xdist: each test module is one unit of work (its module-scoped lake is built once),
# the slow units first (tests/conftest.py); every worker has its own dbt target folder.
PYTEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

pytest: setup
	$(BIN)/pytest $(PYTEST_PARALLEL)

# The docs site as one static page, served with the project folder so that each exposure's
# link (../data/dashboards/<page>.html, or $$EVENTLAKE_DASHBOARDS_URL) opens its dashboard.
docs: setup
	$(BIN)/dbt docs generate --static --project-dir . --profiles-dir .
	@echo "dbt docs: http://127.0.0.1:8080/target/static_index.html"
	$(BIN)/python -m http.server 8080 --bind 127.0.0.1 --directory .

# Issue 13's ratios in one run on the same data (a few minutes); the size is a flag, e.g.
# `make benchmark BENCH_ARGS="--locations 400 --days 3"` for the issue's 1.73M traffic lines.
BENCH_ARGS ?=
# SPARK=1 also installs the optional `spark` extra, so the ratios include the PySpark peer.
benchmark: setup
	$(if $(SPARK),$(UV) sync --frozen --python $(PYTHON) --extra spark)
	$(BIN)/python benchmarks/bench_ratios.py $(BENCH_ARGS)

benchmark-rcf: setup
	$(BIN)/python benchmarks/eval_rcf_quality.py
	$(BIN)/python benchmarks/bench_rcf_performance.py

benchmark-seismic: setup
	$(BIN)/python benchmarks/bench_seismic_pipeline.py

# The PySpark peer of the traffic models (issue 13): pyspark is an optional extra (`spark`, needs
# Java 17+), installed here only, never by `make setup`. It runs on a lake already landed and
# built (e.g. `make benchmark BENCH_ARGS=--keep`): SPARK_ARGS="--data-dir DIR --check".
SPARK_ARGS ?= --check
benchmark-spark: setup
	$(UV) sync --frozen --python $(PYTHON) --extra spark
	$(BIN)/python benchmarks/spark_traffic.py $(SPARK_ARGS)

# --- AWS deployment checks (orchestration/template.py, orchestration/asl.py) -----------------
# checkov pins boto3, pytest and others below the project's, so it lives in a tool environment
# of its own (tools/iac: pyproject.toml + uv.lock), synced by the same pinned uv. iac-lint writes
# the template and the ASL as `eventlake deploy --dry-run` does and checks them: cfn-lint 0
# errors, statelint clean, checkov 0 failed checks on the template (each skip is justified in
# it) and on orchestration/Dockerfile.
IAC_ENV := $(TOOLS)/iac
IAC_SYNCED := $(IAC_ENV)/.synced-$(UV_VERSION)
IAC_OUT := target/iac

.PHONY: iac-tools iac-lint

iac-tools: $(IAC_SYNCED)

$(IAC_SYNCED): $(UV) tools/iac/uv.lock tools/iac/pyproject.toml
	cd tools/iac && UV_PROJECT_ENVIRONMENT=$(abspath $(IAC_ENV)) $(abspath $(UV)) sync --frozen --python $(PYTHON)
	@touch $@

iac-lint: setup iac-tools
	$(BIN)/eventlake deploy --dry-run --out $(IAC_OUT)
	$(BIN)/cfn-lint $(IAC_OUT)/template.yaml
	$(BIN)/statelint $(IAC_OUT)/state-machine.asl.json
	$(IAC_ENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation dockerfile \
		-f $(IAC_OUT)/template.yaml -f orchestration/Dockerfile

clean:
	rm -rf $(VENV) $(TOOLS) target logs data

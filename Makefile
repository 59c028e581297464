# Two commands matter: `make demo` and `make test`. Both install what they need first (infra/bootstrap.sh).
SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
PY := $(ROOT)/.venv/bin/python
AIRFLOW_ENV := source $(ROOT)/infra/airflow/env.sh
DEMO_CONTRACTS ?= 3000
DEMO_DATE ?= $(shell date -u +%Y-%m-01)
AIRFLOW_UI_PORT ?= 8080

.PHONY: setup demo test test-fast lint generate airflow-db clean-demo airflow-ui bench bench-quick

setup:  ## venv, Spark jars and the test S3 server, into a cache outside the clone
	@bash $(ROOT)/infra/bootstrap.sh

airflow-db: setup  ## Airflow metadata (SQLite) and the pools of the lake's table families
	@$(AIRFLOW_ENV) && $(ROOT)/.venv/bin/airflow db migrate >/dev/null
	@$(AIRFLOW_ENV) && $(ROOT)/.venv/bin/airflow pools import $(ROOT)/infra/airflow/pools.json >/dev/null

generate: setup  ## synthetic files of the five sources (+ the official DECP examples) into the inbox
	@$(AIRFLOW_ENV) && mkdir -p $(ROOT)/.airflow && $(PY) -m generator --contracts $(DEMO_CONTRACTS) --with-samples --progress > $(ROOT)/.airflow/generator.json

demo: setup  ## the whole pipeline through Airflow on the local lake (./lake, ./output), one line per stage
	@DEMO_CONTRACTS=$(DEMO_CONTRACTS) DEMO_DATE=$(DEMO_DATE) bash $(ROOT)/infra/demo.sh

test: lint  ## lint, then the whole test suite: unit, integration (Spark + Delta, S3 server), e2e (Airflow)
	@$(AIRFLOW_ENV) && cd $(ROOT) && $(PY) -m pytest $(PYTEST_ARGS)

test-fast: lint  ## unit tests and the integration tests that need no whole pipeline run
	@$(AIRFLOW_ENV) && cd $(ROOT) && $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

airflow-ui: airflow-db  ## the Airflow UI on http://127.0.0.1:$(AIRFLOW_UI_PORT) (api-server, scheduler, dag-processor, triggerer)
	@echo "user admin, password in $(ROOT)/.airflow/simple_auth_manager_passwords.json.generated (written at first start)"
	@$(AIRFLOW_ENV) && export PATH="$(ROOT)/.venv/bin:$$PATH" && AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=$(AIRFLOW_UI_PORT) airflow standalone
bench: setup  ## benchmark at 10k, 100k and 1M contracts: pipeline per stage, monthly mode, DuckDB baseline
	@$(AIRFLOW_ENV) && cd $(ROOT) && $(PY) -m bench.run $(BENCH_ARGS)

bench-quick: setup  ## the benchmark at 10k contracts only
	@$(AIRFLOW_ENV) && cd $(ROOT) && $(PY) -m bench.run --scales 10k --monthly 10k $(BENCH_ARGS)

lint: setup  ## ruff, and the layers of jobs/ (import-linter)
	@$(ROOT)/.venv/bin/ruff check $(ROOT)
	@cd $(ROOT) && $(ROOT)/.venv/bin/lint-imports --no-cache

clean-demo:  ## remove the local lake, outputs and Airflow state (not the caches)
	rm -rf $(ROOT)/lake $(ROOT)/output $(ROOT)/data $(ROOT)/.airflow

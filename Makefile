# Every lifecycle action is a target; `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STORE ?= file://./data

.DEFAULT_GOAL := help

help: ## list the documented targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create or update .venv with the pinned dependencies

demo: $(STAMP) ## run the whole pipeline on a synthetic crawl in ./data and show where the results are
	$(VENV)/bin/medallion demo --store $(STORE)

test: $(STAMP) ## run the test suite (S3 tests start a real S3 server on loopback)
	$(PY) -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP) ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## format the code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP) ## run the benchmarks (throughput, memory, extraction quality and speed)
	$(PY) bench/extraction.py
	$(PY) bench/pipeline_speed.py
	$(PY) bench/throughput.py

clean: ## remove the local data folder
	rm -rf data

.PHONY: help venv demo test lint format bench clean

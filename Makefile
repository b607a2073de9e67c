# Arbees: the single entry point. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/node_modules/.bin:$(PATH)
MOCHA := mocha
UNIT := 'test/unit/**/*.test.ts'
INTEGRATION := 'test/integration/**/*.test.ts'
CONFORMANCE := 'test/conformance/**/*.test.ts'
CLUSTER := 'test/cluster/**/*.test.ts'

.PHONY: fmt help setup setup-system build lint test test-unit test-integration test-conformance test-cluster bench demo clean kind-up kind-load deploy kind-down image cluster-up cluster-down

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.tools/bin/helm:
	bash scripts/setup-helm.sh

.tools/bin/actionlint: scripts/setup-actionlint.sh
	bash scripts/setup-actionlint.sh
	@touch $@

setup-system: ## install system packages the rig runs (redis, prometheus, postgresql) when missing
	bash scripts/setup-system.sh

setup: setup-system node_modules/.package-lock.json .tools/bin/helm ## install everything: npm packages, helm/kubectl, control-plane and node binaries, the images (as root), the venues' official SDKs (Python 3.13 venv)
	@if [ -z "$$KUBEBUILDER_ASSETS" ]; then bash scripts/build-control-plane.sh >/dev/null; fi
	bash scripts/setup-conformance.sh >/dev/null
	@if [ "$$(id -u)" = 0 ]; then bash scripts/build-node.sh >/dev/null && bash scripts/image.sh all >/dev/null; \
	else echo "setup: not root: the cluster suite's node and images are not built (the suite needs root)" >&2; fi

build: node_modules/.package-lock.json ## compile TypeScript to dist/ (then: bin/arbees --help)
	tsc -p tsconfig.build.json

FORMATTED := '**/*.{ts,js,cjs}'
fmt: node_modules/.package-lock.json ## format the code (prettier; make lint checks it)
	prettier --write --log-level warn $(FORMATTED)

lint: node_modules/.package-lock.json .tools/bin/actionlint ## type-check, formatting, eslint (with the import layers and line width), Dockerfile and workflow lint
	tsc -p . --noEmit
	prettier --check --log-level warn $(FORMATTED)
	eslint --max-warnings 0 .
	dockerfile-utils lint Dockerfile
	actionlint

test: setup ## unit, integration, conformance and cluster tests against real services and a real node (one run, one summary line)
	$(MOCHA) $(UNIT) $(INTEGRATION) $(CONFORMANCE) $(CLUSTER)

test-unit: node_modules/.package-lock.json ## unit tests only (no services)
	$(MOCHA) $(UNIT)

test-integration: setup ## integration tests only (real kube-apiserver, Redis, PostgreSQL, Prometheus)
	$(MOCHA) $(INTEGRATION)

test-conformance: node_modules/.package-lock.json ## the venues' official clients against both simulators (makes a Python 3.13 venv once)
	$(MOCHA) $(CONFORMANCE)

test-cluster: setup ## the cluster suite only: the image, the chart and shards on the rig's real node (root; ARBEES_KEEP_RIG=1 keeps it up)
	$(MOCHA) $(CLUSTER)

bench: setup build ## benchmarks; each prints its figures
	@for b in bench/*.bench.ts; do echo "== $$b"; node --import tsx "$$b" || exit 1; done

DURATION ?= 90s
SCENARIO ?=
demo: setup-system node_modules/.package-lock.json build ## the whole pipeline locally on simulated venues, paper trading (DURATION=90s SCENARIO=file); report in demo-report/
	bin/arbees demo --duration $(DURATION) $(if $(SCENARIO),--scenario $(SCENARIO))

kind-up: ## create the local kind cluster of k8s/kind-config.yaml (needs docker and kind)
	bash scripts/kind.sh up

kind-load: ## build the image with docker and load it into the kind cluster (arbees:dev)
	bash scripts/kind.sh load

deploy: .tools/bin/helm ## install/upgrade the chart on kind (values-kind.yaml) with a sample paper shard
	bash scripts/kind.sh deploy

kind-down: ## delete the local kind cluster
	bash scripts/kind.sh down

image: ## build the Arbees image from the Dockerfile (docker, else buildah as root) and print its size; tars in ~/.cache/arbees/images
	bash scripts/image.sh arbees

cluster-up: setup-system node_modules/.package-lock.json .tools/bin/helm ## a local single-node Kubernetes without Docker (root, Debian/Ubuntu); prints the kubeconfig path
	node --import tsx test/rig/cluster-cli.ts up

cluster-down: node_modules/.package-lock.json ## stop the local node of cluster-up and undo what it changed on the host
	node --import tsx test/rig/cluster-cli.ts down

clean: ## remove build output and downloaded tools (keeps ~/.cache/arbees)
	rm -rf dist .tools coverage demo-report

# Nexus Platform. Every target installs what it needs on first use and is safe to run again.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
TOOLS_VENV  := .venv-tools
BIN         := $(VENV)/bin
STAMPS      := .nexus/stamps
# Debian packages the tests and the sandbox use (installed only when missing; their services are not
# started: a policy-rc.d guard stops the packages' init scripts from launching daemons during install).
APT_PACKAGES := postgresql redis-server wrk prometheus prometheus-alertmanager prometheus-blackbox-exporter prometheus-pushgateway \
                haproxy prometheus-postgres-exporter
CHECKOV_VERSION := 3.3.30

export CHECKPOINT_DISABLE := 1
export BC_SKIP_MAPPING := TRUE
export CKV_SKIP_PACKAGE_UPDATE_CHECK := true

TF_DIRS := terraform/aws terraform/bootstrap

# The delivery pipeline's steps (Jenkinsfile stages), runnable locally.
include cicd/pipeline.mk

.PHONY: help setup up down status test check lint typecheck fmt tf-fmt-check tf-validate tf-test checkov unit integration bench-api bench-autoscaler bench-sandbox bench-drill clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMPS):
	@mkdir -p $@

$(STAMPS)/apt: Makefile | $(STAMPS)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	  guard=""; if [ ! -e /usr/sbin/policy-rc.d ]; then guard=1; printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; rc=$$?; \
	  [ -n "$$guard" ] && rm -f /usr/sbin/policy-rc.d; [ $$rc -eq 0 ] || exit $$rc; fi
	@command -v terraform >/dev/null || { echo "error: terraform (>= 1.11) is not on the PATH; install it from HashiCorp" >&2; exit 1; }
	@touch $@

$(STAMPS)/venv: pyproject.toml services/nexus-api/pyproject.toml | $(STAMPS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,drill]' -e 'services/nexus-api[dev]'
	@touch $@

# checkov pins its own dependency tree, so it lives in a venv of its own.
$(STAMPS)/tools: Makefile | $(STAMPS)
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	@$(TOOLS_VENV)/bin/pip install -q --disable-pip-version-check "checkov==$(CHECKOV_VERSION)"
	@touch $@

$(STAMPS)/tfconfig: $(STAMPS)/venv
	@$(BIN)/nexus infra env > .nexus/terraform.env
	@touch $@

setup: $(STAMPS)/apt $(STAMPS)/venv $(STAMPS)/tools $(STAMPS)/tfconfig ## install everything (idempotent)

up: $(STAMPS)/apt $(STAMPS)/venv ## bring up the sandbox and show the platform
	@$(BIN)/nexus up

down: $(STAMPS)/venv ## stop everything the sandbox started
	@$(BIN)/nexus down

status: $(STAMPS)/venv ## is the sandbox running?
	@$(BIN)/nexus status

PY_DIRS := src tests bench services/nexus-api

lint: $(STAMPS)/venv ## ruff, hadolint
	@$(BIN)/ruff check $(PY_DIRS)
	@$(BIN)/ruff format --check $(PY_DIRS)
	@$(BIN)/hadolint services/nexus-api/Dockerfile

typecheck: $(STAMPS)/venv ## mypy --strict on src/ and the service
	@$(BIN)/mypy
	@cd services/nexus-api && ../../$(BIN)/mypy

fmt: $(STAMPS)/venv ## format Python and Terraform in place
	@$(BIN)/ruff format $(PY_DIRS)
	@$(BIN)/ruff check --fix $(PY_DIRS)
	@terraform fmt -recursive terraform

tf-fmt-check: $(STAMPS)/apt
	@# fmt reads no CLI configuration; unset a TF_CLI_CONFIG_FILE that may name a missing file (it would warn).
	@env -u TF_CLI_CONFIG_FILE terraform fmt -check -recursive -diff terraform

tf-validate: $(STAMPS)/tfconfig ## terraform validate on every root module
	@source .nexus/terraform.env; for d in $(TF_DIRS); do \
	  TF_DATA_DIR=$$PWD/.nexus/tf/validate-$$(basename $$d) terraform -chdir=$$d init -backend=false -input=false >/dev/null && \
	  TF_DATA_DIR=$$PWD/.nexus/tf/validate-$$(basename $$d) terraform -chdir=$$d validate -no-color || exit 1; done

tf-test: $(STAMPS)/tfconfig ## terraform test (mock providers, plan-level assertions)
	@source .nexus/terraform.env; export TF_DATA_DIR=$$PWD/.nexus/tf/validate-aws; \
	  terraform -chdir=terraform/aws init -backend=false -input=false >/dev/null && \
	  terraform -chdir=terraform/aws test -no-color

checkov: $(STAMPS)/tools ## checkov on terraform/ (offline): zero failed checks
	@$(TOOLS_VENV)/bin/checkov -d terraform --framework terraform --quiet --compact --skip-download --download-external-modules false

unit: $(STAMPS)/apt $(STAMPS)/venv
	@$(BIN)/pytest tests/unit -q
	@cd services/nexus-api && ../../$(BIN)/pytest -q

integration: $(STAMPS)/apt $(STAMPS)/venv $(STAMPS)/tfconfig
	@$(BIN)/pytest tests/integration -q

check: lint typecheck tf-fmt-check tf-validate unit ## fast: lint, types, terraform validate, unit tests

# Side by side on the machine's two cores: the integration suite (one shared sandbox, fixed ports, mostly
# waiting on real time: health checks, autoscaler looks, drills) in front, at normal priority; beside it, at
# a lower one (they only soak up the cores the sandbox leaves idle), the CPU-bound rest: terraform test, and the
# service's tests then the platform's offline tests (ephemeral ports and temporary state only). One after
# another they took 28 minutes here.
test: setup lint typecheck tf-fmt-check tf-validate checkov ## the whole suite
	@mkdir -p .nexus/logs; rm -f .nexus/logs/lane-*.rc; \
	( nice -n 10 $(MAKE) --no-print-directory tf-test > .nexus/logs/tf-test.log 2>&1; \
	  echo $$? > .nexus/logs/lane-tf.rc ) & \
	( { echo "--- nexus-api (services/nexus-api, the pipeline's ci-unit step)"; \
	    nice -n 10 $(MAKE) --no-print-directory ci-unit CI_PYTHON=$(abspath $(BIN)/python); \
	    echo $$? > .nexus/logs/lane-svc.rc; \
	    echo "--- platform, offline (tests/ but tests/integration)"; \
	    nice -n 10 $(BIN)/pytest tests -q --ignore=tests/integration -p no:cacheprovider; \
	    echo $$? > .nexus/logs/lane-unit.rc; \
	  } > .nexus/logs/test-offline.log 2>&1 ) & \
	echo "--- platform, integration (tests/integration: the sandbox)"; \
	$(BIN)/pytest tests/integration -q; it=$$?; \
	wait; cat .nexus/logs/test-offline.log; echo "--- terraform test (terraform/aws)"; \
	if [ "$$(cat .nexus/logs/lane-tf.rc)" = 0 ]; then tail -n 1 .nexus/logs/tf-test.log; else cat .nexus/logs/tf-test.log; fi; \
	rcs=$$(echo $$it $$(cat .nexus/logs/lane-svc.rc .nexus/logs/lane-unit.rc .nexus/logs/lane-tf.rc 2>/dev/null)); \
	echo "--- exit codes (integration, nexus-api, offline, terraform test): $$rcs"; \
	[ "$$rcs" = "0 0 0 0" ]

bench-api: $(STAMPS)/apt $(STAMPS)/venv ## nexus-api load benchmark (req/s, p50/p99 for reads and writes)
	@$(BIN)/python services/nexus-api/bench/run.py

bench-autoscaler: $(STAMPS)/apt $(STAMPS)/venv ## sandbox: how fast nexus-api scales out under load and back
	@$(BIN)/python bench/autoscaler.py

bench-sandbox: $(STAMPS)/apt $(STAMPS)/venv ## sandbox: data-plane start, memory, edge -> DR latency; link overhead
	@$(BIN)/python bench/sandbox.py
	@$(BIN)/python bench/link_overhead.py

bench-drill: $(STAMPS)/apt $(STAMPS)/venv ## sandbox: the DR drill, 5 runs per replication mode and fault (RTO, RPO, split brain)
	@$(BIN)/python bench/drill.py

clean: down ## remove caches and the sandbox state (keeps the venvs)
	@rm -rf .nexus/tf .nexus/state .pytest_cache .mypy_cache .ruff_cache

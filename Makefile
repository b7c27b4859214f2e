# Nexus Platform. Every target installs what it needs on first use and is safe to run again.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
TOOLS_VENV  := .venv-tools
BIN         := $(VENV)/bin
STAMPS      := .nexus/stamps
# Debian packages the tests and the sandbox use (installed only when missing).
APT_PACKAGES :=
CHECKOV_VERSION := 3.3.30

export CHECKPOINT_DISABLE := 1
export BC_SKIP_MAPPING := TRUE
export CKV_SKIP_PACKAGE_UPDATE_CHECK := true

TF_DIRS := terraform/aws terraform/bootstrap

.PHONY: help setup up down test check lint typecheck fmt tf-fmt-check tf-validate tf-test checkov unit integration clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMPS):
	@mkdir -p $@

$(STAMPS)/apt: Makefile | $(STAMPS)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi
	@command -v terraform >/dev/null || { echo "error: terraform (>= 1.5) is not on the PATH; install it from HashiCorp" >&2; exit 1; }
	@touch $@

$(STAMPS)/venv: pyproject.toml | $(STAMPS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
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

lint: $(STAMPS)/venv ## ruff
	@$(BIN)/ruff check src tests
	@$(BIN)/ruff format --check src tests

typecheck: $(STAMPS)/venv ## mypy --strict on src/
	@$(BIN)/mypy

fmt: $(STAMPS)/venv ## format Python and Terraform in place
	@$(BIN)/ruff format src tests
	@$(BIN)/ruff check --fix src tests
	@terraform fmt -recursive terraform

tf-fmt-check: $(STAMPS)/apt
	@terraform fmt -check -recursive -diff terraform

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

unit: $(STAMPS)/venv
	@$(BIN)/pytest tests/unit -q

integration: $(STAMPS)/apt $(STAMPS)/venv $(STAMPS)/tfconfig
	@$(BIN)/pytest tests/integration -q

check: lint typecheck tf-fmt-check tf-validate unit ## fast: lint, types, terraform validate, unit tests

test: setup lint typecheck tf-fmt-check tf-validate tf-test checkov ## the whole suite
	@$(BIN)/pytest tests -q

clean: down ## remove caches and the sandbox state (keeps the venvs)
	@rm -rf .nexus/tf .nexus/state .pytest_cache .mypy_cache .ruff_cache

# The delivery pipeline's steps as make targets: cicd/Jenkinsfile runs exactly these, and so can anyone locally.
# Included by the main Makefile (`include cicd/pipeline.mk`); also runs on its own: `make -f cicd/pipeline.mk ci-lint`.
#
#   make ci-setup                        virtualenv with the service's dev tools and the pipeline's own (idempotent)
#   make ci-lint                         ruff + mypy (service and pipeline scripts), hadolint, shellcheck, yamllint
#   make ci-unit                         the service's tests (real PostgreSQL + Redis), JUnit XML in build/reports
#   make ci-image-tag                    print the image tag of the checked-out commit
#   make ci-image-build IMAGE_TAG=...    BuildKit build into build/image/nexus-api.tar (needs buildctl + buildkitd)
#   make ci-image-scan                   Trivy: fail on fixable HIGH/CRITICAL vulnerabilities or secrets (needs trivy)
#   make ci-image-push IMAGE_TAG=...     push to the primary region's ECR, wait for the DR replica (needs crane, AWS)
#   make ci-gitops-bump IMAGE_TAG=...    set image.tag in the regional values files under GITOPS_DIR (local edit)
#   make ci-gitops-push IMAGE_TAG=...    merge the commit into the GitOps branch, bump, commit, push (needs git remote)
#   make ci-clean                        remove the image tarball, registry credentials and scanner cache
#
# Steps that need a tool this machine lacks (buildctl, trivy, crane: there is no Docker engine here) stop at once
# with one line naming the tool. Variables below may be overridden on the command line or in the environment.

SHELL := /bin/bash
VENV ?= .venv
BIN ?= $(VENV)/bin
PYTHON ?= python3

CI_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CI_SCRIPTS := $(abspath $(CI_DIR))/scripts
# The interpreter of the pipeline's Python steps (absolute: ci-gitops-push runs ci-gitops-bump in a worktree).
CI_PYTHON ?= $(abspath $(BIN)/python)

CI_SERVICE      ?= nexus-api
CI_SERVICE_DIR  ?= services/nexus-api
CI_BUILD_DIR    ?= build
CI_REPORTS_DIR  ?= $(CI_BUILD_DIR)/reports
CI_IMAGE_TAR    ?= $(CI_BUILD_DIR)/image/$(CI_SERVICE).tar
CI_STAMP        ?= .nexus/stamps/ci-setup
# Extra pytest arguments of ci-unit (e.g. a subset: CI_UNIT_ARGS=tests/test_config.py).
CI_UNIT_ARGS    ?=
CI_SHELL_SCRIPTS = $(wildcard $(CI_DIR)/scripts/*.sh scripts/*.sh scripts/lib/*.sh)
CI_YAML         ?= $(CI_DIR)

# The image tag: the commit's first 12 hex digits (ECR tags are immutable, so one commit is one image).
IMAGE_TAG ?=
GIT_COMMIT ?=
# Base image of the service's Dockerfile; pin it by digest in CI (python:3.11-slim-bookworm@sha256:...).
CI_BASE_IMAGE ?=

AWS_PRIMARY_REGION      ?= us-east-1
AWS_DR_REGION           ?= eu-west-1
ECR_REPOSITORY          ?= nexus-api
ECR_REPLICATION_TIMEOUT ?= 900

BUILDKIT_HOST        ?= tcp://127.0.0.1:1234
BUILDCTL             ?= buildctl
TRIVY                ?= trivy
CRANE                ?= crane
TRIVY_SEVERITY       ?= HIGH,CRITICAL
TRIVY_JUNIT_TEMPLATE ?= @/contrib/junit.tpl
TRIVY_CACHE_DIR      ?= $(CI_BUILD_DIR)/trivy-cache

GITOPS_DIR    ?= .
GITOPS_VALUES ?= helm/nexus/values-primary.yaml helm/nexus/values-dr.yaml
GITOPS_REMOTE ?= origin
GITOPS_BRANCH ?= gitops

# $(call ci_need,TARGET,COMMAND,WHY): stop with one line when COMMAND is not installed.
ci_need = command -v $(2) >/dev/null 2>&1 || { echo "$(1): $(2) not found: $(3)" >&2; exit 127; }
# $(call ci_need_tag,TARGET): stop with one line when IMAGE_TAG is not set.
ci_need_tag = test -n "$(IMAGE_TAG)" || { echo "$(1): IMAGE_TAG is required (make $(1) IMAGE_TAG=\$$(make -s ci-image-tag))" >&2; exit 2; }

.PHONY: ci-setup ci-lint ci-unit ci-image-tag ci-image-build ci-image-scan ci-image-push ci-gitops-bump \
	ci-gitops-push ci-clean

$(CI_STAMP): $(CI_SERVICE_DIR)/pyproject.toml $(CI_DIR)/requirements-ci.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -e '$(CI_SERVICE_DIR)[dev]' -r $(CI_DIR)/requirements-ci.txt
	@mkdir -p $(@D) && touch $@

ci-setup: $(CI_STAMP) ## virtualenv with the service's and the pipeline's tools

ci-lint: $(CI_STAMP) ## lint: ruff, mypy, hadolint, shellcheck, yamllint
	@set -euo pipefail; \
	(cd $(CI_SERVICE_DIR) && $(CI_PYTHON) -m ruff check --quiet . && $(CI_PYTHON) -m ruff format --check --quiet . \
	  && $(CI_PYTHON) -m mypy --no-error-summary); \
	$(BIN)/hadolint $(CI_SERVICE_DIR)/Dockerfile $(CI_DIR)/jenkins/tools.Dockerfile; \
	$(CI_PYTHON) -m ruff check --quiet $(CI_DIR)/scripts && $(CI_PYTHON) -m ruff format --check --quiet $(CI_DIR)/scripts; \
	$(CI_PYTHON) -m mypy --strict --no-error-summary $(CI_DIR)/scripts/*.py; \
	$(BIN)/shellcheck --external-sources --severity=style $(CI_SHELL_SCRIPTS); \
	$(BIN)/yamllint --strict -c $(CI_DIR)/.yamllint $(CI_YAML); \
	echo "ci-lint: ok"

ci-unit: $(CI_STAMP) ## the service's tests, JUnit XML in $(CI_REPORTS_DIR)
	@mkdir -p $(CI_REPORTS_DIR)
	@cd $(CI_SERVICE_DIR) && $(CI_PYTHON) -m pytest -q -p no:cacheprovider \
	  --junitxml=$(abspath $(CI_REPORTS_DIR))/junit-$(CI_SERVICE).xml -o junit_suite_name=$(CI_SERVICE) $(CI_UNIT_ARGS)

ci-image-tag: ## print the image tag of the checked-out commit
	@git rev-parse --short=12 HEAD

ci-image-build: ## build the image with BuildKit into $(CI_IMAGE_TAR), nothing pushed
	@$(call ci_need,ci-image-build,$(BUILDCTL),BuildKit's client builds the image against the pod's rootless buildkitd (no Docker engine is used))
	@$(call ci_need_tag,ci-image-build)
	@mkdir -p $(dir $(CI_IMAGE_TAR))
	$(BUILDCTL) --addr $(BUILDKIT_HOST) build --progress plain --frontend dockerfile.v0 \
	  --local context=$(CI_SERVICE_DIR) --local dockerfile=$(CI_SERVICE_DIR) \
	  --opt build-arg:VERSION=$(IMAGE_TAG) $(if $(CI_BASE_IMAGE),--opt build-arg:PYTHON_IMAGE=$(CI_BASE_IMAGE)) \
	  $(if $(GIT_COMMIT),--opt label:org.opencontainers.image.revision=$(GIT_COMMIT)) \
	  --output type=docker,name=$(CI_SERVICE):$(IMAGE_TAG),dest=$(CI_IMAGE_TAR)

ci-image-scan: ## Trivy: fail on fixable HIGH/CRITICAL vulnerabilities and on secrets in the image
	@$(call ci_need,ci-image-scan,$(TRIVY),Trivy scans the image tarball for vulnerabilities and secrets)
	@test -f $(CI_IMAGE_TAR) || { echo "ci-image-scan: $(CI_IMAGE_TAR) not found: run make ci-image-build first" >&2; exit 2; }
	@mkdir -p $(CI_REPORTS_DIR) $(TRIVY_CACHE_DIR)
	$(TRIVY) image --cache-dir $(TRIVY_CACHE_DIR) --input $(CI_IMAGE_TAR) --scanners vuln,secret \
	  --severity $(TRIVY_SEVERITY) --ignore-unfixed --ignorefile $(CI_DIR)/.trivyignore --format table --exit-code 0
	$(TRIVY) image --cache-dir $(TRIVY_CACHE_DIR) --input $(CI_IMAGE_TAR) --scanners vuln,secret --skip-db-update \
	  --severity $(TRIVY_SEVERITY) --ignore-unfixed --ignorefile $(CI_DIR)/.trivyignore \
	  --format template --template $(TRIVY_JUNIT_TEMPLATE) --output $(CI_REPORTS_DIR)/junit-trivy.xml --exit-code 1

ci-image-push: ## push to ECR (primary region) and wait until the DR replica has the same digest
	@$(call ci_need,ci-image-push,$(CRANE),crane (go-containerregistry) pushes the image tarball to ECR)
	@$(call ci_need_tag,ci-image-push)
	@IMAGE_TAG=$(IMAGE_TAG) CI_IMAGE_TAR=$(CI_IMAGE_TAR) CI_BUILD_DIR=$(CI_BUILD_DIR) CRANE=$(CRANE) \
	  PYTHON=$(CI_PYTHON) ECR_REPOSITORY=$(ECR_REPOSITORY) AWS_PRIMARY_REGION=$(AWS_PRIMARY_REGION) \
	  AWS_DR_REGION=$(AWS_DR_REGION) ECR_REPLICATION_TIMEOUT=$(ECR_REPLICATION_TIMEOUT) \
	  $(CI_SCRIPTS)/image_push.sh

ci-gitops-bump: ## set image.tag in the regional values files under GITOPS_DIR
	@$(call ci_need_tag,ci-gitops-bump)
	@$(CI_PYTHON) $(CI_SCRIPTS)/bump_image_tag.py --tag $(IMAGE_TAG) $(addprefix $(GITOPS_DIR)/,$(GITOPS_VALUES))

ci-gitops-push: ## merge the commit into the GitOps branch, bump image.tag, commit and push
	@$(call ci_need_tag,ci-gitops-push)
	@IMAGE_TAG=$(IMAGE_TAG) GITOPS_REMOTE=$(GITOPS_REMOTE) GITOPS_BRANCH=$(GITOPS_BRANCH) MAKE="$(MAKE)" \
	  CI_PYTHON=$(CI_PYTHON) $(CI_SCRIPTS)/gitops_push.sh

ci-clean: ## remove the image tarball, registry credentials and scanner cache (keeps the reports)
	@rm -rf $(CI_BUILD_DIR)/image $(CI_BUILD_DIR)/docker-config $(TRIVY_CACHE_DIR)

# The "tools" container of cicd/jenkins/pod.yaml: every `make ci-*` step of cicd/Jenkinsfile runs in it.
# Python 3.11 (as the service), make, git and ssh (the GitOps push), PostgreSQL 15 and Redis (the service's tests
# start real servers), and the pipeline's binaries copied from their upstream images at pinned versions:
# buildctl (BuildKit client; the build runs in the pod's rootless buildkitd), trivy (+ its JUnit template), crane.
# Build it once and push it to the CI registry, e.g. with the pipeline's own machinery:
#   buildctl build --frontend dockerfile.v0 --local context=cicd/jenkins --local dockerfile=cicd/jenkins \
#     --opt filename=tools.Dockerfile --output type=image,name=<registry>/ci/nexus-ci-tools:<version>,push=true

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM moby/buildkit:v0.18.2 AS buildkit
FROM aquasec/trivy:0.58.1 AS trivy
FROM gcr.io/go-containerregistry/crane:v0.20.2 AS crane

FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NEXUS_API_TEST_PG_BIN_DIR=/usr/lib/postgresql/15/bin
# Debian's packages follow the release's security updates; the base image is pinned by digest where it is used.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git make openssh-client postgresql-15 redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1000 --user-group --create-home --shell /bin/bash jenkins
COPY --from=buildkit /usr/bin/buildctl /usr/local/bin/buildctl
COPY --from=trivy /usr/local/bin/trivy /usr/local/bin/trivy
COPY --from=trivy /contrib /contrib
COPY --from=crane /ko-app/crane /usr/local/bin/crane
USER 1000:1000
WORKDIR /home/jenkins

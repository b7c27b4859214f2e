#!/usr/bin/env bash
# Push the scanned image to the primary region's ECR repository and prove that the DR region has it.
#   IMAGE_TAG=... cicd/scripts/image_push.sh        (make ci-image-push)
# Environment (defaults from cicd/pipeline.mk): IMAGE_TAG, CI_IMAGE_TAR, ECR_REPOSITORY, AWS_PRIMARY_REGION,
# AWS_DR_REGION, ECR_REPLICATION_TIMEOUT, CRANE, PYTHON, CI_BUILD_DIR.
#
# Tags are immutable in ECR (terraform/aws/registry.tf), so a tag that is already there is never pushed again:
# a re-run of the same commit reuses the image that was scanned and pushed the first time. Only the primary
# region is pushed to; the registry's replication rule copies the image to the DR region, and this script waits
# until the DR repository holds the same digest, so the GitOps bump never points DR at an image it cannot pull.
set -euo pipefail

: "${IMAGE_TAG:?IMAGE_TAG is required}"
: "${CI_IMAGE_TAR:?CI_IMAGE_TAR is required}"
repository=${ECR_REPOSITORY:-nexus-api}
primary=${AWS_PRIMARY_REGION:-us-east-1}
dr=${AWS_DR_REGION:-eu-west-1}
timeout=${ECR_REPLICATION_TIMEOUT:-900}
crane=${CRANE:-crane}
python=${PYTHON:-python3}
build_dir=${CI_BUILD_DIR:-build}
ecr="$(dirname "$0")/ecr.py"

if ! command -v "$crane" >/dev/null 2>&1; then
  echo "ci-image-push: $crane not found: crane (go-containerregistry) pushes the image tarball; see cicd/README.md" >&2
  exit 127
fi

export DOCKER_CONFIG="${DOCKER_CONFIG:-$build_dir/docker-config}"
registry=$("$python" "$ecr" registry --region "$primary")
ref="$registry/$repository:$IMAGE_TAG"

if digest=$("$python" "$ecr" digest --region "$primary" --repository "$repository" --tag "$IMAGE_TAG" 2>/dev/null); then
  echo "ci-image-push: $ref already exists ($digest); tags are immutable, not pushing again"
else
  [[ -f "$CI_IMAGE_TAR" ]] || { echo "ci-image-push: $CI_IMAGE_TAR not found: run make ci-image-build first" >&2; exit 2; }
  "$python" "$ecr" login --region "$primary" --docker-config "$DOCKER_CONFIG"
  "$crane" push "$CI_IMAGE_TAR" "$ref"
  digest=$("$python" "$ecr" digest --region "$primary" --repository "$repository" --tag "$IMAGE_TAG")
  echo "ci-image-push: pushed $ref ($digest)"
fi

"$python" "$ecr" verify-replication --repository "$repository" --tag "$IMAGE_TAG" --digest "$digest" \
  --source-region "$primary" --replica-region "$dr" --timeout "$timeout"

mkdir -p "$build_dir/image"
printf '%s@%s\n' "$ref" "$digest" > "$build_dir/image/pushed.txt"

#!/usr/bin/env bash
# Record a new nexus-api image in the GitOps branch: merge the built commit into it, set image.tag in both
# regions' values files (make ci-gitops-bump), commit and push. Argo CD (cicd/argocd/apps/nexus.yaml) follows
# that branch and rolls the release out, primary region first.
#   IMAGE_TAG=... cicd/scripts/gitops_push.sh        (make ci-gitops-push)
# Environment (defaults from cicd/pipeline.mk): IMAGE_TAG, GITOPS_REMOTE, GITOPS_BRANCH, GITOPS_SOURCE_REV,
# GITOPS_PUSH_ATTEMPTS, GITOPS_ALLOW_ROLLBACK, MAKE, CI_PYTHON, GITOPS_AUTHOR_NAME, GITOPS_AUTHOR_EMAIL.
#
# Safe to run again: when the branch already deploys this tag from this commit, nothing is committed. A push
# rejected because someone else pushed first is retried from a fresh fetch (GITOPS_PUSH_ATTEMPTS times). A re-run
# of an older build (its commit already merged, a newer image deployed) is refused rather than rolling back.
set -euo pipefail

: "${IMAGE_TAG:?IMAGE_TAG is required}"
remote=${GITOPS_REMOTE:-origin}
branch=${GITOPS_BRANCH:-gitops}
attempts=${GITOPS_PUSH_ATTEMPTS:-3}
make_cmd=${MAKE:-make}
name=${GITOPS_AUTHOR_NAME:-nexus-ci}
email=${GITOPS_AUTHOR_EMAIL:-nexus-ci@users.noreply.nexus-platform.example.com}
mk_file=$(cd "$(dirname "$0")/.." && pwd)/pipeline.mk
repo_root=$(git rev-parse --show-toplevel)
source_sha=$(git rev-parse --verify "${GITOPS_SOURCE_REV:-HEAD}^{commit}")

work=$(mktemp -d)
trap 'git -C "$repo_root" worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git_id=(-c "user.name=$name" -c "user.email=$email")

for ((attempt = 1; attempt <= attempts; attempt++)); do
  git -C "$repo_root" worktree remove --force "$work/tree" >/dev/null 2>&1 || true
  base=""
  status=0
  git -C "$repo_root" ls-remote --exit-code --heads "$remote" "refs/heads/$branch" >/dev/null || status=$?
  if ((status != 0 && status != 2)); then
    echo "ci-gitops-push: cannot reach $remote (git ls-remote exit $status)" >&2
    exit 1
  fi
  if ((status == 0)); then
    git -C "$repo_root" fetch --quiet "$remote" "refs/heads/$branch"
    base=$(git -C "$repo_root" rev-parse FETCH_HEAD)
    git -C "$repo_root" worktree add --quiet --detach "$work/tree" "$base"
    # Bring the built commit's chart and config into the branch (a no-op when it is already merged).
    git -C "$work/tree" "${git_id[@]}" merge --quiet --no-edit -m "Merge ${source_sha:0:12} into $branch" "$source_sha"
  else
    echo "ci-gitops-push: $remote has no branch $branch yet: creating it from ${source_sha:0:12}"
    git -C "$repo_root" worktree add --quiet --detach "$work/tree" "$source_sha"
  fi

  merged=$(git -C "$work/tree" rev-parse HEAD)
  "$make_cmd" --no-print-directory -f "$mk_file" -C "$work/tree" ci-gitops-bump IMAGE_TAG="$IMAGE_TAG"
  git -C "$work/tree" add -A -- helm
  if [[ -n "$base" && "$merged" == "$base" && "${GITOPS_ALLOW_ROLLBACK:-0}" != 1 ]] \
    && ! git -C "$work/tree" diff --cached --quiet; then
    # The commit was already in the branch, yet its tag differs from the deployed one: an older build re-run.
    echo "ci-gitops-push: ${source_sha:0:12} is already in $branch, which deploys a newer image; refusing to" \
      "roll back (revert on the main branch instead, or set GITOPS_ALLOW_ROLLBACK=1)" >&2
    exit 1
  fi
  if ! git -C "$work/tree" diff --cached --quiet; then
    git -C "$work/tree" "${git_id[@]}" commit --quiet \
      -m "deploy(nexus-api): $IMAGE_TAG" -m "Image built from ${source_sha}. [skip ci]"
  fi
  head=$(git -C "$work/tree" rev-parse HEAD)
  if [[ "$head" == "$base" ]]; then
    echo "ci-gitops-push: $branch already deploys $IMAGE_TAG and contains ${source_sha:0:12}; nothing to push"
    exit 0
  fi
  if git -C "$work/tree" push --quiet "$remote" "$head:refs/heads/$branch"; then
    echo "ci-gitops-push: $branch now deploys nexus-api $IMAGE_TAG (${head:0:12})"
    exit 0
  fi
  echo "ci-gitops-push: push to $remote/$branch rejected (attempt $attempt of $attempts); fetching again" >&2
  sleep $((attempt * 2))
done
echo "ci-gitops-push: could not push to $remote/$branch after $attempts attempts" >&2
exit 1

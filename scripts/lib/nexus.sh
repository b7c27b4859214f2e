#!/usr/bin/env bash
# Sourced by the scripts in scripts/: sets `nexus` to the project's CLI (NEXUS overrides it), or stops with
# a one-line error saying how to get it.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
nexus="${NEXUS:-${root}/.venv/bin/nexus}"
if [[ ! -x "${nexus}" ]]; then
  echo "error: ${nexus} not found (run \`make setup\` in ${root}, or set NEXUS to the nexus command)" >&2
  exit 2
fi
export nexus

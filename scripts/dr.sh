#!/usr/bin/env bash
# Disaster recovery (specification: ./scripts/dr.sh): a thin wrapper over `nexus dr`.
#   ./scripts/dr.sh                                   readiness of the DR region (nexus dr status)
#   ./scripts/dr.sh failover [--planned] [--execute]  fail over to the DR region (dry run without --execute)
#   ./scripts/dr.sh failback [--execute]              rebuild the primary region and switch back
# Every other argument goes to `nexus dr` as it is (e.g. --env production --outputs outputs.json).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nexus="${NEXUS:-${root}/.venv/bin/nexus}"
if [[ ! -x "${nexus}" ]]; then
  echo "error: ${nexus} not found (run \`make setup\` in ${root}, or set NEXUS to the nexus command)" >&2
  exit 2
fi
if [[ $# -eq 0 ]]; then
  set -- status
fi
exec "${nexus}" dr "$@"

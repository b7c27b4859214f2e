#!/usr/bin/env bash
# Disaster recovery (specification: ./scripts/dr.sh): a thin wrapper over `nexus dr`.
#   ./scripts/dr.sh                                   readiness of the DR region (nexus dr status)
#   ./scripts/dr.sh failover [--planned] [--execute]  fail over to the DR region (dry run without --execute)
#   ./scripts/dr.sh failback [--execute]              rebuild the primary region and switch back
# Every other argument goes to `nexus dr` as it is (e.g. --env production --outputs outputs.json).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/nexus.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/nexus.sh"
if [[ $# -eq 0 ]]; then
  set -- status
fi
exec "${nexus}" dr "$@"

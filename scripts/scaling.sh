#!/usr/bin/env bash
# Scaling (specification: ./scripts/scaling.sh): a thin wrapper over `nexus scale`.
#   ./scripts/scaling.sh                 what each region runs and may run (nexus scale show)
#   ./scripts/scaling.sh set --region dr --api-replicas 2:6 [--execute]   change it (nexus scale set)
# Arguments that start with a dash alone go to `nexus scale show` (e.g. --env production --outputs FILE);
# otherwise to `nexus scale` as they are.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/nexus.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/nexus.sh"
if [[ $# -eq 0 || "$1" == -* ]]; then
  set -- show "$@"
fi
exec "${nexus}" scale "$@"

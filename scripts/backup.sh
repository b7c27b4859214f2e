#!/usr/bin/env bash
# Backups (specification: ./scripts/backup.sh): a thin wrapper over `nexus backup`.
#   ./scripts/backup.sh                    what a backup run would do now (nexus backup run: a dry run)
#   ./scripts/backup.sh --execute          back up the writer's database and copy it into the other region
#   ./scripts/backup.sh list|verify|prune  every backup; restore-check the newest; enforce the 30-day retention
#   ./scripts/backup.sh restore [--backup ID | --to-time T] [--execute]   into a new instance
# Arguments that start with a dash alone go to `nexus backup run`; otherwise to `nexus backup` as they are
# (e.g. prune --execute, or --env production --outputs outputs.json).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/nexus.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/nexus.sh"
if [[ $# -eq 0 || "$1" == -* ]]; then
  set -- run "$@"
fi
exec "${nexus}" backup "$@"

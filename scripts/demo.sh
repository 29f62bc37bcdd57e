#!/usr/bin/env bash
# Set everything up and run the weekly job end to end on demo data (embedded PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/dagster_home}"
exec .venv/bin/kajabi-sync demo "$@"

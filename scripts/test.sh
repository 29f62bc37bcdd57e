#!/usr/bin/env bash
# The README's test command, which CI runs:
#   bash scripts/test.sh            the whole gate (scripts/check.sh): lock, format, lint, types,
#                                   then every test, slow and browser ones included
#   bash scripts/test.sh ARGS...    just pytest with ARGS (e.g. a file, -k, -q), every marker
#                                   selected unless ARGS has -m; the environment set up the same
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
    exec bash scripts/check.sh
fi
bash scripts/setup.sh
source scripts/test_env.sh
exec .venv/bin/python -m pytest -m "" "$@"

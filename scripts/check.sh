#!/usr/bin/env bash
# The gate: the lock matches pyproject.toml, format, lint, types, then the tests.
#   bash scripts/check.sh          every test, slow and browser ones included (what CI runs)
#   bash scripts/check.sh --fast   without the tests marked slow or e2e
# Further arguments go to pytest. Each step stops the gate on its first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
selection=(-m "")
if [ "${1:-}" = "--fast" ]; then
    selection=(-m "not slow and not e2e")
    shift
fi
bash scripts/setup.sh
step() { printf '\n== %s\n' "$*"; }
step "uv.lock matches pyproject.toml"
.venv/bin/uv lock --check --quiet
step "format (ruff format --check)"
.venv/bin/ruff format --check .
step "lint (ruff check)"
.venv/bin/ruff check .
step "types (mypy)"
.venv/bin/mypy
step "tests (pytest)"
source scripts/test_env.sh
exec .venv/bin/python -m pytest "${selection[@]}" "$@"

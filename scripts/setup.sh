#!/usr/bin/env bash
# Create .venv at the repository root and install exactly what uv.lock pins: the project
# (editable) with its dev extras. Needs only Python 3.11 and PyPI; idempotent: re-syncs only when
# pyproject.toml or uv.lock changed since the last install (or uv is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.kajabi_sync_installed
if [ ! -x .venv/bin/uv ]; then
    # uv is itself pinned in the lock (a dev dependency), so the sync below keeps it.
    .venv/bin/python -m pip install --quiet "uv>=0.5"
    rm -f "$stamp"
fi
# --compile-bytecode: every installed module's .pyc is written once, here. Without it uv leaves
# them to Python, which writes none where PYTHONDONTWRITEBYTECODE is set (or site-packages is
# read-only), and then every process (a Dagster run, each test worker) compiles thousands of
# modules from source again (benchmarks/RESULTS.md, run 7). A venv without the bytecode stamp
# is synced (and compiled) again.
bytecode=.venv/.kajabi_sync_bytecode
if [ ! -f "$stamp" ] || [ ! -f "$bytecode" ] || [ pyproject.toml -nt "$stamp" ] || [ uv.lock -nt "$stamp" ]; then
    # --locked: refuse, rather than re-resolve, when pyproject.toml and uv.lock disagree.
    UV_PROJECT_ENVIRONMENT=.venv UV_PYTHON_DOWNLOADS=never \
        .venv/bin/uv sync --locked --extra dev --python .venv/bin/python --quiet --compile-bytecode
    touch "$stamp" "$bytecode"
fi
# The project's own modules (an editable install, so not in site-packages): only the files
# changed since the last run are compiled; __pycache__/ is ignored by git.
.venv/bin/python -m compileall -q kajabi_sync >/dev/null

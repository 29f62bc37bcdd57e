"""Where things live, from the environment (the names the user relies on are kept stable).

- ``KAJABI_SYNC_DATABASE_URL``: the contacts database (a libpq URL); unset = embedded PostgreSQL.
- ``KAJABI_SYNC_DATA_DIR``: default ``data/`` at the repository root; exports arrive in
  ``kajabi_exports/kajabi_contacts_YYYY-MM-DD.csv``, reports go to ``current/``.
- ``DAGSTER_HOME``: default ``dagster_home/``; the embedded database keeps its files there.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

DATABASE_URL_ENV = "KAJABI_SYNC_DATABASE_URL"
DATA_DIR_ENV = "KAJABI_SYNC_DATA_DIR"


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or REPO_ROOT / "data").resolve()


def exports_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "kajabi_exports"


def reports_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "current"


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / "dagster_home").resolve()


def embedded_pgdata() -> Path:
    return dagster_home() / "contacts_pgdata"

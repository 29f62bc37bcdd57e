"""Resources, configured in one place from the environment.

The database URL is read through ``dg.EnvVar`` so Dagster never stores or shows its value
(and the password in it) in run config or the UI; unset, the embedded server is used.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psycopg

from kajabi_sync import settings
from kajabi_sync.db.connection import connect, resolve_database_url
from kajabi_sync.db.migrate import migrate


@functools.lru_cache(maxsize=8)
def _migrated(url: str) -> bool:
    # Once per process and database: the migrations run before the first asset needs them.
    with connect(url) as conn:
        migrate(conn)
    return True


class ContactsDatabase(dg.ConfigurableResource):
    """The contacts database; ``url`` empty means the embedded PostgreSQL under dagster_home/."""

    url: str | None = None

    def resolved_url(self) -> str:
        url = resolve_database_url(self.url)
        _migrated(url)
        return url

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with connect(self.resolved_url()) as conn:
            yield conn


class DataFolder(dg.ConfigurableResource):
    """``KAJABI_SYNC_DATA_DIR`` (default ``data/``): exports in, reports out."""

    path: str | None = None

    def root(self) -> Path:
        return Path(self.path).resolve() if self.path else settings.data_dir()

    def exports(self) -> Path:
        return settings.exports_dir(self.root())

    def review(self) -> Path:
        return settings.review_dir(self.root())

    def reports(self) -> Path:
        folder = settings.reports_dir(self.root())
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def default_resources() -> dict[str, dg.ConfigurableResource]:
    database_url = (
        dg.EnvVar(settings.DATABASE_URL_ENV) if os.environ.get(settings.DATABASE_URL_ENV) else None
    )
    data_path = dg.EnvVar(settings.DATA_DIR_ENV) if os.environ.get(settings.DATA_DIR_ENV) else None
    return {
        "database": ContactsDatabase(url=database_url),
        "data_folder": DataFolder(path=data_path),
    }

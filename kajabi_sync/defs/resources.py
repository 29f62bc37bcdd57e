"""Resources, configured in one place from the environment.

The database URL is read through ``dg.EnvVar`` so Dagster never stores or shows its value
(and the password in it) in run config or the UI; unset, the embedded server is used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psycopg

from kajabi_sync import settings
from kajabi_sync.db.connection import migrated_url, open_database
from kajabi_sync.defs.io import ParquetIOManager
from kajabi_sync.kajabi.api import settings as api_settings
from kajabi_sync.kajabi.api.client import DEFAULT_MAX_WAIT_S, KajabiClient


class ContactsDatabase(dg.ConfigurableResource):
    # The docstring is the resource's description in the UI, which renders markdown.
    """The contacts database; `url` empty means the embedded PostgreSQL under dagster_home/."""

    url: str | None = None

    def resolved_url(self) -> str:
        return migrated_url(self.url)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with open_database(self.url) as conn:
            yield conn


class DataFolder(dg.ConfigurableResource):
    """`KAJABI_SYNC_DATA_DIR` (default `data/`): exports in, each week's reports out
    (`reports/YYYY-MM-DD/`, and `current/` for the last applied week)."""

    path: str | None = None

    def root(self) -> Path:
        return Path(self.path).resolve() if self.path else settings.data_dir()

    def exports(self) -> Path:
        return settings.exports_dir(self.root())

    def review(self) -> Path:
        return settings.review_dir(self.root())

    def reports(self, week: str) -> Path:
        """The week's own report folder (``reports/YYYY-MM-DD/``): weeks never overwrite each
        other's files, and ``current/`` is published from here once the week is applied."""
        folder = settings.week_reports_dir(week, self.root())
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def current(self) -> Path:
        return settings.current_dir(self.root())


class KajabiApi(dg.ConfigurableResource):
    """Kajabi's Public API (``KAJABI_SYNC_SOURCE`` / ``KAJABI_SYNC_PUSH`` = api). The key's id and
    secret come through ``dg.EnvVar``, so Dagster never stores or shows them."""

    push: str = "off"
    push_new: bool = False
    url: str = api_settings.DEFAULT_API_URL
    client_id: str | None = None
    client_secret: str | None = None
    site_id: str | None = None
    rps: float = api_settings.DEFAULT_RPS
    max_wait_s: float = DEFAULT_MAX_WAIT_S

    def client(self) -> KajabiClient:
        return KajabiClient(
            self.url,
            self.client_id or "",
            self.client_secret or "",
            rps=self.rps,
            max_wait=self.max_wait_s,
        )


def kajabi_api_from_environment() -> KajabiApi:
    def secret(name: str) -> dg.EnvVar | None:
        return dg.EnvVar(name) if os.environ.get(name) else None

    api = api_settings.load_api_settings()
    return KajabiApi(
        push=api.push,
        push_new=api.push_new,
        url=api.api_url,
        client_id=secret(api_settings.CLIENT_ID_ENV),
        client_secret=secret(api_settings.CLIENT_SECRET_ENV),
        site_id=api.site_id,
        rps=api.api_rps,
    )


def default_resources() -> dict[str, dg.ConfigurableResource | dg.ConfigurableIOManager]:
    database_url = (
        dg.EnvVar(settings.DATABASE_URL_ENV) if os.environ.get(settings.DATABASE_URL_ENV) else None
    )
    data_path = dg.EnvVar(settings.DATA_DIR_ENV) if os.environ.get(settings.DATA_DIR_ENV) else None
    return {
        "database": ContactsDatabase(url=database_url),
        "data_folder": DataFolder(path=data_path),
        "kajabi_api": kajabi_api_from_environment(),
        # The values between steps, as Parquet under the instance's storage folder (see io.py).
        "io_manager": ParquetIOManager(),
    }

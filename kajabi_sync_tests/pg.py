"""Scratch PostgreSQL databases for tests: one fresh database per test, on a real server.

The server is ``KAJABI_SYNC_TEST_ADMIN_URL`` (default: the local server on 127.0.0.1:5432 as
``postgres``); when none answers, the embedded server under a temporary folder is used.
A migrated template is built once per session, so a migrated scratch database costs one
``CREATE DATABASE ... TEMPLATE``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from kajabi_sync.db.embedded import embedded_database_url
from kajabi_sync.db.migrate import migrate_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# One template per test session, so concurrent sessions on one server never drop each other's.
TEMPLATE = f"kajabi_sync_test_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def admin_url() -> str:
    url = os.environ.get("KAJABI_SYNC_TEST_ADMIN_URL", DEFAULT_ADMIN_URL)
    try:
        with psycopg.connect(url, connect_timeout=3):
            return url
    except psycopg.OperationalError:
        folder = Path(tempfile.gettempdir()) / "kajabi_sync_test_pg"
        return embedded_database_url(folder)


def with_database(url: str, name: str) -> str:
    params = conninfo_to_dict(url)
    params["dbname"] = name
    return make_conninfo(**params)


def create_database(admin: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin, autocommit=True) as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(query)
    return with_database(admin, name)


def drop_database(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def build_template(admin: str) -> None:
    """A migrated template, rebuilt every session so it always matches the migrations."""
    drop_database(admin, TEMPLATE)
    migrate_url(create_database(admin, TEMPLATE))


def scratch_name() -> str:
    return f"kajabi_sync_test_{uuid.uuid4().hex[:12]}"

"""Idempotent migrations: numbered SQL files applied once each, in order, under a lock.

They only ever ADD (tables, indexes, a schema); they never drop, rename or retype what the
production database already has. All pending files run in one transaction, so a failed
migration leaves the database as it was.
"""

from __future__ import annotations

from importlib import resources

import psycopg

from kajabi_sync.db.connection import connect

_LOCK_KEY = 7_402_511  # pg_advisory_xact_lock key shared by every kajabi_sync migrator

_LEDGER = """
CREATE SCHEMA IF NOT EXISTS kajabi_sync;
CREATE TABLE IF NOT EXISTS kajabi_sync.schema_migrations (
    name        text PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("kajabi_sync.db") / "migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name, p.read_text(encoding="utf-8")) for p in files]


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations not yet applied; return their names (empty when up to date)."""
    applied_now: list[str] = []
    with conn.transaction():
        # Serialise concurrent migrators (two Dagster steps starting at once).
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(_LEDGER)
        done = {row[0] for row in conn.execute("SELECT name FROM kajabi_sync.schema_migrations")}
        for name, body in migration_files():
            if name in done:
                continue
            conn.execute(body)
            conn.execute("INSERT INTO kajabi_sync.schema_migrations (name) VALUES (%s)", (name,))
            applied_now.append(name)
    return applied_now


def migrate_url(url: str) -> list[str]:
    with connect(url) as conn:
        return migrate(conn)

"""Idempotent migrations: numbered SQL files applied once each, in order, under a lock.

They only ever ADD (tables, indexes, a schema); they never drop, rename or retype what the
production database already has. All pending files run in one transaction, so a failed
migration leaves the database as it was.
"""

from __future__ import annotations

import re
from importlib import resources

import psycopg

from kajabi_sync.db.connection import DatabaseProblem, connect

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


_CONTRACT_TABLES = ("contacts", "contact_emails")
_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", re.DOTALL)
_COLUMN = re.compile(r"^\s+(\w+)\s+(\w+)", re.MULTILINE)


def contract_columns() -> dict[str, dict[str, str]]:
    """table -> {column: type} of the contract's tables, as 0001_contract_shape.sql creates them."""
    shape = dict(migration_files())["0001_contract_shape.sql"]
    tables = {}
    for name, body in _TABLE.findall(shape):
        if name in _CONTRACT_TABLES:
            tables[name] = dict(_COLUMN.findall(body))
    return tables


def check_contract_shape(conn: psycopg.Connection) -> None:
    """Refuse, naming them, the contract columns an existing database lacks: the migrations
    create a missing table but never alter an existing one, and every later step reads them."""
    missing = []
    with conn.transaction():
        for table, columns in contract_columns().items():
            present = {
                row[0]
                for row in conn.execute(
                    """SELECT attname FROM pg_attribute
                       WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped""",
                    (table,),
                )
            }
            missing += [(table, c, kind) for c, kind in columns.items() if c not in present]
    if missing:
        names = ", ".join(f"{table}.{column}" for table, column, _ in missing)
        statements = "; ".join(
            f"ALTER TABLE {table} ADD COLUMN {column} {kind}" for table, column, kind in missing
        )
        raise DatabaseProblem(
            f"the contacts database lacks column(s) that the contract (contacts_db.sql) defines: "
            f"{names}. kajabi_sync never alters existing tables. What to do: add them as the "
            f"contract has them ({statements}), or check that KAJABI_SYNC_DATABASE_URL names "
            "the contacts database"
        )


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations not yet applied; return their names (empty when up to date).
    Then check that the contract's tables have every column (``check_contract_shape``)."""
    applied_now: list[str] = []
    with conn.transaction():
        # Serialise concurrent migrators (two Dagster steps starting at once).
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        files = migration_files()
        # Up to date: no DDL at all, so a role without CREATE (the owner migrated) can run.
        ledger = conn.execute("SELECT to_regclass('kajabi_sync.schema_migrations')").fetchone()
        done: set[str] = set()
        if ledger is not None and ledger[0] is not None:
            done = {r[0] for r in conn.execute("SELECT name FROM kajabi_sync.schema_migrations")}
        if any(name not in done for name, _ in files):
            conn.execute(_LEDGER)
        for name, body in files:
            if name in done:
                continue
            conn.execute(body)
            conn.execute("INSERT INTO kajabi_sync.schema_migrations (name) VALUES (%s)", (name,))
            applied_now.append(name)
    check_contract_shape(conn)
    return applied_now


def migrate_url(url: str) -> list[str]:
    with connect(url) as conn:
        return migrate(conn)

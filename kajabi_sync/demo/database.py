"""Loading the demo into PostgreSQL: guarded reset, then bulk COPY, all in one transaction.

The reset is destructive, so it only ever runs on a database that holds no contacts or that
this generator created (it leaves a row in ``kajabi_sync.demo_marker``).
"""

from __future__ import annotations

import pandas as pd
import psycopg
from psycopg import sql

from kajabi_sync.db.apply import APPLY_LOCK_KEY, copy_frame
from kajabi_sync.db.connection import connect, redact_url, scalar
from kajabi_sync.db.migrate import migrate

_MARKER = """
CREATE TABLE IF NOT EXISTS kajabi_sync.demo_marker (
    id           bigserial PRIMARY KEY,
    created_at   timestamptz NOT NULL DEFAULT now(),
    contacts     integer NOT NULL,
    weeks        integer NOT NULL,
    seed         bigint NOT NULL,
    note         text NOT NULL DEFAULT 'Made by python -m kajabi_sync.demo: safe to wipe'
)
"""
RESET_TABLES = (
    "contacts",
    "contact_emails",
    "kajabi_sync.import_runs",
    "kajabi_sync.field_changes",
    "kajabi_sync.kajabi_base",
    "kajabi_sync.merged_from",
    "kajabi_sync.api_pulls",
    "kajabi_sync.push_outbox",
    "kajabi_sync.push_runs",
)


class NotADemoDatabase(RuntimeError):
    """The target database holds contacts this generator did not make: it will not wipe them."""


def load_demo(
    url: str,
    contacts: pd.DataFrame,
    contact_emails: pd.DataFrame,
    *,
    contacts_wanted: int,
    weeks: int,
    seed: int,
    reset: bool,
) -> None:
    """Migrate, then replace the database's contacts with the demo's, committing once."""
    with connect(url) as conn:
        migrate(conn)
        with conn.transaction():
            # The writers' lock: no import, merge or rollback runs while the demo replaces everything.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPLY_LOCK_KEY,))
            _check_safe(conn, url, reset)
            conn.execute(_MARKER)
            if reset:
                tables = sql.SQL(", ").join(
                    sql.Identifier(*name.split(".")) for name in RESET_TABLES
                )
                conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))
            copy_frame(conn, "contacts", contacts)
            copy_frame(conn, "contact_emails", contact_emails)
            conn.execute("DELETE FROM kajabi_sync.demo_marker")
            conn.execute(
                "INSERT INTO kajabi_sync.demo_marker (contacts, weeks, seed) VALUES (%s, %s, %s)",
                (contacts_wanted, weeks, seed),
            )


def _check_safe(conn: psycopg.Connection, url: str, reset: bool) -> None:
    has_contacts = scalar(conn, "SELECT EXISTS (SELECT 1 FROM contacts)")
    if not has_contacts:
        return
    is_demo = scalar(conn, "SELECT to_regclass('kajabi_sync.demo_marker') IS NOT NULL")
    if is_demo:
        is_demo = scalar(conn, "SELECT EXISTS (SELECT 1 FROM kajabi_sync.demo_marker)")
    where = redact_url(url)
    if not is_demo:
        raise NotADemoDatabase(
            f"refusing to load demo data into {where}: it already holds contacts that the demo generator "
            "did not create. Point --database-url (or KAJABI_SYNC_DATABASE_URL) at an empty or demo database."
        )
    if not reset:
        raise NotADemoDatabase(
            f"{where} already holds a demo; pass reset=True (the default) to replace it"
        )

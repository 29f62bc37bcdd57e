"""What the guards need to know from the database besides the plan, read in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import psycopg
from psycopg import sql

from kajabi_sync.db.connection import scalar
from kajabi_sync.db.kajabi_api import applied_run_for, pulled_for_week
from kajabi_sync.db.snapshot import last_applied_import


@dataclass(frozen=True)
class ImportFacts:
    last_import: dict | None  # the newest applied, not rolled back, import run
    last_import_decisions: dict  # its decision counts ({} when none)
    live_kajabi_ids: int  # live contacts that carry a Kajabi ID
    sha256_applied: bool  # this very file was applied already (not rolled back)
    known_new_emails: pd.Series  # the plan's new-contact emails the database already knows
    applied_sha256: frozenset[str] = frozenset()  # every applied, not rolled back, export file
    # The file is the snapshot the Kajabi API pull wrote for its week (not a file dropped by hand).
    pulled_snapshot: bool = False
    # The applied run that already holds this file's content (a re-run of its week, or a quiet
    # API week identical to the last import): applying it again writes nothing.
    already_applied_run: int | None = None
    # Contacts the last import matched (present in both systems); None for runs stored before
    # imports recorded it.
    last_import_matched: int | None = None


def read_import_facts(
    conn: psycopg.Connection,
    sha256: str,
    new_emails: pd.Series,
    file_name: str | None = None,
    export_date: dt.date | None = None,
) -> ImportFacts:
    """Facts about earlier imports and the addresses the plan would create, for ``sha256``."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        last = last_applied_import(conn)
        decisions: dict[str, int] = {}
        matched: int | None = None
        if last is not None:
            row = conn.execute(
                "SELECT counts->'decisions', (counts->>'matched_contacts')::int "
                "FROM kajabi_sync.import_runs WHERE id = %s",
                (last["id"],),
            ).fetchone()
            if row is not None:
                decisions, matched = row[0] or {}, row[1]
        live_ids = scalar(
            conn,
            "SELECT count(*) FROM contacts WHERE deleted_at IS NULL AND NULLIF(kajabi_id, '') IS NOT NULL",
        )
        applied = scalar(
            conn,
            """SELECT EXISTS (SELECT 1 FROM kajabi_sync.import_runs
                              WHERE kind = 'import' AND rolled_back_at IS NULL AND file_sha256 = %s)""",
            (sha256,),
        )
        known = known_emails(conn, new_emails)
        applied_files = frozenset(
            row[0]
            for row in conn.execute(
                """SELECT file_sha256 FROM kajabi_sync.import_runs
                   WHERE kind = 'import' AND rolled_back_at IS NULL"""
            )
        )
        pulled = file_name is not None and pulled_for_week(conn, file_name, sha256)
        already = applied_run_for(conn, sha256, export_date, pulled) if applied else None
    return ImportFacts(
        last,
        dict(decisions),
        int(live_ids),
        bool(applied),
        known,
        applied_files,
        pulled,
        already,
        last_import_matched=matched,
    )


def known_emails(conn: psycopg.Connection, emails: pd.Series) -> pd.Series:
    """Those of ``emails`` (email keys) that the database already holds anywhere: merged
    away (active merge memory), on a soft-deleted contact, or among any contact's addresses.

    Independent of the plan's matching on purpose: it catches a matching bug or a merge chain
    whose survivor was itself removed, before a duplicate is recreated. The database's emails
    are compared under the same key as ``emails`` (``normalize.email_key``).
    """
    wanted = emails.dropna().astype(str).unique().tolist()
    if not wanted:
        return pd.Series([], dtype="string")
    rows = conn.execute(known_emails_query(_email_key_sql(conn)), (wanted,)).fetchall()
    return pd.Series([r[0] for r in rows], dtype="string")


def known_emails_query(key: Callable[[str, str], sql.Composable]) -> sql.Composed:
    """``known_emails``' statement (one parameter: the wanted keys, a text array), with the
    database's emails under ``key`` (``_email_key_sql``)."""
    # A semi-join per table, not joins and not OR-ed EXISTS: the planner may probe the indexes
    # on exactly these key expressions (migration 0007) once per wanted email instead of
    # computing the key of every row (contacts may hold a million), or hash when many are
    # wanted; a semi-join stops at the first row that has the key.
    return sql.SQL(
        """WITH wanted(email) AS (SELECT DISTINCT unnest(%s::text[]))
           SELECT w.email FROM wanted w WHERE EXISTS (
               SELECT 1 FROM kajabi_sync.merged_from m
               WHERE {merged} = w.email AND m.undone_at IS NULL)
           UNION
           SELECT w.email FROM wanted w WHERE EXISTS (
               SELECT 1 FROM contacts c WHERE {contact} = w.email)
           UNION
           SELECT w.email FROM wanted w WHERE EXISTS (
               SELECT 1 FROM contact_emails e WHERE {address} = w.email)
           ORDER BY 1"""
    ).format(
        merged=key("m", "merged_email"),
        contact=key("c", "email"),
        address=key("e", "email"),
    )


def _email_key_sql(conn: psycopg.Connection) -> Callable[[str, str], sql.Composable]:
    """``normalize.email_key`` in SQL, for a (table alias, column): trimmed, lower-cased (as text:
    email may be plain text where citext is missing, see migration 0001) and in Unicode NFC.

    PostgreSQL normalises Unicode only in a UTF8 database; any other server encoding has no
    decomposed forms to compose, so there the key is the lower-cased text. Migration 0007
    indexes exactly these expressions: keep the two identical."""
    utf8 = scalar(conn, "SELECT current_setting('server_encoding') = 'UTF8'")

    def key(alias: str, column: str) -> sql.Composable:
        text = sql.SQL("lower(btrim({}::text))").format(sql.Identifier(alias, column))
        return sql.SQL("normalize({}, NFC)").format(text) if utf8 else text

    return key

"""What the Kajabi API pull and push read from and record in the database."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from kajabi_sync.db.connection import scalar
from kajabi_sync.db.snapshot import last_applied_import


def known_kajabi_names(
    conn: psycopg.Connection,
) -> dict[str, list[tuple[str | None, str | None, str | None]]]:
    """Kajabi ID -> (first name, last name, member id) as last known: the Kajabi base (what
    Kajabi sent last) first, then the live contact in the database."""
    known: dict[str, list[tuple[str | None, str | None, str | None]]] = {}
    rows = conn.execute(
        """SELECT b.kajabi_id, b.first_name, b.last_name, b.kajabi_member_id, 0 AS rank
           FROM kajabi_sync.kajabi_base b JOIN contacts c ON c.id = b.contact_id
           WHERE c.deleted_at IS NULL AND NULLIF(b.kajabi_id, '') IS NOT NULL
           UNION ALL
           SELECT kajabi_id, first_name, last_name, kajabi_member_id, 1
           FROM contacts WHERE deleted_at IS NULL AND NULLIF(kajabi_id, '') IS NOT NULL
           ORDER BY rank"""
    ).fetchall()
    for kajabi_id, first, last, member_id, _ in rows:
        known.setdefault(str(kajabi_id).strip(), []).append((first, last, member_id))
    return known


def record_pull(
    conn: psycopg.Connection,
    *,
    partition_key: str,
    file_name: str,
    file_sha256: str,
    site_id: str,
    contacts: int,
    pages: int,
    dagster_run_id: str | None,
) -> None:
    with conn.transaction():
        conn.execute(
            """INSERT INTO kajabi_sync.api_pulls (partition_key, file_name, file_sha256, site_id,
                   contacts, pages, dagster_run_id)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            (partition_key, file_name, file_sha256, site_id, contacts, pages, dagster_run_id),
        )


def pulled_for_week(conn: psycopg.Connection, file_name: str, file_sha256: str) -> bool:
    """This file (its name carries the week), with these bytes, is a snapshot the API pull wrote."""
    return bool(
        scalar(
            conn,
            """SELECT EXISTS (SELECT 1 FROM kajabi_sync.api_pulls
                              WHERE file_name = %s AND file_sha256 = %s)""",
            (file_name, file_sha256),
        )
    )


def applied_run_for(
    conn: psycopg.Connection, file_sha256: str, export_date: date | None, pulled: bool
) -> int | None:
    """The applied import run that already holds this file's content, when applying it again
    would write nothing: this very file applied for the same week (a re-run), or an API pull
    identical to the last applied import (a quiet week). None otherwise: a file copied by hand
    under another week's name is no re-run."""
    if export_date is not None:
        monday = export_date - timedelta(days=export_date.weekday())
        same_week = scalar(
            conn,
            """SELECT max(id) FROM kajabi_sync.import_runs
               WHERE kind = 'import' AND rolled_back_at IS NULL AND file_sha256 = %s
                 AND export_date BETWEEN %s AND %s""",
            (file_sha256, monday, monday + timedelta(days=6)),
        )
        if same_week is not None:
            return int(same_week)
    if pulled:
        last = last_applied_import(conn)
        if last is not None and last["file_sha256"] == file_sha256:
            return int(last["id"])
    return None


def run_holding(
    conn: psycopg.Connection, file_name: str, file_sha256: str, export_date: date | None
) -> int | None:
    """``applied_run_for`` of an export file, knowing from the pull records whether it was pulled."""
    pulled = pulled_for_week(conn, file_name, file_sha256)
    return applied_run_for(conn, file_sha256, export_date, pulled)

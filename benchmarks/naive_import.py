"""The naive baseline: the old per-row import, one contact at a time over one connection.

For every CSV row: ``SELECT`` the live contact by email, then ``UPDATE ... SET f = COALESCE(kajabi, f)``
(or ``INSERT`` when no contact has the email). Read with the ``csv`` module, as the old script did.
Everything runs in ONE transaction, which is the most favourable setting for the baseline (a
commit per row would be slower still).
"""

from __future__ import annotations

import csv
from pathlib import Path

import psycopg
from psycopg import sql

from kajabi_sync.kajabi.columns import (
    FIELD_FROM_FIXED_COLUMN,
    FIELD_FROM_HANDLE,
    mapped_columns_by_handle,
)

_SELECT = "SELECT id FROM contacts WHERE email = %s AND deleted_at IS NULL"


def _column_of_field(header: list[str]) -> dict[str, str]:
    by_handle = mapped_columns_by_handle(header)
    columns = dict(FIELD_FROM_FIXED_COLUMN)
    columns.update(
        {
            field: by_handle[handle]
            for field, handle in FIELD_FROM_HANDLE.items()
            if handle in by_handle
        }
    )
    return columns


def naive_import(conn: psycopg.Connection, path: Path) -> dict[str, int]:
    """Run the old import of ``path``; returns how many rows it updated and inserted."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        column_of = _column_of_field(header)
        fields = list(column_of)
        positions = [header.index(column_of[f]) for f in fields]
        email_at = header.index("Email")
        update = sql.SQL("UPDATE contacts SET {}, updated_at = now() WHERE id = %s").format(
            sql.SQL(", ").join(
                sql.SQL("{0} = COALESCE(NULLIF(%s, ''), {0})").format(sql.Identifier(f))
                for f in fields
            )
        )
        insert = sql.SQL("INSERT INTO contacts (email, {}) VALUES (%s, {})").format(
            sql.SQL(", ").join(sql.Identifier(f) for f in fields),
            sql.SQL(", ").join(sql.SQL("NULLIF(%s, '')") for _ in fields),
        )
        updated = inserted = 0
        with conn.transaction(), conn.cursor() as cur:
            for cells in reader:
                email = cells[email_at].strip()
                if not email:
                    continue
                values = [cells[i].strip() for i in positions]
                found = cur.execute(_SELECT, (email,)).fetchone()
                if found:
                    cur.execute(update, (*values, found[0]))
                    updated += 1
                else:
                    # The old import had no savepoints: a clashing email would abort it. Skip those.
                    cur.execute(
                        sql.SQL("{} ON CONFLICT DO NOTHING").format(insert), (email, *values)
                    )
                    inserted += 1
    return {"updated": updated, "inserted": inserted}

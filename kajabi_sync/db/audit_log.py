"""The audit trail's writer: every row of ``kajabi_sync.import_runs`` and
``kajabi_sync.field_changes`` is written here, so each run and change is recorded the same way
(and can be explained and undone by ``db.audit``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from kajabi_sync.db.connection import scalar

# import_runs columns a run may set when it starts (the rest have defaults).
RUN_COLUMNS = (
    "partition_key",
    "dagster_run_id",
    "file_name",
    "file_sha256",
    "export_date",
    "export_rows",
    "counts",
    "overrides",
    "note",
)
_JSON_COLUMNS = ("counts", "overrides")
CHANGE_COLUMNS = ("contact_id", "field", "old_value", "new_value", "decision", "reason")


class FieldChange(NamedTuple):
    """One row of ``field_changes`` (its run is given separately)."""

    contact_id: str
    field: str
    old_value: Any
    new_value: Any
    decision: str
    reason: str


def start_run(conn: psycopg.Connection, kind: str, **columns: Any) -> int:
    """Insert an ``import_runs`` row of ``kind`` with the given RUN_COLUMNS; return its id."""
    unknown = sorted(set(columns) - set(RUN_COLUMNS))
    if unknown:
        raise ValueError(f"import_runs has no column(s) {', '.join(unknown)}")
    values = {k: json.dumps(v) if k in _JSON_COLUMNS else v for k, v in columns.items()}
    names = ["kind", *values]
    query = sql.SQL("INSERT INTO kajabi_sync.import_runs ({}) VALUES ({}) RETURNING id").format(
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(sql.Placeholder() * len(names)),
    )
    return int(scalar(conn, query, [kind, *values.values()]))


def set_run_counts(conn: psycopg.Connection, run_id: int, counts: Mapping[str, Any]) -> None:
    """Replace the run's ``counts`` (what it did, for status and the UI)."""
    conn.execute(
        "UPDATE kajabi_sync.import_runs SET counts = %s WHERE id = %s",
        (json.dumps(counts), run_id),
    )


def record_changes(conn: psycopg.Connection, run_id: int, changes: Iterable[FieldChange]) -> None:
    """A few changes given one by one (a merge's fills, a review's email swap)."""
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO kajabi_sync.field_changes
                   (import_run_id, contact_id, field, old_value, new_value, decision, reason)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            [(run_id, *change) for change in changes],
        )


def record_changes_from(
    conn: psycopg.Connection, run_id: int, select: str, params: Mapping[str, Any] | None = None
) -> None:
    """Every change a query selects, set-based: ``select`` yields the CHANGE_COLUMNS in order
    (named parameters only; ``%(run_id)s`` is the run's id)."""
    query = sql.SQL(
        """INSERT INTO kajabi_sync.field_changes
               (import_run_id, contact_id, field, old_value, new_value, decision, reason)
           SELECT %(run_id)s, changes.* FROM ({}) AS changes"""
    ).format(sql.SQL(select))
    conn.execute(query, {**(params or {}), "run_id": run_id})

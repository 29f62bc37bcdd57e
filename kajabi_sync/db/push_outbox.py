"""The push outbox (``kajabi_sync.push_outbox``): every request planned for Kajabi, and its outcome.

Each status change is its own short transaction, committed before the next request: the outbox
is the push's memory across kills and failures. ``sending`` is written just before a request
goes out and replaced by its outcome as soon as the answer is in, so after a kill a ``sending``
row is the one request whose effect must be looked up in Kajabi before anything is resent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import psycopg
from psycopg.rows import dict_row

from kajabi_sync.db.apply import copy_frame
from kajabi_sync.db.connection import scalar

OPEN_STATUSES = ("pending", "sending")


def require_idle(conn: psycopg.Connection) -> None:
    """The outbox commits each change at once: a caller's open transaction would hold them all
    back (and roll them back with it)."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise ValueError("the push needs a connection outside any transaction")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    contact_id: str
    kajabi_id: str | None
    email: str
    action: str
    attributes: dict[str, Any]
    status: str
    attempts: int


@dataclass(frozen=True)
class PlannedRow:
    contact_id: str
    kajabi_id: str | None
    email: str
    action: str
    attributes: Mapping[str, Any]


def applied_this_week(conn: psycopg.Connection, partition_key: str) -> dict[str, dict[str, Any]]:
    """Contact id -> the attributes the week's push already applied (later rows win)."""
    applied: dict[str, dict[str, Any]] = {}
    with conn.transaction():
        rows = conn.execute(
            """SELECT contact_id::text, attributes FROM kajabi_sync.push_outbox
               WHERE partition_key = %s AND status IN ('applied', 'exists') ORDER BY id""",
            (partition_key,),
        ).fetchall()
    for contact_id, attributes in rows:
        applied.setdefault(contact_id, {}).update(attributes)
    return applied


def start_push_run(
    conn: psycopg.Connection,
    partition_key: str,
    dagster_run_id: str | None,
    file_sha256: str | None,
    overrides: Mapping[str, Any],
    planned: Iterable[PlannedRow],
) -> int:
    """Record the run and bring the outbox in line with the plan, in one transaction.

    A planned contact with an open row keeps it: a ``pending`` row takes the new attributes (it
    was never sent), a ``sending`` row stays as it is until its outcome is known. Open
    ``pending`` rows the plan no longer wants (the values converged meanwhile) are cancelled. A
    request Kajabi refused this week is not planned again with the same values.
    """
    rows = list(planned)
    with conn.transaction():
        run_id = scalar(
            conn,
            """INSERT INTO kajabi_sync.push_runs
                   (partition_key, dagster_run_id, file_sha256, planned, overrides)
               VALUES (%s, %s, %s, %s, %s) RETURNING id""",
            (partition_key, dagster_run_id, file_sha256, len(rows), json.dumps(dict(overrides))),
        )
        conn.execute(
            "CREATE TEMP TABLE planned_push (contact_id uuid, kajabi_id text, email text, "
            "action text, attributes jsonb) ON COMMIT DROP"
        )
        planned_push = pd.DataFrame(
            {
                "contact_id": [row.contact_id for row in rows],
                "kajabi_id": [row.kajabi_id for row in rows],
                "email": [row.email for row in rows],
                "action": [row.action for row in rows],
                "attributes": [json.dumps(dict(row.attributes)) for row in rows],
            },
            dtype=object,
        )
        copy_frame(conn, "planned_push", planned_push)
        conn.execute(
            """UPDATE kajabi_sync.push_outbox o SET status = 'cancelled', done_at = now(),
                   error = 'no longer needed: Kajabi already holds the database''s values'
               WHERE o.partition_key = %s AND o.status = 'pending'
                 AND NOT EXISTS (SELECT 1 FROM planned_push p
                                 WHERE p.contact_id = o.contact_id AND p.action = o.action)""",
            (partition_key,),
        )
        conn.execute(
            """UPDATE kajabi_sync.push_outbox o
               SET attributes = p.attributes, kajabi_id = p.kajabi_id, push_run_id = %s
               FROM planned_push p
               WHERE o.partition_key = %s AND o.status = 'pending'
                 AND p.contact_id = o.contact_id AND p.action = o.action""",
            (run_id, partition_key),
        )
        conn.execute(
            """INSERT INTO kajabi_sync.push_outbox
                   (partition_key, push_run_id, contact_id, kajabi_id, email, action, attributes)
               SELECT %s, %s, p.contact_id, p.kajabi_id, p.email, p.action, p.attributes
               FROM planned_push p
               WHERE NOT EXISTS (SELECT 1 FROM kajabi_sync.push_outbox o
                                 WHERE o.partition_key = %s AND o.contact_id = p.contact_id
                                   AND o.action = p.action
                                   AND (o.status IN ('pending', 'sending')
                                        -- refused this week with these very values: once
                                        OR (o.status = 'rejected' AND o.attributes = p.attributes)))
               ORDER BY p.contact_id""",
            (partition_key, run_id, partition_key),
        )
    return int(run_id)


def open_rows(conn: psycopg.Connection, partition_key: str) -> list[OutboxRow]:
    """The week's rows still to send or to verify, in planning order."""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """SELECT id, contact_id::text AS contact_id, kajabi_id, email, action, attributes,
                      status, attempts
               FROM kajabi_sync.push_outbox
               WHERE partition_key = %s AND status IN ('pending', 'sending') ORDER BY id""",
            (partition_key,),
        ).fetchall()
    return [OutboxRow(**row) for row in rows]


def mark_sending(conn: psycopg.Connection, row_id: int) -> None:
    with conn.transaction():
        conn.execute(
            """UPDATE kajabi_sync.push_outbox
               SET status = 'sending', attempts = attempts + 1, sent_at = now() WHERE id = %s""",
            (row_id,),
        )


def mark_done(
    conn: psycopg.Connection,
    row_id: int,
    status: str,
    *,
    http_status: int | None = None,
    error: str | None = None,
    kajabi_id: str | None = None,
) -> None:
    """The row's outcome: applied, exists (create found the contact already there), rejected;
    or back to pending (Kajabi surely did not act on it)."""
    with conn.transaction():
        conn.execute(
            """UPDATE kajabi_sync.push_outbox
               SET status = %s, http_status = %s, error = %s,
                   kajabi_id = COALESCE(%s, kajabi_id),
                   done_at = CASE WHEN %s = 'pending' THEN NULL ELSE now() END
               WHERE id = %s""",
            (status, http_status, error, kajabi_id, status, row_id),
        )


def finish_push_run(conn: psycopg.Connection, run_id: int, counts: Mapping[str, int]) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE kajabi_sync.push_runs SET counts = %s, finished_at = now() WHERE id = %s",
            (json.dumps(dict(counts)), run_id),
        )


def week_outcomes(conn: psycopg.Connection, partition_key: str) -> dict[str, int]:
    """Status -> rows for the week's outbox."""
    with conn.transaction():
        rows = conn.execute(
            """SELECT status, count(*) FROM kajabi_sync.push_outbox
               WHERE partition_key = %s GROUP BY status ORDER BY status""",
            (partition_key,),
        ).fetchall()
    return {status: int(count) for status, count in rows}


def rejected_rows(conn: psycopg.Connection, partition_key: str) -> list[dict[str, Any]]:
    """The week's requests Kajabi refused: email, action, attributes sent, status and reason."""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT email, kajabi_id, action, attributes, http_status, error
               FROM kajabi_sync.push_outbox
               WHERE partition_key = %s AND status = 'rejected' ORDER BY id""",
            (partition_key,),
        ).fetchall()

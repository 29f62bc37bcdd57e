"""The user's decisions on held duplicates, in ``kajabi_sync.duplicate_holds``.

``record_holds`` keeps what an import held; ``load_holds`` gives the next plan the decisions
(``holds.hold_likely_duplicates(..., decisions=...)``); ``release_hold`` lets the next import
create the contact; ``approve_hold`` merges the held email into its candidate contact
(``merges.merge_email_into``), undone by ``merges.unmerge`` of the run it returns.
"""

from __future__ import annotations

import pandas as pd
import psycopg

from kajabi_sync.db.apply import copy_frame, take_write_lock
from kajabi_sync.db.merges import MergeRefused, merge_email_into, normalise_email
from kajabi_sync.db.snapshot import read_query

HOLD_STATUSES: tuple[str, ...] = ("held", "released", "merged")


def load_holds(conn: psycopg.Connection) -> pd.DataFrame:
    """Every hold and decision: email, status, candidate_contact_id, candidate_email, score,
    evidence, first_held_at, decided_at, decision_run_id."""
    with conn.transaction():  # committed at once, so the caller may start its own transaction next
        frame = read_query(
            conn,
            """SELECT email, status, candidate_contact_id::text AS candidate_contact_id,
                      candidate_email, score, evidence, first_held_at, decided_at, decision_run_id
               FROM kajabi_sync.duplicate_holds ORDER BY email""",
        )
    return frame.astype({"score": "float64"})


def record_holds(conn: psycopg.Connection, held: pd.DataFrame) -> int:
    """Upsert ``plan.held`` rows as ``held``; decided emails keep their decision. Returns rows touched."""
    if held.empty:
        return 0
    rows = held[
        ["email", "existing_contact_id", "existing_email", "score", "evidence"]
    ].drop_duplicates("email")
    with conn.transaction():
        conn.execute(
            "CREATE TEMP TABLE stage_holds (email text, existing_contact_id uuid, existing_email text, "
            "score double precision, evidence text) ON COMMIT DROP"
        )
        copy_frame(conn, "stage_holds", rows)
        return conn.execute(
            """INSERT INTO kajabi_sync.duplicate_holds
                   (email, candidate_contact_id, candidate_email, score, evidence, status)
               SELECT s.email, c.id, s.existing_email, s.score, s.evidence, 'held'
               FROM stage_holds s LEFT JOIN contacts c ON c.id = s.existing_contact_id
               ON CONFLICT (email) DO UPDATE SET
                   candidate_contact_id = EXCLUDED.candidate_contact_id,
                   candidate_email = EXCLUDED.candidate_email,
                   score = EXCLUDED.score, evidence = EXCLUDED.evidence, last_held_at = now()
               WHERE kajabi_sync.duplicate_holds.status = 'held'"""
        ).rowcount


def release_hold(conn: psycopg.Connection, email: str, note: str | None = None) -> None:
    """Let the next import create ``email`` as a new contact; it will not be held again.

    Refuses (``MergeRefused``) when the email was merged: undo that merge first.
    """
    key = normalise_email(email)
    with conn.transaction():
        take_write_lock(conn)
        status = conn.execute(
            "SELECT status FROM kajabi_sync.duplicate_holds WHERE email = %s FOR UPDATE", (key,)
        ).fetchone()
        if status and status[0] == "merged":
            raise MergeRefused(
                f"{key} was merged into a contact; undo that merge before releasing it"
            )
        conn.execute(
            """INSERT INTO kajabi_sync.duplicate_holds (email, status, decided_at, note)
               VALUES (%(e)s, 'released', now(), %(note)s)
               ON CONFLICT (email) DO UPDATE SET status = 'released', decided_at = now(),
                   decision_run_id = NULL, note = coalesce(%(note)s, kajabi_sync.duplicate_holds.note)""",
            {"e": key, "note": note},
        )


def approve_hold(
    conn: psycopg.Connection,
    email: str,
    contact_id: str | None = None,
    reason: str = "held duplicate merged by the user",
    *,
    dagster_run_id: str | None = None,
) -> int:
    """Merge held ``email`` into ``contact_id`` (default: its stored candidate); return the run id.

    No contact row is created: the email becomes one of the contact's addresses and a
    ``merged_from`` row, and the hold is marked ``merged``, all in one transaction.
    """
    key = normalise_email(email)
    with conn.transaction():
        take_write_lock(conn)
        hold = conn.execute(
            """SELECT status, candidate_contact_id::text FROM kajabi_sync.duplicate_holds
               WHERE email = %s FOR UPDATE""",
            (key,),
        ).fetchone()
        if hold and hold[0] == "merged":
            raise MergeRefused(f"{key} was already merged; nothing was written")
        survivor = contact_id or (hold[1] if hold else None)
        if survivor is None:
            raise MergeRefused(f"no held candidate for {key}: name the contact to merge it into")
        run_id = merge_email_into(conn, key, survivor, reason, dagster_run_id=dagster_run_id)
        conn.execute(
            """INSERT INTO kajabi_sync.duplicate_holds
                   (email, candidate_contact_id, status, decided_at, decision_run_id, note)
               VALUES (%(e)s, %(c)s, 'merged', now(), %(run)s, %(note)s)
               ON CONFLICT (email) DO UPDATE SET status = 'merged', decided_at = now(),
                   candidate_contact_id = EXCLUDED.candidate_contact_id,
                   decision_run_id = EXCLUDED.decision_run_id, note = EXCLUDED.note""",
            {"e": key, "c": survivor, "run": run_id, "note": reason},
        )
    return run_id

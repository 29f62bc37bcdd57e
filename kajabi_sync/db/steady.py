"""Steady rows: the export rows whose whole plan is known in SQL, before Python sees them.

Week after week almost every Kajabi row is byte-identical to what Kajabi sent at the last
applied import, for a contact nobody edited since. Such a row's plan is known without
planning it: every field ``unchanged`` and its base left as it already is. This module
stages the export in PostgreSQL, finds those rows set-based, and reads the snapshot without
their contacts, so only the other rows (and their contacts) are planned in Python
(``plan.build_plan(..., steady=...)``). The full plan stays the reference: the property test
of ``kajabi_sync_tests/survivorship/test_steady_rows.py`` holds the two equal.

A row is steady when every point below holds; each is what makes ``plan.build_plan`` decide
nothing but ``unchanged`` for it and leave its base as it is:

- its email reaches exactly one live contact by that contact's primary email (match kind
  ``email``, the driving match; never a merged-away or other address, which may only fill);
- no other export row reaches that contact: none has its Kajabi ID, and none carries one of
  its other addresses or merged-away emails (so it drives its contact alone);
- the contact has a base, and the base (its ``kajabi_email`` and every Kajabi field) is
  byte-equal to the row (``kajabi_base.row_hash``, computed by one SQL function for both);
- every Kajabi field of the contact is byte-equal to the row's (an empty string in the
  database reads as empty, as the snapshot reads it).

Emails are compared in SQL only where SQL and the plan cannot disagree on their key: a row's
email and the contact's primary email in printable ASCII (no spaces), whose lower case is the
same everywhere; another address outside it keeps its contact out. A live contact whose
primary email is outside it has its key computed here as the plan computes it, and a row whose
email equals one is not steady.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
import pyarrow.compute as pc
from psycopg import sql

from kajabi_sync.db.apply import copy_frame
from kajabi_sync.db.connection import jit_off, stable_row_order
from kajabi_sync.db.snapshot import (
    PLAIN_EMAIL,
    DatabaseSnapshot,
    read_live_contacts,
    read_query,
    read_snapshot,
)
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.frames import ARROW_TEXT
from kajabi_sync.normalize import arrow_text, email_key

STAGED = "stage_export"
STEADY = "steady_rows"
# work_mem of the statement that finds the steady rows (each of its hashes may use up to twice
# this: hash_mem_multiplier).
_WORK_MEM = "64MB"


@dataclass(frozen=True)
class SteadySnapshot:
    snapshot: DatabaseSnapshot  # without the steady rows' contacts, bases and addresses
    steady: pd.DataFrame  # row_number, contact_id: the steady rows and the contact each reaches
    # Every live contact, the steady rows' too, as ``snapshot.contacts`` holds them: what the
    # duplicate finder compares new rows with.
    live: pd.DataFrame


def _stage_export(conn: psycopg.Connection, export: pd.DataFrame) -> None:
    """COPY the export's rows into ``stage_export`` (temporary, dropped at commit).

    Every row is staged, since any row may reach a contact; ``candidate`` marks the rows that
    can be steady. A row holding an empty string cannot (the plan reads it as a value, the
    staged copy as NULL), nor can a row whose email is not plain ASCII."""
    rows = export[["row_number", "email", *CONTACT_FIELDS]]
    # In Arrow: the columns are Arrow-backed text, which pandas' str methods would copy into
    # Python strings first.
    blank = np.zeros(len(rows), dtype=bool)
    for name in ("email", *CONTACT_FIELDS):
        empty = pc.fill_null(pc.equal(arrow_text(rows[name]), ""), False)
        blank |= empty.to_numpy(zero_copy_only=False)
    plain = pc.fill_null(pc.match_substring_regex(arrow_text(rows["email"]), PLAIN_EMAIL), False)
    candidate = plain.to_numpy(zero_copy_only=False) & ~blank
    rows = rows.assign(
        candidate=pd.Series(np.where(candidate, "t", "f"), index=rows.index, dtype=ARROW_TEXT)
    )
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE {} (row_number bigint, email text, {}, candidate boolean) "
            "ON COMMIT DROP"
        ).format(
            sql.Identifier(STAGED),
            sql.SQL(", ").join(
                sql.SQL("{} text").format(sql.Identifier(f)) for f in CONTACT_FIELDS
            ),
        )
    )
    copy_frame(conn, STAGED, rows)
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(STAGED)))


def _find_steady(conn: psycopg.Connection) -> None:
    """``steady_rows`` (row_number, email, contact_id) from ``stage_export``, set-based."""
    fields = [sql.Identifier(f) for f in CONTACT_FIELDS]
    same_as_contact = sql.SQL(" AND ").join(
        sql.SQL("NULLIF(c.{0}::text, '') IS NOT DISTINCT FROM s.{0}").format(f) for f in fields
    )
    staged_hash = sql.SQL("kajabi_sync.base_row_hash(s.email, {})").format(
        sql.SQL(", ").join(sql.SQL("s.{}").format(f) for f in fields)
    )
    # Set-based throughout: every way a row can reach a contact is one join over the staged
    # export, and a candidate is dropped when another row (or an address the SQL key may not
    # fold as the plan does) reaches its contact.
    # Every join below is an equality over whole sets: hash joins. Without fresh statistics
    # (a just-loaded table) the planner may pick nested loops over them, quadratic in the
    # export's size, so they are ruled out for this one statement.
    previous = conn.execute("SELECT current_setting('enable_nestloop')").fetchone()
    conn.execute("SET LOCAL enable_nestloop = off")
    memory = conn.execute("SELECT current_setting('work_mem')").fetchone()
    # Each hash holds at most the export's emails and ids: with the default 4 MB they spill
    # to disk in batches from a few tens of thousands of rows on.
    conn.execute(f"SET LOCAL work_mem = '{_WORK_MEM}'")
    conn.execute(
        sql.SQL(
            """CREATE TEMP TABLE {steady} ON COMMIT DROP AS
               WITH hit AS MATERIALIZED (
                   SELECT s.row_number, s.email, c.id AS contact_id
                   FROM {staged} s
                   -- Both plain ASCII: equal lower case is equal citext, and a text hash.
                   JOIN contacts c ON lower(c.email::text) = s.email AND c.deleted_at IS NULL
                   JOIN kajabi_sync.kajabi_base b ON b.contact_id = c.id
                   WHERE s.candidate AND c.email::text ~ {plain}
                     AND b.row_hash = {staged_hash}
                     AND {same_as_contact}
               ),
               reached AS MATERIALIZED (
                   SELECT c.id AS contact_id, o.row_number  -- by Kajabi ID
                   FROM {staged} o JOIN contacts c ON c.kajabi_id = o.kajabi_id
                   WHERE c.deleted_at IS NULL
                   UNION ALL  -- by another address
                   SELECT e.contact_id, o.row_number
                   FROM contact_emails e JOIN {staged} o ON o.email = lower(e.email::text)
                   UNION ALL  -- by a merged-away email
                   SELECT m.surviving_contact_id, o.row_number
                   FROM kajabi_sync.merged_from m
                   JOIN {staged} o ON o.email = lower(m.merged_email::text)
                   WHERE m.undone_at IS NULL
                   UNION ALL  -- by the same email on another row
                   SELECT h.contact_id, o.row_number
                   FROM hit h JOIN {staged} o ON o.email = h.email
                   UNION ALL  -- an address whose key only the plan computes: reached, maybe
                   SELECT e.contact_id, NULL FROM contact_emails e WHERE e.email::text !~ {plain}
                   UNION ALL
                   SELECT m.surviving_contact_id, NULL FROM kajabi_sync.merged_from m
                   WHERE m.undone_at IS NULL AND m.merged_email::text !~ {plain}
               )
               SELECT h.row_number, h.email, h.contact_id FROM hit h
               WHERE NOT EXISTS (SELECT 1 FROM reached r WHERE r.contact_id = h.contact_id
                                   AND r.row_number IS DISTINCT FROM h.row_number)"""
        ).format(
            steady=sql.Identifier(STEADY),
            staged=sql.Identifier(STAGED),
            plain=sql.Literal(PLAIN_EMAIL),
            staged_hash=staged_hash,
            same_as_contact=same_as_contact,
        )
    )
    conn.execute(
        "SELECT set_config('enable_nestloop', %s, true)", (previous[0] if previous else "on",)
    )
    conn.execute("SELECT set_config('work_mem', %s, true)", (memory[0] if memory else "4MB",))
    # A live contact whose primary email is not plain ASCII may still have a row's email as its
    # key (surrounding spaces, a Kelvin sign for a K): such a row reaches two contacts.
    odd = read_query(
        conn,
        sql.SQL(
            "SELECT email::text AS email FROM contacts WHERE deleted_at IS NULL AND email::text !~ {}"
        ).format(sql.Literal(PLAIN_EMAIL)),
    )
    keys = email_key(odd["email"]).dropna().unique().tolist() if len(odd) else []
    if keys:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE email = ANY(%s)").format(sql.Identifier(STEADY)), (keys,)
        )


@contextmanager
def steady_snapshot(conn: psycopg.Connection, export: pd.DataFrame) -> Iterator[SteadySnapshot]:
    """The export's steady rows, the snapshot without their contacts and every live contact, in
    one repeatable-read transaction that lasts while the caller plans.

    The live contacts are read once: the snapshot's are those the steady rows do not reach.
    The transaction writes only its own temporary tables."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        jit_off(conn)
        stable_row_order(conn)
        _stage_export(conn, export)
        _find_steady(conn)
        steady = read_query(
            conn,
            sql.SQL(
                "SELECT row_number, contact_id::text AS contact_id FROM {} ORDER BY row_number"
            ).format(sql.Identifier(STEADY)),
        )
        steady["row_number"] = steady["row_number"].astype("int64")
        live = read_live_contacts(conn)
        planned = ~live["id"].isin(steady["contact_id"]).to_numpy()
        contacts = live[planned].reset_index(drop=True)
        yield SteadySnapshot(read_snapshot(conn, left_out=STEADY, contacts=contacts), steady, live)

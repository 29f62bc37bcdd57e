"""The open review items of a plan, their stable ids, ``needs_review.csv`` and their store.

An item's ``review_id`` is derived from what it is about (kind, contact and field; for a held
duplicate, the held email), so the same open item keeps its id week after week. An item is
open until a review run decides it, or until it resolves itself (the plan no longer lists it).
``kajabi_sync.review_items`` keeps the list of the last applied import, with the values the file
showed, so a decision taken on an older file can be told stale.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import psycopg

from kajabi_sync.db.apply import copy_frame
from kajabi_sync.db.snapshot import read_query
from kajabi_sync.reports import week_file_name, write_csv
from kajabi_sync.review.kinds import KINDS, ReviewKind
from kajabi_sync.survivorship.plan import ImpactPlan

REVIEW_FILE = "needs_review.csv"
# What the plan lists (and the store keeps) ...
ITEM_COLUMNS: tuple[str, ...] = (
    "review_id",
    "kind",
    "contact_id",
    "email",
    "field",
    "database_value",
    "kajabi_value",
    "last_import_value",
    "suggestion",
    "evidence",
)
# ... and what the operator fills in.
DECISION_COLUMNS: tuple[str, ...] = ("resolution", "value", "note")
REVIEW_COLUMNS: tuple[str, ...] = (*ITEM_COLUMNS, *DECISION_COLUMNS)
HELD_FIELD = "(contact)"  # the field column of a held duplicate: the whole contact
# Spreadsheets read a BOM as "this file is UTF-8" (Excel otherwise guesses a code page).
REVIEW_ENCODING = "utf-8-sig"


def review_id(kind: ReviewKind, key: str) -> str:
    """``C-3F9A2B1C7D0E``: the kind's letter and 12 hex digits of a hash of what it is about."""
    digest = hashlib.sha256(f"{kind.name}|{key}".encode()).hexdigest()[:12].upper()
    return f"{kind.prefix}-{digest}"


def _ids(kind: ReviewKind, keys: pd.Series) -> pd.Series:
    return pd.Series([review_id(kind, k) for k in keys], index=keys.index, dtype="string")


def empty_items() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in REVIEW_COLUMNS})


def _field_items(plan: ImpactPlan, kind: ReviewKind) -> pd.DataFrame:
    rows = plan.changes[plan.changes["decision"] == kind.decision]
    keys = rows["contact_id"].astype("string") + "|" + rows["field"].astype("string")
    return pd.DataFrame(
        {
            "review_id": _ids(kind, keys),
            "kind": kind.name,
            "contact_id": rows["contact_id"],
            "email": rows["email"],
            "field": rows["field"],
            "database_value": rows["db_value"],
            "kajabi_value": rows["kajabi_value"],
            "last_import_value": rows["base_value"],
            "suggestion": kind.suggestion,
            "evidence": rows["reason"],
        }
    )


def _held_items(plan: ImpactPlan, kind: ReviewKind) -> pd.DataFrame:
    held = plan.held
    if held.empty or "email" not in held:
        return empty_items()
    wanted = ("existing_contact_id", "existing_email", "score", "evidence")
    held = held.drop_duplicates("email").reindex(
        columns=list(dict.fromkeys([*held.columns, *wanted]))
    )
    score = pd.to_numeric(held["score"], errors="coerce")
    evidence = ("score " + score.map(lambda s: "" if pd.isna(s) else f"{s:.2f}")).where(
        score.notna(), "held earlier"
    ) + (": " + held["evidence"].astype("string")).fillna("")
    return pd.DataFrame(
        {
            "review_id": _ids(kind, held["email"].astype("string").str.lower()),
            "kind": kind.name,
            "contact_id": held["existing_contact_id"],  # the contact it looks like
            "email": held["email"],  # the held Kajabi email
            "field": HELD_FIELD,
            "database_value": held["existing_email"],
            "kajabi_value": held["email"],
            "last_import_value": pd.NA,
            "suggestion": kind.suggestion,
            "evidence": evidence,
        }
    )


def review_items(plan: ImpactPlan) -> pd.DataFrame:
    """One row per open item of ``plan`` (``REVIEW_COLUMNS``; the decision columns empty), in
    kind order, then by email and field."""
    frames = []
    for kind in KINDS.values():
        frame = _field_items(plan, kind) if kind.source == "changes" else _held_items(plan, kind)
        if len(frame):
            frames.append(frame.astype("string"))
    if not frames:
        return empty_items()
    items = pd.concat(frames, ignore_index=True)
    order = {name: i for i, name in enumerate(KINDS)}
    items = items.assign(_order=items["kind"].map(order)).sort_values(
        ["_order", "email", "field"], kind="stable"
    )
    items = items.drop(columns="_order").reset_index(drop=True)
    for column in DECISION_COLUMNS:
        items[column] = pd.Series(pd.NA, index=items.index, dtype="string")
    return items[list(REVIEW_COLUMNS)].astype("string")


def counts_by_kind(items: pd.DataFrame) -> dict[str, int]:
    """Open items per kind, every kind present (in registry order)."""
    counts = items["kind"].value_counts() if len(items) else pd.Series(dtype=int)
    return {name: int(counts.get(name, 0)) for name in KINDS}


def write_review_file(items: pd.DataFrame, reports_dir: Path, week: str | None = None) -> Path:
    """``needs_review_<week>.csv`` (``needs_review.csv`` without a week) through the reports'
    writer (atomic, 0600, formulas neutralised; phones keep their ``+``), with a BOM so
    spreadsheets read it as UTF-8."""
    return write_csv(
        items[list(REVIEW_COLUMNS)],
        reports_dir / week_file_name(REVIEW_FILE, week),
        encoding=REVIEW_ENCODING,
    )


def record_review_items(conn: psycopg.Connection, items: pd.DataFrame, import_run_id: int) -> int:
    """Make ``items`` (the open list of the import just applied) the stored list, in one
    transaction: rows of the same id are refreshed, rows the plan no longer lists go."""
    stored = items[list(ITEM_COLUMNS)]
    with conn.transaction():
        conn.execute(
            "CREATE TEMP TABLE stage_review (review_id text, kind text, contact_id uuid, "
            "email text, field text, database_value text, kajabi_value text, "
            "last_import_value text, suggestion text, evidence text) ON COMMIT DROP"
        )
        if len(stored):
            copy_frame(conn, "stage_review", stored)
        conn.execute(
            """DELETE FROM kajabi_sync.review_items
               WHERE review_id NOT IN (SELECT review_id FROM stage_review)"""
        )
        columns = ", ".join(ITEM_COLUMNS)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ITEM_COLUMNS[1:])
        return conn.execute(
            f"""INSERT INTO kajabi_sync.review_items ({columns}, import_run_id, listed_at)
                SELECT {columns}, %s, now() FROM stage_review
                ON CONFLICT (review_id) DO UPDATE SET {updates},
                    import_run_id = EXCLUDED.import_run_id, listed_at = now()""",
            (import_run_id,),
        ).rowcount


# An item is decided by a review run that stands and came after the item was listed.
_DECIDED = """EXISTS (SELECT 1 FROM kajabi_sync.review_decisions d
                      JOIN kajabi_sync.import_runs r ON r.id = d.review_run_id
                      WHERE d.review_id = i.review_id AND r.rolled_back_at IS NULL
                        AND r.applied_at >= i.listed_at)"""


def load_open_items(conn: psycopg.Connection) -> pd.DataFrame:
    """The stored items no review run has decided since they were listed (``ITEM_COLUMNS``)."""
    columns = ", ".join(f"i.{c}::text AS {c}" for c in ITEM_COLUMNS)
    with conn.transaction():
        frame = read_query(
            conn,
            f"""SELECT {columns} FROM kajabi_sync.review_items i
                WHERE NOT {_DECIDED} ORDER BY i.kind, i.email, i.field""",
        )
    if frame.empty:
        frame = pd.DataFrame({c: pd.Series(dtype="string") for c in ITEM_COLUMNS})
    order = {name: i for i, name in enumerate(KINDS)}
    frame = frame.assign(_order=frame["kind"].map(order)).sort_values(
        ["_order", "email", "field"], kind="stable"
    )
    return frame.drop(columns="_order").reset_index(drop=True)


def find_item(conn: psycopg.Connection, rid: str) -> dict | None:
    """A stored item or a decided one, by review_id: its kind, contact and email."""
    row = conn.execute(
        """SELECT review_id, kind, contact_id::text, email, field FROM kajabi_sync.review_items
           WHERE upper(review_id) = upper(btrim(%(id)s))
           UNION ALL
           SELECT review_id, kind, contact_id::text, email, field FROM kajabi_sync.review_decisions
           WHERE upper(review_id) = upper(btrim(%(id)s))
           LIMIT 1""",
        {"id": rid},
    ).fetchone()
    if row is None:
        return None
    return dict(zip(("review_id", "kind", "contact_id", "email", "field"), row, strict=True))

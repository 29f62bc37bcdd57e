"""Applying the user's decisions: checked all or nothing, then one audited run (kind ``review``)
that ``kajabi-sync rollback RUN`` undoes exactly.

What each resolution does:

- ``take_kajabi``: the field takes Kajabi's value.
- ``keep_database``: the database keeps its value, and Kajabi's value becomes the three-way
  base ("seen"), so the next plan keeps the database's value without listing it again; the
  enriched export then sends the database's value to Kajabi.
- ``value``: the field takes the operator's value, recorded as set by hand (``manual``), which
  the policy protects from then on.
- ``merge`` / ``release``: a held duplicate is merged into its candidate contact, or released to
  be created by the next import (``db.holds``).

A field decision also makes Kajabi's value the base, so the item is not listed again unless one
side changes the field again.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from kajabi_sync.db.apply import (
    ApplyRefused,
    copy_frame,
    stage_bases,
    stage_field_changes,
    take_write_lock,
    write_bases,
    write_staged_changes,
)
from kajabi_sync.db.audit_log import FieldChange, record_changes, set_run_counts, start_run
from kajabi_sync.db.holds import approve_hold, release_hold
from kajabi_sync.db.merges import unmerge
from kajabi_sync.db.snapshot import read_query
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.masking import mask_one_email
from kajabi_sync.review.decisions import (
    EMAIL_FIELD,
    Decision,
    DecisionsRefused,
    same_values,
    value_problem,
)
from kajabi_sync.review.items import load_open_items
from kajabi_sync.review.kinds import ALL_RESOLUTIONS, KINDS

# field_changes.decision of what a review run writes.
WRITE_DECISION = {"take_kajabi": "review_take_kajabi", "value": "review_value"}
FIELD_STALE = "the database's {field} changed since the file was written"
KAJABI_STALE = "Kajabi's {field} changed since the file was written"
MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class PlannedDecision:
    """A checked decision: the row, its open item, and the database's value now."""

    decision: Decision
    item: dict
    current: str | None = None

    @property
    def kind(self) -> str:
        return self.item["kind"]

    @property
    def field(self) -> str:
        return self.item["field"]

    def new_value(self) -> str | None:
        """The value the field takes (field decisions that write)."""
        if self.decision.resolution == "take_kajabi":
            return self.item["kajabi_value"]
        if self.decision.resolution == "value":
            return self.decision.value
        return None

    def describe(self, show_personal_data: bool = False) -> str:
        """One line saying what will happen, masked unless ``show_personal_data``."""
        item, resolution = self.item, self.decision.resolution
        who = item["email"] if show_personal_data else _masked(item["email"])
        if KINDS[self.kind].source == "held":
            target = (
                item["database_value"] if show_personal_data else _masked(item["database_value"])
            )
            if resolution == "merge":
                into = self.decision.contact_id or item["contact_id"]
                return f"{item['review_id']}: merge the held sign-up {who} into {target} (contact {into})"
            return (
                f"{item['review_id']}: release the held sign-up {who}: the next import creates it"
            )

        def shown(value: str | None) -> str:
            if value is None or pd.isna(value):
                return "(empty)"
            return repr(value) if show_personal_data else _mask_value(self.field, value)

        field = self.field
        if field == EMAIL_FIELD:
            new = item["kajabi_value"] if show_personal_data else _masked(item["kajabi_value"])
            if resolution == "make_primary":
                return (
                    f"{item['review_id']}: make {new} the primary email of {who} (the old one "
                    "stays as a secondary address)"
                )
            return f"{item['review_id']}: keep {new} as a secondary address of {who}"
        if resolution == "keep_database":
            return (
                f"{item['review_id']}: {who} {field}: keep the database's {shown(self.current)}; "
                f"Kajabi's {shown(item['kajabi_value'])} is recorded as seen"
            )
        what = "Kajabi's value" if resolution == "take_kajabi" else "your value (manual)"
        return (
            f"{item['review_id']}: {who} {field}: {shown(self.current)} -> "
            f"{shown(self.new_value())} ({what})"
        )


@dataclass(frozen=True)
class ReviewResult:
    review_run_id: int
    decided: int
    fields_written: int
    bases_changed: int
    merge_run_ids: tuple[int, ...]
    released: int
    counts: dict


def _masked(email: object) -> str:
    if email is None or pd.isna(email):
        return "(none)"
    return mask_one_email(str(email))


def _mask_value(field: str, value: str) -> str:
    if field == "phone":
        digits = "".join(ch for ch in value if ch.isdigit())
        return "***" + digits[-4:]
    return value[:2] + "***"


# The contact columns a review item can be about: the Kajabi fields and the primary email.
ITEM_FIELDS: tuple[str, ...] = (*CONTACT_FIELDS, EMAIL_FIELD)
# field_changes.field of a primary-email swap: undone by ``undo_review_extras``, not as a field.
EMAIL_SWAP_FIELD = "(email)"
OLD_PRIMARY_ADDED = "old_primary_added"  # review_decisions.previous_status of a make_primary


def _contacts_now(conn: psycopg.Connection, ids: list[str], lock: bool) -> pd.DataFrame:
    """The contacts' item fields now, with ``secondary`` (``,a@x,b@y,``: their other addresses)."""
    fields = ", ".join(f"c.{f}::text AS {f}" for f in ITEM_FIELDS)
    if lock and ids:
        conn.execute(
            "SELECT 1 FROM contacts WHERE id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE", (ids,)
        )
    frame = read_query(
        conn,
        f"""SELECT c.id::text AS id, c.deleted_at::text AS deleted_at, {fields},
                   (SELECT ',' || string_agg(lower(e.email::text), ',') || ','
                    FROM contact_emails e WHERE e.contact_id = c.id AND NOT e.is_primary)
                       AS secondary
            FROM contacts c WHERE c.id = ANY('{{{",".join(ids)}}}'::uuid[])""",
    )
    return frame.set_index("id") if len(frame) else frame


def _hold_statuses(conn: psycopg.Connection, emails: list[str]) -> dict[str, str]:
    return dict(
        conn.execute(
            "SELECT email, status FROM kajabi_sync.duplicate_holds WHERE email = ANY(%s)",
            ([e.lower() for e in emails],),
        ).fetchall()
    )


def _decided_before(conn: psycopg.Connection, ids: list[str]) -> dict[str, int]:
    """Ids already decided by a standing review run: {review_id: run}."""
    return dict(
        conn.execute(
            """SELECT d.review_id, max(d.review_run_id) FROM kajabi_sync.review_decisions d
               JOIN kajabi_sync.import_runs r ON r.id = d.review_run_id
               WHERE d.review_id = ANY(%s) AND r.rolled_back_at IS NULL GROUP BY 1""",
            (ids,),
        ).fetchall()
    )


def _valid_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _field_facts(
    decisions: list[Decision], open_items: dict[str, dict], contacts: pd.DataFrame
) -> dict[int, dict]:
    """Per position of a decision on an open field item: the database's value now and whether
    the item is stale, computed per field over all decisions at once (a first import's backlog
    can be decided in bulk by the hundred thousand)."""
    rows = []
    for position, decision in enumerate(decisions):
        item = open_items.get(decision.review_id)
        kind = KINDS.get(item["kind"]) if item else None
        if item is None or kind is None or kind.source != "changes":
            continue
        seen = dict(decision.seen)
        rows.append(
            {
                "position": position,
                "field": item["field"],
                "contact_id": item["contact_id"],
                "database_value": item["database_value"],
                "kajabi_value": item["kajabi_value"],
                "seen_database": seen.get("database_value"),
                "seen_kajabi": seen.get("kajabi_value"),
                "has_seen_database": "database_value" in seen,
                "has_seen_kajabi": "kajabi_value" in seen,
            }
        )
    if not rows:
        return {}
    frame = pd.DataFrame(rows)
    located = (
        contacts.index.get_indexer(frame["contact_id"])
        if len(contacts)
        else np.full(len(frame), -1)
    )
    gone = located < 0
    if len(contacts):
        gone |= contacts["deleted_at"].notna().to_numpy()[np.maximum(located, 0)]
    columns = {f: i for i, f in enumerate(ITEM_FIELDS)}
    values = (
        contacts[list(ITEM_FIELDS)].astype(object).to_numpy()
        if len(contacts)
        else np.empty((1, len(ITEM_FIELDS)), dtype=object)
    )
    column = frame["field"].map(columns)
    current = [
        None if g or pd.isna(c) or pd.isna(values[i, int(c)]) else values[i, int(c)]
        for g, i, c in zip(gone, np.maximum(located, 0), column, strict=True)
    ]
    frame["current"] = pd.Series(current, dtype=object)
    fields = frame["field"]
    moved = ~same_values(fields, frame["current"], frame["database_value"])
    file_database = frame["has_seen_database"].to_numpy(bool) & ~same_values(
        fields, frame["seen_database"], frame["database_value"]
    )
    file_kajabi = frame["has_seen_kajabi"].to_numpy(bool) & ~same_values(
        fields, frame["seen_kajabi"], frame["kajabi_value"]
    )
    secondary = (
        contacts["secondary"].fillna("").to_numpy(object)[np.maximum(located, 0)]
        if len(contacts)
        else np.full(len(frame), "", dtype=object)
    )
    return {
        int(p): {
            "gone": bool(g),
            "current": c,
            "database_moved": bool(m),
            "file_database_differs": bool(fd),
            "file_kajabi_differs": bool(fk),
            "secondary": str(sec),
        }
        for p, g, c, m, fd, fk, sec in zip(
            frame["position"],
            gone,
            current,
            moved,
            file_database,
            file_kajabi,
            secondary,
            strict=True,
        )
    }


def check_decisions(
    conn: psycopg.Connection, decisions: list[Decision], *, lock: bool = False
) -> list[PlannedDecision]:
    """Check every decision against the open items and the database now; raise
    DecisionsRefused naming each offending row (nothing is written either way)."""
    if not decisions:
        raise DecisionsRefused(
            "no decided row: fill the resolution column of the rows you decide (rows left blank "
            "stay open) — nothing was written"
        )
    items = load_open_items(conn)
    open_items = {row["review_id"]: row for row in items.to_dict("records")}
    ids = [d.review_id for d in decisions]
    decided = _decided_before(conn, [i for i in ids if i not in open_items])
    contact_ids = sorted(
        {
            open_items[d.review_id]["contact_id"]
            for d in decisions
            if d.review_id in open_items
            and KINDS.get(open_items[d.review_id]["kind"])
            and KINDS[open_items[d.review_id]["kind"]].source == "changes"
        }
    )
    contacts = _contacts_now(conn, contact_ids, lock)
    held_emails = [
        open_items[d.review_id]["email"]
        for d in decisions
        if d.review_id in open_items and open_items[d.review_id]["kind"] == "held_duplicate"
    ]
    holds = _hold_statuses(conn, held_emails)
    merge_targets = sorted(
        {
            d.contact_id
            for d in decisions
            if d.resolution == "merge" and d.contact_id and _valid_uuid(d.contact_id)
        }
    )
    live_targets = set(
        r[0]
        for r in conn.execute(
            "SELECT id::text FROM contacts WHERE id = ANY(%s::uuid[]) AND deleted_at IS NULL",
            (merge_targets,),
        )
    )

    problems: list[str] = []
    planned: list[PlannedDecision] = []
    first_line: dict[str, Decision] = {}
    field_facts = _field_facts(decisions, open_items, contacts)
    promoted = [
        str(open_items[d.review_id]["kajabi_value"]).strip().lower()
        for d in decisions
        if d.resolution == "make_primary" and d.review_id in open_items
    ]
    taken_primaries: dict[str, str] = dict(
        conn.execute(
            """SELECT lower(email::text), id::text FROM contacts
               WHERE deleted_at IS NULL AND lower(email::text) = ANY(%s)""",
            (promoted,),
        ).fetchall()
    )
    for position, decision in enumerate(decisions):
        where = decision.where()
        if decision.review_id in first_line:
            earlier = first_line[decision.review_id].where()
            problems.append(f"{where}: the same item is decided twice (also {earlier})")
            continue
        first_line[decision.review_id] = decision
        item = open_items.get(decision.review_id)
        if item is None:
            if not decision.review_id:
                problems.append(f"{where}: the review_id is empty")
            elif decision.review_id in decided:
                problems.append(
                    f"{where}: already decided by review run {decided[decision.review_id]}"
                )
            else:
                problems.append(
                    f"{where}: unknown review_id (not an open item of the last applied "
                    "import; a week that was blocked lists items only once it is applied)"
                )
            continue
        kind = KINDS.get(item["kind"])
        if kind is None:
            problems.append(f"{where}: kind {item['kind']!r} cannot be decided by this version")
            continue
        if decision.resolution not in kind.resolutions:
            known = "" if decision.resolution in ALL_RESOLUTIONS else " (no such resolution)"
            problems.append(
                f"{where}: resolution {decision.resolution!r} is not allowed for "
                f"{kind.name} items{known}; use one of {', '.join(kind.resolutions)}"
            )
            continue
        field = item["field"]
        if decision.resolution == "value":
            if decision.value is None:
                problems.append(f"{where}: resolution 'value' needs the value column filled")
                continue
            why = value_problem(field, decision.value)
            if why:
                problems.append(f"{where}: malformed value for {field}: {why}")
                continue
        elif decision.value is not None:
            problems.append(
                f"{where}: a value is only written with resolution 'value' (this row says "
                f"{decision.resolution!r}); clear one of the two"
            )
            continue
        stale = []
        current = None
        if kind.source == "changes":
            facts = field_facts[position]
            if facts["gone"]:
                problems.append(f"{where}: stale: the contact was deleted or merged away since")
                continue
            current = facts["current"]
            if facts["database_moved"] or facts["file_database_differs"]:
                stale.append(FIELD_STALE.format(field=field))
            if facts["file_kajabi_differs"]:
                stale.append(KAJABI_STALE.format(field=field))
            new_email = str(item["kajabi_value"] or "").strip().lower()
            if field == EMAIL_FIELD and f",{new_email}," not in facts["secondary"]:
                stale.append("the new email is no longer an address of this contact")
            if (
                decision.resolution == "make_primary"
                and new_email in taken_primaries
                and taken_primaries[new_email] != item["contact_id"]
            ):
                problems.append(
                    f"{where}: another live contact ({taken_primaries[new_email]}) has this email "
                    "as its primary email; merge the two first"
                )
                continue
        else:
            status = holds.get(str(item["email"]).lower())
            if status != "held":
                stale.append(f"the sign-up is no longer held (now {status or 'unknown'})")
            if decision.resolution == "merge" and decision.contact_id:
                if decision.contact_id != item["contact_id"] and (
                    decision.contact_id not in live_targets
                ):
                    problems.append(
                        f"{where}: contact_id {decision.contact_id!r} is not a live contact to "
                        "merge into"
                    )
                    continue
            elif decision.resolution == "merge" and not item["contact_id"]:
                problems.append(f"{where}: no suggested contact to merge into: fill contact_id")
                continue
        if stale:
            problems.append(f"{where}: stale: {'; '.join(stale)}; write a new file")
            continue
        planned.append(PlannedDecision(decision, item, current))
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise DecisionsRefused(
            f"{len(problems)} row(s) cannot be applied, so nothing was written:\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )
    return planned


def _field_writes(planned: list[PlannedDecision], run_id: int) -> pd.DataFrame:
    rows = [
        {
            "contact_id": p.item["contact_id"],
            "field": p.field,
            "old_value": p.current,
            "new_value": p.new_value(),
            "decision": WRITE_DECISION[p.decision.resolution],
            "reason": f"review {p.item['review_id']} ({p.kind}) decided in review run {run_id}"
            + (f": {p.decision.note}" if p.decision.note else ""),
        }
        for p in planned
        if p.decision.resolution in WRITE_DECISION and p.current != p.new_value()
    ]
    return pd.DataFrame(
        rows, columns=["contact_id", "field", "old_value", "new_value", "decision", "reason"]
    )


def _seen_bases(conn: psycopg.Connection, planned: list[PlannedDecision]) -> pd.DataFrame:
    """The bases of the decided fields' contacts with Kajabi's value as seen, whole rows. A
    contact without a base keeps none: a partial base would read as Kajabi edits."""
    fields = [p for p in planned if KINDS[p.kind].source == "changes" and p.field in CONTACT_FIELDS]
    ids = sorted({p.item["contact_id"] for p in fields})
    columns = ", ".join(CONTACT_FIELDS)
    bases = read_query(
        conn,
        f"""SELECT contact_id::text AS contact_id, kajabi_email, {columns}
            FROM kajabi_sync.kajabi_base WHERE contact_id = ANY('{{{",".join(ids)}}}'::uuid[])""",
    )
    if bases.empty:
        return bases
    bases = bases.set_index("contact_id")
    for p in fields:
        if p.item["contact_id"] in bases.index:
            bases.at[p.item["contact_id"], p.field] = p.item["kajabi_value"]
    return bases.reset_index()


def apply_decisions(
    conn: psycopg.Connection,
    decisions: list[Decision],
    *,
    source: str,
    note: str | None = None,
    dagster_run_id: str | None = None,
) -> ReviewResult:
    """Apply every decision in one transaction as a review run; raise DecisionsRefused (nothing
    written) when any row cannot be applied. ``source``: the file name or the bulk choice."""
    with conn.transaction():
        take_write_lock(conn)
        planned = check_decisions(conn, decisions, lock=True)
        run_id = start_run(
            conn,
            "review",
            note=note or f"review decisions: {source}",
            dagster_run_id=dagster_run_id,
            file_name=source,
        )
        writes = _field_writes(planned, run_id)
        stage_field_changes(conn, writes)
        write_staged_changes(conn, run_id)
        bases = _seen_bases(conn, planned)
        stage_bases(conn, bases)
        bases_changed = write_bases(conn, run_id)
        manual = [p for p in planned if p.decision.resolution == "value"]
        if manual:
            with conn.cursor() as cur:
                cur.executemany(
                    """INSERT INTO kajabi_sync.manual_fields (contact_id, field, value, review_run_id)
                       VALUES (%s, %s, %s, %s)""",
                    [(p.item["contact_id"], p.field, p.decision.value, run_id) for p in manual],
                )
        merge_runs: dict[str, int] = {}
        previous: dict[str, str] = {}
        for p in planned:
            if p.decision.resolution == "make_primary":
                if _make_primary(conn, run_id, p):
                    previous[p.item["review_id"]] = OLD_PRIMARY_ADDED
            if p.decision.resolution == "merge":
                merge_runs[p.item["review_id"]] = approve_hold(
                    conn,
                    p.item["email"],
                    p.decision.contact_id or p.item["contact_id"],
                    f"review {p.item['review_id']} (held duplicate) decided in review run {run_id}"
                    + (f": {p.decision.note}" if p.decision.note else ""),
                    dagster_run_id=dagster_run_id,
                )
            elif p.decision.resolution == "release":
                previous[p.item["review_id"]] = "held"
                release_hold(conn, p.item["email"])  # the hold keeps its note: undone exactly
                conn.execute(
                    """UPDATE kajabi_sync.duplicate_holds SET decision_run_id = %s
                       WHERE email = lower(%s)""",
                    (run_id, p.item["email"]),
                )
        _record_decisions(conn, run_id, planned, merge_runs, previous)
        resolutions = Counter(p.decision.resolution for p in planned)
        counts: dict[str, Any] = {
            "decisions": dict(resolutions),
            "by_kind": dict(Counter(p.kind for p in planned)),
            "fields_written": len(writes),
            "bases_changed": bases_changed,
            "merges": len(merge_runs),
            "released": resolutions.get("release", 0),
            "made_primary": resolutions.get("make_primary", 0),
        }
        set_run_counts(conn, run_id, counts)
    return ReviewResult(
        review_run_id=run_id,
        decided=len(planned),
        fields_written=len(writes),
        bases_changed=bases_changed,
        merge_run_ids=tuple(merge_runs.values()),
        released=counts["released"],
        counts=counts,
    )


def _make_primary(conn: psycopg.Connection, run_id: int, planned: PlannedDecision) -> bool:
    """Swap the contact's primary email for the new one; the old one stays as a secondary
    address. Returns whether the old address had to be added to ``contact_emails``."""
    contact_id, old, new = planned.item["contact_id"], planned.current, planned.item["kajabi_value"]
    added = conn.execute(
        """INSERT INTO contact_emails (contact_id, email, is_primary, source)
           SELECT %(c)s::uuid, %(old)s::text, false, 'kajabi_sync_review'
           WHERE NOT EXISTS (SELECT 1 FROM contact_emails
                             WHERE contact_id = %(c)s::uuid AND lower(email::text) = lower(%(old)s))""",
        {"c": contact_id, "old": old},
    ).rowcount
    _set_primary(conn, contact_id, new)
    record_changes(
        conn,
        run_id,
        [
            FieldChange(
                contact_id,
                EMAIL_SWAP_FIELD,
                old,
                new,
                "review_make_primary",
                f"review {planned.item['review_id']} (email_change) decided in review run "
                f"{run_id}: the old email stays as a secondary address",
            )
        ],
    )
    return bool(added)


def _set_primary(conn: psycopg.Connection, contact_id: str, email: str) -> None:
    conn.execute(
        """UPDATE contact_emails SET is_primary = (lower(email::text) = lower(%(e)s))
           WHERE contact_id = %(c)s::uuid""",
        {"c": contact_id, "e": email},
    )
    conn.execute(
        "UPDATE contacts SET email = %s, updated_at = now() WHERE id = %s", (email, contact_id)
    )


def _record_decisions(
    conn: psycopg.Connection,
    run_id: int,
    planned: list[PlannedDecision],
    merge_runs: dict[str, int],
    previous: dict[str, str],
) -> None:
    rows = pd.DataFrame(
        [
            {
                "review_run_id": str(run_id),
                "review_id": p.item["review_id"],
                "kind": p.kind,
                "contact_id": p.decision.contact_id or p.item["contact_id"],
                "email": p.item["email"],
                "field": p.field,
                "resolution": p.decision.resolution,
                "value": p.decision.value,
                "database_value": p.current if KINDS[p.kind].source == "changes" else None,
                "kajabi_value": p.item["kajabi_value"],
                "merge_run_id": (
                    str(merge_runs[p.item["review_id"]])
                    if p.item["review_id"] in merge_runs
                    else None
                ),
                "previous_status": previous.get(p.item["review_id"]),
                "note": p.decision.note,
            }
            for p in planned
        ]
    )
    columns = ", ".join(rows.columns)
    conn.execute(
        "CREATE TEMP TABLE stage_decisions (review_run_id bigint, review_id text, kind text, "
        "contact_id uuid, email text, field text, resolution text, value text, "
        "database_value text, kajabi_value text, merge_run_id bigint, previous_status text, "
        "note text) ON COMMIT DROP"
    )
    copy_frame(conn, "stage_decisions", rows.astype("string"))
    conn.execute(
        f"""INSERT INTO kajabi_sync.review_decisions ({columns})
            SELECT {columns} FROM stage_decisions"""
    )


def undo_review_extras(conn: psycopg.Connection, run_id: int) -> None:
    """What a rollback of review run ``run_id`` undoes besides fields and bases (called by
    ``audit.rollback_run`` inside its transaction): its merges are unmerged, its primary-email
    swaps swapped back and its releases held again. Raises ApplyRefused when one cannot be
    undone without overwriting something newer."""
    merges = conn.execute(
        """SELECT merge_run_id FROM kajabi_sync.review_decisions
           WHERE review_run_id = %s AND merge_run_id IS NOT NULL ORDER BY merge_run_id DESC""",
        (run_id,),
    ).fetchall()
    for (merge_run_id,) in merges:
        unmerge(conn, merge_run_id, f"rollback of review run {run_id}")
    swaps = conn.execute(
        """SELECT d.contact_id::text, d.database_value, d.kajabi_value, d.previous_status,
                  c.email::text
           FROM kajabi_sync.review_decisions d JOIN contacts c ON c.id = d.contact_id
           WHERE d.review_run_id = %s AND d.resolution = 'make_primary' ORDER BY d.id""",
        (run_id,),
    ).fetchall()
    for contact_id, old, new, previous, now in swaps:
        if (now or "").lower() != (new or "").lower():
            raise ApplyRefused(
                f"the primary email of contact {contact_id} changed since; undoing it would "
                "overwrite that — nothing was written"
            )
        _set_primary(conn, contact_id, old)
        if previous == OLD_PRIMARY_ADDED:
            conn.execute(
                """DELETE FROM contact_emails WHERE contact_id = %s AND lower(email::text) = lower(%s)
                     AND source = 'kajabi_sync_review'""",
                (contact_id, old),
            )
    conn.execute(
        """UPDATE kajabi_sync.duplicate_holds h
           SET status = d.previous_status, decided_at = NULL, decision_run_id = NULL
           FROM kajabi_sync.review_decisions d
           WHERE d.review_run_id = %s AND d.resolution = 'release'
             AND h.email = lower(d.email) AND h.status = 'released'""",
        (run_id,),
    )

"""Merges the user decides, and their undo: one transaction each, audited, exactly reversible.

``merge_contacts`` folds a merged-away contact into a survivor: the survivor's empty fields take
the merged contact's values (never overwriting anything; the address moves only as a whole
unit, with the provenance that travels with it), every email of the merged contact moves to
``contact_emails`` under the survivor and into ``merged_from``, and the merged row is
soft-deleted. ``merge_email_into`` does the same for a bare email (a held Kajabi address that
has no contact row). ``unmerge`` undoes either, refusing when something happened since that
the undo would overwrite.

Every run is an ``import_runs`` row (kind ``merge``/``unmerge``); filled fields are
``field_changes`` rows; moved emails and memory rows are ``merge_moves`` rows; the pair is a
``merges`` row. A command line or a Dagster job calls these functions; they know nothing of either.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from kajabi_sync.db.apply import ApplyRefused, take_write_lock
from kajabi_sync.db.audit_log import FieldChange, record_changes, set_run_counts, start_run
from kajabi_sync.db.connection import scalar
from kajabi_sync.fields import ADDRESS_FIELDS, SHIPPING_FIELDS

MERGE_RECORDER = "kajabi_sync merge"
EMAIL_SOURCE = "kajabi_sync_merge"  # contact_emails.source of an address a merge added
# Emails always compare as lower(email::text): without the citext extension (the embedded
# server) the citext columns are a plain text domain, see migration 0001.


class MergeRefused(ApplyRefused):
    """The merge or unmerge wrote nothing, for a reason a person can act on."""


@dataclass(frozen=True)
class FillGroup:
    """Columns filled together: only when the survivor has none of ``values`` and the merged
    contact has some; ``carried`` provenance columns come along where the survivor's are empty."""

    values: tuple[str, ...]
    carried: tuple[str, ...] = ()


# What a merged-away contact may give its survivor. An address is one unit (parts of two
# addresses glued together make a wrong address), so it is given whole or not at all.
FILL_GROUPS: tuple[FillGroup, ...] = (
    FillGroup(("first_name",)),
    FillGroup(("last_name",)),
    FillGroup(("phone",), ("phone_source",)),
    FillGroup(ADDRESS_FIELDS, ("billing_address_source",)),
    FillGroup(("kajabi_id",)),
    FillGroup(("kajabi_member_id",)),
    FillGroup(("zoho_id",)),
    FillGroup(("paypal_email",)),
    FillGroup(("paypal_first_name",)),
    FillGroup(("paypal_last_name",)),
    FillGroup(("paypal_phone",)),
    FillGroup(("paypal_business_name",)),
    FillGroup(SHIPPING_FIELDS),
)
FILL_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(c for g in FILL_GROUPS for c in (*g.values, *g.carried))
)


def normalise_email(email: str) -> str:
    """The email key (as ``normalize.email_key``): trimmed, lower-cased, in Unicode NFC."""
    key = unicodedata.normalize("NFC", (email or "").strip().lower())
    if "@" not in key:
        raise MergeRefused(f"{email!r} is not an email address; nothing was written")
    return key


def live_contacts_with_email(conn: psycopg.Connection, key: str) -> list[str]:
    """The ids of the live contacts whose primary email or other address is ``key`` (an email
    already trimmed and lower-cased)."""
    return [
        row[0]
        for row in conn.execute(
            """SELECT c.id::text FROM contacts c WHERE c.deleted_at IS NULL AND lower(c.email::text) = %(e)s
               UNION SELECT c.id::text FROM contact_emails e JOIN contacts c ON c.id = e.contact_id
               WHERE c.deleted_at IS NULL AND lower(e.email::text) = %(e)s
               ORDER BY 1""",
            {"e": key},
        )
    ]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def merge_fills(survivor: dict, merged: dict) -> dict[str, str]:
    """The survivor's empty columns the merged contact fills: {column: value} (pure)."""
    fills: dict[str, str] = {}
    for group in FILL_GROUPS:
        if not all(_blank(survivor.get(c)) for c in group.values):
            continue
        if all(_blank(merged.get(c)) for c in group.values):
            continue
        for column in (*group.values, *group.carried):
            if _blank(survivor.get(column)) and not _blank(merged.get(column)):
                fills[column] = merged[column]
    return fills


def _contact_id(value: str, role: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise MergeRefused(f"{role} {value!r} is not a contact id; nothing was written") from None


def _lock_contacts(conn: psycopg.Connection, ids: list[str]) -> dict[str, dict]:
    columns = sql.SQL(", ").join(
        sql.SQL("{0}::text AS {0}").format(sql.Identifier(c)) for c in FILL_COLUMNS
    )
    query = sql.SQL(
        "SELECT id::text AS id, email::text AS email, deleted_at, {} FROM contacts "
        "WHERE id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE"
    ).format(columns)
    with conn.cursor(row_factory=dict_row) as cur:
        return {row["id"]: row for row in cur.execute(query, (ids,))}


def _live_contact(rows: dict[str, dict], contact_id: str, role: str) -> dict:
    row = rows.get(contact_id)
    if row is None:
        raise MergeRefused(f"no contact {contact_id} ({role}); nothing was written")
    if row["deleted_at"] is not None:
        raise MergeRefused(
            f"the {role} {contact_id} is soft-deleted (merged away or removed); nothing was written"
        )
    return row


def _finish_run(conn: psycopg.Connection, run_id: int) -> dict:
    counts = dict(
        conn.execute(
            "SELECT kind, count(*) FROM kajabi_sync.merge_moves WHERE merge_run_id = %s GROUP BY kind",
            (run_id,),
        ).fetchall()
    )
    counts["fields_filled"] = scalar(
        conn,
        "SELECT count(*) FROM kajabi_sync.field_changes WHERE import_run_id = %s AND decision = 'merge_fill'",
        (run_id,),
    )
    set_run_counts(conn, run_id, counts)
    return counts


def _fill_survivor(
    conn: psycopg.Connection, run_id: int, survivor: dict, fills: dict, merged_email: str
) -> None:
    if not fills:
        return
    _set_fields(conn, survivor["id"], fills)
    record_changes(
        conn,
        run_id,
        [
            FieldChange(
                survivor["id"],
                c,
                survivor[c],
                v,
                "merge_fill",
                f"empty on the survivor; filled from the merged-away contact {merged_email}",
            )
            for c, v in fills.items()
        ],
    )


def _record_moves(
    conn: psycopg.Connection,
    run_id: int,
    kind: str,
    select: str,
    params: dict,
    *,
    writes: str | None = None,
) -> None:
    """Insert merge_moves rows from ``select`` (row_id, email, from_contact_id, was_primary).

    ``writes``: a data-modifying statement run first as the CTE ``done`` (its RETURNING rows
    are what ``select`` reads), so the write and its record are one statement.
    """
    prefix = f"WITH done AS ({writes}) " if writes else ""
    conn.execute(
        prefix
        + f"""INSERT INTO kajabi_sync.merge_moves
                  (merge_run_id, kind, row_id, email, from_contact_id, was_primary)
              SELECT %(run)s, %(kind)s, m.row_id, m.email, m.from_contact_id, m.was_primary
              FROM ({select}) AS m (row_id, email, from_contact_id, was_primary)""",
        {**params, "run": run_id, "kind": kind},
    )


def _move_emails(conn: psycopg.Connection, run_id: int, survivor_id: str, merged_id: str) -> None:
    """The merged contact's contact_emails rows move under the survivor (unless it has the address)."""
    params = {"s": survivor_id, "m": merged_id}
    _record_moves(
        conn,
        run_id,
        "email_moved",
        """SELECT e.id::text, lower(e.email::text), e.contact_id, e.is_primary
           FROM contact_emails e
           WHERE e.contact_id = %(m)s::uuid AND NOT EXISTS (
               SELECT 1 FROM contact_emails x
               WHERE x.contact_id = %(s)s::uuid AND lower(x.email::text) = lower(e.email::text))""",
        params,
    )
    conn.execute(
        """UPDATE contact_emails SET contact_id = %(s)s::uuid, is_primary = false
           WHERE id IN (SELECT row_id::uuid FROM kajabi_sync.merge_moves
                        WHERE merge_run_id = %(run)s AND kind = 'email_moved')""",
        {**params, "run": run_id},
    )


def _add_email(
    conn: psycopg.Connection, run_id: int, survivor_id: str, email: str, source: str
) -> None:
    """Give the survivor ``email`` as another address, unless it already has it."""
    _record_moves(
        conn,
        run_id,
        "email_added",
        "SELECT id::text, lower(email::text), NULL::uuid, NULL::boolean FROM done",
        {"s": survivor_id, "email": email, "source": source},
        writes="""INSERT INTO contact_emails (contact_id, email, is_primary, source)
                  SELECT %(s)s::uuid, %(email)s::text, false, %(source)s
                  WHERE NOT EXISTS (SELECT 1 FROM contact_emails x
                                    WHERE x.contact_id = %(s)s::uuid AND lower(x.email::text) = lower(%(email)s::text))
                  RETURNING id, email""",
    )


def _remember(
    conn: psycopg.Connection,
    run_id: int,
    survivor: dict,
    merged_id: str | None,
    emails: list[str],
    reason: str,
) -> None:
    """Merge memory: earlier merges into the merged contact now point at the survivor, and its
    own addresses are recorded as merged into the survivor."""
    if merged_id is not None:
        _record_moves(
            conn,
            run_id,
            "memory_repointed",
            """SELECT id::text, merged_email, surviving_contact_id, NULL::boolean
               FROM kajabi_sync.merged_from
               WHERE surviving_contact_id = %(m)s::uuid AND undone_at IS NULL""",
            {"m": merged_id},
        )
        conn.execute(
            """UPDATE kajabi_sync.merged_from SET surviving_contact_id = %(s)s::uuid
               WHERE id IN (SELECT row_id::bigint FROM kajabi_sync.merge_moves
                            WHERE merge_run_id = %(run)s AND kind = 'memory_repointed')""",
            {"s": survivor["id"], "run": run_id},
        )
    _record_moves(
        conn,
        run_id,
        "memory_added",
        "SELECT id::text, merged_email, NULL::uuid, NULL::boolean FROM done",
        {
            "s": survivor["id"],
            "m": merged_id,
            "reason": reason,
            "recorder": MERGE_RECORDER,
            "emails": emails,
            "survivor_email": survivor["email"],
        },
        writes="""INSERT INTO kajabi_sync.merged_from
                      (merged_email, surviving_contact_id, merged_contact_id, reason, recorded_by)
                  SELECT DISTINCT lower(x), %(s)s::uuid, %(m)s::uuid, %(reason)s, %(recorder)s
                  FROM unnest(%(emails)s::text[]) AS x
                  WHERE lower(x) <> lower(%(survivor_email)s)
                  ON CONFLICT (merged_email) WHERE undone_at IS NULL DO NOTHING
                  RETURNING id, merged_email""",
    )


def _record_merge(
    conn: psycopg.Connection,
    run_id: int,
    survivor_id: str,
    merged_id: str | None,
    email: str,
    reason: str,
) -> None:
    conn.execute(
        """INSERT INTO kajabi_sync.merges (merge_run_id, survivor_id, merged_contact_id, merged_email, reason)
           VALUES (%s, %s, %s, %s, %s)""",
        (run_id, survivor_id, merged_id, email, reason),
    )


def merge_contacts(
    conn: psycopg.Connection,
    survivor_id: str,
    merged_id: str,
    reason: str,
    *,
    dagster_run_id: str | None = None,
) -> int:
    """Merge contact ``merged_id`` into ``survivor_id``; return the merge's import_runs id.

    One transaction under the kajabi_sync write lock: the survivor's empty fields are filled
    from the merged contact (``FILL_GROUPS``), all the merged contact's emails move under the
    survivor and into ``merged_from``, and the merged contact is soft-deleted. Raises
    ``MergeRefused`` (nothing written) for unknown, identical or soft-deleted contacts.
    """
    survivor_id = _contact_id(survivor_id, "survivor")
    merged_id = _contact_id(merged_id, "merged contact")
    if survivor_id == merged_id:
        raise MergeRefused("a contact cannot be merged into itself; nothing was written")
    if not (reason or "").strip():
        raise MergeRefused(
            "a merge needs a reason (it is kept in the audit trail); nothing was written"
        )
    with conn.transaction():
        take_write_lock(conn)
        rows = _lock_contacts(conn, [survivor_id, merged_id])
        survivor = _live_contact(rows, survivor_id, "survivor")
        merged = _live_contact(rows, merged_id, "merged contact")
        emails = [merged["email"]] + [
            row[0]
            for row in conn.execute(
                "SELECT email::text FROM contact_emails WHERE contact_id = %s", (merged_id,)
            )
        ]
        run_id = start_run(conn, "merge", note=reason, dagster_run_id=dagster_run_id)
        _record_merge(conn, run_id, survivor_id, merged_id, merged["email"].lower(), reason)
        _fill_survivor(conn, run_id, survivor, merge_fills(survivor, merged), merged["email"])
        conn.execute(
            "UPDATE contacts SET deleted_at = now(), updated_at = now() WHERE id = %s", (merged_id,)
        )
        record_changes(
            conn,
            run_id,
            [
                FieldChange(
                    merged_id,
                    "(contact)",
                    None,
                    survivor_id,
                    "merged_away",
                    f"merged into {survivor['email']}: {reason}",
                )
            ],
        )
        _move_emails(conn, run_id, survivor_id, merged_id)
        _add_email(conn, run_id, survivor_id, merged["email"], EMAIL_SOURCE)
        _remember(conn, run_id, survivor, merged_id, emails, reason)
        _finish_run(conn, run_id)
    return run_id


def merge_email_into(
    conn: psycopg.Connection,
    email: str,
    survivor_id: str,
    reason: str,
    *,
    dagster_run_id: str | None = None,
) -> int:
    """Merge a bare email (no contact row, e.g. a held Kajabi address) into ``survivor_id``.

    The email becomes one of the survivor's addresses and a ``merged_from`` row, so imports
    link it to the survivor (fill-only) and never create it. Returns the merge's run id.
    """
    key = normalise_email(email)
    survivor_id = _contact_id(survivor_id, "survivor")
    with conn.transaction():
        take_write_lock(conn)
        survivor = _live_contact(_lock_contacts(conn, [survivor_id]), survivor_id, "survivor")
        owners = live_contacts_with_email(conn, key)
        if owners:
            raise MergeRefused(
                f"{key} is already an address of contact {owners[0]}; merge that contact instead — "
                "nothing was written"
            )
        run_id = start_run(conn, "merge", note=reason, dagster_run_id=dagster_run_id)
        _record_merge(conn, run_id, survivor_id, None, key, reason)
        _add_email(conn, run_id, survivor_id, key, "kajabi")
        _remember(conn, run_id, survivor, None, [key], reason)
        _finish_run(conn, run_id)
    return run_id


def _later_merges(conn: psycopg.Connection, run_id: int, contact_ids: list[str]) -> list[int]:
    return [
        row[0]
        for row in conn.execute(
            """SELECT m.merge_run_id FROM kajabi_sync.merges m
               JOIN kajabi_sync.import_runs r ON r.id = m.merge_run_id
               WHERE m.merge_run_id > %s AND r.rolled_back_at IS NULL
                 AND (m.survivor_id = ANY(%s::uuid[]) OR m.merged_contact_id = ANY(%s::uuid[]))
               ORDER BY 1""",
            (run_id, contact_ids, contact_ids),
        )
    ]


def _moves(conn: psycopg.Connection, run_id: int, kind: str) -> list[tuple]:
    return conn.execute(
        """SELECT row_id, from_contact_id::text, was_primary FROM kajabi_sync.merge_moves
           WHERE merge_run_id = %s AND kind = %s""",
        (run_id, kind),
    ).fetchall()


def unmerge(
    conn: psycopg.Connection,
    merge_run_id: int,
    reason: str = "merge undone by the user",
    *,
    dagster_run_id: str | None = None,
) -> int:
    """Undo merge run ``merge_run_id`` exactly; return the unmerge's import_runs id.

    Refuses (``MergeRefused``, nothing written) when the run is not an active merge, when a
    later merge involved either contact (undo that first), when a field the merge filled has
    changed since, or when the merged contact's email now belongs to another live contact.
    A hold approved by this merge goes back to ``held``.
    """
    with conn.transaction():
        take_write_lock(conn)
        survivor_id, merged_id = _active_merge(conn, merge_run_id)
        filled = _undoable_fills(conn, merge_run_id, survivor_id, merged_id)
        run_id = start_run(conn, "unmerge", note=reason, dagster_run_id=dagster_run_id)
        conn.execute(
            "UPDATE kajabi_sync.import_runs SET rolled_back_at = now(), rolled_back_by = %s WHERE id = %s",
            (run_id, merge_run_id),
        )
        _set_fields(conn, survivor_id, {field: old for field, old, _ in filled})
        record_changes(
            conn,
            run_id,
            [
                FieldChange(
                    survivor_id, f, new, old, "unmerge_restore", f"undo of merge run {merge_run_id}"
                )
                for f, old, new in filled
            ],
        )
        if merged_id is not None:
            _revive(
                conn, run_id, merged_id, survivor_id, f"undo of merge run {merge_run_id}: {reason}"
            )
        _undo_moves(conn, merge_run_id)
        conn.execute(
            """UPDATE kajabi_sync.duplicate_holds
               SET status = 'held', decided_at = NULL, decision_run_id = NULL
               WHERE decision_run_id = %s AND status = 'merged'""",
            (merge_run_id,),
        )
        set_run_counts(conn, run_id, {"fields_restored": len(filled), "undid_run": merge_run_id})
    return run_id


def _active_merge(conn: psycopg.Connection, merge_run_id: int) -> tuple[str, str | None]:
    """(survivor id, merged contact id) of a merge run that is recorded and not undone."""
    with conn.cursor(row_factory=dict_row) as cur:
        merge = cur.execute(
            """SELECT r.kind, r.rolled_back_by, m.survivor_id::text AS survivor_id,
                      m.merged_contact_id::text AS merged_id, m.merged_email
               FROM kajabi_sync.import_runs r
               LEFT JOIN kajabi_sync.merges m ON m.merge_run_id = r.id
               WHERE r.id = %s FOR UPDATE OF r""",
            (merge_run_id,),
        ).fetchone()
    if merge is None or merge["kind"] != "merge" or merge["survivor_id"] is None:
        raise MergeRefused(
            f"run {merge_run_id} is not a merge kajabi_sync recorded; nothing was written"
        )
    if merge["rolled_back_by"] is not None:
        raise MergeRefused(
            f"merge run {merge_run_id} was already undone (by run {merge['rolled_back_by']}); "
            "nothing was written"
        )
    return merge["survivor_id"], merge["merged_id"]


def _undoable_fills(
    conn: psycopg.Connection, merge_run_id: int, survivor_id: str, merged_id: str | None
) -> list[tuple[str, Any, Any]]:
    """The merge's fills (field, old, new), once nothing since stands in the way of undoing it."""
    involved = [c for c in (survivor_id, merged_id) if c is not None]
    later = _later_merges(conn, merge_run_id, involved)
    if later:
        raise MergeRefused(
            f"later merge run(s) {', '.join(map(str, later))} involve the same contacts; undo "
            "them first — nothing was written"
        )
    rows = _lock_contacts(conn, involved)
    survivor = _live_contact(rows, survivor_id, "survivor")
    filled = conn.execute(
        """SELECT field, old_value, new_value FROM kajabi_sync.field_changes
           WHERE import_run_id = %s AND decision = 'merge_fill' ORDER BY id""",
        (merge_run_id,),
    ).fetchall()
    moved = [field for field, _, new in filled if survivor[field] != new]
    if moved:
        raise MergeRefused(
            f"the survivor's {', '.join(moved)} changed since the merge; undoing it would "
            "overwrite that — nothing was written"
        )
    if merged_id is not None:
        taken = conn.execute(
            """SELECT 1 FROM contacts c WHERE c.deleted_at IS NULL AND c.id <> %(m)s
                 AND lower(c.email::text) = (SELECT lower(email::text) FROM contacts WHERE id = %(m)s)""",
            {"m": merged_id},
        ).fetchone()
        if taken:
            raise MergeRefused(
                f"a live contact now has the merged contact's email {rows[merged_id]['email']}; "
                "nothing was written"
            )
    return [(field, old, new) for field, old, new in filled]


def _set_fields(conn: psycopg.Connection, contact_id: str, values: Mapping[str, Any]) -> None:
    """One UPDATE of the given fields of a contact (nothing when there are none)."""
    if not values:
        return
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(f)) for f in values)
    conn.execute(
        sql.SQL("UPDATE contacts SET {}, updated_at = now() WHERE id = %s").format(assignments),
        [*values.values(), contact_id],
    )


def _revive(
    conn: psycopg.Connection, run_id: int, merged_id: str, survivor_id: str, why: str
) -> None:
    """The merged-away contact lives again (recorded as ``unmerged``)."""
    conn.execute(
        "UPDATE contacts SET deleted_at = NULL, updated_at = now() WHERE id = %s", (merged_id,)
    )
    record_changes(
        conn, run_id, [FieldChange(merged_id, "(contact)", survivor_id, None, "unmerged", why)]
    )


def _undo_moves(conn: psycopg.Connection, merge_run_id: int) -> None:
    moved = _moves(conn, merge_run_id, "email_moved")
    if moved:
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE contact_emails SET contact_id = %s, is_primary = %s WHERE id = %s",
                [(owner, primary, row_id) for row_id, owner, primary in moved],
            )
    added = [row_id for row_id, _, _ in _moves(conn, merge_run_id, "email_added")]
    conn.execute("DELETE FROM contact_emails WHERE id = ANY(%s::uuid[])", (added,))
    repointed = _moves(conn, merge_run_id, "memory_repointed")
    if repointed:
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE kajabi_sync.merged_from SET surviving_contact_id = %s WHERE id = %s",
                [(owner, int(row_id)) for row_id, owner, _ in repointed],
            )
    remembered = [int(row_id) for row_id, _, _ in _moves(conn, merge_run_id, "memory_added")]
    conn.execute(
        "UPDATE kajabi_sync.merged_from SET undone_at = now() WHERE id = ANY(%s::bigint[])",
        (remembered,),
    )

"""The audit trail of kajabi_sync's writes: undo a whole import, and explain what happened.

A rollback is itself a recorded write (an ``import_runs`` row of kind ``rollback`` and one
``field_changes`` row per restored value), so a contact's history reads top to bottom. It
refuses, writing nothing, whenever undoing would overwrite something that happened since.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from kajabi_sync.db.apply import (
    ADDED_ADDRESS_FIELD,
    PRIMARY_EMAIL_FIELD,
    ApplyRefused,
    _field_value,
    _update_contacts,
    take_write_lock,
)
from kajabi_sync.db.audit_log import record_changes_from, set_run_counts, start_run
from kajabi_sync.db.connection import scalar
from kajabi_sync.fields import CONTACT_FIELDS, SHIPPING_FIELDS

# Columns only other sources write: a contact the import created that has any of them set was
# enriched since, and deleting it would lose that.
ENRICHMENT_COLUMNS: tuple[str, ...] = (
    "zoho_id",
    "paypal_email",
    "paypal_first_name",
    "paypal_last_name",
    "paypal_phone",
    "paypal_business_name",
    *SHIPPING_FIELDS,
    "phone_source",
    "billing_address_source",
    "notes",
)

# Runs ``rollback_run`` undoes: an import, or a review run (the user's decisions).
ROLLBACK_KINDS: tuple[str, ...] = ("import", "review")

# Runs that change contacts on their own account (a rollback only undoes another run).
_LATER_WRITES = "r.id > %(run)s AND r.rolled_back_at IS NULL AND r.kind <> 'rollback'"


class RollbackRefused(ApplyRefused):
    """The rollback did not write anything, for a reason a person can act on."""


@dataclass(frozen=True)
class RollbackResult:
    rollback_run_id: int
    rolled_back_run_id: int
    fields_restored: int
    contacts_deleted: int
    bases_restored: int
    bases_deleted: int
    emails_removed: int = 0


def _run_to_undo(conn: psycopg.Connection, run_id: int) -> dict:
    with conn.cursor(row_factory=dict_row) as cur:
        run = cur.execute(
            """SELECT id, kind, partition_key, file_name, file_sha256, export_date, rolled_back_by
               FROM kajabi_sync.import_runs WHERE id = %s FOR UPDATE""",
            (run_id,),
        ).fetchone()
    if run is None:
        raise RollbackRefused(f"import run {run_id} does not exist; nothing was written")
    if run["kind"] not in ROLLBACK_KINDS:
        undo = " (undo a merge with: kajabi-sync unmerge RUN)" if run["kind"] == "merge" else ""
        raise RollbackRefused(
            f"run {run_id} is a {run['kind']}, not an import or a review run; only those can be "
            f"rolled back{undo}"
        )
    if run["rolled_back_by"] is not None:
        raise RollbackRefused(
            f"import run {run_id} was already rolled back (by run {run['rolled_back_by']}); nothing was written"
        )
    return run


def _stage(conn: psycopg.Connection, run_id: int) -> None:
    """stage_changes in apply's shape, reversed: old_value = the run's new value (what must still
    be there), new_value = the value to restore. stage_created: the contacts the run created.
    stage_emails: the addresses the run added and the primary emails it changed, as recorded.
    A review run's primary-email swaps (field ``(email)``) are undone by the review layer."""
    conn.execute(
        """CREATE TEMP TABLE stage_changes ON COMMIT DROP AS
           SELECT contact_id, field, new_value AS old_value, old_value AS new_value
           FROM kajabi_sync.field_changes
           WHERE import_run_id = %s AND field = ANY(%s)""",
        (run_id, list(CONTACT_FIELDS)),
    )
    conn.execute(
        """CREATE TEMP TABLE stage_emails ON COMMIT DROP AS
           SELECT contact_id, field, old_value, new_value FROM kajabi_sync.field_changes
           WHERE import_run_id = %s AND field IN (%s, %s)""",
        (run_id, ADDED_ADDRESS_FIELD, PRIMARY_EMAIL_FIELD),
    )
    conn.execute(
        """CREATE TEMP TABLE stage_created ON COMMIT DROP AS
           SELECT contact_id, new_value AS email FROM kajabi_sync.field_changes
           WHERE import_run_id = %s AND decision = 'new_contact'""",
        (run_id,),
    )
    conn.execute(
        """SELECT 1 FROM contacts WHERE id IN (SELECT contact_id FROM stage_changes
                                               UNION SELECT contact_id FROM stage_created
                                               UNION SELECT contact_id FROM stage_emails)
           FOR UPDATE"""
    )


def _blockers(conn: psycopg.Connection, run_id: int) -> list[str]:
    """Why undoing the run would overwrite something newer, one line per contact and cause."""
    fields_differ = sql.SQL(" OR ").join(
        sql.SQL("NULLIF(c.{0}, '') IS DISTINCT FROM NULLIF(b.{0}, '')").format(sql.Identifier(f))
        for f in CONTACT_FIELDS
    )
    enriched = sql.SQL(" OR ").join(
        sql.SQL("NULLIF(c.{0}::text, '') IS NOT NULL").format(sql.Identifier(f))
        for f in ENRICHMENT_COLUMNS
    )
    query = sql.SQL(
        """
        SELECT DISTINCT coalesce(c.email::text, s.contact_id::text) || ': ' || s.field
               || ' no longer holds the value this import wrote'
        FROM stage_changes s LEFT JOIN contacts c ON c.id = s.contact_id
        WHERE c.id IS NULL OR c.deleted_at IS NOT NULL OR {field} IS DISTINCT FROM s.old_value
        UNION
        SELECT DISTINCT coalesce(c.email::text, t.contact_id::text) || ': later run ' || r.id
               || ' (' || r.kind || ') changed it too — roll that run back first'
        FROM (SELECT contact_id FROM stage_changes UNION SELECT contact_id FROM stage_created
              UNION SELECT contact_id FROM stage_emails
              UNION SELECT contact_id FROM kajabi_sync.kajabi_base_history WHERE import_run_id = %(run)s
              UNION SELECT contact_id FROM kajabi_sync.kajabi_base WHERE import_run_id = %(run)s) t
        JOIN (SELECT import_run_id, contact_id FROM kajabi_sync.field_changes
              UNION ALL SELECT import_run_id, contact_id FROM kajabi_sync.kajabi_base_history) w
          ON w.contact_id = t.contact_id
        JOIN kajabi_sync.import_runs r ON r.id = w.import_run_id AND {later}
        LEFT JOIN contacts c ON c.id = t.contact_id
        UNION
        SELECT coalesce(c.email::text, n.email) || ': the contact this import created was '
               || CASE WHEN c.id IS NULL THEN 'removed'
                       WHEN c.deleted_at IS NOT NULL THEN 'soft-deleted'
                       ELSE 'edited, enriched or merged' END || ' since'
        FROM stage_created n
        LEFT JOIN contacts c ON c.id = n.contact_id
        LEFT JOIN kajabi_sync.kajabi_base b ON b.contact_id = n.contact_id
        WHERE c.id IS NULL OR c.deleted_at IS NOT NULL OR b.contact_id IS NULL
           OR c.email::text IS DISTINCT FROM n.email OR c.source_system IS DISTINCT FROM 'kajabi'
           OR {fields_differ} OR {enriched}
           OR EXISTS (SELECT 1 FROM contact_emails e WHERE e.contact_id = n.contact_id
                      AND e.email::text IS DISTINCT FROM n.email)
           OR EXISTS (SELECT 1 FROM kajabi_sync.merged_from m
                      WHERE n.contact_id IN (m.surviving_contact_id, m.merged_contact_id))
        UNION
        SELECT DISTINCT coalesce(c.email::text, u.contact_id::text) || ': '
               || CASE WHEN u.field = %(added)s THEN 'the address ' || u.new_value
                       || ' this import added is no longer recorded'
                       ELSE 'the primary email this import set is no longer ' || u.new_value
                  END
        FROM stage_emails u LEFT JOIN contacts c ON c.id = u.contact_id
        WHERE c.id IS NULL OR c.deleted_at IS NOT NULL
           OR (u.field = %(added)s AND NOT EXISTS (
                  SELECT 1 FROM contact_emails e WHERE e.contact_id = u.contact_id
                  AND lower(e.email::text) = lower(u.new_value)))
           OR (u.field = %(primary)s AND lower(c.email::text) <> lower(u.new_value))
        ORDER BY 1
        """
    ).format(
        field=_field_value("c"),
        later=sql.SQL(_LATER_WRITES),
        fields_differ=fields_differ,
        enriched=enriched,
    )
    params = {"run": run_id, "added": ADDED_ADDRESS_FIELD, "primary": PRIMARY_EMAIL_FIELD}
    return [row[0] for row in conn.execute(query, params)]


def _undo_emails(conn: psycopg.Connection) -> int:
    """Remove the addresses the run added and give back the primary emails it changed."""
    params = {"added": ADDED_ADDRESS_FIELD, "primary": PRIMARY_EMAIL_FIELD}
    removed = conn.execute(
        """DELETE FROM contact_emails e USING stage_emails u
           WHERE u.field = %(added)s AND e.contact_id = u.contact_id
             AND lower(e.email::text) = lower(u.new_value)""",
        params,
    ).rowcount
    conn.execute(
        """UPDATE contacts c SET email = u.old_value, updated_at = now() FROM stage_emails u
           WHERE u.field = %(primary)s AND c.id = u.contact_id""",
        params,
    )
    conn.execute(
        """UPDATE contact_emails e SET is_primary = true FROM stage_emails u
           WHERE u.field = %(primary)s AND e.contact_id = u.contact_id
             AND lower(e.email::text) = lower(u.old_value)""",
        params,
    )
    return removed


def _restore_bases(conn: psycopg.Connection, run_id: int) -> tuple[int, int]:
    """Put back the kajabi_base rows the run replaced; drop the ones it created."""
    fields = ["kajabi_email", *CONTACT_FIELDS]
    cols = sql.SQL(", ").join(sql.Identifier(f) for f in fields)
    history_cols = sql.SQL(", ").join(sql.SQL("h.{}").format(sql.Identifier(f)) for f in fields)
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(f)) for f in fields
    )
    # The restored row's writer: the newest earlier import still standing that wrote that base.
    restored = conn.execute(
        sql.SQL(
            """INSERT INTO kajabi_sync.kajabi_base (contact_id, {cols}, import_run_id)
               SELECT h.contact_id, {history_cols},
                      (SELECT max(p.import_run_id) FROM kajabi_sync.kajabi_base_history p
                       JOIN kajabi_sync.import_runs r ON r.id = p.import_run_id
                       WHERE p.contact_id = h.contact_id AND p.import_run_id < h.import_run_id
                         AND r.kind = 'import' AND r.rolled_back_at IS NULL)
               FROM kajabi_sync.kajabi_base_history h
               JOIN contacts c ON c.id = h.contact_id
               WHERE h.import_run_id = %(run)s AND h.existed
               ON CONFLICT (contact_id) DO UPDATE SET {updates},
                   import_run_id = EXCLUDED.import_run_id, updated_at = now()"""
        ).format(cols=cols, history_cols=history_cols, updates=updates),
        {"run": run_id},
    ).rowcount
    # Created: a history row "existed = false", or (the apply writes none for the bases it
    # creates, see apply.write_bases) still written by the run with no history row of it.
    deleted = conn.execute(
        """DELETE FROM kajabi_sync.kajabi_base b
           WHERE b.contact_id IN (SELECT contact_id FROM kajabi_sync.kajabi_base_history
                                  WHERE import_run_id = %(run)s AND NOT existed)
              OR (b.import_run_id = %(run)s
                  AND NOT EXISTS (SELECT 1 FROM kajabi_sync.kajabi_base_history h
                                  WHERE h.import_run_id = %(run)s AND h.contact_id = b.contact_id))""",
        {"run": run_id},
    ).rowcount
    return restored, deleted


def _delete_created(conn: psycopg.Connection) -> int:
    conn.execute(
        "DELETE FROM contact_emails WHERE contact_id IN (SELECT contact_id FROM stage_created)"
    )
    return conn.execute(
        "DELETE FROM contacts WHERE id IN (SELECT contact_id FROM stage_created)"
    ).rowcount


def rollback_run(conn: psycopg.Connection, run_id: int, note: str | None = None) -> RollbackResult:
    """Undo import run ``run_id`` in one transaction; raise RollbackRefused (nothing written)
    when it is not an applied import, or when anything it wrote changed since."""
    with conn.transaction():
        take_write_lock(conn)
        run = _run_to_undo(conn, run_id)
        if run["kind"] == "review":
            # Merges and releases the decisions made; imported here, as the review layer
            # builds on this module.
            from kajabi_sync.review.resolve import undo_review_extras

            try:
                undo_review_extras(conn, run_id)
            except ApplyRefused as refused:
                raise RollbackRefused(
                    f"review run {run_id} cannot be rolled back: {refused}"
                ) from None
        _stage(conn, run_id)
        blockers = _blockers(conn, run_id)
        if blockers:
            shown = "; ".join(blockers[:10]) + (
                f"; and {len(blockers) - 10} more" if len(blockers) > 10 else ""
            )
            raise RollbackRefused(
                f"import run {run_id} cannot be rolled back, {len(blockers)} change(s) since would be lost "
                f"({shown}); nothing was written"
            )
        fields_restored = scalar(conn, "SELECT count(*) FROM stage_changes")
        rollback_id = start_run(
            conn,
            "rollback",
            partition_key=run["partition_key"],
            file_name=run["file_name"],
            file_sha256=run["file_sha256"],
            export_date=run["export_date"],
            note=note,
        )
        reason = f"rollback of import run {run_id}" + (f": {note}" if note else "")
        _update_contacts(conn)
        record_changes_from(
            conn,
            rollback_id,
            """SELECT contact_id, field, old_value, new_value, 'rollback', %(reason)s::text
               FROM stage_changes
               UNION ALL
               SELECT contact_id, '(contact)', email, NULL, 'rollback', %(reason)s::text
               FROM stage_created
               UNION ALL
               SELECT contact_id, field, new_value, old_value, 'rollback', %(reason)s::text
               FROM stage_emails""",
            {"reason": reason},
        )
        emails_removed = _undo_emails(conn)
        bases_restored, bases_deleted = _restore_bases(conn, run_id)
        contacts_deleted = _delete_created(conn)
        result = RollbackResult(
            rollback_run_id=rollback_id,
            rolled_back_run_id=run_id,
            fields_restored=int(fields_restored),
            contacts_deleted=contacts_deleted,
            bases_restored=bases_restored,
            bases_deleted=bases_deleted,
            emails_removed=emails_removed,
        )
        counts = {k: v for k, v in result.__dict__.items() if k != "rollback_run_id"}
        set_run_counts(conn, rollback_id, counts)
        conn.execute(
            "UPDATE kajabi_sync.import_runs SET rolled_back_at = now(), rolled_back_by = %s WHERE id = %s",
            (rollback_id, run_id),
        )
    return result


def _frame(conn: psycopg.Connection, query: str, params: dict) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [c.name for c in cur.description or ()]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def contact_history(conn: psycopg.Connection, email: str) -> pd.DataFrame:
    """Every recorded change of the contact(s) known by ``email`` (primary, other address, or
    created-then-rolled-back), with the run that made it, newest first."""
    return _frame(
        conn,
        """WITH ids AS (
               SELECT id AS contact_id FROM contacts WHERE lower(email::text) = lower(btrim(%(email)s))
               UNION SELECT contact_id FROM contact_emails WHERE lower(email::text) = lower(btrim(%(email)s))
               UNION SELECT contact_id FROM kajabi_sync.field_changes
                     WHERE field = '(contact)'
                       AND lower(btrim(%(email)s)) IN (lower(old_value), lower(new_value)))
           SELECT r.applied_at, r.id AS run_id, r.kind, r.file_name, r.partition_key,
                  r.rolled_back_at, f.contact_id::text AS contact_id, f.field, f.old_value,
                  f.new_value, f.decision, f.reason
           FROM kajabi_sync.field_changes f
           JOIN kajabi_sync.import_runs r ON r.id = f.import_run_id
           WHERE f.contact_id IN (SELECT contact_id FROM ids)
           ORDER BY r.applied_at DESC, r.id DESC, f.id DESC""",
        {"email": email},
    )


def recent_runs(conn: psycopg.Connection, limit: int = 10) -> pd.DataFrame:
    """The newest runs with what they did: fields written, contacts created, rolled back by."""
    return _frame(
        conn,
        """SELECT r.id, r.kind, r.applied_at, r.partition_key, r.file_name, r.export_date,
                  r.export_rows,
                  count(f.id) FILTER (WHERE f.field <> '(contact)') AS fields_changed,
                  count(f.id) FILTER (WHERE f.decision = 'new_contact') AS contacts_created,
                  count(f.id) FILTER (WHERE f.field = '(contact)' AND f.decision = 'rollback')
                      AS contacts_deleted,
                  r.rolled_back_at, r.rolled_back_by, r.note, r.counts
           FROM (SELECT * FROM kajabi_sync.import_runs ORDER BY id DESC LIMIT %(limit)s) r
           LEFT JOIN kajabi_sync.field_changes f ON f.import_run_id = r.id
           GROUP BY r.id, r.kind, r.applied_at, r.partition_key, r.file_name, r.export_date,
                    r.export_rows, r.rolled_back_at, r.rolled_back_by, r.note, r.counts
           ORDER BY r.id DESC""",
        {"limit": limit},
    )

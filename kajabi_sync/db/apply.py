"""Applying an impact plan: exactly the plan, in one transaction, set-based, audited.

COPY the plan into temporary staging tables, check optimistically that every field to be
written still holds the value the plan saw, then one UPDATE ... FROM, one INSERT ... SELECT,
and the audit rows. Any failure (or a kill) rolls the whole transaction back: the database is
as it was.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd
import psycopg
from psycopg import sql

from kajabi_sync.db.audit_log import record_changes_from, start_run
from kajabi_sync.db.connection import scalar
from kajabi_sync.db.snapshot import bases_version
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.masking import mask_email
from kajabi_sync.reports import text_csv_body
from kajabi_sync.survivorship.plan import ImpactPlan
from kajabi_sync.survivorship.policy import PROVENANCE_COLUMNS

if TYPE_CHECKING:
    from kajabi_sync.kajabi.reader import ExportFile, RawExport

APPLY_LOCK_KEY = 7_402_512  # one kajabi_sync write at a time, across processes and machines

# The audit of a new email (kajabi_sync.field_changes.field): ``contact_emails`` for an address
# added to a contact (old_value NULL, new_value the address), ``email`` for a change of the
# primary email (old_value the previous primary). The rollback undoes exactly these.
ADDED_ADDRESS_FIELD = "contact_emails"
PRIMARY_EMAIL_FIELD = "email"
# contact_emails.source of the addresses an import records; merge memory never reads them as
# merged-away addresses (they belong to the contact itself).
EMAIL_CHANGE_SOURCE = "kajabi_email_change"


class ApplyRefused(RuntimeError):
    """The apply did not write anything, for a reason a person can act on."""


class PlanOutdated(ApplyRefused):
    """The database moved between the plan and the apply."""


class ApplyInProgress(ApplyRefused):
    """Another kajabi_sync write holds the lock."""


class ApplyInterrupted(ApplyRefused):
    """The connection failed before the commit: PostgreSQL rolled the transaction back."""


class ApplyAbandoned(ApplyRefused):
    """The process that launched the apply died before the commit: nothing was written."""


def abandon_if_orphaned() -> Callable[[], None]:
    """A check for ``apply_plan(before_commit=...)``: raises ApplyAbandoned when the process
    that started this one has died since (this process was re-parented), so a writer whose
    run was killed never commits behind the operator's back.

    A Dagster step runs in a child of the run's process (or of its forkserver, which exits with
    it): after ``kill -9`` of the run, the step used to go on and commit an import that the
    operator believed had died with it."""
    parent = os.getppid()

    def check() -> None:
        if os.getppid() != parent:
            raise ApplyAbandoned(
                f"the process that started this import (pid {parent}) has died, so this run "
                "was stopped: the apply was abandoned before its commit and nothing was "
                "written — run the week again"
            )

    return check


class CommitOutcomeUnknown(RuntimeError):
    """The connection failed during the COMMIT itself: the import may or may not be in."""


@dataclass(frozen=True)
class ImportRecord:
    file_name: str
    file_sha256: str
    export_rows: int
    export_date: date | None = None
    partition_key: str | None = None
    dagster_run_id: str | None = None
    overrides: dict = field(default_factory=dict)
    # The policy's form handles the file had (kajabi.columns.POLICY_HANDLES); None: unknown.
    handles: tuple[str, ...] | None = None

    @classmethod
    def of_export(
        cls,
        source: ExportFile | RawExport,
        *,
        partition_key: str | None = None,
        dagster_run_id: str | None = None,
        overrides: dict | None = None,
    ) -> ImportRecord:
        """The record of an import of the export file ``source`` (``ValidatedExport.source``):
        its name, SHA-256, rows as read, date and form handles, so every caller records a file
        the same way."""
        return cls(
            file_name=source.path.name,
            file_sha256=source.sha256,
            export_rows=source.rows,
            export_date=source.export_date,
            partition_key=partition_key,
            dagster_run_id=dagster_run_id,
            overrides={} if overrides is None else overrides,
            handles=source.handles,
        )


@dataclass(frozen=True)
class ApplyResult:
    import_run_id: int
    fields_written: int
    contacts_created: int
    bases_changed: int
    counts: dict


def take_write_lock(conn: psycopg.Connection) -> None:
    """Refuse at once, clearly, when another apply/merge/rollback is writing."""
    locked = scalar(conn, "SELECT pg_try_advisory_xact_lock(%s)", (APPLY_LOCK_KEY,))
    if not locked:
        raise ApplyInProgress(
            "another kajabi_sync write (import, merge or rollback) is running on this database; "
            "nothing was written — run again when it has finished"
        )


def copy_frame(conn: psycopg.Connection, table: str, frame: pd.DataFrame) -> None:
    """COPY a DataFrame into a (temporary) table whose columns are named like the frame's."""
    body: memoryview | str | None = text_csv_body(frame)  # Arrow-built, as pandas writes it
    if body is None:
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False)
        body = buffer.getvalue()
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    with conn.cursor() as cur:
        with cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
                sql.Identifier(table), columns
            )
        ) as copy:
            copy.write(body)


def _text_columns(names: Iterable[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(n)) for n in names)


CHANGE_STAGE_COLUMNS: tuple[str, ...] = (
    "contact_id",
    "field",
    "old_value",
    "new_value",
    "decision",
    "reason",
)


def stage_field_changes(conn: psycopg.Connection, writes: pd.DataFrame) -> None:
    """``stage_changes``: the field writes of a run (``CHANGE_STAGE_COLUMNS``, in that order),
    read by ``write_staged_changes``."""
    conn.execute(
        "CREATE TEMP TABLE stage_changes (contact_id uuid, field text, old_value text, "
        "new_value text, decision text, reason text) ON COMMIT DROP"
    )
    copy_frame(conn, "stage_changes", writes.set_axis(list(CHANGE_STAGE_COLUMNS), axis=1))


def write_staged_changes(conn: psycopg.Connection, run_id: int) -> None:
    """Write ``stage_changes`` into contacts (one UPDATE) and into the audit of run ``run_id``."""
    _update_contacts(conn)
    record_changes_from(
        conn,
        run_id,
        "SELECT contact_id, field, old_value, new_value, decision, reason FROM stage_changes",
    )


def stage_bases(conn: psycopg.Connection, bases: pd.DataFrame) -> None:
    """``stage_base``: whole base rows (contact_id, kajabi_email, CONTACT_FIELDS) that
    ``write_bases`` makes the three-way base."""
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE stage_base (contact_id uuid, kajabi_email text, {}) ON COMMIT DROP"
        ).format(_text_columns(CONTACT_FIELDS))
    )
    copy_frame(conn, "stage_base", bases[["contact_id", "kajabi_email", *CONTACT_FIELDS]])


def _stage(conn: psycopg.Connection, plan: ImpactPlan) -> None:
    stage_field_changes(
        conn,
        plan.writes()[["contact_id", "field", "db_value", "kajabi_value", "decision", "reason"]],
    )
    conn.execute(
        sql.SQL("CREATE TEMP TABLE stage_provenance (id uuid, {}) ON COMMIT DROP").format(
            _text_columns(PROVENANCE_COLUMNS)
        )
    )
    copy_frame(conn, "stage_provenance", plan.provenance)
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE stage_new (contact_id uuid, email text, {}) ON COMMIT DROP"
        ).format(_text_columns(CONTACT_FIELDS))
    )
    new = plan.new_contacts
    email = new["email_raw"].astype("string").str.strip() if "email_raw" in new else new["email"]
    copy_frame(
        conn,
        "stage_new",
        new[["contact_id", *CONTACT_FIELDS]].assign(email=email)[
            ["contact_id", "email", *CONTACT_FIELDS]
        ],
    )
    emails = plan.email_writes()[["contact_id", "db_value", "kajabi_value", "decision", "reason"]]
    conn.execute(
        "CREATE TEMP TABLE stage_emails (contact_id uuid, old_email text, new_email text, "
        "decision text, reason text) ON COMMIT DROP"
    )
    copy_frame(
        conn,
        "stage_emails",
        emails.set_axis(["contact_id", "old_email", "new_email", "decision", "reason"], axis=1),
    )
    stage_bases(conn, plan.new_bases)


def _field_value(alias: str) -> sql.Composable:
    """CASE s.field WHEN 'first_name' THEN c.first_name ... END (NULLIF: '' counts as empty)."""
    whens = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN NULLIF({}.{}, '')").format(
            sql.Literal(f), sql.Identifier(alias), sql.Identifier(f)
        )
        for f in CONTACT_FIELDS
    )
    return sql.SQL("CASE s.field {} END").format(whens)


def _moved_contacts(conn: psycopg.Connection) -> list[str]:
    """Contacts whose planned fields or provenance changed since the plan (locked FOR UPDATE),
    named by id and masked email: the message reaches the Dagster UI."""
    conn.execute(
        """SELECT 1 FROM contacts WHERE id IN (SELECT contact_id FROM stage_changes
                                               UNION SELECT contact_id FROM stage_emails)
           FOR UPDATE"""
    )
    provenance_moved = sql.SQL(" OR ").join(
        sql.SQL("NULLIF(c.{0}::text, '') IS DISTINCT FROM p.{0}").format(sql.Identifier(col))
        for col in PROVENANCE_COLUMNS
    )
    query = sql.SQL(
        """SELECT DISTINCT c.id::text, c.email::text FROM stage_changes s
               JOIN contacts c ON c.id = s.contact_id
           WHERE c.deleted_at IS NOT NULL OR {field} IS DISTINCT FROM s.old_value
           UNION
           SELECT c.id::text, c.email::text FROM stage_provenance p JOIN contacts c ON c.id = p.id
           WHERE {provenance}
           UNION
           SELECT c.id::text, c.email::text FROM stage_emails s JOIN contacts c ON c.id = s.contact_id
           WHERE c.deleted_at IS NOT NULL OR lower(c.email::text) <> lower(s.old_email)
              OR EXISTS (SELECT 1 FROM contact_emails e WHERE e.contact_id = s.contact_id
                         AND lower(e.email::text) = lower(s.new_email))
              OR (s.decision = 'email_promoted' AND EXISTS (
                     SELECT 1 FROM contacts o WHERE o.deleted_at IS NULL
                     AND lower(o.email::text) = lower(s.new_email)))
           UNION
           SELECT DISTINCT s.contact_id::text, NULL FROM
               (SELECT contact_id FROM stage_changes UNION SELECT contact_id FROM stage_emails) s
           WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = s.contact_id)
           ORDER BY 2, 1"""
    ).format(field=_field_value("c"), provenance=provenance_moved)
    rows = conn.execute(query).fetchall()
    masked = mask_email(pd.Series([email for _, email in rows], dtype="string"))
    return [
        f"{email} (contact {contact_id})" if pd.notna(email) else f"contact {contact_id} (deleted)"
        for (contact_id, _), email in zip(rows, masked, strict=False)
    ]


def _update_contacts(conn: psycopg.Connection) -> int:
    pivot = sql.SQL(", ").join(
        sql.SQL(
            "bool_or(field = {0}) AS {1}, max(new_value) FILTER (WHERE field = {0}) AS {2}"
        ).format(sql.Literal(f), sql.Identifier(f"has_{f}"), sql.Identifier(f"new_{f}"))
        for f in CONTACT_FIELDS
    )
    assignments = sql.SQL(", ").join(
        sql.SQL("{0} = CASE WHEN p.{1} THEN p.{2} ELSE c.{0} END").format(
            sql.Identifier(f), sql.Identifier(f"has_{f}"), sql.Identifier(f"new_{f}")
        )
        for f in CONTACT_FIELDS
    )
    query = sql.SQL(
        """UPDATE contacts c SET {assignments}, updated_at = now()
           FROM (SELECT contact_id, {pivot} FROM stage_changes GROUP BY contact_id) p
           WHERE c.id = p.contact_id"""
    ).format(assignments=assignments, pivot=pivot)
    return conn.execute(query).rowcount


def _insert_new_contacts(conn: psycopg.Connection, run_id: int) -> int:
    columns = sql.SQL(", ").join(sql.Identifier(f) for f in CONTACT_FIELDS)
    try:
        with conn.transaction():  # a savepoint, so the message can be made clear
            created = conn.execute(
                sql.SQL(
                    """INSERT INTO contacts (id, email, {columns}, source_system)
                       SELECT contact_id, email, {columns}, 'kajabi' FROM stage_new"""
                ).format(columns=columns)
            ).rowcount
    except psycopg.errors.UniqueViolation:
        raise PlanOutdated(
            "a contact with one of the new emails was created since the plan; nothing was written — "
            "run the plan again"
        ) from None
    conn.execute(
        """INSERT INTO contact_emails (contact_id, email, is_primary, source)
           SELECT contact_id, email, true, 'kajabi' FROM stage_new"""
    )
    record_changes_from(
        conn,
        run_id,
        """SELECT contact_id, '(contact)', NULL::text, email, 'new_contact',
                  'new in Kajabi: no live contact, other address or Kajabi ID matched'
           FROM stage_new""",
    )
    return created


def _record_emails(conn: psycopg.Connection, run_id: int) -> int:
    """Record the new emails: each as an address of its contact; a promoted one also becomes
    the primary email, the previous primary staying as an address. Audited row by row of
    ``contact_emails`` added and primary email changed, so a rollback undoes exactly this."""
    params = {"source": EMAIL_CHANGE_SOURCE}
    conn.execute(
        """CREATE TEMP TABLE stage_added ON COMMIT DROP AS
           SELECT contact_id, new_email AS email, decision = 'email_promoted' AS is_primary,
                  decision, reason FROM stage_emails
           UNION ALL  -- a promoted contact keeps its previous primary email as an address
           SELECT s.contact_id, c.email::text, false, s.decision,
                  'the previous primary email, kept as a secondary address'
           FROM stage_emails s JOIN contacts c ON c.id = s.contact_id
           WHERE s.decision = 'email_promoted' AND NOT EXISTS (
               SELECT 1 FROM contact_emails e
               WHERE e.contact_id = s.contact_id AND lower(e.email::text) = lower(c.email::text))"""
    )
    conn.execute(
        """UPDATE contact_emails e SET is_primary = false FROM stage_emails s
           WHERE s.decision = 'email_promoted' AND e.contact_id = s.contact_id AND e.is_primary"""
    )
    added = conn.execute(
        """INSERT INTO contact_emails (contact_id, email, is_primary, source)
           SELECT contact_id, email, is_primary, %(source)s FROM stage_added""",
        params,
    ).rowcount
    conn.execute(
        """UPDATE contacts c SET email = s.new_email, updated_at = now() FROM stage_emails s
           WHERE s.decision = 'email_promoted' AND c.id = s.contact_id"""
    )
    record_changes_from(
        conn,
        run_id,
        """SELECT contact_id, %(added)s::text, NULL::text, email, decision, reason FROM stage_added
           UNION ALL
           SELECT contact_id, %(primary)s::text, old_email, new_email, decision, reason
           FROM stage_emails WHERE decision = 'email_promoted'""",
        {"added": ADDED_ADDRESS_FIELD, "primary": PRIMARY_EMAIL_FIELD},
    )
    return added


def write_bases(conn: psycopg.Connection, run_id: int) -> int:
    """Upsert the bases that changed, keeping the replaced rows for a rollback.

    A base the run creates gets no history row: the rollback knows it as a ``kajabi_base`` row
    whose ``import_run_id`` is the run with no history row of that run (a first import would
    otherwise write a history row for nearly every contact). Once a later run replaces such a base, its
    writer would no longer be known, so that run first records the writer's creation
    (``existed = false``, as the writer itself used to): rollbacks read the same history."""
    fields = ["kajabi_email", *CONTACT_FIELDS]
    cols = sql.SQL(", ").join(sql.Identifier(f) for f in fields)
    base_cols = sql.SQL(", ").join(sql.SQL("b.{}").format(sql.Identifier(f)) for f in fields)
    stage_cols = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(f)) for f in fields)
    replaced = sql.SQL(
        """FROM stage_base s JOIN kajabi_sync.kajabi_base b ON b.contact_id = s.contact_id
           WHERE ROW({base_cols}) IS DISTINCT FROM ROW({stage_cols})"""
    ).format(base_cols=base_cols, stage_cols=stage_cols)
    conn.execute(
        sql.SQL(
            """INSERT INTO kajabi_sync.kajabi_base_history (import_run_id, contact_id, existed)
               SELECT b.import_run_id, b.contact_id, false {replaced} AND b.import_run_id IS NOT NULL
               ON CONFLICT (import_run_id, contact_id) DO NOTHING"""
        ).format(replaced=replaced)
    )
    conn.execute(
        sql.SQL(
            """INSERT INTO kajabi_sync.kajabi_base_history (import_run_id, contact_id, existed, {cols})
               SELECT %s, s.contact_id, true, {base_cols} {replaced}"""
        ).format(cols=cols, base_cols=base_cols, replaced=replaced),
        (run_id,),
    )
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(f)) for f in fields
    )
    # In key order: the primary key and the contacts lookups of the foreign key walk their
    # indexes in order instead of at random.
    return conn.execute(
        sql.SQL(
            """INSERT INTO kajabi_sync.kajabi_base (contact_id, {cols}, import_run_id)
               SELECT s.contact_id, {stage_cols}, %s
               FROM stage_base s LEFT JOIN kajabi_sync.kajabi_base b ON b.contact_id = s.contact_id
               WHERE b.contact_id IS NULL OR ROW({base_cols}) IS DISTINCT FROM ROW({stage_cols})
               ORDER BY s.contact_id
               ON CONFLICT (contact_id) DO UPDATE SET {updates},
                   import_run_id = EXCLUDED.import_run_id, updated_at = now()"""
        ).format(cols=cols, stage_cols=stage_cols, base_cols=base_cols, updates=updates),
        (run_id,),
    ).rowcount


def apply_plan(
    conn: psycopg.Connection,
    plan: ImpactPlan,
    record: ImportRecord,
    *,
    before_commit: Callable[[ApplyResult], None] | None = None,
) -> ApplyResult:
    """Apply ``plan`` in one transaction, committed here; raise ApplyRefused (nothing written)
    when unsafe.

    ``before_commit`` runs inside the transaction with the result, after every write and just
    before the commit: what it writes commits with the import, and an exception from it rolls
    everything back (see ``abandon_if_orphaned``).

    ``conn`` must be idle: inside a transaction the caller opened, this transaction would only be
    a savepoint, the real COMMIT would come later, and neither ``before_commit`` nor
    ``CommitOutcomeUnknown`` would be at it."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError(
            "apply_plan needs a connection with no open transaction (commit or roll back first): "
            "the import's commit must be its own"
        )
    committing = False
    try:
        with conn.transaction():
            result = _apply_in_transaction(conn, plan, record)
            if before_commit is not None:
                before_commit(result)
            committing = True
    except psycopg.OperationalError as exc:
        # A dropped connection, a killed backend, a server shutdown: the driver's message alone
        # does not say whether anything was written, which is what the operator must know.
        if committing:
            raise CommitOutcomeUnknown(
                f"the connection to the contacts database failed while committing ({exc}); the "
                "import may or may not have been applied — run it again: the new plan reads what "
                "is in the database and writes only what is still missing"
            ) from exc
        raise ApplyInterrupted(
            f"the connection to the contacts database failed during the apply ({exc}); PostgreSQL "
            "rolled the transaction back, nothing was written — run again"
        ) from exc
    return result


def _apply_in_transaction(
    conn: psycopg.Connection, plan: ImpactPlan, record: ImportRecord
) -> ApplyResult:
    take_write_lock(conn)
    _stage(conn, plan)
    moved = _moved_contacts(conn)
    if moved:
        shown = ", ".join(moved[:10]) + (f" and {len(moved) - 10} more" if len(moved) > 10 else "")
        raise PlanOutdated(
            f"{len(moved)} contact(s) changed in the database since the plan was made ({shown}); "
            "nothing was written — run the plan again"
        )
    counts: dict[str, Any] = {
        "decisions": {k: int(v) for k, v in plan.changes["decision"].value_counts().items()},
        "fields_written": int(len(plan.writes())),
        "emails_recorded": int(len(plan.email_writes())),
        "contacts_created": int(len(plan.new_contacts)),
        "held_for_review": int(len(plan.held)),
        # The contacts present in both systems: what divergence is counted over.
        "matched_contacts": int(plan.matched_contacts),
        # Distinct usable contacts (rows after quarantine and repeated emails): the baseline of
        # the next week's truncated_export, which a file pasted twice must not double.
        "distinct_contacts": int(plan.export_rows),
    }
    if record.handles is not None:
        counts["handles"] = list(record.handles)
    run_id = start_run(
        conn,
        "import",
        partition_key=record.partition_key,
        dagster_run_id=record.dagster_run_id,
        file_name=record.file_name,
        file_sha256=record.file_sha256,
        export_date=record.export_date,
        export_rows=record.export_rows,
        counts=counts,
        overrides=record.overrides,
    )
    write_staged_changes(conn, run_id)
    _record_emails(conn, run_id)
    created = _insert_new_contacts(conn, run_id)
    # Last of the refusals: the others name what moved more precisely.
    if plan.bases_version is not None and bases_version(conn) != plan.bases_version:
        raise PlanOutdated(
            "Kajabi's values as last imported (the bases) changed in the database since the plan "
            "was made (another import, a rollback or a review decision in between); nothing was "
            "written — run the week's job again (a retry of this step alone reuses the same plan)"
        )
    bases_changed = write_bases(conn, run_id)
    return ApplyResult(run_id, counts["fields_written"], created, bases_changed, counts)

"""Reading the database into DataFrames in bulk (COPY ... TO STDOUT), as the plan sees it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql
from psycopg.rows import dict_row

from kajabi_sync.db.connection import jit_off, scalar, stable_row_order
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.frames import ARROW_TEXT
from kajabi_sync.normalize import nfc
from kajabi_sync.survivorship.policy import MANUAL_FIELDS_COLUMN, PROVENANCE_COLUMNS

_MANUAL = sql.Identifier("manual")  # the alias of manual_fields_join's aggregate
# The column manual_fields_join adds, under the name the policy's manual protection reads.
MANUAL_FIELDS = sql.SQL("{}.{} AS {}").format(
    _MANUAL, sql.Identifier(MANUAL_FIELDS_COLUMN), sql.Identifier(MANUAL_FIELDS_COLUMN)
)


def manual_fields_join(table: str = "contacts") -> sql.Composable:
    """A LEFT JOIN giving each contact of ``table`` (a name or alias) the fields set by hand in
    a review run that stands (``,first_name,city,``; NULL when none): select ``MANUAL_FIELDS``.

    One aggregate over the hand-set fields, joined once: as a subquery in the select list it
    would run once per contact read."""
    return sql.SQL(
        """LEFT JOIN (
               SELECT m.contact_id, ',' || string_agg(DISTINCT m.field, ',') || ',' AS {column}
               FROM kajabi_sync.manual_fields m
               JOIN kajabi_sync.import_runs r ON r.id = m.review_run_id
               WHERE r.rolled_back_at IS NULL
               GROUP BY m.contact_id
           ) {alias} ON {alias}.contact_id = {table}.id"""
    ).format(
        column=sql.Identifier(MANUAL_FIELDS_COLUMN),
        alias=_MANUAL,
        table=sql.Identifier(table),
    )


# Printable ASCII without spaces: SQL's lower() and the plan's email key agree on such text.
PLAIN_EMAIL = "^[!-~]+$"
# ... and without a capital letter: lower() returns such text as it is, in every collation.
PLAIN_LOWER_EMAIL = r"^[!-@\[-~]+$"

# Columns the plan and the naive-import comparison read from contacts.
CONTACT_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(
        ("id", "email", *CONTACT_FIELDS, *PROVENANCE_COLUMNS, "zoho_id", "shipping_address_line_1")
    )
)


def read_query(
    conn: psycopg.Connection, query: sql.Composable | str, *, arrow: bool = False
) -> pd.DataFrame:
    """Run a SELECT through COPY and read it as text columns (NULL and '' both become NA).

    ``arrow``: Arrow-backed text (``string[pyarrow]``) instead of Python strings, for readers
    that work in Arrow anyway (they would only convert the Python strings back)."""
    if isinstance(query, str):
        query = sql.SQL(query)
    buffer = io.BytesIO()
    with conn.cursor() as cur:
        with cur.copy(
            sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true)").format(query)
        ) as copy:
            for block in copy:
                buffer.write(block)
    return _text_frame(buffer.getvalue(), arrow)


def _text_frame(data: bytes, arrow: bool = False) -> pd.DataFrame:
    """COPY's CSV as text columns (NULL and '' both NA), as ``pd.read_csv(dtype="string")`` reads
    it but parsed by pyarrow: pandas' parser was half of the snapshot's time."""
    header = next(csv.reader(io.StringIO(data.split(b"\n", 1)[0].decode("utf-8"))))
    table = pa_csv.read_csv(
        io.BytesIO(data),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    text = ARROW_TEXT if arrow else pd.StringDtype()
    return table.rename_columns(_unique_names(header)).to_pandas(
        types_mapper={pa.string(): text}.get
    )


def _unique_names(header: list[str]) -> list[str]:
    """A repeated column name gets ``.1``, ``.2``, ... as pandas' CSV reader names plain repeats
    (a query may select a column twice, e.g. ``load_contact``'s row)."""
    taken: set[str] = set()
    names = []
    for name in header:
        unique, repeat = name, 0
        while unique in taken:
            repeat += 1
            unique = f"{name}.{repeat}"
        taken.add(unique)
        names.append(unique)
    return names


def load_live_contacts(conn: psycopg.Connection, *, arrow: bool = False) -> pd.DataFrame:
    """Every live contact's id, email and Kajabi fields, as the database holds them now."""
    fields = sql.SQL(", ").join(sql.Identifier(f) for f in CONTACT_FIELDS)
    query = sql.SQL(
        "SELECT id::text AS id, email::text AS email, {} FROM contacts WHERE deleted_at IS NULL"
    ).format(fields)
    return read_query(conn, query, arrow=arrow)


@dataclass(frozen=True)
class DatabaseSnapshot:
    """What the plan needs from the database, read in one repeatable-read transaction."""

    contacts: pd.DataFrame  # live contacts, CONTACT_COLUMNS, indexed by nothing
    # email_key, contact_id: the other addresses of live contacts (not copies of their own
    # primary email, see read_snapshot)
    emails: pd.DataFrame
    deleted: pd.DataFrame  # email_key (any of their emails), kajabi_id of soft-deleted contacts
    merged: pd.DataFrame  # email_key, contact_id from kajabi_sync.merged_from (active)
    # kajabi_base rows: contact_id, kajabi_email, CONTACT_FIELDS, stored_blank (see read_snapshot)
    bases: pd.DataFrame
    last_import: dict | None  # the newest applied, not rolled back, import run
    bases_version: str  # ``bases_version`` when the bases were read


def load_snapshot(conn: psycopg.Connection) -> DatabaseSnapshot:
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        jit_off(conn)
        stable_row_order(conn)
        return read_snapshot(conn)


def read_snapshot(
    conn: psycopg.Connection,
    left_out: str | None = None,
    *,
    contacts: pd.DataFrame | None = None,
) -> DatabaseSnapshot:
    """The snapshot, read in the caller's transaction (repeatable read, for one consistent view).

    ``left_out``: a (temporary) table whose ``contact_id`` column names contacts the snapshot
    leaves out, with their bases, other addresses and merged-away emails (``db.steady``: the
    contacts of rows proven unchanged, which no other row reaches).
    ``contacts``: the snapshot's contacts when the caller has read them already (in the same
    transaction, as ``contacts_query(left_out)`` reads them), so they are not read twice."""
    # Every frame of the snapshot is Arrow-backed text (frames.ARROW_TEXT), as the export is:
    # no whole-snapshot frame holds Python-object strings.
    if contacts is None:
        contacts = read_live_contacts(conn, left_out)
    emails = read_query(
        conn,
        sql.SQL(
            """SELECT lower(e.email::text) AS email_key, e.contact_id::text AS contact_id
               FROM contact_emails e JOIN contacts c ON c.id = e.contact_id
               WHERE c.deleted_at IS NULL AND {}
                 -- A copy of its own contact's primary email (most rows) is left out: a row
                 -- with that email matches the contact by its primary email first, whatever
                 -- other addresses say (survivorship.match). Only when the copy's key here is
                 -- exactly the plan's key of the primary email: plain ASCII, whose plan key
                 -- is its ASCII lower case, which the C collation's lower() gives whatever the
                 -- database's locale (a Turkish one lowers I to a dotless i). A byte-equal
                 -- copy of plain text without capitals is such a copy, found without lower().
                 AND NOT ((e.email::text = c.email::text AND c.email::text ~ {plain_lower})
                          OR (c.email::text ~ {plain}
                              AND lower(e.email::text) = lower(c.email::text COLLATE "C")))"""
        ).format(
            _kept("e.contact_id", left_out),
            plain=sql.Literal(PLAIN_EMAIL),
            plain_lower=sql.Literal(PLAIN_LOWER_EMAIL),
        ),
        arrow=True,
    )
    deleted = read_query(
        conn,
        """SELECT lower(email::text) AS email_key, kajabi_id FROM contacts
           WHERE deleted_at IS NOT NULL
           UNION ALL  -- the other addresses of a soft-deleted contact are its own too
           SELECT lower(e.email::text), NULL FROM contact_emails e
           JOIN contacts c ON c.id = e.contact_id WHERE c.deleted_at IS NOT NULL""",
        arrow=True,
    )
    merged = read_query(
        conn,
        sql.SQL(
            """SELECT m.merged_email AS email_key, m.surviving_contact_id::text AS contact_id
               FROM kajabi_sync.merged_from m JOIN contacts c ON c.id = m.surviving_contact_id
               WHERE m.undone_at IS NULL AND c.deleted_at IS NULL AND {}"""
        ).format(_kept("m.surviving_contact_id", left_out)),
        arrow=True,
    )
    base_columns = sql.SQL(", ").join(sql.Identifier(c) for c in CONTACT_FIELDS)
    # stored_blank is 't' for a base holding an empty string somewhere: read as NA here, that
    # base is not stored as it reads, and only SQL can tell whether a write would change it.
    bases = read_query(
        conn,
        sql.SQL(
            "SELECT contact_id::text AS contact_id, kajabi_email, {}, "
            "CASE WHEN '' = ANY(ARRAY[kajabi_email, {}]) THEN 't' END AS stored_blank "
            "FROM kajabi_sync.kajabi_base b WHERE {}"
        ).format(base_columns, base_columns, _kept("b.contact_id", left_out)),
        arrow=True,
    )
    last_import = last_applied_import(conn)
    version = bases_version(conn)
    # SQL's lower() is citext's fold; the export's keys are also in NFC (normalize.email_key).
    for frame in (emails, deleted, merged):
        frame["email_key"] = nfc(frame["email_key"])
    return DatabaseSnapshot(contacts, emails, deleted, merged, bases, last_import, version)


def bases_version(conn: psycopg.Connection) -> str:
    """A fingerprint of every stored base (its row hash and the run that wrote it), which any
    insert, update or delete of one changes: the apply compares it with the plan's, since the
    plan leaves out the bases it found stored as they would be written."""
    return str(
        scalar(
            conn,
            """SELECT count(*) || ':' || coalesce(sum(hashtextextended(
                          contact_id::text || ':' || coalesce(row_hash, '') || ':'
                          || coalesce(import_run_id::text, ''), 0)::numeric), 0)
               FROM kajabi_sync.kajabi_base""",
        )
    )


def read_live_contacts(conn: psycopg.Connection, left_out: str | None = None) -> pd.DataFrame:
    """The snapshot's live contacts (``contacts_query``), as Arrow-backed text."""
    return read_query(conn, contacts_query(left_out), arrow=True)


def contacts_query(left_out: str | None = None) -> sql.Composable:
    """The snapshot's live contacts (``CONTACT_COLUMNS`` and the manual fields), but those
    ``left_out`` lists (see ``read_snapshot``)."""
    columns = sql.SQL(", ").join(
        sql.SQL("contacts.{}").format(sql.Identifier(c)) for c in CONTACT_COLUMNS
    )
    return sql.SQL(
        "SELECT {}, {} FROM contacts {} WHERE contacts.deleted_at IS NULL AND {}"
    ).format(columns, MANUAL_FIELDS, manual_fields_join(), _kept("contacts.id", left_out))


def _kept(column: str, left_out: str | None) -> sql.Composable:
    """A condition true for the contacts ``column`` names that ``left_out`` does not list."""
    if left_out is None:
        return sql.SQL("true")
    return sql.SQL("NOT EXISTS (SELECT 1 FROM {} l WHERE l.contact_id = {})").format(
        sql.Identifier(left_out), sql.SQL(column)
    )


def last_applied_import(conn: psycopg.Connection) -> dict | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT id, partition_key, file_name, file_sha256, export_date, export_rows, applied_at,
                      (counts->>'distinct_contacts')::int AS distinct_contacts,
                      counts->'handles' AS handles
               FROM kajabi_sync.import_runs
               WHERE kind = 'import' AND rolled_back_at IS NULL
               ORDER BY export_date DESC NULLS LAST, id DESC LIMIT 1"""
        ).fetchone()


@dataclass(frozen=True)
class ContactRecord:
    """One contact as the plan sees it, with what Kajabi last sent and its other addresses."""

    contact: (
        pd.DataFrame
    )  # at most one row: CONTACT_COLUMNS, manual fields, source_system, deleted_at
    bases: pd.DataFrame  # its kajabi_base row (CONTACT_FIELDS), if Kajabi ever sent it
    emails: pd.DataFrame  # email, source: its addresses in contact_emails, by email


def load_contact(conn: psycopg.Connection, email: str) -> ContactRecord:
    """The contact whose primary email or other address is ``email`` (a live one before a
    soft-deleted one); empty frames when none has it."""
    columns = sql.SQL(", ").join(sql.SQL("c.{}").format(sql.Identifier(c)) for c in CONTACT_COLUMNS)
    key = sql.Literal(email.strip().lower())
    contact = read_query(
        conn,
        sql.SQL(
            """SELECT {columns}, {manual}, c.source_system, c.deleted_at::text AS deleted_at
           FROM contacts c {manual_join}
           WHERE lower(c.email::text) = {key}
              OR c.id IN (SELECT contact_id FROM contact_emails WHERE lower(email::text) = {key})
           ORDER BY c.deleted_at NULLS FIRST LIMIT 1"""
        ).format(
            columns=columns, manual=MANUAL_FIELDS, manual_join=manual_fields_join("c"), key=key
        ),
    )
    if contact.empty:
        return ContactRecord(contact, pd.DataFrame(), pd.DataFrame())
    contact_id = sql.Literal(contact["id"].iloc[0])
    bases = read_query(
        conn,
        sql.SQL("SELECT {} FROM kajabi_sync.kajabi_base WHERE contact_id = {}::uuid").format(
            sql.SQL(", ").join(map(sql.Identifier, CONTACT_FIELDS)), contact_id
        ),
    )
    emails = read_query(
        conn,
        sql.SQL(
            "SELECT email::text AS email, source FROM contact_emails WHERE contact_id = {}::uuid "
            "ORDER BY 1"
        ).format(contact_id),
    )
    return ContactRecord(contact, bases, emails)

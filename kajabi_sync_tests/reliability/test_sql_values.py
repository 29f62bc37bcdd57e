"""SQL-looking values go through plan and apply as data: every statement is parameterised or composed."""

from __future__ import annotations

import psycopg
from psycopg import sql

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync_tests.factories import export_frame, insert_contacts
from kajabi_sync_tests.reliability.scenario import apply_url, count_rows, plan_for

INJECTION = "Robert'); DROP TABLE contacts;--"
# COPY, psycopg placeholders, sql.SQL braces, dollar quoting, CSV quoting, backslashes, newlines.
TRICKY = [
    "%s %(x)s {} {0}",
    "$$; DELETE FROM contacts; $$",
    'a "quoted", comma',
    "back\\slash \\N \\.",
    "two\nlines",
    "E'\\x27' || chr(39)",
]


def _values(tag: str) -> dict[str, str]:
    """A distinct hostile value per field, so a value landing in the wrong column shows too."""
    tricks = TRICKY * 2
    return {
        field: f"{INJECTION} {tricks[n]} {tag}:{field}" for n, field in enumerate(CONTACT_FIELDS)
    }


def _stored(db_url: str, email: str) -> dict[str, str]:
    columns = sql.SQL(", ").join(map(sql.Identifier, CONTACT_FIELDS))
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            sql.SQL("SELECT {} FROM contacts WHERE email = %s").format(columns), (email,)
        ).fetchone()
    return dict(zip(CONTACT_FIELDS, row, strict=False))


def test_sql_looking_values_in_every_field_land_verbatim(db_url):
    insert_contacts(db_url, {"email": "known@example.com"})  # every field empty: all are fills
    filled, created = _values("fill"), _values("new")
    new_email = "o'brien--drop@example.com"
    plan = plan_for(
        db_url,
        export_frame({"email": "known@example.com", **filled}, {"email": new_email, **created}),
    )
    assert sorted(plan.writes()["field"]) == sorted(CONTACT_FIELDS)

    result = apply_url(db_url, plan)

    assert (result.fields_written, result.contacts_created) == (len(CONTACT_FIELDS), 1)
    assert _stored(db_url, "known@example.com") == filled
    assert _stored(db_url, new_email) == created
    assert count_rows(db_url, "contacts") == 2
    with psycopg.connect(db_url) as conn:
        audited = dict(
            conn.execute(
                "SELECT field, new_value FROM kajabi_sync.field_changes WHERE decision = 'fill'"
            ).fetchall()
        )
        base = conn.execute(
            "SELECT b.first_name FROM kajabi_sync.kajabi_base b JOIN contacts c ON c.id = b.contact_id "
            "WHERE c.email = %s",
            (new_email,),
        ).fetchone()[0]
    assert audited == filled
    assert base == created["first_name"]

"""email_change items: make_primary swaps the primary email (the old one stays as a secondary
address) and rolls back exactly; keep_secondary changes nothing. The plan that lists them comes
with the survivorship issue: here the item is stored as the weekly run stores it."""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest

from kajabi_sync.db.audit import rollback_run
from kajabi_sync.review.decisions import Decision, DecisionsRefused
from kajabi_sync.review.items import REVIEW_COLUMNS, record_review_items, review_id
from kajabi_sync.review.kinds import KINDS
from kajabi_sync.review.resolve import apply_decisions
from kajabi_sync_tests.factories import insert_contacts

OLD, NEW = "ann.old@example.com", "ann.new@example.com"


def _listed(url: str) -> tuple[str, str]:
    (contact,) = insert_contacts(url, {"email": OLD, "first_name": "Ann", "kajabi_id": "7"})
    rid = review_id(KINDS["email_change"], f"{contact}|email")
    with psycopg.connect(url) as conn:
        conn.execute(
            """INSERT INTO contact_emails (contact_id, email, is_primary, source)
               VALUES (%s, %s, true, 'kajabi'), (%s, %s, false, 'kajabi')""",
            (contact, OLD, contact, NEW),
        )
        run = conn.execute(
            "INSERT INTO kajabi_sync.import_runs (kind, file_name) VALUES ('import', 'x.csv') "
            "RETURNING id"
        ).fetchone()[0]
        item = {c: None for c in REVIEW_COLUMNS} | {
            "review_id": rid,
            "kind": "email_change",
            "contact_id": contact,
            "email": OLD,
            "field": "email",
            "database_value": OLD,
            "kajabi_value": NEW,
            "suggestion": "make_primary",
        }
        record_review_items(conn, pd.DataFrame([item]).astype("string"), run)
    return contact, rid


def _emails(url: str, contact: str) -> tuple[str, list[tuple[str, bool]]]:
    with psycopg.connect(url) as conn:
        primary = conn.execute("SELECT email::text FROM contacts WHERE id = %s", (contact,))
        rows = conn.execute(
            "SELECT email::text, is_primary FROM contact_emails WHERE contact_id = %s ORDER BY 1",
            (contact,),
        ).fetchall()
        return primary.fetchone()[0], rows


def test_make_primary_swaps_the_primary_email_and_rolls_back_exactly(db_url):
    contact, rid = _listed(db_url)
    before = _emails(db_url, contact)
    with psycopg.connect(db_url) as conn:
        result = apply_decisions(conn, [Decision(rid, "make_primary")], source="test")
    assert _emails(db_url, contact) == (NEW, [(NEW, True), (OLD, False)])
    with psycopg.connect(db_url) as conn:
        audit = conn.execute(
            "SELECT field, old_value, new_value, decision FROM kajabi_sync.field_changes "
            "WHERE import_run_id = %s",
            (result.review_run_id,),
        ).fetchall()
        rollback_run(conn, result.review_run_id)
    assert audit == [("(email)", OLD, NEW, "review_make_primary")]
    assert _emails(db_url, contact) == before


def test_keep_secondary_changes_nothing_and_a_value_is_refused(db_url):
    contact, rid = _listed(db_url)
    before = _emails(db_url, contact)
    with psycopg.connect(db_url) as conn:
        with pytest.raises(DecisionsRefused, match="not allowed for email_change items"):
            apply_decisions(conn, [Decision(rid, "value", value=NEW)], source="test")
        apply_decisions(conn, [Decision(rid, "keep_secondary")], source="test")
        with pytest.raises(DecisionsRefused, match="already decided by review run"):
            apply_decisions(conn, [Decision(rid, "make_primary")], source="test")
    assert _emails(db_url, contact) == before


def test_make_primary_is_stale_once_the_new_address_is_gone(db_url):
    contact, rid = _listed(db_url)
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM contact_emails WHERE lower(email::text) = %s", (NEW,))
    with psycopg.connect(db_url) as conn:
        with pytest.raises(DecisionsRefused, match="no longer an address of this contact"):
            apply_decisions(conn, [Decision(rid, "make_primary")], source="test")
    assert _emails(db_url, contact)[0] == OLD

from __future__ import annotations

import pandas as pd
import psycopg
import pytest
from psycopg import sql

from kajabi_sync.db.migrate import migrate_url
from kajabi_sync.guards.facts import (
    _email_key_sql,
    known_emails,
    known_emails_query,
    read_import_facts,
)
from kajabi_sync.normalize import email_key
from kajabi_sync_tests import pg
from kajabi_sync_tests.factories import insert_contacts

EMAIL_KEY_INDEXES = (
    "idx_contacts_email_key",
    "idx_contact_emails_email_key",
    "idx_merged_from_email_key_active",
)


def test_facts_know_merged_deleted_and_secondary_addresses_case_insensitively(db_url):
    live, gone = insert_contacts(
        db_url,
        {"email": "Live@Example.com", "kajabi_id": "1"},
        {"email": "Gone@Example.com", "kajabi_id": "2", "deleted_at": "2025-01-01"},
    )
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO contact_emails (contact_id, email) VALUES (%s, 'Second@Example.com')",
            (live,),
        )
        conn.execute(
            "INSERT INTO kajabi_sync.merged_from (merged_email, surviving_contact_id, reason) VALUES "
            "('merged@example.com', %s, 'duplicate'), ('undone@example.com', %s, 'duplicate')",
            (live, live),
        )
        conn.execute(
            "UPDATE kajabi_sync.merged_from SET undone_at = now() WHERE merged_email = 'undone@example.com'"
        )
        conn.commit()
        emails = pd.Series(
            [
                "gone@example.com",
                "second@example.com",
                "merged@example.com",
                "undone@example.com",
                "fresh@example.com",
            ],
            dtype="string",
        )
        facts = read_import_facts(conn, "some-sha", emails)
    assert facts.known_new_emails.tolist() == [
        "gone@example.com",
        "merged@example.com",
        "second@example.com",
    ]
    assert facts.live_kajabi_ids == 1
    assert (
        facts.last_import is None and facts.last_import_decisions == {} and not facts.sha256_applied
    )


def test_facts_know_an_address_stored_decomposed_or_padded_under_the_plan_s_email_key(db_url):
    # The plan's keys are NFC and lower-cased (normalize.email_key); the database may hold the
    # same address typed with a combining accent (NFD, as macOS sends it) or with spaces.
    live, _gone = insert_contacts(
        db_url,
        {"email": "live@example.com", "kajabi_id": "1"},
        {"email": "Rene\u0301@Example.com", "deleted_at": "2025-01-01"},
    )
    with psycopg.connect(db_url) as conn:
        _add_addresses(
            conn, live, other=" Zoe\u0308@Example.com ", merged="Ame\u0301lie@example.com"
        )
        wanted = ["rené@example.com", "zoë@example.com", "amélie@example.com", "new@example.com"]
        emails = email_key(pd.Series(wanted, dtype="string"))
        facts = read_import_facts(conn, "some-sha", emails)
    assert facts.known_new_emails.tolist() == [
        "amélie@example.com",
        "rené@example.com",
        "zoë@example.com",
    ]


def _add_addresses(conn: psycopg.Connection, contact_id: str, *, other: str, merged: str) -> None:
    """Give ``contact_id`` another address and a merged-away email, committed."""
    conn.execute(
        "INSERT INTO contact_emails (contact_id, email) VALUES (%s, %s)", (contact_id, other)
    )
    conn.execute(
        "INSERT INTO kajabi_sync.merged_from (merged_email, surviving_contact_id, reason) "
        "VALUES (%s, %s, 'duplicate')",
        (merged, contact_id),
    )
    conn.commit()


def _lookup_plan(conn: psycopg.Connection) -> str:
    """The plan of ``known_emails``' statement with sequential scans priced out, so a table is
    read through an index wherever one matches the statement's key expression."""
    conn.execute("SET LOCAL enable_seqscan = off")
    statement = sql.SQL("EXPLAIN {}").format(known_emails_query(_email_key_sql(conn)))
    rows = conn.execute(statement, (["a@example.com"],)).fetchall()
    return "\n".join(r[0] for r in rows)


def test_the_known_emails_lookup_probes_the_indexes_on_its_email_key(db_url):
    # Migration 0007 indexes exactly _email_key_sql's expressions; if the two drifted apart the
    # lookup would compute the key of every row again (the planner could use no index).
    with psycopg.connect(db_url) as conn:
        plan = _lookup_plan(conn)
    assert all(index in plan for index in EMAIL_KEY_INDEXES), plan


@pytest.fixture
def latin1_db_url(pg_admin_url):
    """A migrated database whose server encoding is not UTF8 (no Unicode normalisation)."""
    name = pg.scratch_name()
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'LATIN1' "
                "LC_COLLATE 'C' LC_CTYPE 'C'"
            ).format(sql.Identifier(name))
        )
    url = pg.with_database(pg_admin_url, name)
    migrate_url(url)
    yield url
    pg.drop_database(pg_admin_url, name)


def test_outside_utf8_the_email_key_indexes_are_on_the_lower_cased_text(latin1_db_url):
    live, _gone = insert_contacts(
        latin1_db_url,
        {"email": "Live@Example.com"},
        {"email": "Gone@Example.com", "deleted_at": "2025-01-01"},
    )
    with psycopg.connect(latin1_db_url) as conn:
        _add_addresses(conn, live, other=" Second@Example.com ", merged="merged@example.com")
        wanted = ["gone@example.com", "second@example.com", "merged@example.com", "x@example.com"]
        known = known_emails(conn, pd.Series(wanted, dtype="string"))
        plan = _lookup_plan(conn)
    assert known.tolist() == ["gone@example.com", "merged@example.com", "second@example.com"]
    assert all(index in plan for index in EMAIL_KEY_INDEXES), plan

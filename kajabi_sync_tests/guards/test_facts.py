from __future__ import annotations

import pandas as pd
import psycopg

from kajabi_sync.guards.facts import read_import_facts
from kajabi_sync.normalize import email_key
from kajabi_sync_tests.factories import insert_contacts


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
        conn.execute(
            "INSERT INTO contact_emails (contact_id, email) VALUES (%s, ' Zoe\u0308@Example.com ')",
            (live,),
        )
        conn.execute(
            "INSERT INTO kajabi_sync.merged_from (merged_email, surviving_contact_id, reason) "
            "VALUES ('Ame\u0301lie@example.com', %s, 'duplicate')",
            (live,),
        )
        conn.commit()
        wanted = ["rené@example.com", "zoë@example.com", "amélie@example.com", "new@example.com"]
        emails = email_key(pd.Series(wanted, dtype="string"))
        facts = read_import_facts(conn, "some-sha", emails)
    assert facts.known_new_emails.tolist() == [
        "amélie@example.com",
        "rené@example.com",
        "zoë@example.com",
    ]

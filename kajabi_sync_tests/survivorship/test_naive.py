"""What the old COALESCE import would have done, counted on small hand-checked cases."""

from __future__ import annotations

import pandas as pd
import psycopg

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.survivorship.naive import naive_damage, naive_import
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv
from kajabi_sync_tests.survivorship.steps import execute, plan_rows


def _small_case(db_url):
    """Insert the small case's contacts; return its export rows."""
    _jane, _bob, carl, _eve, _gone = insert_contacts(
        db_url,
        dict(
            email="Jane@Example.com",
            first_name="Janet",
            paypal_first_name="Janet",
            phone="+13035550101",
            city="Denver",
            kajabi_id="1",
        ),
        dict(
            email="bob@example.com",
            first_name="Bob",
            phone="(303) 555-0102",
            phone_source="kajabi",
            kajabi_id="2",
            zoho_id="z-2",
        ),
        dict(email="carl@example.com", first_name="Carl"),
        dict(email="eve@example.com", kajabi_id="5"),
        dict(email="gone@example.com", deleted_at="2026-01-01"),
    )
    execute(
        db_url,
        "INSERT INTO contact_emails (contact_id, email) VALUES (%s, 'carl.old@example.com')",
        (carl,),
    )
    return (
        # Jane: first_name (protected), phone and city (cosmetic) would be overwritten; kajabi_id equal
        dict(
            email=" JANE@example.com",
            first_name="Jane",
            phone="303-555-0101",
            city="denver",
            kajabi_id="1",
        ),
        # Bob: first_name and phone (unattributed corrections) and an empty city would be written
        dict(
            email="bob@example.com",
            first_name="Robert",
            phone="+1 303 555 0199",
            kajabi_id="2",
            city="Boulder",
        ),
        dict(email="carl.old@example.com", first_name="Carlos"),  # merged-away: naive re-inserts it
        dict(email="gone@example.com"),  # soft-deleted: naive recreates it
        dict(email="eve.new@example.com", kajabi_id="5"),  # same Kajabi ID: naive duplicates it
        dict(email="new@example.com", first_name="New"),
    )


def test_naive_import_counts_on_a_small_case(db_url):
    plan = plan_rows(db_url, *_small_case(db_url))
    assert plan.naive == {
        "contacts_overwritten": 2,
        "values_overwritten": 6,
        "contacts_with_enriched_data_overwritten": 1,  # Jane's PayPal first name
        "contacts_with_corrected_data_lost": 2,  # Jane (cosmetic forms), Bob (unattributed)
        "paypal_enriched_contacts_overwritten": 1,
        "zoho_linked_contacts_overwritten": 1,  # Bob
        "merged_duplicates_recreated": 1,
        "deleted_contacts_recreated": 1,
        "duplicates_by_kajabi_id_created": 1,
        "contacts_inserted": 4,
    }
    # ... while the plan itself creates only the genuinely new contact.
    assert list(plan.new_contacts["email"]) == ["new@example.com"]


def _contact_values(db_url):
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            f"SELECT id, {', '.join(CONTACT_FIELDS)} FROM contacts WHERE deleted_at IS NULL"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_running_the_naive_import_does_what_the_plan_counted(db_url, tmp_path):
    rows = _small_case(db_url)
    counted = plan_rows(db_url, *rows).naive
    before = _contact_values(db_url)
    with psycopg.connect(db_url) as conn:
        ran = naive_import(conn, kajabi_csv(tmp_path / "export.csv", *rows))
    after = _contact_values(db_url)
    changed = sum(
        old != new
        for contact_id, values in before.items()
        for old, new in zip(values, after[contact_id], strict=True)
    )
    assert changed == counted["values_overwritten"] == 6
    assert ran == {"updated": 2, "inserted": counted["contacts_inserted"]}
    # Every email it found no live contact for became a new one: the merged-away and the deleted
    # contacts come back, Eve is duplicated.
    assert len(after) - len(before) == 4


def test_damage_tells_a_real_overwrite_from_a_cosmetic_one():
    fields = ("first_name", "phone", "city")
    db = pd.DataFrame(
        {
            "first_name": ["Janet", "Bob", "Carl"],
            "phone": ["+13035550101", "(303) 555-0102", None],
            "city": ["Denver", "Boulder", "Aspen"],
            "paypal_first_name": ["Janet", None, None],
            "paypal_last_name": None,
            "paypal_phone": None,
            "shipping_address_line_1": None,
            "source_system": "kajabi",
            "zoho_id": [None, "z-2", None],
            "phone_source": None,
            "billing_address_source": [None, None, "manual"],
        }
    )
    kajabi = pd.DataFrame(
        {
            # Jane: a real change of name; Bob: only the phone's style and the city's case;
            # Carl: a blank city (never written) and a phone the database lacks.
            "first_name": ["Jane", "Bob", "Carl"],
            "phone": ["303-555-0101", "303.555.0102", "+1 303 555 0103"],
            "city": ["Denver", "BOULDER", "  "],
        }
    )
    assert naive_damage(db, kajabi, fields) == {
        "contacts_with_any_difference": 3,
        "contacts_with_real_overwrite": 2,  # Jane's name, Carl's new phone
        "enriched": 2,
        "corrected_flagged": 1,
        "paypal_enriched": 1,
        "zoho_linked": 0,
        "invisible_to_source_columns": 0,
    }

"""What the old COALESCE import would have done, counted on a small hand-checked case."""

from __future__ import annotations

from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.survivorship.steps import execute, plan_rows


def test_naive_import_counts_on_a_small_case(db_url):
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
    plan = plan_rows(
        db_url,
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

"""The Dagster layer through Dagster itself: a partitioned materialisation end to end."""

from __future__ import annotations

import dagster as dg
import psycopg

from kajabi_sync.defs import assets
from kajabi_sync.defs.checks import kajabi_import_guards
from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv

ALL_ASSETS = dg.load_assets_from_modules([assets])


def test_partitioned_materialisation_applies_the_plan(db_url, data_dir):
    insert_contacts(
        db_url,
        {
            "email": "jane@example.com",
            "first_name": "Janet",
            "paypal_first_name": "Janet",
            "kajabi_id": "101",
        },
        {"email": "bob@example.com", "first_name": "Bob", "kajabi_id": "102"},
    )
    kajabi_csv(
        data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-10.csv",
        {"email": " Jane@Example.com", "first_name": "Jane", "kajabi_id": "101", "city": "Denver"},
        {
            "email": "bob@example.com",
            "first_name": "Bob",
            "kajabi_id": "102",
            "phone": "(303) 555-0101",
        },
        {"email": "new@example.com", "first_name": "Nina", "kajabi_id": "103"},
    )
    result = dg.materialize(
        [*ALL_ASSETS, kajabi_import_guards],
        partition_key="2025-11-10",
        resources={
            "database": ContactsDatabase(url=db_url),
            "data_folder": DataFolder(path=str(data_dir)),
        },
        # One new contact in a three-row file is a 33% surge: deliberately allowed here.
        run_config={
            "ops": {
                "kajabi_import_guards": {
                    "config": {
                        "max_new_contacts_pct": 50.0,
                        "override_reason": "a three-row test file",
                    }
                }
            }
        },
    )
    assert result.success
    with psycopg.connect(db_url) as conn:
        rows = dict(conn.execute("SELECT email::text, first_name FROM contacts").fetchall())
        phone, city = conn.execute(
            "SELECT phone, city FROM contacts WHERE email = 'bob@example.com'"
        ).fetchone()
        runs = conn.execute(
            "SELECT partition_key, file_name FROM kajabi_sync.import_runs"
        ).fetchall()
    assert rows == {
        "jane@example.com": "Janet",
        "bob@example.com": "Bob",
        "new@example.com": "Nina",
    }
    assert phone == "(303) 555-0101"
    assert runs == [("2025-11-10", "kajabi_contacts_2025-11-10.csv")]
    report = (data_dir / "current" / "import_impact_analysis.csv").read_text()
    assert "protected" in report and "new_contact" in report
    assert (data_dir / "current" / "kajabi_full_enriched_export.csv").exists()
    metadata = result.asset_materializations_for_node("impact_analysis")[0].metadata
    assert metadata["fill"].value == 2  # Jane's city, Bob's phone
    assert metadata["protected"].value == 1

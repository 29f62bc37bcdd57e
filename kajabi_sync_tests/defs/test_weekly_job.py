"""The Dagster layer through Dagster itself: a partitioned materialisation end to end."""

from __future__ import annotations

import json

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
    week = data_dir / "reports" / "2025-11-10"
    report = (week / "import_impact_analysis_2025-11-10.csv").read_text()
    assert "protected" in report and "new_contact" in report
    assert (week / "kajabi_full_enriched_export_2025-11-10.csv").exists()
    # The applied week is published as current/, the same files, with what they are.
    current = data_dir / "current"
    assert sorted(p.name for p in current.glob("*.csv")) == sorted(
        p.name for p in week.glob("*.csv")
    )
    assert (current / "import_impact_analysis_2025-11-10.csv").read_text() == report
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["week"] == "2025-11-10" and manifest["status"] == "applied"
    assert manifest["export_file"] == "kajabi_contacts_2025-11-10.csv"
    assert manifest["import_run_id"] == 1 and manifest["dagster_run_id"] == result.run_id
    readme = (current / "README.txt").read_text()
    assert "week of 2025-11-10" in readme and "kajabi-sync rollback 1 --yes" in readme
    # What was written, and how to undo it, on the write itself.
    applied = result.asset_materializations_for_node("protected_contacts")[0].metadata
    assert applied["rollback_command"].value == "```bash\nkajabi-sync rollback 1 --yes\n```"
    assert applied["written/city/fill"].value == 1 and applied["written/phone/fill"].value == 1
    assert applied["contacts_created"].value == 1
    assert "**APPLIED** as import run 1: wrote 2 fields" in applied["summary"].value
    metadata = result.asset_materializations_for_node("impact_analysis")[0].metadata
    assert metadata["fill"].value == 2  # Jane's city, Bob's phone
    assert metadata["protected"].value == 1

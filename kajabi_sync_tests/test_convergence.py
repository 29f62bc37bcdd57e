"""The full convergence loop of the strategy's part two, on real files and a real database:

week 1 import (stale Kajabi values kept out) → enriched export → Kajabi re-imports it →
week 2 export agrees: nothing to write, no conflicts, no divergence → a later Kajabi-side edit
flows in as an update. No protection is switched off by hand at any point.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg

from kajabi_sync.db.apply import ImportRecord, apply_plan
from kajabi_sync.db.snapshot import load_live_contacts, load_snapshot
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.kajabi import read_kajabi_export, validate_export
from kajabi_sync.kajabi.enriched_export import build_enriched_export, write_enriched_export
from kajabi_sync.kajabi.import_format import FIELD_HEADERS
from kajabi_sync.survivorship.plan import WRITE_DECISIONS, build_plan
from kajabi_sync.survivorship.report import divergence_by_field
from kajabi_sync.weekly_plan import kajabi_values
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv


def _import(url: str, path: Path):
    validated = validate_export(read_kajabi_export(path))
    with psycopg.connect(url) as conn:
        plan = build_plan(validated.frame, load_snapshot(conn))
        apply_plan(
            conn, plan, ImportRecord(path.name, validated.source.sha256, len(validated.frame))
        )
    return validated, plan


def _enriched_export(url: str, validated, plan, out_dir: Path) -> Path:
    with psycopg.connect(url) as conn:
        contacts = load_live_contacts(conn)
    files = write_enriched_export(
        build_enriched_export(contacts, kajabi_values(plan, validated.frame)), out_dir
    )
    return files.paths["kajabi_full_enriched_export"][0]


def _kajabi_reimports(full_file: Path, kajabi_rows: list[dict]) -> list[dict]:
    """Kajabi after importing the file: matched by email, every non-blank cell taken."""
    imported = pd.read_csv(full_file, dtype=str, keep_default_na=False).set_index("Email")
    result = []
    for row in kajabi_rows:
        row = dict(row)
        key = row["email"].strip().lower()
        if key in imported.index:
            for field, header in FIELD_HEADERS.items():
                value = imported.at[key, header]
                if value:
                    row[field] = value
        result.append(row)
    return result


def test_export_reimport_converges_and_later_kajabi_edits_flow_in(db_url, tmp_path):
    insert_contacts(
        db_url,
        # enriched from PayPal: Kajabi still has the old first name
        {
            "email": "ann@example.com",
            "first_name": "Annabel",
            "paypal_first_name": "Annabel",
            "kajabi_id": "1",
            "phone": "+13035550101",
            "phone_source": "paypal",
        },
        # an unflagged correction: the database fixed the city's capitalisation and the street
        {
            "email": "bo@example.com",
            "first_name": "Bo",
            "city": "Denver",
            "address_line_1": "12 Main Street",
            "kajabi_id": "2",
        },
        # plain Kajabi contact
        {"email": "cy@example.com", "first_name": "Cy", "kajabi_id": "3"},
    )
    kajabi_rows = [
        {
            "email": "Ann@Example.com",
            "first_name": "Ann",
            "kajabi_id": "1",
            "phone": "303-555-0199",
        },
        {
            "email": "bo@example.com",
            "first_name": "Bo",
            "city": "denver",
            "address_line_1": "12 main st",
            "kajabi_id": "2",
        },
        {
            "email": "cy@example.com",
            "first_name": "Cy",
            "kajabi_id": "3",
            "phone": "(720) 555-0100",
        },
    ]
    exports = tmp_path / "exports"
    exports.mkdir()
    week1 = kajabi_csv(exports / "kajabi_contacts_2025-11-10.csv", *kajabi_rows)
    validated, plan = _import(db_url, week1)
    assert sum(divergence_by_field(plan).values()) > 0  # Kajabi is stale
    full_file = _enriched_export(db_url, validated, plan, tmp_path / "current")

    # The user imports the file into Kajabi and drops a fresh export.
    kajabi_rows = _kajabi_reimports(full_file, kajabi_rows)
    week2 = kajabi_csv(exports / "kajabi_contacts_2025-11-17.csv", *kajabi_rows)
    _, plan2 = _import(db_url, week2)
    decisions = set(plan2.changes["decision"])
    assert not decisions & {*WRITE_DECISIONS, "conflict", "unattributed", "kept_db"}
    assert plan2.new_contacts.empty
    assert divergence_by_field(plan2) == dict.fromkeys(CONTACT_FIELDS, 0)

    # A week later someone edits Cy's phone in Kajabi: it flows in, no protection switched off.
    kajabi_rows[2] = dict(kajabi_rows[2], phone="(720) 555-0111")
    week3 = kajabi_csv(exports / "kajabi_contacts_2025-11-24.csv", *kajabi_rows)
    _, plan3 = _import(db_url, week3)
    assert plan3.writes()[["email", "field", "decision"]].values.tolist() == [
        ["cy@example.com", "phone", "update"]
    ]
    with psycopg.connect(db_url) as conn:
        phones = dict(conn.execute("SELECT email::text, phone FROM contacts").fetchall())
        names = dict(conn.execute("SELECT email::text, first_name FROM contacts").fetchall())
    assert phones["cy@example.com"] == "(720) 555-0111"
    assert phones["ann@example.com"] == "+13035550101"  # PayPal's phone never overwritten
    assert names["ann@example.com"] == "Annabel"

"""Card data, personal data and formulas through a whole Dagster run of the weekly assets."""

from __future__ import annotations

import csv
import re
import stat
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from kajabi_sync.reports import neutralise_formula
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.reliability.dagster_run import (
    event_records,
    materialization_metadata,
    materialize_week,
    write_export,
)
from kajabi_sync_tests.reliability.scenario import dump_database

CARD_NUMBER = "4111 1111 1111 1111"
CVV = "7359"
EXPIRY = "07/38"
CARD_COLUMNS = {
    "Card Number (custom_3)": CARD_NUMBER,
    "CVV (custom_4)": CVV,
    "Card Expiry (custom_5)": EXPIRY,
}

DB_CONTACTS = (
    {
        "email": "jane.doe@example.com",
        "first_name": "Jane",
        "kajabi_id": "101",
        "phone": "(303) 555-0101",
    },
    {"email": "bob.smith@example.com", "first_name": "Bob", "kajabi_id": "102"},
)
EXPORT_ROWS = (
    {"email": "Jane.Doe@example.com", "first_name": "Jane", "kajabi_id": "101", "city": "Denver"},
    {
        "email": "bob.smith@example.com",
        "first_name": "Bob",
        "kajabi_id": "102",
        "phone": "+1 720 555 0199",
    },
    {
        "email": "nina.new@example.com",
        "first_name": "Nina",
        "kajabi_id": "103",
        "phone": "415-555-0123",
    },
    {"email": "dup.person@example.com", "first_name": "Dee", "kajabi_id": "104"},
    {"email": "dup.person@example.com", "first_name": "Dee", "kajabi_id": "104", "city": "Austin"},
    {"email": "broken@@example.com", "first_name": "Broken", "kajabi_id": "105"},
)
EMAILS = [
    "jane.doe@example.com",
    "Jane.Doe@example.com",
    "bob.smith@example.com",
    "nina.new@example.com",
    "dup.person@example.com",
    "broken@@example.com",
]
PHONES = [
    "(303) 555-0101",
    "+13035550101",
    "3035550101",
    "+1 720 555 0199",
    "+17205550199",
    "7205550199",
    "415-555-0123",
    "+14155550123",
    "4155550123",
]


@pytest.fixture
def weekly_run(db_url, data_dir, monkeypatch, capfd):
    """One run of the week over EXPORT_ROWS; yields what it left behind, Dagster instance open."""
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    insert_contacts(db_url, *DB_CONTACTS)

    def run(rows=EXPORT_ROWS, extra_columns=None):
        write_export(data_dir, *rows, extra_columns=extra_columns)
        with dg.instance_for_test() as instance:
            result = materialize_week(instance)
            assert result.success
            yield result, instance

    return run


def test_card_data_is_dropped_at_read_and_never_persisted_logged_or_exported(
    weekly_run, db_url, data_dir, capfd
):
    extra = {label: [value] * len(EXPORT_ROWS) for label, value in CARD_COLUMNS.items()}
    for result, instance in weekly_run(extra_columns=extra):
        records = event_records(instance, result.run_id)
        dagster_home = Path(instance.root_directory)
        pickled = [p for p in Path(instance.storage_directory()).rglob("*") if p.is_file()]
        stored = _card_data_in_files(dagster_home)
    captured = capfd.readouterr()
    dump = b"".join(dump_database(db_url).values()).decode()

    raw_metadata = materialization_metadata(result)["raw_kajabi_export"]
    assert "custom_3" in raw_metadata and "custom_4" in raw_metadata and "custom_5" in raw_metadata
    assert len(pickled) >= 5  # every asset's output was stored, and scanned
    assert stored == []
    assert _card_data_in_files(data_dir / "reports") == []
    assert _card_data_in_files(data_dir / "current") == []
    assert _card_data_in(dump) == []
    assert _card_data_in("\n".join(records)) == []
    assert _card_data_in(captured.out + captured.err) == []


def _card_data_in(text: str) -> list[str]:
    # The CVV stands alone as a cell; a UUID segment, a float or a hex id that happens to
    # contain the same four digits (Dagster's run database is full of them) is not it.
    alone = r"(?<![0-9A-Za-z.\-])" + CVV + r"(?![0-9A-Za-z.\-])"
    patterns = [re.escape(CARD_NUMBER), CARD_NUMBER.replace(" ", ""), alone, re.escape(EXPIRY)]
    return [p for p in patterns if re.search(p, text)]


def _card_data_in_files(root: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("latin-1")
        if path.suffix == ".parquet":  # compressed: its values are scanned as read back
            text += pq.read_table(path).to_pandas().to_csv()
        found += [(str(path), p) for p in _card_data_in(text)]
    return found


def test_materialisation_metadata_shows_only_masked_emails_and_phones(weekly_run, data_dir):
    for result, instance in weekly_run():
        metadata = materialization_metadata(result)
        records = "\n".join(event_records(instance, result.run_id))
    assert set(metadata) == {
        "raw_kajabi_export",
        "validated_export",
        "impact_analysis",
        "protected_contacts",
        "kajabi_enriched_export",
    }
    everything = "\n".join(metadata.values())
    assert "ja***@example.com" in everything  # the previews are there, masked
    assert [email for email in EMAILS if email in everything] == []
    assert [phone for phone in PHONES if phone in everything] == []
    # Nor anywhere else in the event log (log lines, warnings, step events).
    assert [email for email in EMAILS if email in records] == []
    assert [phone for phone in PHONES if phone in records] == []

    reports = sorted((data_dir / "reports").rglob("*.csv"))
    assert len(reports) >= 5
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in reports} == {
        p.name: 0o600 for p in reports
    }


FORMULAS = {
    "first_name": '=HYPERLINK("x")',
    "last_name": "@SUM(1+1)*cmd|' /C calc'!A0",
    "city": '+HYPERLINK("http://evil.example")',
    "address_line_1": "-2+3+cmd|' /C calc'!A0",
    "state": "\t=1+1",
}


def test_every_csv_the_run_writes_neutralises_formulas(weekly_run, data_dir):
    rows = (
        {"email": "jane.doe@example.com", "kajabi_id": "101", **FORMULAS},
        {"email": "nina.new@example.com", "kajabi_id": "103", **FORMULAS},
        {"email": '=HYPERLINK("x")', "first_name": "Not an email"},
    )
    for _ in weekly_run(rows=rows):
        pass
    cells_by_file = {}
    written = sorted((data_dir / "reports").rglob("*.csv"))
    assert len(written) >= 5  # the week's reports, whether or not the week applied
    for path in written:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            cells_by_file[path.name] = [cell for row in csv.reader(handle) for cell in row]

    risky = {
        name: [c for c in cells if neutralise_formula(c) != c]
        for name, cells in cells_by_file.items()
    }
    assert risky == {name: [] for name in cells_by_file}
    neutralised = {name for name, cells in cells_by_file.items() if '\'=HYPERLINK("x")' in cells}
    assert {
        "import_impact_analysis_2025-11-10.csv",
        "kajabi_full_enriched_export_2025-11-10.csv",
    } <= neutralised

from __future__ import annotations

from datetime import date

import pandas as pd
import psycopg

from kajabi_sync.db.apply import ImportRecord, apply_plan
from kajabi_sync.guards.export_guards import rejected_rows, stale_export, truncated_export
from kajabi_sync.guards.facts import read_import_facts
from kajabi_sync.guards.thresholds import Thresholds
from kajabi_sync.kajabi.reader import read_kajabi_export
from kajabi_sync.kajabi.validate import validate_export
from kajabi_sync.survivorship.plan import PlanSettings
from kajabi_sync.weekly_plan import plan_week
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv
from kajabi_sync_tests.guards.builders import export, facts

DEFAULTS = Thresholds()


def test_truncation_is_measured_against_the_last_applied_export():
    assert truncated_export(
        export(rows=90), facts(last_rows=100, live_kajabi_ids=500), DEFAULTS
    ).passed
    blocked = truncated_export(export(rows=89), facts(last_rows=100, live_kajabi_ids=500), DEFAULTS)
    assert blocked.blocks and blocked.metadata["reference_contacts"] == 100


def test_before_any_import_truncation_is_measured_against_contacts_with_a_kajabi_id():
    assert truncated_export(export(rows=50), facts(live_kajabi_ids=100), DEFAULTS).blocks
    assert truncated_export(export(rows=95), facts(live_kajabi_ids=100), DEFAULTS).passed


def test_truncation_passes_with_a_note_when_there_is_nothing_to_compare():
    result = truncated_export(export(rows=3), facts(), DEFAULTS)
    assert result.passed and result.limit is None and "nothing to compare" in result.explanation


def test_a_growing_export_is_no_truncation():
    assert truncated_export(export(rows=150), facts(last_rows=100), DEFAULTS).passed


def test_rejected_rows_block_above_one_percent_of_the_file():
    assert rejected_rows(export(rows=1_000, rejects=10), DEFAULTS).passed
    assert rejected_rows(export(rows=1_000, rejects=11), DEFAULTS).blocks


def test_the_same_file_again_is_stale_unless_allowed():
    again = stale_export(export(), facts(last_rows=100, sha256_applied=True), allow_stale=False)
    assert again.blocks and "same SHA-256" in again.explanation
    assert stale_export(
        export(), facts(last_rows=100, sha256_applied=True), allow_stale=True
    ).passed


def test_an_older_export_is_stale_and_a_newer_one_is_not():
    last = facts(last_rows=100, last_date=date(2025, 11, 17))
    assert stale_export(export(export_date=date(2025, 11, 10)), last, allow_stale=False).blocks
    assert stale_export(export(export_date=date(2025, 11, 24)), last, allow_stale=False).passed


def test_no_import_yet_means_nothing_is_stale():
    result = stale_export(export(), facts(), allow_stale=False)
    assert result.passed and "No import applied yet" in result.explanation


def test_a_file_pasted_twice_sets_the_baseline_at_its_distinct_contacts(db_url, tmp_path):
    """Two exports pasted into one file: the repeated header is quarantined, nothing doubles,
    and next week's normal export is compared with 196 contacts, not 393 rows."""
    people = [
        {"email": f"p{n}@example.com", "first_name": f"P{n}", "kajabi_id": str(n)}
        for n in range(1, 197)
    ]
    insert_contacts(db_url, *people)
    one = kajabi_csv(tmp_path / "one.csv", *people).read_bytes()
    pasted = tmp_path / "kajabi_contacts_2025-11-10.csv"
    pasted.write_bytes(one + one)  # the second copy brings its BOM and header along
    first = validate_export(read_kajabi_export(pasted))
    assert first.source.rows == 393 and len(first.frame) == 196
    assert first.rejects["row_number"].tolist() == [198]
    with psycopg.connect(db_url) as conn:
        plan = plan_week(conn, first.frame, PlanSettings()).plan
        record = ImportRecord(pasted.name, "a" * 64, first.source.rows, date(2025, 11, 10))
        apply_plan(conn, plan, record)

    normal = kajabi_csv(tmp_path / "kajabi_contacts_2025-11-17.csv", *people)
    second = validate_export(read_kajabi_export(normal))
    with psycopg.connect(db_url) as conn:
        known = read_import_facts(conn, second.source.sha256, pd.Series([], dtype="string"))
    result = truncated_export(second, known, DEFAULTS)
    assert result.passed, result.explanation
    assert result.metadata["reference_contacts"] == 196
    assert "196 distinct contacts" in result.explanation
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT export_rows FROM kajabi_sync.import_runs").fetchone() == (393,)


def test_a_run_recorded_before_distinct_contacts_compares_with_its_rows():
    legacy = facts(last_rows=100)
    assert "distinct_contacts" not in legacy.last_import
    blocked = truncated_export(export(rows=89), legacy, DEFAULTS)
    assert blocked.blocks and "100 rows" in blocked.explanation

from __future__ import annotations

from datetime import date

from kajabi_sync.guards.export_guards import rejected_rows, stale_export, truncated_export
from kajabi_sync.guards.thresholds import Thresholds
from kajabi_sync_tests.guards.builders import export, facts

DEFAULTS = Thresholds()


def test_truncation_is_measured_against_the_last_applied_export():
    assert truncated_export(
        export(rows=90), facts(last_rows=100, live_kajabi_ids=500), DEFAULTS
    ).passed
    blocked = truncated_export(export(rows=89), facts(last_rows=100, live_kajabi_ids=500), DEFAULTS)
    assert blocked.blocks and blocked.metadata["reference_rows"] == 100


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

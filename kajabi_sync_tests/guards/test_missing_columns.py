"""A renamed form handle: named every week, blocking when last week's export had the column."""

from __future__ import annotations

import pandas as pd
import psycopg

from kajabi_sync.guards.export_guards import missing_columns
from kajabi_sync.kajabi.reader import read_kajabi_export
from kajabi_sync.kajabi.validate import validate_export
from kajabi_sync.summary import escape_markdown, file_warnings
from kajabi_sync_tests.factories import kajabi_csv
from kajabi_sync_tests.guards.builders import export, facts
from kajabi_sync_tests.guards.weeks import WEEK_2, everyone, write_export
from kajabi_sync_tests.reliability.scenario import dump_database
from kajabi_sync_tests.weekly_job import assert_blocked_by, checks, guard_override, run_week

PHONE = "Phone Number (phone_number)"


def _rename_phone_handle(path, to: str = "Phone Number (phone)") -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.rename(columns={PHONE: to}).to_csv(path, index=False, encoding="utf-8-sig")


def test_a_handle_renamed_since_the_last_applied_export_blocks_and_changes_nothing(
    week_1_db_url, data_dir
):
    with psycopg.connect(week_1_db_url) as conn:
        recorded = conn.execute("SELECT counts->'handles' FROM kajabi_sync.import_runs").fetchone()
    assert "phone_number" in recorded[0]
    rows = [{**row, "phone": "+13035550100"} for row in everyone()]
    _rename_phone_handle(write_export(data_dir, WEEK_2, rows))
    before = dump_database(week_1_db_url)

    blocked = run_week(WEEK_2, db_url=week_1_db_url, data_dir=data_dir)

    assert_blocked_by(blocked, "missing_columns", before, week_1_db_url)
    description = checks(blocked)["missing_columns"].description
    assert "no column for phone_number, which the last applied export" in description
    assert "allow_missing_columns: true" in description

    allowed = run_week(
        WEEK_2,
        guard_override(allow_missing_columns=True, override_reason="renamed"),
        db_url=week_1_db_url,
        data_dir=data_dir,
    )
    assert allowed.success
    with psycopg.connect(week_1_db_url) as conn:  # the phones were not imported: no column
        assert conn.execute("SELECT count(phone) FROM contacts").fetchone() == (0,)


def test_a_missing_column_is_named_in_the_warnings_and_the_summary(tmp_path):
    path = kajabi_csv(tmp_path / "kajabi_contacts_2025-11-10.csv", {"email": "a@example.com"})
    _rename_phone_handle(path)
    validated = validate_export(read_kajabi_export(path))
    assert validated.source.missing_handles() == ("phone_number",)
    assert any("no column for the form field(s) phone_number" in w for w in validated.warnings)

    lines = file_warnings(validated.warnings)
    assert lines[0] == "### Read from the file"
    assert any(escape_markdown("phone_number") in line for line in lines)


def test_a_column_absent_last_week_too_is_named_but_does_not_block():
    without = export(handles=("address_zip",))
    result = missing_columns(without, facts(last_rows=100, handles=["address_zip"]), False)
    assert result.passed and "phone_number" in result.explanation
    assert missing_columns(without, facts(last_rows=100), False).passed  # no handles recorded


def test_a_column_lost_since_last_week_blocks_unless_allowed():
    lost = facts(last_rows=100, handles=["phone_number", "address_zip"])
    without = export(handles=("address_zip",))
    assert missing_columns(without, lost, False).blocks
    assert missing_columns(without, lost, True).passed
    full = export(handles=("phone_number", "address_zip"))
    assert missing_columns(full, lost, False).passed


def test_the_fallback_phone_column_is_named_but_never_blocks():
    """Kajabi's API cannot read mobile_phone_number, so an API week after a CSV week lacks it."""
    before = facts(last_rows=100, handles=["phone_number", "mobile_phone_number"])
    result = missing_columns(export(handles=("phone_number",)), before, False)
    assert result.passed and "mobile_phone_number" in result.explanation

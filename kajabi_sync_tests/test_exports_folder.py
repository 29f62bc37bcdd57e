"""Which file is a week's export, and what the error says when none is."""

from __future__ import annotations

from datetime import date

import pytest

from kajabi_sync.exports_folder import NoExportForWeek, export_for_week


def test_a_browser_copy_is_named_with_why_it_was_skipped_and_how_to_fix_it(tmp_path):
    (tmp_path / "kajabi_contacts_2025-11-17 (1).csv").write_text("Name\n")
    (tmp_path / "kajabi_contacts_2025-13-01.csv").write_text("Name\n")
    (tmp_path / "contacts.csv").write_text("Name\n")
    (tmp_path / "notes.txt").write_text("not a csv\n")
    with pytest.raises(NoExportForWeek) as caught:
        export_for_week(tmp_path, date(2025, 11, 17))
    message = str(caught.value)
    assert "Skipped kajabi_contacts_2025-11-17 (1).csv: a browser adds ' (1)'" in message
    assert "rename it to kajabi_contacts_2025-11-17.csv" in message
    assert "Skipped kajabi_contacts_2025-13-01.csv: the date in its name is not a real" in message
    assert "Skipped contacts.csv: its name is not kajabi_contacts_YYYY-MM-DD.csv" in message
    assert "notes.txt" not in message


def test_the_week_s_export_is_found_beside_a_browser_copy(tmp_path):
    (tmp_path / "kajabi_contacts_2025-11-17 (1).csv").write_text("Name\n")
    (tmp_path / "kajabi_contacts_2025-11-18.csv").write_text("Name\n")
    assert export_for_week(tmp_path, date(2025, 11, 17)).name == "kajabi_contacts_2025-11-18.csv"

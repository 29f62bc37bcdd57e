"""``kajabi-sync push WEEK --dry-run``: what the push would send, field by field, sending nothing."""

from __future__ import annotations

import psycopg

from kajabi_sync.cli import main
from kajabi_sync.db.apply import ImportRecord, apply_plan
from kajabi_sync.kajabi import read_kajabi_export, validate_export
from kajabi_sync.survivorship.plan_settings import PlanSettings
from kajabi_sync.weekly_plan import plan_week
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv


def _applied_week(db_url, data_dir):
    insert_contacts(
        db_url,
        {
            "email": "jane@example.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "kajabi_id": "101",
            "phone": "+13035550101",
            "phone_source": "paypal",
        },
        {"email": "bob@example.com", "first_name": "Bob", "last_name": "Lee", "kajabi_id": "102"},
    )
    path = kajabi_csv(
        data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-10.csv",
        {
            "email": "jane@example.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "kajabi_id": "101",
            "phone": "303-555-0101",
        },
        {"email": "bob@example.com", "first_name": "Bob", "last_name": "Lee", "kajabi_id": "102"},
    )
    raw = read_kajabi_export(path)
    validated = validate_export(raw)
    with psycopg.connect(db_url) as conn:
        week = plan_week(conn, validated.frame, PlanSettings())
        conn.commit()
        apply_plan(
            conn,
            week.plan,
            ImportRecord(path.name, raw.sha256, len(raw.frame), raw.export_date, "2025-11-10"),
        )


def test_dry_run_prints_each_field_that_would_be_sent(db_url, data_dir, monkeypatch, capsys):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    _applied_week(db_url, data_dir)
    assert main(["push", "2025-11-12", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "week of 2025-11-10 (dry run: nothing is sent)" in out
    assert "1 contact(s) to update and 0 to create, of the site's 2" in out
    assert "update ja***@example.com (Kajabi 101)" in out
    assert "    phone_number: '303-555-0101' -> '+13035550101'" in out
    assert "bob" not in out and "jane@example.com" not in out


def test_dry_run_of_a_week_that_is_not_the_last_applied_says_so(
    db_url, data_dir, monkeypatch, capsys
):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    kajabi_csv(
        data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-10.csv",
        {"email": "a@example.com", "first_name": "A", "kajabi_id": "1"},
    )
    assert main(["push", "2025-11-10", "--dry-run"]) == 0
    assert "nothing to push for this week" in capsys.readouterr().out


def test_push_requires_dry_run_and_a_week_with_a_file(db_url, data_dir, monkeypatch, capsys):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    assert main(["push", "2025-11-10"]) == 2
    assert main(["push", "2025-11-10", "--dry-run"]) == 1
    assert "no Kajabi export for the week of 2025-11-10" in capsys.readouterr().err

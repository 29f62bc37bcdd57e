"""The weekly job with KAJABI_SYNC_SOURCE=api against the local fake Kajabi."""

from __future__ import annotations

import dagster as dg
import pytest

from kajabi_sync_tests.factories import insert_contacts, kajabi_csv
from kajabi_sync_tests.kajabi_api.weekly_run import plan_decisions
from kajabi_sync_tests.reliability.scenario import count_rows, dump_database
from kajabi_sync_tests.weekly_job import SMALL_EXPORT_OVERRIDE, run_week, step_failures


@pytest.fixture
def api_source(fake_kajabi, db_url, data_dir, monkeypatch):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    monkeypatch.setenv("KAJABI_SYNC_SOURCE", "api")
    for name, value in fake_kajabi.environment().items():
        monkeypatch.setenv(name, value)
    insert_contacts(
        db_url,
        {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe", "kajabi_id": "101"},
        {
            "email": "mary@example.com",
            "first_name": "Mary Ann",
            "last_name": "Smith",
            "kajabi_id": "102",
            "city": "Boston",
        },
    )
    fake_kajabi.add_contact("101", name="Jane Doe", email="jane@example.com", address_city="Denver")
    fake_kajabi.add_contact(
        "102", name="Mary Ann Smith", email="mary@example.com", address_city="Boston"
    )
    fake_kajabi.add_contact("103", name="Nina New", email="nina@example.com")
    return fake_kajabi


def _contact_lists(fake):
    return len(fake.logged("GET", "/v1/contacts"))


@pytest.mark.slow
def test_pull_apply_rerun_quiet_week_and_a_kajabi_edit(api_source, db_url, data_dir):
    fake = api_source
    exports = data_dir / "kajabi_exports"
    with dg.instance_for_test() as instance:
        first = run_week("2025-11-10", SMALL_EXPORT_OVERRIDE, instance=instance)
        assert first.success, step_failures(first)
        assert [p.name for p in exports.iterdir()] == ["kajabi_contacts_2025-11-10.csv"]
        assert plan_decisions(first, "mary@example.com")["first_name"] == "unchanged"
        assert plan_decisions(first, "mary@example.com")["last_name"] == "unchanged"
        assert count_rows(db_url, "kajabi_sync.import_runs") == 1
        after_first = dump_database(db_url)
        lists = _contact_lists(fake)

        again = run_week(
            "2025-11-10", SMALL_EXPORT_OVERRIDE, instance=instance
        )  # the same week, the same snapshot
        assert again.success, step_failures(again)
        assert _contact_lists(fake) == lists  # replayed from the file, not pulled again
        assert dump_database(db_url) == after_first

        quiet = run_week(
            "2025-11-17", SMALL_EXPORT_OVERRIDE, instance=instance
        )  # nothing changed in Kajabi
        assert quiet.success, step_failures(quiet)
        assert _contact_lists(fake) > lists
        assert (exports / "kajabi_contacts_2025-11-17.csv").read_bytes() == (
            exports / "kajabi_contacts_2025-11-10.csv"
        ).read_bytes()
        tables = dump_database(db_url)
        tables.pop("kajabi_sync.api_pulls", None)
        expected = dict(after_first)
        expected.pop("kajabi_sync.api_pulls", None)
        assert tables == expected  # only the pull was recorded

        fake.edit_contact("101", phone_number="+1 303 555 0199")  # a genuine Kajabi-side edit
        edited = run_week("2025-11-24", SMALL_EXPORT_OVERRIDE, instance=instance)
        assert edited.success, step_failures(edited)
        assert plan_decisions(edited, "jane@example.com")["phone"] == "fill"
    assert count_rows(db_url, "kajabi_sync.import_runs") == 2


@pytest.mark.slow
def test_a_file_copied_under_a_second_weeks_name_stays_blocked(api_source, data_dir):
    exports = data_dir / "kajabi_exports"
    with dg.instance_for_test() as instance:
        assert run_week("2025-11-10", SMALL_EXPORT_OVERRIDE, instance=instance).success
        copied = exports / "kajabi_contacts_2025-11-17.csv"
        copied.write_bytes((exports / "kajabi_contacts_2025-11-10.csv").read_bytes())
        blocked = run_week("2025-11-17", SMALL_EXPORT_OVERRIDE, instance=instance)
    assert not blocked.success
    assert set(step_failures(blocked)) == {"kajabi_import_guards"}


@pytest.mark.slow
def test_a_name_unchanged_in_kajabi_plans_unchanged_after_a_csv_week(api_source, data_dir):
    kajabi_csv(
        data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-10.csv",
        {
            "email": "jane@example.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "kajabi_id": "101",
            "city": "Denver",
        },
        {
            "email": "mary@example.com",
            "first_name": "Mary Ann",
            "last_name": "Smith",
            "kajabi_id": "102",
            "city": "Boston",
        },
        {"email": "nina@example.com", "first_name": "Nina", "last_name": "New", "kajabi_id": "103"},
    )
    with dg.instance_for_test() as instance:
        csv_week = run_week("2025-11-10", SMALL_EXPORT_OVERRIDE, instance=instance)
        assert csv_week.success, step_failures(csv_week)
        api_week = run_week("2025-11-17", SMALL_EXPORT_OVERRIDE, instance=instance)
        assert api_week.success, step_failures(api_week)
    for email in ("jane@example.com", "mary@example.com"):
        decisions = plan_decisions(api_week, email)
        assert decisions["first_name"] == decisions["last_name"] == "unchanged", decisions

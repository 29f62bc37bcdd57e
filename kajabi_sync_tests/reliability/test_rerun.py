"""Running an applied week again never applies it twice: a re-run with the same file succeeds
and writes nothing; the same file under another week's name is blocked (stale_export)."""

from __future__ import annotations

import copy

import dagster as dg
import pytest

from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.reliability.dagster_run import materialize_week, write_export
from kajabi_sync_tests.reliability.scenario import count_rows, dump_database
from kajabi_sync_tests.weekly_job import SMALL_EXPORT_OVERRIDE, run_week, step_failures


@pytest.mark.slow
def test_running_the_same_week_again_succeeds_and_writes_nothing(db_url, data_dir, monkeypatch):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    insert_contacts(db_url, {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "101"})
    write_export(
        data_dir,
        {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "101", "city": "Denver"},
        {"email": "new@example.com", "first_name": "Nina", "kajabi_id": "103"},
    )
    forced = copy.deepcopy(SMALL_EXPORT_OVERRIDE)
    forced["ops"]["kajabi_import_guards"]["config"]["allow_stale_export"] = True
    with dg.instance_for_test() as instance:
        first = materialize_week(instance)
        assert first.success, step_failures(first)
        after_first = dump_database(db_url)

        again = materialize_week(instance)  # the same week with the same file: a re-run
        assert again.success, step_failures(again)
        assert dump_database(db_url) == after_first

        forced_run = materialize_week(instance, forced)
        assert forced_run.success, step_failures(forced_run)
    assert dump_database(db_url) == after_first
    assert count_rows(db_url, "kajabi_sync.import_runs") == 1
    assert (
        count_rows(db_url, "kajabi_sync.field_changes") == 2
    )  # the fill and the new contact, once


@pytest.mark.slow
def test_the_same_file_dropped_under_a_later_weeks_name_is_blocked(db_url, data_dir, monkeypatch):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    insert_contacts(db_url, {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "101"})
    path = write_export(
        data_dir,
        {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "101", "city": "Denver"},
    )
    with dg.instance_for_test() as instance:
        assert materialize_week(instance).success
        after_first = dump_database(db_url)
        (path.parent / "kajabi_contacts_2025-11-18.csv").write_bytes(path.read_bytes())
        copied = run_week("2025-11-17", SMALL_EXPORT_OVERRIDE, instance=instance)
    assert not copied.success
    assert set(step_failures(copied)) == {"kajabi_import_guards"}  # stale_export
    assert dump_database(db_url) == after_first

"""Running an applied week again never applies it twice."""

from __future__ import annotations

import copy

import dagster as dg
import pytest

from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.reliability.dagster_run import (
    SMALL_EXPORT_OVERRIDE,
    materialize_week,
    step_failures,
    write_export,
)
from kajabi_sync_tests.reliability.scenario import count_rows, dump_database


@pytest.mark.slow
def test_running_the_same_week_again_is_blocked_and_forced_changes_nothing(
    db_url, data_dir, monkeypatch
):
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

        again = materialize_week(instance)
        assert not again.success
        assert set(step_failures(again)) == {"kajabi_import_guards"}  # the stale-export guard
        assert dump_database(db_url) == after_first

        forced_run = materialize_week(instance, forced)
        assert forced_run.success, step_failures(forced_run)
    assert dump_database(db_url)["public.contacts"] == after_first["public.contacts"]
    assert (
        count_rows(db_url, "kajabi_sync.field_changes") == 2
    )  # the fill and the new contact, once

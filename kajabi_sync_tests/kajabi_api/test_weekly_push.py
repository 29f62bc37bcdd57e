"""The whole loop through Dagster against the fake Kajabi: pull, plan, apply, push, converge."""

from __future__ import annotations

import copy
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.kajabi_api.people import SECRET
from kajabi_sync_tests.reliability.dagster_run import event_records, files_containing, stored_run
from kajabi_sync_tests.weekly_job import SMALL_EXPORT_OVERRIDE, run_week, step_failures

W1, W2 = "2025-11-10", "2025-11-17"


@pytest.fixture
def api_loop(fake_kajabi, db_url, data_dir, monkeypatch):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    monkeypatch.setenv("KAJABI_SYNC_SOURCE", "api")
    monkeypatch.setenv("KAJABI_SYNC_PUSH", "api")
    for name, value in fake_kajabi.environment().items():
        monkeypatch.setenv(name, value)
    insert_contacts(
        db_url,
        # Enriched in the database (a phone from PayPal, a corrected street): Kajabi lacks them.
        {
            "email": "jane@example.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "kajabi_id": "101",
            "phone": "+13035550101",
            "phone_source": "paypal",
        },
        {
            "email": "bob@example.com",
            "first_name": "Bob",
            "last_name": "Lee",
            "kajabi_id": "102",
            "address_line_1": "12 Oak Street",
            "city": "Boulder",
            "billing_address_source": "paypal",
        },
        {"email": "amy@example.com", "first_name": "Amy", "last_name": "Ng", "kajabi_id": "103"},
    )
    fake_kajabi.add_contact("101", name="Jane Doe", email="jane@example.com")
    fake_kajabi.add_contact(
        "102", name="Bob Lee", email="bob@example.com", address_line_1="12 Oak St"
    )
    fake_kajabi.add_contact("103", name="Amy Ng", email="amy@example.com")
    return fake_kajabi


def checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _rows(db_url, query):
    with psycopg.connect(db_url) as conn:
        return conn.execute(query).fetchall()


@pytest.mark.slow
def test_one_run_pulls_applies_and_pushes_and_kajabi_converges(api_loop, db_url, data_dir):
    fake = api_loop
    with dg.instance_for_test() as instance:
        week_1 = run_week(W1, SMALL_EXPORT_OVERRIDE, instance=instance)
        assert week_1.success, step_failures(week_1)
        assert fake.contacts["101"]["phone_number"] == "+13035550101"
        assert fake.contacts["102"]["address_line_1"] == "12 Oak Street"
        assert fake.contacts["102"]["address_city"] == "Boulder"
        sent = [sorted(r.body["data"]["attributes"].items()) for r in fake.logged("PATCH")]
        assert sorted(sent) == [
            [("address_city", "Boulder"), ("address_line_1", "12 Oak Street")],
            [("phone_number", "+13035550101")],
        ]
        assert checks(week_1)["push_volume"].passed and checks(week_1)["push_rejections"].passed
        # Neither the secret nor a token reaches Dagster's event log, the stored run (config,
        # tags) or any file under the data folder or the instance's home.
        secrets = [SECRET, *fake._tokens]
        run_id = week_1.run_id
        stored = "\n".join([*event_records(instance, run_id), stored_run(instance, run_id)])
        assert not [s for s in secrets if s in stored]
        assert files_containing(data_dir, secrets) == []
        assert files_containing(Path(instance.root_directory), secrets) == []

        again = run_week(
            W1, SMALL_EXPORT_OVERRIDE, instance=instance
        )  # re-running the applied and pushed week
        assert again.success, step_failures(again)
        assert len(fake.logged("PATCH")) == 2  # nothing sent again

        fake.edit_contact("103", name="Amy Ng-Park")  # a genuine Kajabi-side edit in between
        week_2 = run_week(W2, SMALL_EXPORT_OVERRIDE, instance=instance)
        assert week_2.success, step_failures(week_2)
        converged = checks(week_2)["kajabi_converged"]
        assert converged.passed and converged.metadata["value"].value == 0, converged.description
        assert len(fake.logged("PATCH")) == 2  # Kajabi agrees: nothing to push
    assert _rows(db_url, "SELECT last_name FROM contacts WHERE email = 'amy@example.com'") == [
        ("Ng-Park",)
    ]
    statuses = _rows(
        db_url, "SELECT partition_key, status, count(*) FROM kajabi_sync.push_outbox GROUP BY 1, 2"
    )
    assert statuses == [(W1, "applied", 2)]


@pytest.mark.slow
def test_push_volume_blocks_before_the_first_request_until_a_recorded_override(
    api_loop, db_url, monkeypatch
):
    monkeypatch.setenv("KAJABI_SYNC_MAX_PUSH_PCT", "0")
    monkeypatch.setenv("KAJABI_SYNC_MIN_PUSH_LIMIT", "1")
    with dg.instance_for_test() as instance:
        blocked = run_week(W1, SMALL_EXPORT_OVERRIDE, instance=instance)
        assert not blocked.success
        assert set(step_failures(blocked)) == {"kajabi_push_guards"}
        assert not checks(blocked)["push_volume"].passed
        assert "max_push_pct: 66.7" in checks(blocked)["push_volume"].description
        assert api_loop.logged("PATCH") == []

        config = copy.deepcopy(SMALL_EXPORT_OVERRIDE)
        config["ops"]["kajabi_push_guards"] = {
            "config": {"max_push_pct": 66.7, "override_reason": "first push after enrichment"}
        }
        let_through = run_week(W1, config, instance=instance)
        assert let_through.success, step_failures(let_through)
    assert len(api_loop.logged("PATCH")) == 2
    (overrides,) = _rows(db_url, "SELECT overrides FROM kajabi_sync.push_runs")
    assert overrides[0] == {"max_push_pct": 66.7, "override_reason": "first push after enrichment"}


@pytest.mark.slow
def test_a_contact_kajabi_refuses_is_listed_by_a_warning_and_the_others_are_pushed(api_loop):
    api_loop.reject_patch_ids["101"] = ("/data/attributes/phone_number", "Phone number is invalid")
    with dg.instance_for_test() as instance:
        result = run_week(W1, SMALL_EXPORT_OVERRIDE, instance=instance)
    assert result.success, step_failures(result)
    rejections = checks(result)["push_rejections"]
    assert not rejections.passed
    assert "refused 1 contact" in rejections.description
    table = rejections.metadata["rejections"].value
    (row,) = table.records
    assert row.data["email"] == "ja***@example.com"
    assert row.data["reason"] == "Phone number is invalid (at /data/attributes/phone_number)"
    assert api_loop.contacts["102"]["address_line_1"] == "12 Oak Street"

"""Held duplicates: detected on import, not inserted, and decided by the user (release or merge)."""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

import dagster as dg
import pandas as pd
import psycopg
import pytest

from kajabi_sync import weekly_plan
from kajabi_sync.db.apply import ImportRecord, apply_plan
from kajabi_sync.db.holds import approve_hold, load_holds, record_holds, release_hold
from kajabi_sync.db.merges import unmerge
from kajabi_sync.db.snapshot import load_snapshot
from kajabi_sync.defs import assets
from kajabi_sync.defs.checks import kajabi_import_guards
from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
from kajabi_sync.matching.holds import HELD_EARLIER, HELD_NOW, hold_likely_duplicates
from kajabi_sync.survivorship.plan import PlanSettings, build_plan
from kajabi_sync.weekly_plan import plan_week
from kajabi_sync_tests.factories import export_frame, insert_contacts, kajabi_csv

JANE = {
    "email": "jane@example.com",
    "first_name": "Jane",
    "last_name": "Doe",
    "phone": "(303) 555-1234",
    "address_line_1": "12 Main Street",
    "city": "Denver",
    "state": "CO",
    "postal_code": "80202",
}
# Jane again, signed up to Kajabi with her work address: same phone in another format, same name.
JANE_AT_WORK = {
    "email": "jd@work.example",
    "first_name": "Jane",
    "last_name": "Doe",
    "phone": "+1 303 555 1234",
    "postal_code": "80202",
}
NINA = {
    "email": "nina@example.org",
    "first_name": "Nina",
    "last_name": "Kowalski",
    "phone": "415-555-9876",
    "city": "San Francisco",
}


def _plan_and_hold(url: str, *rows: dict):
    with psycopg.connect(url) as conn:
        snapshot = load_snapshot(conn)
        decisions = load_holds(conn)
    plan = build_plan(export_frame(*rows), snapshot)
    return hold_likely_duplicates(plan, snapshot.contacts, decisions=decisions)


def _import(url: str, *rows: dict):
    plan, candidates = _plan_and_hold(url, *rows)
    with psycopg.connect(url) as conn:
        result = apply_plan(conn, plan, ImportRecord("week.csv", "sha", len(rows)))
        record_holds(conn, plan.held)
    return plan, candidates, result


def _live_emails(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {
            r[0] for r in conn.execute("SELECT email::text FROM contacts WHERE deleted_at IS NULL")
        }


def test_a_likely_duplicate_is_held_with_its_evidence_and_the_rest_is_created(db_url):
    (jane,) = insert_contacts(db_url, JANE)
    plan, candidates = _plan_and_hold(db_url, JANE, JANE_AT_WORK, NINA)

    assert list(plan.new_contacts["email"]) == ["nina@example.org"]
    assert list(plan.held["email"]) == ["jd@work.example"]
    assert plan.held.loc[0, "existing_contact_id"] == jane
    assert set(plan.new_bases["kajabi_email"]) == {"jane@example.com", "nina@example.org"}
    assert list(candidates["email"]) == ["jd@work.example"]
    row = candidates.iloc[0]
    assert (row["existing_contact_id"], row["existing_email"], row["why_held"]) == (
        jane,
        "jane@example.com",
        HELD_NOW,
    )
    assert row["score"] >= 0.9
    assert "same phone +13035551234" in row["evidence"]


def test_a_detected_duplicate_is_held_not_inserted(db_url):
    insert_contacts(db_url, JANE)
    plan, _, result = _import(db_url, JANE, JANE_AT_WORK, NINA)
    assert result.contacts_created == 1
    assert result.counts["held_for_review"] == 1
    assert _live_emails(db_url) == {"jane@example.com", "nina@example.org"}
    with psycopg.connect(db_url) as conn:
        holds = load_holds(conn)
    assert list(zip(holds["email"], holds["status"], strict=False)) == [("jd@work.example", "held")]


def test_nothing_to_hold_leaves_the_plan_as_it_was(db_url):
    insert_contacts(db_url, JANE)
    with psycopg.connect(db_url) as conn:
        snapshot = load_snapshot(conn)
    plan = build_plan(export_frame(JANE, NINA), snapshot)
    held_plan, candidates = hold_likely_duplicates(plan, snapshot.contacts)
    pd.testing.assert_frame_equal(held_plan.new_contacts, plan.new_contacts)
    assert held_plan.held.empty and candidates.empty


def test_a_held_email_stays_held_until_decided_and_a_released_one_is_created(db_url):
    (jane,) = insert_contacts(db_url, JANE)
    _import(db_url, JANE, JANE_AT_WORK)
    # Next week Jane's Kajabi row no longer scores (the phone was removed): still held, as decided.
    later = {**JANE_AT_WORK, "phone": None, "postal_code": None, "first_name": "J"}
    plan, candidates, result = _import(db_url, later)
    assert result.contacts_created == 0
    assert list(candidates["why_held"]) == [HELD_EARLIER]
    assert candidates.loc[0, "existing_contact_id"] == jane

    with psycopg.connect(db_url) as conn:
        release_hold(conn, " JD@work.example ", note="a colleague, not Jane")
    plan, candidates, result = _import(db_url, JANE_AT_WORK)
    assert result.contacts_created == 1 and candidates.empty
    assert "jd@work.example" in _live_emails(db_url)


def test_approving_a_hold_merges_the_email_without_a_row_and_undoing_it_holds_it_again(db_url):
    (jane,) = insert_contacts(db_url, JANE)
    _import(db_url, JANE, JANE_AT_WORK)
    with psycopg.connect(db_url) as conn:
        run = approve_hold(conn, "jd@work.example")
        emails = conn.execute(
            "SELECT email::text FROM contact_emails WHERE contact_id = %s", (jane,)
        ).fetchall()
        memory = conn.execute(
            "SELECT surviving_contact_id::text FROM kajabi_sync.merged_from WHERE merged_email = 'jd@work.example'"
        ).fetchall()
    assert emails == [("jd@work.example",)] and memory == [(jane,)]

    plan, candidates, result = _import(db_url, JANE, JANE_AT_WORK)
    assert result.contacts_created == 0 and plan.held.empty and candidates.empty
    work_row = plan.matches[plan.matches["email"] == "jd@work.example"].iloc[0]
    assert (work_row["match_kind"], work_row["contact_id"]) == ("other_email", jane)
    assert _live_emails(db_url) == {"jane@example.com"}

    with psycopg.connect(db_url) as conn:
        unmerge(conn, run)
        holds = load_holds(conn)
    assert list(holds["status"]) == ["held"]
    plan, _ = _plan_and_hold(db_url, JANE, JANE_AT_WORK)
    assert list(plan.held["email"]) == ["jd@work.example"] and plan.new_contacts.empty


def test_weekly_materialisation_holds_the_duplicate_and_writes_the_candidates_csv(db_url, data_dir):
    insert_contacts(db_url, JANE)
    kajabi_csv(
        data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-10.csv", JANE, JANE_AT_WORK, NINA
    )
    result = dg.materialize(
        [*dg.load_assets_from_modules([assets]), kajabi_import_guards],
        partition_key="2025-11-10",
        resources={
            "database": ContactsDatabase(url=db_url),
            "data_folder": DataFolder(path=str(data_dir)),
        },
        # One new contact in a three-row file is a surge by the guards' standards: allowed here.
        run_config={
            "ops": {
                "kajabi_import_guards": {
                    "config": {
                        "max_new_contacts_pct": 50.0,
                        "override_reason": "a three-row test file",
                    }
                }
            }
        },
    )
    assert result.success
    assert _live_emails(db_url) == {"jane@example.com", "nina@example.org"}
    week = data_dir / "reports" / "2025-11-10"
    written = pd.read_csv(week / "duplicate_candidates_2025-11-10.csv")
    assert list(written["email"]) == ["jd@work.example"]
    assert list(written["existing_email"]) == ["jane@example.com"]
    preview = (
        result.asset_materializations_for_node("impact_analysis")[0]
        .metadata["duplicate_candidates_preview"]
        .value.records[0]
        .data
    )
    assert preview["new Kajabi email"] == "jd***@work.example"
    assert "5551234" not in preview["why held"]
    assert preview["why held"].startswith("score ") and preview["score"] == round(
        preview["score"], 2
    )
    with psycopg.connect(db_url) as conn:
        holds = load_holds(conn)
    assert list(zip(holds["email"], holds["status"], strict=False)) == [("jd@work.example", "held")]


def _without_ids(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="contact_id").reset_index(drop=True)


@pytest.mark.parametrize("beside", [True, False], ids=["search beside the plan", "one then other"])
def test_plan_week_holds_what_plan_then_hold_holds(db_url, beside):
    # plan_week searches the new rows (known once rows are matched), at scale in a process of
    # its own while build_plan runs: its holds, candidates and new contacts are those of
    # building the plan, then holding.
    insert_contacts(db_url, JANE, {**NINA, "email": "nina.k@example.org"})
    rows = (JANE, JANE_AT_WORK, NINA, {"email": "new@example.net", "first_name": "Ola"})
    plan, candidates = _plan_and_hold(db_url, *rows)
    threshold = 0 if beside else 10**9
    order: list[str] = []

    def noted(name: str, function: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            order.append(name)
            return function(*args, **kwargs)

        return call

    with (
        psycopg.connect(db_url) as conn,
        mock.patch.object(weekly_plan, "SEARCH_BESIDE_PLAN_FROM", threshold),
        mock.patch.object(
            weekly_plan, "SearchProcess", noted("search process", weekly_plan.SearchProcess)
        ),
        mock.patch.object(
            weekly_plan, "load_snapshot", noted("snapshot", weekly_plan.load_snapshot)
        ),
    ):
        week = plan_week(conn, export_frame(*rows), PlanSettings())
    # At scale the worker is started first: its start-up overlaps the snapshot.
    assert order == (["search process", "snapshot"] if beside else ["snapshot"])

    assert set(week.candidates["email"]) == {"jd@work.example", "nina@example.org"}
    pd.testing.assert_frame_equal(week.candidates, candidates)
    pd.testing.assert_frame_equal(_without_ids(week.plan.held), _without_ids(plan.held))
    pd.testing.assert_frame_equal(
        _without_ids(week.plan.new_contacts), _without_ids(plan.new_contacts)
    )
    pd.testing.assert_frame_equal(week.plan.changes, plan.changes)


def test_a_failing_duplicate_search_fails_the_plan(db_url):
    insert_contacts(db_url, JANE)
    new_contact_rows = weekly_plan.new_contact_rows

    def without_first_names(*args: object) -> pd.DataFrame:
        return new_contact_rows(*args).drop(columns="first_name")

    # The worker's own error comes back through plan_week, with its traceback as the cause.
    with (
        psycopg.connect(db_url) as conn,
        mock.patch.object(weekly_plan, "SEARCH_BESIDE_PLAN_FROM", 0),
        mock.patch.object(weekly_plan, "new_contact_rows", without_first_names),
        pytest.raises(KeyError, match="first_name") as raised,
    ):
        plan_week(conn, export_frame(JANE, JANE_AT_WORK), PlanSettings())
    assert "score_new_rows" in str(raised.value.__cause__)

"""Applying a plan: exactly the plan, idempotent, optimistic, all or nothing."""

from __future__ import annotations

import psycopg
import pytest

from kajabi_sync.db.apply import (
    APPLY_LOCK_KEY,
    ApplyInProgress,
    ImportRecord,
    PlanOutdated,
    apply_plan,
)
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.survivorship.steps import apply_rows, count, dump, execute, plan_rows

EXPORT = (
    dict(email="ann@example.com", first_name="Ann", city="Denver", phone="303-555-0101"),
    dict(email="bob@example.com", first_name="Robert", last_name="Ray"),
    dict(email="new@example.com", first_name="Nia", kajabi_id="77"),
)


def _contacts(url: str) -> tuple[str, str]:
    return tuple(
        insert_contacts(
            url,
            dict(email="ann@example.com", first_name="Ann"),
            dict(email="bob@example.com", first_name="Bob"),
        )
    )


def test_apply_writes_exactly_the_planned_fills_and_updates_with_audit_rows(db_url):
    ann, bob = _contacts(db_url)
    plan, result = apply_rows(db_url, *EXPORT)
    writes = plan.writes()
    assert sorted(zip(writes["contact_id"], writes["field"], strict=False)) == sorted(
        [(ann, "city"), (ann, "phone"), (bob, "last_name")]
    )
    assert (result.fields_written, result.contacts_created) == (3, 1)
    with psycopg.connect(db_url) as conn:
        audited = conn.execute(
            """SELECT contact_id::text, field, old_value, new_value, decision FROM kajabi_sync.field_changes
               WHERE import_run_id = %s AND field <> '(contact)' ORDER BY 1, 2""",
            (result.import_run_id,),
        ).fetchall()
        bob_row = conn.execute(
            "SELECT first_name, last_name FROM contacts WHERE id = %s", (bob,)
        ).fetchone()
    assert audited == sorted(
        [
            (ann, "city", None, "Denver", "fill"),
            (ann, "phone", None, "303-555-0101", "fill"),
            (bob, "last_name", None, "Ray", "fill"),
        ]
    )
    assert bob_row == ("Bob", "Ray")  # first_name was unattributed: kept
    assert count(db_url, "SELECT count(*) FROM kajabi_sync.kajabi_base") == 3
    # Created bases need no history row: the rollback knows them by their writer (test_audit).
    assert (
        count(
            db_url,
            "SELECT count(*) FROM kajabi_sync.kajabi_base WHERE import_run_id = %s",
            (result.import_run_id,),
        )
        == 3
    )
    assert count(db_url, "SELECT count(*) FROM kajabi_sync.kajabi_base_history") == 0


def test_applying_the_same_export_again_writes_nothing_but_records_the_run(db_url):
    _contacts(db_url)
    apply_rows(db_url, *EXPORT)
    before = dump(db_url, ("contacts", "contact_emails", "kajabi_sync.kajabi_base"))
    plan, again = apply_rows(db_url, *EXPORT)
    assert plan.writes().empty and plan.new_contacts.empty
    assert (again.fields_written, again.contacts_created, again.bases_changed) == (0, 0, 0)
    assert dump(db_url, ("contacts", "contact_emails", "kajabi_sync.kajabi_base")) == before
    with psycopg.connect(db_url) as conn:
        runs = conn.execute("SELECT id, counts FROM kajabi_sync.import_runs ORDER BY id").fetchall()
    assert len(runs) == 2
    assert runs[1][1]["fields_written"] == 0 and runs[1][1]["contacts_created"] == 0
    assert (
        count(
            db_url,
            "SELECT count(*) FROM kajabi_sync.field_changes WHERE import_run_id = %s",
            (runs[1][0],),
        )
        == 0
    )


@pytest.mark.parametrize(
    "change_since_plan",
    [
        "UPDATE contacts SET city = 'Aurora' WHERE email = 'ann@example.com'",  # a planned field
        "UPDATE contacts SET phone_source = 'zoho' WHERE email = 'ann@example.com'",  # its provenance
        "UPDATE contacts SET deleted_at = now() WHERE email = 'ann@example.com'",
    ],
)
def test_a_contact_changed_between_plan_and_apply_refuses_and_writes_nothing(
    db_url, change_since_plan
):
    _contacts(db_url)
    apply_rows(
        db_url, dict(email="bob@example.com", first_name="Bob")
    )  # some history to keep intact
    plan = plan_rows(db_url, *EXPORT)
    execute(db_url, change_since_plan)
    before = dump(db_url)
    with (
        psycopg.connect(db_url) as conn,
        pytest.raises(PlanOutdated, match=r"an\*\*\*@example.com \(contact [0-9a-f-]{36}\)"),
    ):
        apply_plan(conn, plan, ImportRecord("export.csv", "sha", len(EXPORT)))
    assert dump(db_url) == before


def test_a_new_contact_created_between_plan_and_apply_refuses_and_writes_nothing(db_url):
    _contacts(db_url)
    plan = plan_rows(db_url, *EXPORT)
    insert_contacts(db_url, dict(email="New@Example.com", source_system="manual"))
    before = dump(db_url)
    with psycopg.connect(db_url) as conn, pytest.raises(PlanOutdated, match="new emails"):
        apply_plan(conn, plan, ImportRecord("export.csv", "sha", len(EXPORT)))
    assert dump(db_url) == before


def test_apply_refuses_while_another_write_holds_the_lock(db_url):
    _contacts(db_url)
    plan = plan_rows(db_url, *EXPORT)
    before = dump(db_url)
    with psycopg.connect(db_url) as holder, psycopg.connect(db_url) as conn:
        with holder.transaction():
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (APPLY_LOCK_KEY,))
            with pytest.raises(ApplyInProgress):
                apply_plan(conn, plan, ImportRecord("export.csv", "sha", len(EXPORT)))
    assert dump(db_url) == before


def test_apply_refuses_a_connection_inside_a_transaction_since_its_commit_must_be_the_import(
    db_url,
):
    _contacts(db_url)
    plan = plan_rows(db_url, *EXPORT)
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT 1")  # a transaction is open: apply_plan's would be a savepoint
        with pytest.raises(RuntimeError, match="no open transaction"):
            apply_plan(conn, plan, ImportRecord("w.csv", "sha", 3))
        conn.rollback()
        seen = []
        result = apply_plan(conn, plan, ImportRecord("w.csv", "sha", 3), before_commit=seen.append)
        assert seen == [result]
    # Committed by apply_plan itself, before the connection closed.
    assert count(db_url, "SELECT count(*) FROM kajabi_sync.import_runs") == 1

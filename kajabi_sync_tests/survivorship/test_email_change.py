"""A person changes their email in Kajabi (issue 14, point 1), over several weeks against the
real database: recorded as a secondary address, audited, undone by a rollback, listed for
review, promoted only by the site's setting, and matched by that address from then on."""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest

from kajabi_sync import cli
from kajabi_sync.db.apply import ImportRecord, PlanOutdated, apply_plan
from kajabi_sync.db.audit import rollback_run
from kajabi_sync.survivorship.decisions import NEEDS_PERSON_DECISIONS
from kajabi_sync.survivorship.plan import PlanSettings
from kajabi_sync.weekly_plan import plan_week
from kajabi_sync_tests.factories import export_frame, insert_contacts
from kajabi_sync_tests.survivorship.steps import apply_rows, count, dump, execute, plan_rows

MAKE_PRIMARY = PlanSettings(email_change="make_primary")
RESTORED = ("contacts", "contact_emails", "kajabi_sync.kajabi_base", "kajabi_sync.merged_from")
OLD = dict(email="ann@example.com", first_name="Ann", kajabi_id="7")
NEW = dict(OLD, email="Ann.New@Example.com")


def _emails(url: str) -> list[tuple[str, bool, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT email::text, is_primary, source FROM contact_emails ORDER BY 1"
        ).fetchall()


def _primary(url: str) -> str:
    return count(url, "SELECT email::text FROM contacts WHERE kajabi_id = '7'")


def _rollback(url: str, run_id: int):
    with psycopg.connect(url, autocommit=True) as conn:
        return rollback_run(conn, run_id)


def _email_rows(plan):
    return plan.changes[plan.changes["field"] == "email"]


@pytest.fixture
def ann(db_url: str) -> str:
    return insert_contacts(db_url, OLD)[0]


def test_a_new_email_under_a_known_kajabi_id_is_recorded_as_a_secondary_address(db_url, ann):
    plan, _ = apply_rows(db_url, NEW, name="w1")
    rows = _email_rows(plan)
    assert len(rows) == 1
    row = rows.iloc[0]
    # What the review loop lists: a typed decision with the contact, both emails and the base.
    assert row["decision"] == "email_change" and row["decision"] in NEEDS_PERSON_DECISIONS
    assert (row["contact_id"], row["db_value"], row["kajabi_value"]) == (
        ann,
        "ann@example.com",
        "Ann.New@Example.com",
    )
    assert pd.isna(row["base_value"])  # no base yet: the first import
    assert "secondary address" in row["reason"] and "primary email" in row["reason"]
    assert plan.new_contacts.empty
    assert _primary(db_url) == "ann@example.com"
    assert _emails(db_url) == [("Ann.New@Example.com", False, "kajabi_email_change")]
    audit = count(
        db_url,
        "SELECT count(*) FROM kajabi_sync.field_changes WHERE field = 'contact_emails' "
        "AND new_value = 'Ann.New@Example.com' AND decision = 'email_change'",
    )
    assert audit == 1


def test_the_contact_is_known_by_its_new_email(db_url, ann, capsys):
    apply_rows(db_url, NEW, name="w1")
    assert cli.main(["--database-url", db_url, "contact", "ann.new@example.com"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "no contact is known" not in out and "email_change" in out


def test_later_exports_match_by_the_new_email_and_decide_the_fields(db_url, ann):
    apply_rows(db_url, NEW, name="w1")
    week_2, written = apply_rows(db_url, NEW, name="w2")
    assert week_2.changes.empty and written.fields_written == 0
    assert set(week_2.matches["match_kind"]) == {"secondary_email"}
    # A Kajabi-side edit arriving through the new address is applied, not only fills.
    week_3, _ = apply_rows(db_url, dict(NEW, first_name="Annie"), name="w3")
    assert dict(zip(week_3.changes["field"], week_3.changes["decision"], strict=True)) == {
        "first_name": "update"
    }
    assert count(db_url, "SELECT first_name FROM contacts") == "Annie"
    assert len(_emails(db_url)) == 1  # recorded once


def test_a_rollback_removes_the_address_exactly(db_url, ann):
    before = dump(db_url, RESTORED, skip=("updated_at",))
    _, result = apply_rows(db_url, NEW, name="w1")
    undone = _rollback(db_url, result.import_run_id)
    assert undone.emails_removed == 1
    assert dump(db_url, RESTORED, skip=("updated_at",)) == before
    # ... and the next import proposes the change again.
    again = plan_rows(db_url, NEW)
    assert _email_rows(again)["decision"].tolist() == ["email_change"]


def test_a_rollback_is_refused_when_the_address_was_removed_since(db_url, ann):
    _, result = apply_rows(db_url, NEW, name="w1")
    execute(db_url, "DELETE FROM contact_emails")
    with pytest.raises(Exception, match="no longer recorded"):
        _rollback(db_url, result.import_run_id)


def test_make_primary_promotes_a_kajabi_side_change_and_keeps_the_old_address(db_url, ann):
    apply_rows(db_url, OLD, name="w1")  # Kajabi's base now holds the old email
    before = dump(db_url, RESTORED, skip=("updated_at",))
    plan, result = apply_rows(db_url, NEW, settings=MAKE_PRIMARY, name="w2")
    assert _email_rows(plan)["decision"].tolist() == ["email_promoted"]
    assert _primary(db_url) == "Ann.New@Example.com"
    assert _emails(db_url) == [
        ("Ann.New@Example.com", True, "kajabi_email_change"),
        ("ann@example.com", False, "kajabi_email_change"),
    ]
    # The next week matches by the (new) primary email: nothing to do.
    week_3 = plan_rows(db_url, NEW, settings=MAKE_PRIMARY)
    assert week_3.changes.empty and set(week_3.matches["match_kind"]) == {"email"}
    # The old address still finds the contact.
    old_again = plan_rows(db_url, OLD, settings=MAKE_PRIMARY)
    assert old_again.new_contacts.empty
    _rollback(db_url, result.import_run_id)
    assert dump(db_url, RESTORED, skip=("updated_at",)) == before


def test_make_primary_keeps_an_existing_primary_row_as_secondary_and_rollback_restores_it(
    db_url, ann
):
    execute(
        db_url,
        "INSERT INTO contact_emails (contact_id, email, is_primary, source) "
        "VALUES (%s, 'ann@example.com', true, 'manual')",
        (ann,),
    )
    apply_rows(db_url, OLD, name="w1")
    before = dump(db_url, RESTORED, skip=("updated_at",))
    _, result = apply_rows(db_url, NEW, settings=MAKE_PRIMARY, name="w2")
    assert _emails(db_url) == [
        ("Ann.New@Example.com", True, "kajabi_email_change"),
        ("ann@example.com", False, "manual"),
    ]
    _rollback(db_url, result.import_run_id)
    assert dump(db_url, RESTORED, skip=("updated_at",)) == before


def test_make_primary_does_not_promote_on_a_first_import(db_url, ann):
    plan, _ = apply_rows(db_url, NEW, settings=MAKE_PRIMARY, name="w1")
    row = _email_rows(plan).iloc[0]
    assert row["decision"] == "email_change" and "first import" in row["reason"]
    assert _primary(db_url) == "ann@example.com"


def test_a_primary_email_changed_in_the_database_is_not_a_kajabi_email_change(db_url, ann):
    apply_rows(db_url, OLD, name="w1")
    execute(db_url, "UPDATE contacts SET email = 'ann@work.example.com'")
    week_2, _ = apply_rows(db_url, OLD, name="w2")
    assert _email_rows(week_2).empty and _emails(db_url) == []


def test_re_running_the_week_records_nothing_twice(db_url, ann):
    apply_rows(db_url, NEW, name="w1")
    snapshot = dump(db_url, ("contacts", "contact_emails"))
    again, _ = apply_rows(db_url, NEW, name="w1-again")
    assert again.changes.empty
    assert dump(db_url, ("contacts", "contact_emails")) == snapshot


def test_the_apply_refuses_when_the_primary_email_moved_since_the_plan(db_url, ann):
    plan = plan_rows(db_url, NEW, settings=MAKE_PRIMARY)
    execute(db_url, "UPDATE contacts SET email = 'ann@elsewhere.example.com'")
    with psycopg.connect(db_url) as conn, pytest.raises(PlanOutdated):
        apply_plan(conn, plan, ImportRecord("w.csv", "sha-w", 1))
    assert _emails(db_url) == []


def test_merge_memory_does_not_take_the_new_address_for_a_merged_away_one(db_url, ann):
    apply_rows(db_url, NEW, name="w1")
    with psycopg.connect(db_url) as conn:
        week = plan_week(conn, export_frame(NEW), PlanSettings())
    assert week.merge_memory_added == 0
    assert count(db_url, "SELECT count(*) FROM kajabi_sync.merged_from") == 0
    assert set(week.plan.matches["match_kind"]) == {"secondary_email"}


def test_a_merged_away_address_stays_fill_only_even_once_it_filled_the_kajabi_id(db_url):
    (survivor,) = insert_contacts(
        db_url, dict(email="c1@example.com", last_name="Lee", paypal_last_name="Lee")
    )
    execute(
        db_url,
        "INSERT INTO contact_emails (contact_id, email) VALUES (%s, 'old1@example.com')",
        (survivor,),
    )
    apply_rows(db_url, dict(email="c1@example.com", last_name="Lee"), name="w1")
    merged_row = dict(email="old1@example.com", kajabi_id="k1", last_name="Li")
    for week in ("w2", "w3"):
        plan, written = apply_rows(db_url, merged_row, name=week)
        assert set(plan.matches["match_kind"]) == {"other_email"}
        kinds = dict(zip(plan.changes["field"], plan.changes["decision"], strict=True))
        assert kinds["last_name"] == "kept_db"
    assert written.fields_written == 0
    assert count(db_url, "SELECT last_name FROM contacts") == "Lee"

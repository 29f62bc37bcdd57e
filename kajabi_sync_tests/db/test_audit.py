"""Rolling back a whole import, refusing when it would lose something, and reading history."""

from __future__ import annotations

import psycopg
import pytest

from kajabi_sync.db.audit import RollbackRefused, contact_history, recent_runs, rollback_run
from kajabi_sync.survivorship.plan import PlanSettings
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.survivorship.steps import apply_rows, count, dump, execute

TRUST_KAJABI = PlanSettings(first_import="trust_kajabi")
# What a rollback must put back exactly (updated_at records the rollback's own write).
RESTORED = ("contacts", "contact_emails", "kajabi_sync.kajabi_base", "kajabi_sync.merged_from")
WEEK_1 = (
    dict(email="ann@example.com", first_name="Ann", city="Denver", kajabi_id="1"),
    dict(email="bob@example.com", first_name="Bob", phone="303-555-0102", kajabi_id="2"),
)
WEEK_2 = (
    dict(email="ann@example.com", first_name="Anna", city="Aurora", state="CO", kajabi_id="1"),
    dict(email="bob@example.com", first_name="Bob", phone="303-555-0199", kajabi_id="2"),
    dict(email="new@example.com", first_name="Nia", kajabi_id="3"),
)


def _restored(url: str) -> dict[str, list[str]]:
    return dump(url, RESTORED, skip=("updated_at",))


def _seed(url: str) -> None:
    insert_contacts(
        url,
        dict(email="ann@example.com", first_name="Ann"),
        dict(email="bob@example.com", first_name="Bob", phone="(303) 555-0102"),
    )


def _rollback(url: str, run_id: int, note: str | None = None):
    with psycopg.connect(url) as conn:
        return rollback_run(conn, run_id, note)


def test_rollback_puts_contacts_and_bases_back_exactly_run_by_run(db_url):
    _seed(db_url)
    initially = _restored(db_url)
    _, week_1 = apply_rows(db_url, *WEEK_1, name="week1.csv")
    after_week_1 = _restored(db_url)
    _, week_2 = apply_rows(db_url, *WEEK_2, name="week2.csv")
    assert (
        week_2.fields_written == 4 and week_2.contacts_created == 1
    )  # Anna, Aurora, CO, Bob's phone

    undone = _rollback(db_url, week_2.import_run_id, "wrong file")
    assert (undone.fields_restored, undone.contacts_deleted) == (4, 1)
    assert (undone.bases_restored, undone.bases_deleted) == (2, 1)
    assert _restored(db_url) == after_week_1

    _rollback(db_url, week_1.import_run_id)
    assert _restored(db_url) == initially
    with psycopg.connect(db_url) as conn:
        runs = conn.execute(
            "SELECT id, kind, rolled_back_by, note FROM kajabi_sync.import_runs ORDER BY id"
        ).fetchall()
    assert [(kind, by is not None) for _, kind, by, _ in runs] == [
        ("import", True),
        ("import", True),
        ("rollback", False),
        ("rollback", False),
    ]
    assert runs[1][2] == runs[2][0] and runs[2][3] == "wrong file"


def test_after_a_rollback_the_next_import_plans_against_the_restored_base(db_url):
    _seed(db_url)
    apply_rows(db_url, *WEEK_1)
    _, week_2 = apply_rows(db_url, *WEEK_2)
    _rollback(db_url, week_2.import_run_id)
    plan, again = apply_rows(db_url, *WEEK_2)  # the same week-2 file, applied again
    assert again.fields_written == 4 and again.contacts_created == 1
    assert set(plan.writes()["decision"]) == {"update", "fill"}


def test_rollback_is_refused_when_a_written_field_changed_since(db_url):
    _seed(db_url)
    apply_rows(db_url, *WEEK_1)
    _, week_2 = apply_rows(db_url, *WEEK_2)
    execute(db_url, "UPDATE contacts SET city = 'Boulder' WHERE email = 'ann@example.com'")
    before = dump(db_url)
    with pytest.raises(RollbackRefused, match=r"ann@example.com: city no longer holds"):
        _rollback(db_url, week_2.import_run_id)
    assert dump(db_url) == before


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE contacts SET paypal_phone = '+13035550100' WHERE email = 'new@example.com'",
        "UPDATE contacts SET first_name = 'Nina' WHERE email = 'new@example.com'",
        "UPDATE contacts SET deleted_at = now() WHERE email = 'new@example.com'",
        "INSERT INTO contact_emails (contact_id, email) SELECT id, 'nia@work.example.com' FROM contacts "
        "WHERE email = 'new@example.com'",
    ],
)
def test_rollback_is_refused_when_a_created_contact_changed_since(db_url, change):
    _seed(db_url)
    _, week_2 = apply_rows(db_url, *WEEK_2)
    execute(db_url, change)
    before = dump(db_url)
    with pytest.raises(RollbackRefused, match="new@example.com: the contact this import created"):
        _rollback(db_url, week_2.import_run_id)
    assert dump(db_url) == before


def test_rollback_is_refused_while_a_later_import_touched_the_same_contacts(db_url):
    _seed(db_url)
    _, week_1 = apply_rows(db_url, *WEEK_1)
    _, week_2 = apply_rows(db_url, *WEEK_2)
    before = dump(db_url)
    with pytest.raises(RollbackRefused, match=f"later run {week_2.import_run_id}"):
        _rollback(db_url, week_1.import_run_id)
    assert dump(db_url) == before
    _rollback(db_url, week_2.import_run_id)
    _rollback(db_url, week_1.import_run_id)  # newest first works


# Ann's first name was corrected by hand to what Kajabi sends next week: only her base moves.
HAND_CORRECTION = "UPDATE contacts SET first_name = 'Annie' WHERE email = 'ann@example.com'"
WEEK_2_BASE_ONLY = (
    dict(email="ann@example.com", first_name="Annie", city="Denver", kajabi_id="1"),
    dict(email="bob@example.com", first_name="Bob", phone="303-555-0102", kajabi_id="2"),
)


def test_a_base_created_by_one_run_and_replaced_by_the_next_keeps_its_writer(db_url):
    _seed(db_url)
    initially = _restored(db_url)
    _, week_1 = apply_rows(db_url, *WEEK_1)
    execute(db_url, HAND_CORRECTION)
    after_week_1 = _restored(db_url)
    _, week_2 = apply_rows(db_url, *WEEK_2_BASE_ONLY)
    assert (week_2.bases_changed, week_2.fields_written) == (1, 0)
    before = dump(db_url)
    with pytest.raises(RollbackRefused, match=f"later run {week_2.import_run_id}"):
        _rollback(db_url, week_1.import_run_id)  # week 2 replaced a base week 1 created
    assert dump(db_url) == before

    _rollback(db_url, week_2.import_run_id)
    assert _restored(db_url) == after_week_1  # week 1's base again, written by week 1
    _, week_3 = apply_rows(db_url, *WEEK_2_BASE_ONLY)  # replaces week 1's base once more
    _rollback(db_url, week_3.import_run_id)
    assert _restored(db_url) == after_week_1
    execute(db_url, "UPDATE contacts SET first_name = 'Ann' WHERE email = 'ann@example.com'")
    undone = _rollback(db_url, week_1.import_run_id)
    assert (undone.bases_restored, undone.bases_deleted) == (0, 2)
    assert _restored(db_url) == initially


def test_rollback_is_refused_once_a_later_run_wrote_a_contact_whose_base_it_created(db_url):
    _seed(db_url)
    _, week_1 = apply_rows(db_url, *WEEK_1)
    with psycopg.connect(db_url) as conn:  # e.g. a merge filled Ann's state; her base is week 1's
        merge = conn.execute(
            "INSERT INTO kajabi_sync.import_runs (kind, note) VALUES ('merge', 'test') RETURNING id"
        ).fetchone()[0]
        conn.execute(
            """INSERT INTO kajabi_sync.field_changes
                   (import_run_id, contact_id, field, old_value, new_value, decision, reason)
               SELECT %s, id, 'state', NULL, 'CO', 'merge_fill', 'test' FROM contacts
               WHERE email = 'ann@example.com'""",
            (merge,),
        )
    before = dump(db_url)
    with pytest.raises(RollbackRefused, match=f"ann@example.com: later run {merge} \\(merge\\)"):
        _rollback(db_url, week_1.import_run_id)
    assert dump(db_url) == before


def test_double_rollback_unknown_run_and_rollback_of_a_rollback_are_refused(db_url):
    _seed(db_url)
    _, week_1 = apply_rows(db_url, *WEEK_1)
    undone = _rollback(db_url, week_1.import_run_id)
    before = dump(db_url)
    with pytest.raises(RollbackRefused, match="already rolled back"):
        _rollback(db_url, week_1.import_run_id)
    with pytest.raises(RollbackRefused, match="not an import"):
        _rollback(db_url, undone.rollback_run_id)
    with pytest.raises(RollbackRefused, match="does not exist"):
        _rollback(db_url, 999)
    assert dump(db_url) == before


def test_contact_history_explains_imports_and_rollbacks_newest_first(db_url):
    _seed(db_url)
    apply_rows(db_url, *WEEK_1, name="week1.csv")
    _, week_2 = apply_rows(db_url, *WEEK_2, settings=TRUST_KAJABI, name="week2.csv")
    _rollback(db_url, week_2.import_run_id, "bad export")
    with psycopg.connect(db_url) as conn:
        history = contact_history(conn, " ANN@example.com")
        created = contact_history(conn, "new@example.com")
    steps = list(
        zip(
            history["file_name"],
            history["field"],
            history["decision"],
            history["new_value"],
            strict=False,
        )
    )
    assert steps[:3] == [
        ("week2.csv", "state", "rollback", None),
        ("week2.csv", "first_name", "rollback", "Ann"),
        ("week2.csv", "city", "rollback", "Denver"),
    ]
    assert steps[3:] == [
        ("week2.csv", "state", "fill", "CO"),
        ("week2.csv", "first_name", "update", "Anna"),
        ("week2.csv", "city", "update", "Aurora"),
        ("week1.csv", "kajabi_id", "fill", "1"),
        ("week1.csv", "city", "fill", "Denver"),
    ]
    assert list(history["kind"][:3]) == ["rollback"] * 3
    assert (
        history["rolled_back_at"][3:6].notna().all() and history["rolled_back_at"][6:].isna().all()
    )
    # A contact that no longer exists still has its story.
    assert list(zip(created["decision"], created["field"], strict=False)) == [
        ("rollback", "(contact)"),
        ("new_contact", "(contact)"),
    ]


def test_recent_runs_lists_runs_newest_first_with_their_counts(db_url):
    _seed(db_url)
    apply_rows(db_url, *WEEK_1, name="week1.csv")
    _, week_2 = apply_rows(db_url, *WEEK_2, name="week2.csv")
    _rollback(db_url, week_2.import_run_id)
    with psycopg.connect(db_url) as conn:
        runs = recent_runs(conn)
        newest = recent_runs(conn, limit=1)
    assert list(runs["kind"]) == ["rollback", "import", "import"]
    assert list(runs["fields_changed"]) == [4, 4, 3]  # week 1: Ann's city, both Kajabi IDs
    assert list(runs["contacts_created"]) == [0, 1, 0]
    assert list(runs["contacts_deleted"]) == [1, 0, 0]
    assert runs.loc[1, "rolled_back_by"] == runs.loc[0, "id"]
    assert len(newest) == 1 and newest.loc[0, "kind"] == "rollback"
    assert count(db_url, "SELECT count(*) FROM contacts") == 2

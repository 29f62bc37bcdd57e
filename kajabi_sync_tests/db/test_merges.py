"""Merge memory, user-decided merges and their undo, against a real PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg
import pytest

from kajabi_sync.db.apply import ApplyInProgress, ImportRecord, apply_plan, take_write_lock
from kajabi_sync.db.merge_memory import bootstrap_merged_from
from kajabi_sync.db.merges import MergeRefused, merge_contacts, merge_fills, unmerge
from kajabi_sync.db.migrate import migrate_url
from kajabi_sync.db.snapshot import load_snapshot
from kajabi_sync.defs.merge_jobs import merge_contacts_job
from kajabi_sync.defs.resources import ContactsDatabase
from kajabi_sync.survivorship.plan import build_plan
from kajabi_sync_tests.factories import export_frame, insert_contacts

CONTRACT = Path(__file__).resolve().parents[1] / "fixtures" / "contract_contacts_db.sql"


def _rows(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _state(url: str) -> dict:
    """Everything a merge touches, without timestamps that legitimately move."""
    return {
        "contacts": _rows(
            url,
            """SELECT id::text, email::text, first_name, last_name, phone, phone_source,
                                         address_line_1, city, kajabi_id, deleted_at IS NULL
                                  FROM contacts ORDER BY id""",
        ),
        "emails": _rows(
            url,
            "SELECT id::text, contact_id::text, email::text, is_primary, source "
            "FROM contact_emails ORDER BY id",
        ),
        "memory": _rows(
            url,
            """SELECT merged_email, surviving_contact_id::text FROM kajabi_sync.merged_from
                                WHERE undone_at IS NULL ORDER BY merged_email""",
        ),
    }


def _add_email(url: str, contact_id: str, email: str, primary: bool = False) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO contact_emails (contact_id, email, is_primary) VALUES (%s, %s, %s)",
            (contact_id, email, primary),
        )


def _plan(url: str, *rows: dict):
    with psycopg.connect(url) as conn:
        return build_plan(export_frame(*rows), load_snapshot(conn))


# --- bootstrap -------------------------------------------------------------------------------


def test_bootstrap_finds_hand_merges_in_a_contract_shaped_database(empty_db_url):
    """Production's own DDL, merges done by hand the contract's way, then our migrations."""
    with psycopg.connect(empty_db_url) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'citext'"
        ).fetchone():
            pytest.skip(
                "the contract's DDL needs the citext extension (the embedded server lacks it)"
            )
        conn.execute(CONTRACT.read_text())
        jane, bob, gone, ann, al = (
            conn.execute(
                "INSERT INTO contacts (email, first_name, deleted_at) VALUES (%s, %s, %s) RETURNING id::text",
                (email, name, deleted),
            ).fetchone()[0]
            for email, name, deleted in [
                ("jane@example.com", "Jane", None),
                ("bob@example.com", "Bob", None),
                ("Jane.Old@Example.com", "Janet", "2024-01-01"),
                ("ann@example.com", "Ann", None),
                ("al@example.com", "Al", None),
            ]
        )
        conn.cursor().executemany(
            "INSERT INTO contact_emails (contact_id, email, is_primary) VALUES (%s, %s, %s)",
            [
                (jane, "jane@example.com", True),
                (jane, "jane.old@example.com", False),  # moved here by the hand merge
                (gone, "jane.work@example.com", False),  # left behind on the merged-away row
                (bob, "bob@example.com", True),
                (ann, "shared@example.com", False),  # one address under two live contacts:
                (al, "shared@example.com", False),  # ambiguous, not a certainty
                (bob, "ann@example.com", False),  # a live contact's primary email
            ],
        )
    migrate_url(empty_db_url)

    with psycopg.connect(empty_db_url) as conn:
        assert bootstrap_merged_from(conn) == 2
        assert bootstrap_merged_from(conn) == 0  # idempotent
    memory = _rows(
        empty_db_url,
        """SELECT merged_email, surviving_contact_id::text, merged_contact_id::text,
                                           reason LIKE 'bootstrap: %%'
                                    FROM kajabi_sync.merged_from ORDER BY merged_email""",
    )
    assert memory == [
        ("jane.old@example.com", jane, gone, True),
        ("jane.work@example.com", jane, gone, True),
    ]
    # The address left on the merged-away row links to the survivor: never a new contact.
    plan = _plan(
        empty_db_url,
        {"email": "jane.work@example.com", "first_name": "Jane"},
        {"email": "Jane.Old@example.com"},
    )
    assert plan.new_contacts.empty
    assert set(plan.matches["match_kind"]) == {"other_email"}
    assert set(plan.matches["contact_id"]) == {jane}


def test_the_bootstrap_links_a_left_behind_address_to_its_survivor(db_url):
    jane, gone = insert_contacts(
        db_url,
        {"email": "jane@example.com"},
        {"email": "jane.old@example.com", "deleted_at": "2024-01-01"},
    )
    _add_email(db_url, jane, "jane.old@example.com")
    _add_email(db_url, gone, "jane.work@example.com")
    before = _plan(db_url, {"email": "jane.work@example.com"}).matches.iloc[0]
    assert pd.isna(before["contact_id"])  # new, or at most a deleted contact's: never Jane's
    with psycopg.connect(db_url) as conn:
        bootstrap_merged_from(conn)
    plan = _plan(db_url, {"email": "jane.work@example.com", "first_name": "Jane"})
    assert plan.new_contacts.empty
    assert list(zip(plan.matches["match_kind"], plan.matches["contact_id"], strict=False)) == [
        ("other_email", jane)
    ]


# --- merge and unmerge -------------------------------------------------------------------------


@pytest.fixture
def pair(db_url):
    survivor, merged = insert_contacts(
        db_url,
        {"email": "sam@example.com", "first_name": "Sam", "address_line_1": "1 Main St"},
        {
            "email": "samuel@example.com",
            "first_name": "Samuel",
            "last_name": "Smith",
            "phone": "303-555-0101",
            "phone_source": "paypal",
            "address_line_1": "9 Elm St",
            "city": "Denver",
            "kajabi_id": "K9",
        },
    )
    _add_email(db_url, survivor, "sam@example.com", primary=True)
    _add_email(db_url, merged, "samuel@example.com", primary=True)
    _add_email(db_url, merged, "sam.smith@work.example", primary=False)
    # An earlier merge into the contact that is now merged away.
    with psycopg.connect(db_url) as conn:
        conn.execute(
            """INSERT INTO kajabi_sync.merged_from (merged_email, surviving_contact_id, reason)
               VALUES ('old.sam@example.com', %s, 'earlier')""",
            (merged,),
        )
    return survivor, merged


def test_merge_fills_only_empty_fields_and_moves_the_address_as_a_unit():
    survivor = {"first_name": "Sam", "address_line_1": "1 Main St", "phone": " "}
    merged = {
        "first_name": "Samuel",
        "last_name": "Smith",
        "phone": "303",
        "phone_source": "paypal",
        "address_line_1": "9 Elm St",
        "city": "Denver",
    }
    assert merge_fills(survivor, merged) == {
        "last_name": "Smith",
        "phone": "303",
        "phone_source": "paypal",
    }
    assert merge_fills({}, merged)["city"] == "Denver"  # no address at all: the whole unit comes


def test_merge_then_unmerge_restores_everything(db_url, pair):
    survivor, merged = pair
    before = _state(db_url)
    with psycopg.connect(db_url) as conn:
        run = merge_contacts(conn, survivor, merged, "same person, two sign-ups")

    contacts = {row[0]: row for row in _state(db_url)["contacts"]}
    assert contacts[survivor][1:9] == (
        "sam@example.com",
        "Sam",
        "Smith",
        "303-555-0101",
        "paypal",
        "1 Main St",
        None,
        "K9",
    )
    assert contacts[merged][-1] is False  # soft-deleted
    emails = {email: (owner, primary) for _, owner, email, primary, _ in _state(db_url)["emails"]}
    assert emails["samuel@example.com"] == (survivor, False)
    assert emails["sam.smith@work.example"] == (survivor, False)
    assert dict(_state(db_url)["memory"]) == {
        "samuel@example.com": survivor,
        "sam.smith@work.example": survivor,
        "old.sam@example.com": survivor,  # the earlier merge now points at the survivor
    }
    assert _rows(db_url, "SELECT kind, note FROM kajabi_sync.import_runs") == [
        ("merge", "same person, two sign-ups")
    ]
    assert _rows(
        db_url,
        """SELECT contact_id::text, field, old_value, new_value, decision
                            FROM kajabi_sync.field_changes WHERE import_run_id = %s ORDER BY id""",
        run,
    ) == [
        (survivor, "last_name", None, "Smith", "merge_fill"),
        (survivor, "phone", None, "303-555-0101", "merge_fill"),
        (survivor, "phone_source", None, "paypal", "merge_fill"),
        (survivor, "kajabi_id", None, "K9", "merge_fill"),
        (merged, "(contact)", None, survivor, "merged_away"),
    ]

    with psycopg.connect(db_url) as conn:
        undo = unmerge(conn, run)
    assert _state(db_url) == before
    assert _rows(
        db_url, "SELECT id, kind, rolled_back_by FROM kajabi_sync.import_runs ORDER BY id"
    ) == [(run, "merge", undo), (undo, "unmerge", None)]
    with psycopg.connect(db_url) as conn, pytest.raises(MergeRefused, match="already undone"):
        unmerge(conn, run)


def test_merged_away_email_in_the_export_never_becomes_a_contact(db_url, pair):
    survivor, merged = pair
    with psycopg.connect(db_url) as conn:
        merge_contacts(conn, survivor, merged, "duplicate")
    plan = _plan(
        db_url,
        {"email": "sam@example.com", "first_name": "Sam"},
        {"email": "samuel@example.com", "first_name": "Samuel", "city": "Boulder"},
        {"email": "sam.smith@work.example"},
        {"email": "old.sam@example.com", "state": "CO"},
    )
    assert plan.new_contacts.empty
    assert list(plan.matches["contact_id"]) == [survivor] * 4
    # The merged-away rows may only fill the survivor's empty fields.
    assert not (plan.writes()["decision"] == "update").any()
    with psycopg.connect(db_url) as conn:
        result = apply_plan(conn, plan, ImportRecord("week.csv", "sha", 4))
    assert result.contacts_created == 0
    assert _rows(db_url, "SELECT count(*) FROM contacts") == [(2,)]


def test_unmerge_refuses_when_a_filled_field_changed_since(db_url, pair):
    survivor, merged = pair
    with psycopg.connect(db_url) as conn:
        run = merge_contacts(conn, survivor, merged, "duplicate")
        conn.execute("UPDATE contacts SET last_name = 'Smythe' WHERE id = %s", (survivor,))
        conn.commit()
        after = _state(db_url)
        with pytest.raises(MergeRefused, match="last_name changed since the merge"):
            unmerge(conn, run)
    assert _state(db_url) == after
    assert _rows(db_url, "SELECT count(*) FROM kajabi_sync.import_runs WHERE kind = 'unmerge'") == [
        (0,)
    ]


def test_unmerge_refuses_while_a_later_merge_involves_the_survivor(db_url, pair):
    survivor, merged = pair
    (third,) = insert_contacts(db_url, {"email": "s.smith@example.com"})
    with psycopg.connect(db_url) as conn:
        first = merge_contacts(conn, survivor, merged, "duplicate")
        second = merge_contacts(conn, survivor, third, "another duplicate")
        with pytest.raises(MergeRefused, match=f"later merge run\\(s\\) {second}"):
            unmerge(conn, first)
        unmerge(conn, second)
        unmerge(conn, first)
    assert _rows(db_url, "SELECT count(*) FROM contacts WHERE deleted_at IS NULL") == [(3,)]


@pytest.mark.parametrize(
    "survivor, merged, message",
    [
        ("self", "self", "into itself"),
        ("live", "not-a-uuid", "not a contact id"),
        ("live", "deleted", "soft-deleted"),
        ("live", "00000000-0000-0000-0000-000000000000", "no contact"),
    ],
)
def test_merge_refuses_what_cannot_be_merged(db_url, survivor, merged, message):
    live, deleted = insert_contacts(
        db_url, {"email": "a@example.com"}, {"email": "b@example.com", "deleted_at": "2024-01-01"}
    )
    ids = {"self": live, "live": live, "deleted": deleted}
    before = _state(db_url)
    with psycopg.connect(db_url) as conn, pytest.raises(MergeRefused, match=message):
        merge_contacts(conn, ids.get(survivor, survivor), ids.get(merged, merged), "why")
    assert _state(db_url) == before


def test_merge_waits_for_no_one_while_another_write_holds_the_lock(db_url, pair):
    survivor, merged = pair
    with psycopg.connect(db_url) as other, other.transaction():
        take_write_lock(other)
        with psycopg.connect(db_url) as conn, pytest.raises(ApplyInProgress):
            merge_contacts(conn, survivor, merged, "duplicate")
    assert _rows(db_url, "SELECT count(*) FROM contacts WHERE deleted_at IS NULL") == [(2,)]


def test_dagster_job_merges_and_unmerges_from_run_config(db_url, pair):
    survivor, merged = pair
    resources = {"database": ContactsDatabase(url=db_url)}
    before = _state(db_url)

    def run(**config):
        result = merge_contacts_job.execute_in_process(
            run_config={"ops": {"decide_merge": {"config": config}}}, resources=resources
        )
        assert result.success
        return result.output_for_node("decide_merge")

    merged_run = run(
        action="merge", survivor_id=survivor, merged_id=merged, reason="seen in Dagster"
    )
    assert _rows(db_url, "SELECT deleted_at IS NOT NULL FROM contacts WHERE id = %s", merged) == [
        (True,)
    ]
    run(action="unmerge", merge_run_id=merged_run["merge_run_id"])
    assert _state(db_url) == before

    incomplete = merge_contacts_job.execute_in_process(
        run_config={
            "ops": {"decide_merge": {"config": {"action": "merge", "survivor_id": survivor}}}
        },
        resources=resources,
        raise_on_error=False,
    )
    assert not incomplete.success
    assert "needs merged_id" in str(incomplete.failure_data_for_node("decide_merge").error)

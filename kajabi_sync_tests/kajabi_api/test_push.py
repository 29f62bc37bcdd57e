"""The push: planning only the differing attributes, and sending them through the outbox."""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest

from kajabi_sync.db.push_outbox import applied_this_week, rejected_rows, week_outcomes
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.kajabi.api.client import KajabiClient, KajabiUnavailable
from kajabi_sync.kajabi.api.push import (
    PushThresholds,
    load_push_thresholds,
    plan_push,
    push_volume,
    pushed_name,
)
from kajabi_sync.kajabi.api.push_run import run_push
from kajabi_sync_tests.factories import insert_contacts

WEEK = "2025-11-10"


def frame(rows: list[dict], id_column: str) -> pd.DataFrame:
    records = [
        {id_column: r[id_column], "email": r["email"], **{f: r.get(f) for f in CONTACT_FIELDS}}
        | ({"name": r.get("name")} if id_column == "contact_id" else {})
        for r in rows
    ]
    return pd.DataFrame(records).astype("string")


DB = [
    {
        "id": "c1",
        "email": "jane@example.com",
        "first_name": "Jane",
        "last_name": "Doe-Smith",
        "phone": "+13035550101",
        "city": "Denver",
        "kajabi_id": "101",
        "kajabi_member_id": "m1",
    },
    {
        "id": "c2",
        "email": "bob@example.com",
        "first_name": "Bob",
        "last_name": "Lee",
        "address_line_1": "1 Main St",
        "kajabi_id": "102",
    },
    {"id": "c3", "email": "same@example.com", "first_name": "Sam", "kajabi_id": "103"},
    {
        "id": "c4",
        "email": "dbonly@example.com",
        "first_name": "Dee",
        "last_name": "Only",
        "city": "Oslo",
    },
    {"id": "c5", "email": "new.email@example.com", "first_name": "Eve", "kajabi_id": "105"},
]
KAJABI = [
    {
        "contact_id": "c1",
        "email": "jane@example.com",
        "name": "Jane Q Doe",
        "first_name": "Jane",
        "last_name": "Doe",
        "phone": "303-555-0101",
        "city": "Denver",
        "kajabi_id": "101",
    },
    {
        "contact_id": "c2",
        "email": "bob@example.com",
        "name": "Bob Lee",
        "first_name": "Bob",
        "last_name": "Lee",
        "address_line_1": "1 Main St",
        "address_line_2": "Apt 4",
        "kajabi_id": "102",
    },
    {
        "contact_id": "c3",
        "email": "same@example.com",
        "name": "Sam",
        "first_name": "Sam",
        "phone": "555",
        "kajabi_id": "103",
    },
    {
        "contact_id": "c5",
        "email": "old.email@example.com",
        "name": "Eve",
        "first_name": "Eve",
        "kajabi_id": "105",
    },
]


def test_only_differing_attributes_are_sent_never_a_blank_never_an_email():
    plan = plan_push(frame(DB, "id"), frame(KAJABI, "contact_id"), site_contacts=4)
    by_id = {r.kajabi_id: r for r in plan.requests}
    assert set(by_id) == {"101"}  # Bob: Kajabi's extra Address Line 2 is never blanked
    jane = by_id["101"]
    assert jane.action == "update"
    assert jane.attributes == {"phone_number": "+13035550101", "name": "Jane Q Doe-Smith"}
    assert jane.kajabi_before == {"phone_number": "303-555-0101", "name": "Jane Q Doe"}
    assert plan.emails_differing == 1  # Eve's email differs: a person fixes it, never the push
    assert plan.creates() == []  # creating is opt-in


def test_creating_database_only_contacts_is_opt_in():
    plan = plan_push(frame(DB, "id"), frame(KAJABI, "contact_id"), 4, create_new=True)
    created = plan.creates()
    assert [(r.contact_id, r.kajabi_id) for r in created] == [("c4", None)]
    assert created[0].attributes == {
        "email": "dbonly@example.com",
        "name": "Dee Only",
        "address_city": "Oslo",
    }


def test_what_this_weeks_push_applied_counts_as_kajabis_value():
    pushed = {"c1": {"phone_number": "+13035550101", "name": "Jane Q Doe-Smith"}}
    plan = plan_push(frame(DB, "id"), frame(KAJABI, "contact_id"), 4, pushed=pushed)
    assert plan.requests == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("Jane Q Doe", "Jane", "Doe", "Jane", "Doe-Smith"), "Jane Q Doe-Smith"),
        (("Jane Doe", "Jane", "Doe", "Janet", None), "Janet Doe"),
        ((None, None, None, "Ann", "Lee"), "Ann Lee"),
        (("Cher", "Cher", None, None, "Sarkisian"), "Cher Sarkisian"),
    ],
)
def test_pushed_name(args, expected):
    assert pushed_name(*args) == expected


def test_push_volume_has_the_shape_of_overwrite_volume():
    plan = plan_push(frame(DB, "id"), frame(KAJABI, "contact_id"), site_contacts=10_000)
    assert PushThresholds().limit(10_000) == 200 and PushThresholds().limit(100) == 25
    assert push_volume(plan, PushThresholds()).passed
    blocked = push_volume(plan, PushThresholds(max_push_pct=0.0, min_push_limit=0))
    assert not blocked.passed and blocked.contacts == 1 and blocked.pct_to_pass == 0.1
    assert load_push_thresholds({"KAJABI_SYNC_MAX_PUSH_PCT": "5"}).max_push_pct == 5.0
    with pytest.raises(ValueError, match="KAJABI_SYNC_MIN_PUSH_LIMIT"):
        load_push_thresholds({"KAJABI_SYNC_MIN_PUSH_LIMIT": "2.5"})


# --- sending -------------------------------------------------------------------------------


def _world(db_url, fake, people: int = 6):
    """``people`` contacts in both systems, each with a database phone Kajabi lacks."""
    rows = [
        {
            "email": f"p{i}@example.com",
            "first_name": "P",
            "last_name": f"N{i}",
            "phone": f"+1303555{i:04d}",
            "kajabi_id": str(500 + i),
        }
        for i in range(people)
    ]
    ids = insert_contacts(db_url, *rows)
    for i in range(people):
        fake.add_contact(str(500 + i), name=f"P N{i}", email=f"p{i}@example.com")
    contacts = pd.DataFrame(
        [
            {"id": cid, **{f: r.get(f) for f in ("email", *CONTACT_FIELDS)}}
            for cid, r in zip(ids, rows, strict=True)
        ]
    ).astype("string")
    kajabi = contacts.rename(columns={"id": "contact_id"}).assign(phone=None, name=None)
    kajabi["name"] = [f"P N{i}" for i in range(people)]
    return contacts, kajabi.astype("string")


def _plan(db_url, contacts, kajabi):
    with psycopg.connect(db_url) as conn:
        pushed = applied_this_week(conn, WEEK)
    return plan_push(contacts, kajabi, len(kajabi), pushed=pushed)


def _push(db_url, client, plan):
    with psycopg.connect(db_url) as conn:
        return run_push(conn, client, "1001", plan, WEEK, dagster_run_id="r")


def test_a_push_sends_each_patch_once_and_a_second_run_sends_nothing(fake_kajabi, client, db_url):
    contacts, kajabi = _world(db_url, fake_kajabi)
    outcome = _push(db_url, client, _plan(db_url, contacts, kajabi))
    assert outcome.counts == {"sent": 6, "applied": 6}
    assert all(
        fake_kajabi.contacts[str(500 + i)]["phone_number"] == f"+1303555{i:04d}" for i in range(6)
    )
    again = _push(db_url, client, _plan(db_url, contacts, kajabi))
    assert again.counts == {} and len(fake_kajabi.logged("PATCH")) == 6
    assert again.week == {"applied": 6}


def test_a_422_is_recorded_with_its_reason_and_the_others_go_on(fake_kajabi, client, db_url):
    contacts, kajabi = _world(db_url, fake_kajabi)
    fake_kajabi.reject_patch_ids["502"] = (
        "/data/attributes/phone_number",
        "Phone number is invalid",
    )
    outcome = _push(db_url, client, _plan(db_url, contacts, kajabi))
    assert outcome.counts == {"sent": 6, "applied": 5, "rejected": 1}
    with psycopg.connect(db_url) as conn:
        (rejected,) = rejected_rows(conn, WEEK)
    assert rejected["email"] == "p2@example.com" and rejected["http_status"] == 422
    assert rejected["error"] == "Phone number is invalid (at /data/attributes/phone_number)"
    again = _push(db_url, client, _plan(db_url, contacts, kajabi))  # refused once is enough
    assert again.counts == {} and len(fake_kajabi.logged("PATCH")) == 6


def test_a_push_interrupted_after_3_requests_resumes_without_sending_any_twice(
    fake_kajabi, clock, db_url
):
    contacts, kajabi = _world(db_url, fake_kajabi)
    fake_kajabi.lose_answer_after_patches = (
        3  # the 3rd PATCH is applied, its answer lost, then down
    )
    with KajabiClient(
        fake_kajabi.url,
        fake_kajabi.client_id,
        fake_kajabi.client_secret,
        max_wait=10,
        sleep=clock.sleep,
        clock=clock,
    ) as api:
        with pytest.raises(KajabiUnavailable, match=r"GET /v1/contacts/\{id\}"):
            _push(db_url, api, _plan(db_url, contacts, kajabi))
    with psycopg.connect(db_url) as conn:
        assert week_outcomes(conn, WEEK) == {"applied": 2, "sending": 1, "pending": 3}

    fake_kajabi.down = False
    fake_kajabi.lose_answer_after_patches = None
    with KajabiClient(
        fake_kajabi.url, fake_kajabi.client_id, fake_kajabi.client_secret, rps=50
    ) as api:
        resumed = _push(db_url, api, _plan(db_url, contacts, kajabi))
    assert resumed.counts == {"verified": 1, "sent": 3, "applied": 3}
    assert [fake_kajabi.patch_count(str(500 + i)) for i in range(6)] == [1] * 6
    assert resumed.week == {"applied": 6}


def test_creation_looks_the_email_up_first_and_treats_taken_as_existing(
    fake_kajabi, client, db_url
):
    (cid,) = insert_contacts(db_url, {"email": "dee@example.com", "first_name": "Dee"})
    (cid2,) = insert_contacts(db_url, {"email": "eve@example.com", "first_name": "Eve"})
    fake_kajabi.add_contact("900", name="Dee", email="DEE@example.com")
    contacts = pd.DataFrame(
        [
            {"id": cid, "email": "dee@example.com", "first_name": "Dee"},
            {"id": cid2, "email": "eve@example.com", "first_name": "Eve"},
        ],
        columns=["id", "email", *CONTACT_FIELDS],
    ).astype("string")
    kajabi = pd.DataFrame(columns=["contact_id", "email", *CONTACT_FIELDS, "name"]).astype("string")
    plan = plan_push(contacts, kajabi, 1, create_new=True)
    outcome = _push(db_url, client, plan)
    assert outcome.counts == {"exists": 1, "sent": 1, "created": 1}
    assert len(fake_kajabi.logged("POST", "/v1/contacts")) == 1  # only Eve
    assert sum(1 for a in fake_kajabi.contacts.values() if a["email"] == "eve@example.com") == 1

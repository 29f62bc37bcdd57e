"""The API pull: the week's snapshot in Kajabi's export layout, written whole or not at all."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from kajabi_sync.kajabi import read_kajabi_export, validate_export
from kajabi_sync.kajabi.api.client import KajabiClient, KajabiUnavailable
from kajabi_sync.kajabi.api.pull import snapshot_path, week_snapshot
from kajabi_sync.kajabi.api.snapshot import NameHint, ScanIncomplete, split_name
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv
from kajabi_sync_tests.kajabi_api.people import add_people
from kajabi_sync_tests.reliability.scenario import dump_database

MONDAY = date(2025, 11, 10)
WEEK = "2025-11-10"


def _pull(db_url, client, exports):
    with psycopg.connect(db_url) as conn:
        return week_snapshot(conn, client, None, exports, MONDAY, WEEK, "run-1")


def test_the_snapshot_reads_and_validates_like_a_kajabi_export(
    fake_kajabi, client, db_url, data_dir
):
    fake_kajabi.custom_fields = {"custom_1": "Source", "custom_2": "Last Name"}
    fake_kajabi.add_contact(
        "501",
        name="Mary Ann Smith",
        email="mary@example.com",
        phone_number="+1 555 0101",
        address_line_1="1 Main St",
        address_city="Denver",
        address_state="CO",
        address_zip="80202",
        address_country="US",
        custom_1="Zoho",
        custom_2="not the last name",
        created_at="2024-05-07T01:01:32Z",
    )
    fake_kajabi.add_contact("502", name="Bo", email="bo@example.com")
    insert_contacts(
        db_url,
        {
            "email": "mary@example.com",
            "first_name": "Mary Ann",
            "last_name": "Smith",
            "kajabi_id": "501",
            "kajabi_member_id": "m-77",
        },
    )
    snapshot = _pull(db_url, client, data_dir / "kajabi_exports")
    assert snapshot.pulled and snapshot.contacts == 2
    assert snapshot.path == snapshot_path(data_dir / "kajabi_exports", MONDAY)
    assert snapshot.path.stat().st_mode & 0o777 == 0o600

    raw = read_kajabi_export(snapshot.path)
    assert raw.export_date == MONDAY and raw.warnings == []
    assert "Source (custom_1)" in raw.frame.columns
    validated = validate_export(raw)
    assert validated.rejects.empty
    rows = validated.frame.set_index("kajabi_id")
    mary = rows.loc["501"]
    assert (mary["first_name"], mary["last_name"]) == ("Mary Ann", "Smith")  # the known split
    assert mary["kajabi_member_id"] == "m-77"  # carried forward: the API has no member id
    assert (mary["phone"], mary["city"], mary["postal_code"]) == ("+1 555 0101", "Denver", "80202")
    assert str(mary["created_at"].date()) == "2024-05-07"
    assert (rows.loc["502"]["first_name"], rows.loc["502"]["last_name"]) == ("Bo", None) or (
        rows.loc["502"]["first_name"] == "Bo"
    )
    with psycopg.connect(db_url) as conn:
        recorded = conn.execute(
            "SELECT partition_key, file_name, file_sha256, contacts FROM kajabi_sync.api_pulls"
        ).fetchall()
    assert recorded == [(WEEK, snapshot.path.name, raw.sha256, 2)]


def test_a_week_with_a_file_is_replayed_and_never_pulled_again(
    fake_kajabi, client, db_url, data_dir
):
    path = kajabi_csv(
        data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-12.csv",
        {"email": "a@example.com", "first_name": "A", "kajabi_id": "1"},
    )
    before = path.read_bytes()
    snapshot = _pull(db_url, client, data_dir / "kajabi_exports")
    assert snapshot.path == path and not snapshot.pulled
    assert fake_kajabi.requests == [] and path.read_bytes() == before


def test_a_pull_that_fails_on_page_2_leaves_no_snapshot_and_the_database_unchanged(
    fake_kajabi, clock, db_url, data_dir
):
    add_people(fake_kajabi, 250)
    insert_contacts(
        db_url, {"email": "p1@example.com", "first_name": "Person", "kajabi_id": "10002"}
    )
    fake_kajabi.failing_page = 2
    before = dump_database(db_url)
    exports = data_dir / "kajabi_exports"
    with KajabiClient(
        fake_kajabi.url,
        "test-client",
        fake_kajabi.client_secret,
        max_wait=20,
        sleep=clock.sleep,
        clock=clock,
    ) as api:
        with pytest.raises(KajabiUnavailable, match=r"GET /v1/contacts.*HTTP 503"):
            _pull(db_url, api, exports)
    assert list(exports.iterdir()) == []  # no snapshot, no temporary file
    assert dump_database(db_url) == before


def test_a_scan_short_of_meta_total_count_writes_nothing(
    fake_kajabi, client, db_url, data_dir, monkeypatch
):
    add_people(fake_kajabi, 150)
    original = fake_kajabi._page

    def short(path, query, data):  # Kajabi drops one contact from page 2 (a deletion mid-scan)
        status, headers, body = original(path, query, data)
        if query.get("page[number]") == "2":
            import json

            page = json.loads(body)
            page["data"] = page["data"][1:]
            body = json.dumps(page).encode()
        return status, headers, body

    monkeypatch.setattr(fake_kajabi, "_page", short)
    with pytest.raises(ScanIncomplete, match="read 149 contacts but Kajabi reports 150"):
        _pull(db_url, client, data_dir / "kajabi_exports")
    assert list((data_dir / "kajabi_exports").iterdir()) == []


def test_several_sites_need_kajabi_sync_site_id(fake_kajabi, client, db_url, data_dir):
    fake_kajabi.sites["2002"] = "Second site"
    with pytest.raises(Exception, match="KAJABI_SYNC_SITE_ID"):
        _pull(db_url, client, data_dir / "kajabi_exports")


@pytest.mark.parametrize(
    ("name", "hints", "expected"),
    [
        ("Mary Ann Smith", [NameHint("Mary Ann", "Smith")], ("Mary Ann", "Smith")),
        ("Mary Ann Jo Smith", [NameHint("Mary", "Smith")], ("Mary", "Smith")),  # middle names
        ("Mary  Ann   Smith", [NameHint("Mary Ann", "Smith")], ("Mary Ann", "Smith")),
        ("Mary Jones", [NameHint("Mary", "Smith")], ("Mary", "Jones")),  # a real edit
        ("Mary Jones", [NameHint("Mary", "Smith"), NameHint("Mary", "Jones")], ("Mary", "Jones")),
        ("van der Berg", [NameHint(None, "van der Berg")], ("", "van der Berg")),
        ("Cher", [], ("Cher", "")),
        ("", [NameHint("A", "B")], ("", "")),
        (None, [], ("", "")),
    ],
)
def test_split_name(name, hints, expected):
    assert split_name(name, hints) == expected

"""The review loop on the demo, against the real database: week 1, fill the review file, resolve
it, week 2 (the issue's "Done when"), and the refusals that change nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from kajabi_sync.cli import main
from kajabi_sync.db.audit import rollback_run
from kajabi_sync.demo import DemoSpec, generate_demo
from kajabi_sync.review.decisions import _cell
from kajabi_sync.review.items import REVIEW_COLUMNS, REVIEW_ENCODING
from kajabi_sync_tests import pg
from kajabi_sync_tests.review.demo_weeks import WEEK_1, WEEK_2, read_review, review_file
from kajabi_sync_tests.weekly_job import run_week

CUSTOM_PHONE = "+1 720 555 0199"


def state(url: str) -> dict[str, list[tuple]]:
    """What the decisions may change, as rows (audit tables and timestamps left out)."""
    queries = {
        "contacts": """SELECT id::text, email::text, first_name, last_name, phone, address_line_1,
                              address_line_2, city, state, postal_code, country, kajabi_id,
                              kajabi_member_id, deleted_at IS NOT NULL FROM contacts ORDER BY id""",
        "contact_emails": """SELECT contact_id::text, lower(email::text), is_primary, source
                             FROM contact_emails ORDER BY 1, 2""",
        "bases": """SELECT contact_id::text, kajabi_email, first_name, last_name, phone,
                           address_line_1, address_line_2, city, state, postal_code, country,
                           kajabi_id, kajabi_member_id FROM kajabi_sync.kajabi_base ORDER BY 1""",
        "merge_memory": """SELECT merged_email, surviving_contact_id::text FROM kajabi_sync.merged_from
                           WHERE undone_at IS NULL ORDER BY 1""",
        "holds": """SELECT email, status, candidate_contact_id::text FROM kajabi_sync.duplicate_holds
                    ORDER BY 1""",
        "manual": """SELECT m.contact_id::text, m.field FROM kajabi_sync.manual_fields m
                     JOIN kajabi_sync.import_runs r ON r.id = m.review_run_id
                     WHERE r.rolled_back_at IS NULL ORDER BY 1, 2""",
    }
    with psycopg.connect(url) as conn:
        return {name: conn.execute(query).fetchall() for name, query in queries.items()}


@pytest.fixture(scope="module")
def demo_week_one(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """(database name, data folder): the demo with its week one applied, built once per module."""
    name = pg.scratch_name()
    url = pg.create_database(pg_admin_url, name, template=pg.TEMPLATE)
    folder = tmp_path_factory.mktemp("demo_week_one") / "data"
    (folder / "kajabi_exports").mkdir(parents=True)
    (folder / "current").mkdir()
    generate_demo(url, folder, DemoSpec(weeks=2))
    assert run_week(WEEK_1, db_url=url, data_dir=folder).success
    yield name, folder
    pg.drop_database(pg_admin_url, name)


@pytest.fixture
def db_url(pg_admin_url: str, demo_week_one: tuple[str, Path], data_dir: Path) -> Iterator[str]:
    """Every test here starts from the demo's week one: this module's ``db_url`` is a copy of
    ``demo_week_one``'s database (``CREATE DATABASE ... TEMPLATE``), and ``data_dir`` gets a
    copy of its files (modification times kept: the newest review file is week one's)."""
    template, folder = demo_week_one
    shutil.copytree(folder, data_dir, dirs_exist_ok=True)
    name = pg.scratch_name()
    url = pg.create_database(pg_admin_url, name, template=template)
    yield url
    pg.drop_database(pg_admin_url, name)


@pytest.fixture
def week_one(db_url: str, data_dir: Path) -> pd.DataFrame:
    """The review file week one left."""
    return read_review(review_file(data_dir))


def fill(items: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Some keep_database, some take_kajabi, one value, one merge, one release."""
    filled = items.copy()
    phones = filled.index[(filled["kind"] == "unattributed") & (filled["field"] == "phone")]
    # Kajabi's values for other fields (a partial address that agrees with Kajabi's is completed
    # by the plan itself, so the demo's week 1 leaves few address parts unattributed).
    lines = filled.index[(filled["kind"] == "unattributed") & (filled["field"] != "phone")]
    held = filled.index[filled["kind"] == "held_duplicate"]
    assert len(phones) >= 4 and len(lines) >= 2 and len(held) >= 2
    filled.loc[phones[:3], "resolution"] = "keep_database"
    filled.loc[lines[:3], "resolution"] = "take_kajabi"
    filled.loc[phones[3], ["resolution", "value"]] = ["value", CUSTOM_PHONE]
    filled.loc[held[0], "resolution"] = "merge"
    filled.loc[held[1], "resolution"] = "release"
    decided = {
        row["review_id"]: row for row in filled[filled["resolution"] != ""].to_dict("records")
    }
    return filled, decided


def save(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, encoding=REVIEW_ENCODING)
    return path


def field_value(url: str, contact_id: str, field: str) -> str | None:
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"SELECT {field} FROM contacts WHERE id = %s", (contact_id,)
        ).fetchone()[0]


def live_contact_with(url: str, email: str) -> bool:
    with psycopg.connect(url) as conn:
        return bool(
            conn.execute(
                """SELECT count(*) FROM contacts
                   WHERE deleted_at IS NULL AND lower(email::text) = lower(%s)""",
                (email,),
            ).fetchone()[0]
        )


def test_the_review_file_is_what_a_spreadsheet_opens(week_one, data_dir):
    raw = review_file(data_dir).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads it as UTF-8
    assert tuple(week_one.columns) == REVIEW_COLUMNS
    # The demo's people who changed their email in Kajabi are listed too (email_change).
    assert set(week_one["kind"]) == {"unattributed", "held_duplicate", "email_change"}
    phones = week_one.loc[week_one["field"] == "phone", "kajabi_value"]
    assert phones.str.startswith("+").any()  # phones keep their '+', not prefixed with "'"
    assert week_one["review_id"].is_unique
    assert (week_one[["resolution", "value", "note"]] == "").all().all()


def test_done_when_resolve_then_week_two(week_one, db_url, data_dir, tmp_path, capsys):
    filled, decided = fill(week_one)
    path = save(filled, tmp_path / "decisions.csv")
    before = state(db_url)

    # Without --yes: the plan, item by item, masked, and nothing written.
    assert main(["--database-url", db_url, "resolve", str(path)]) == 0
    shown = capsys.readouterr().out
    assert f"{len(decided)} decision(s) to apply" in shown
    for rid in decided:
        assert rid in shown
    assert all(row["email"] not in shown for row in decided.values())
    assert state(db_url) == before

    assert main(["--database-url", db_url, "resolve", str(path), "--yes"]) == 0
    out = capsys.readouterr().out
    run = int(out.split("review run ")[1].split(":")[0])
    after = state(db_url)

    # The decision run rolls back exactly, and can then be applied again.
    with psycopg.connect(db_url) as conn:
        rollback_run(conn, run)
    assert state(db_url) == before
    assert main(["--database-url", db_url, "resolve", str(path), "--yes"]) == 0
    capsys.readouterr()
    assert state(db_url) == after

    for rid, row in decided.items():
        if row["kind"] != "unattributed":
            continue
        now = field_value(db_url, row["contact_id"], row["field"])
        expected = {
            "keep_database": row["database_value"] or None,
            "take_kajabi": _cell(row["kajabi_value"]),  # the file's "'-" is Kajabi's "-"
            "value": CUSTOM_PHONE,
        }[row["resolution"]]
        assert now == expected, rid

    assert run_week(WEEK_2, db_url=db_url, data_dir=data_dir).success
    week_two = read_review(review_file(data_dir))
    assert not set(week_two["review_id"]) & set(decided)
    for rid, row in decided.items():
        if row["kind"] == "unattributed":
            now = field_value(db_url, row["contact_id"], row["field"])
            assert now == after_value(after, row), rid
    merged = next(r for r in decided.values() if r["resolution"] == "merge")
    released = next(r for r in decided.values() if r["resolution"] == "release")
    assert live_contact_with(db_url, released["email"])
    assert not live_contact_with(db_url, merged["email"])
    with psycopg.connect(db_url) as conn:
        owner = conn.execute(
            "SELECT contact_id::text FROM contact_emails WHERE lower(email::text) = lower(%s)",
            (merged["email"],),
        ).fetchone()
    assert owner == (merged["contact_id"],)


def after_value(snapshot: dict[str, list[tuple]], row: dict) -> str | None:
    fields = [
        "id", "email", "first_name", "last_name", "phone", "address_line_1", "address_line_2",
        "city", "state", "postal_code", "country", "kajabi_id", "kajabi_member_id", "deleted",
    ]  # fmt: skip
    contact = next(c for c in snapshot["contacts"] if c[0] == row["contact_id"])
    return contact[fields.index(row["field"])]


def test_a_bad_file_changes_nothing_and_names_each_row(
    week_one, db_url, data_dir, tmp_path, capsys
):
    filled, _ = fill(week_one)
    rows = filled.index[filled["resolution"] != ""]
    phone_row = filled.index[(filled["resolution"] == "value")][0]
    filled.loc[phone_row, "value"] = "call me maybe"  # malformed
    filled.loc[rows[0], "review_id"] = "U-000000000000"  # unknown
    filled.loc[rows[1], "resolution"] = "merge"  # not allowed for a field item
    stale = filled.loc[rows[4]]
    with psycopg.connect(db_url) as conn:  # the database moved since the file was written
        conn.execute(
            f"UPDATE contacts SET {stale['field']} = 'Suite 9' WHERE id = %s",
            (stale["contact_id"],),
        )
    used = {rows[0], rows[1], rows[4], phone_row}
    moved = next(i for i in rows if i not in used and filled.at[i, "kind"] == "unattributed")
    filled.loc[moved, "kajabi_value"] = "Apt 12B"  # Kajabi's value is not what the file saw
    path = save(filled, tmp_path / "decisions.csv")
    before = state(db_url)
    assert main(["--database-url", db_url, "resolve", str(path), "--yes"]) == 1
    err = capsys.readouterr().err
    assert "5 row(s) cannot be applied, so nothing was written" in err
    field = filled.at[moved, "field"]
    assert f"review_id {filled.at[moved, 'review_id']}: stale: Kajabi's {field} changed" in err
    assert "review_id U-000000000000: unknown review_id" in err
    assert "unknown review_id" in err
    assert "resolution 'merge' is not allowed for unattributed items" in err
    assert "malformed value for phone" in err
    assert f"review_id {stale['review_id']}: stale" in err
    assert state(db_url) == before


def test_bulk_decision_and_review_listing(week_one, db_url, capsys):
    assert main(["--database-url", db_url, "review"]) == 0
    listing = capsys.readouterr().out
    assert f"Needs you: {len(week_one)}" in listing
    assert not any(email in listing for email in week_one["email"])
    count = int(((week_one["kind"] == "unattributed") & (week_one["field"] == "phone")).sum())
    args = ["--database-url", db_url, "resolve", "--kind", "unattributed", "--field", "phone"]
    assert main([*args, "--resolution", "keep_database", "--yes"]) == 0
    assert f"{count} decision(s)" in capsys.readouterr().out
    assert main(["--database-url", db_url, "review", "--kind", "unattributed"]) == 0
    assert f"Needs you: {int((week_one['kind'] == 'unattributed').sum()) - count}" in (
        capsys.readouterr().out
    )


def test_contact_accepts_an_id_a_review_id_or_an_email(week_one, db_url, capsys):
    item = week_one[week_one["kind"] == "unattributed"].iloc[0]
    held = week_one[week_one["kind"] == "held_duplicate"].iloc[0]
    for who in (item["contact_id"], item["review_id"], item["review_id"].lower(), item["email"]):
        assert main(["--database-url", db_url, "contact", who]) == 0, who
        out = capsys.readouterr().out
        assert f"Contact {item['email']}" in out and item["contact_id"] in out
    assert main(["--database-url", db_url, "contact", held["review_id"]]) == 0
    out = capsys.readouterr().out
    assert f"the held sign-up {held['email']} looks like this contact" in out
    assert f"Contact {held['database_value']}" in out
    assert main(["--database-url", db_url, "contact", "U-000000000000"]) == 1
    assert "no review item U-000000000000" in capsys.readouterr().err


def test_merge_job_takes_the_review_id_the_ui_shows(week_one, db_url):
    from kajabi_sync.defs.merge_jobs import MergeDecision, run_decision

    held = week_one[week_one["kind"] == "held_duplicate"].iloc[:2]
    with psycopg.connect(db_url) as conn:
        merged = run_decision(
            MergeDecision(action="approve", review_id=held.iloc[0]["review_id"]), conn
        )
        released = run_decision(
            MergeDecision(action="release", review_id=held.iloc[1]["review_id"]), conn
        )
        statuses = dict(
            conn.execute(
                "SELECT email, status FROM kajabi_sync.duplicate_holds WHERE email = ANY(%s)",
                ([e.lower() for e in held["email"]],),
            ).fetchall()
        )
    assert merged["merge_run_id"] > 0 and released["action"] == "release"
    assert statuses == {
        held.iloc[0]["email"].lower(): "merged",
        held.iloc[1]["email"].lower(): "released",
    }
    assert live_contact_with(db_url, held.iloc[0]["email"]) is False


def test_a_file_dropped_into_review_is_applied_before_the_next_plan(week_one, db_url, data_dir):
    filled, decided = fill(week_one)
    inbox = data_dir / "review"
    inbox.mkdir()
    save(filled, inbox / "monday.csv")
    result = run_week(WEEK_2, db_url=db_url, data_dir=data_dir)
    assert result.success
    assert not (inbox / "monday.csv").exists()
    applied = list((inbox / "applied").iterdir())
    assert len(applied) == 1 and applied[0].name.startswith("monday.review_run_")
    metadata = result.asset_materializations_for_node("impact_analysis")[0].metadata
    assert metadata["review_decisions_applied"].value == len(decided)
    week_two = read_review(review_file(data_dir))
    assert not set(week_two["review_id"]) & set(decided)
    released = next(r for r in decided.values() if r["resolution"] == "release")
    assert live_contact_with(db_url, released["email"])


def test_a_refused_dropped_file_stops_the_week_before_anything_is_written(
    week_one, db_url, data_dir
):
    filled, _ = fill(week_one)
    filled.loc[filled["resolution"] == "value", "value"] = "not a phone"
    inbox = data_dir / "review"
    inbox.mkdir()
    save(filled, inbox / "monday.csv")
    before = state(db_url)
    result = run_week(WEEK_2, db_url=db_url, data_dir=data_dir)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.to_string()
    assert "monday.csv" in message and "malformed value for phone" in message
    assert (inbox / "monday.csv").exists()
    assert state(db_url) == before


def test_the_dagster_job_applies_a_file_from_its_config(week_one, db_url, data_dir):

    from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
    from kajabi_sync.defs.review_jobs import apply_review_decisions

    filled, decided = fill(week_one)
    save(filled, data_dir / "current" / "filled.csv")
    result = apply_review_decisions.execute_in_process(
        run_config={"ops": {"apply_review_file": {"config": {"file": "current/filled.csv"}}}},
        resources={
            "database": ContactsDatabase(url=db_url),
            "data_folder": DataFolder(path=str(data_dir)),
        },
    )
    assert result.success
    outcome = result.output_for_node("apply_review_file")
    assert outcome["decided"] == len(decided)
    assert outcome["undo"] == f"kajabi-sync rollback {outcome['review_run_id']} --yes"
    with psycopg.connect(db_url) as conn:
        kind = conn.execute(
            "SELECT kind FROM kajabi_sync.import_runs WHERE id = %s", (outcome["review_run_id"],)
        ).fetchone()[0]
    assert kind == "review"


def test_a_value_set_by_hand_is_protected_from_a_later_kajabi_edit(
    week_one, db_url, data_dir, tmp_path
):
    from kajabi_sync.db.snapshot import load_snapshot
    from kajabi_sync.kajabi import read_kajabi_export, validate_export
    from kajabi_sync.survivorship.plan import build_plan

    filled, decided = fill(week_one)
    manual = next(r for r in decided.values() if r["resolution"] == "value")
    assert (
        main(["--database-url", db_url, "resolve", str(save(filled, tmp_path / "d.csv")), "--yes"])
        == 0
    )
    export = validate_export(
        read_kajabi_export(data_dir / "kajabi_exports" / "kajabi_contacts_2025-11-17.csv")
    ).frame
    row = export["email"] == manual["email"].lower()
    assert row.sum() == 1
    export.loc[row, "phone"] = "+1 303 555 0142"  # a Kajabi-side edit after the decision
    with psycopg.connect(db_url) as conn:
        plan = build_plan(export, load_snapshot(conn))
    change = plan.changes[
        (plan.changes["contact_id"] == manual["contact_id"]) & (plan.changes["field"] == "phone")
    ].iloc[0]
    assert change["decision"] == "protected"
    assert "set by hand in a review decision (manual)" in change["reason"]

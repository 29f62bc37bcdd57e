"""The weekly exports follow the contract's layout and tell the stories the importer must handle."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from kajabi_sync.demo import DemoSpec, DemoSummary, generate_demo
from kajabi_sync.kajabi.columns import FIXED_COLUMNS

SPEC = DemoSpec(weeks=3)


@pytest.fixture(scope="module")
def demo(module_db: tuple[str, Path]) -> tuple[str, DemoSummary]:
    """The demo, built once for the module: its tests only read it."""
    url, folder = module_db
    return url, generate_demo(url, folder, SPEC)


def read_export(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_files_are_named_by_monday_and_laid_out_like_kajabi(
    demo: tuple[str, DemoSummary], module_db: tuple[str, Path]
) -> None:
    _, summary = demo
    names = sorted(p.name for p in (module_db[1] / "kajabi_exports").iterdir())
    assert names == [
        "kajabi_contacts_2025-11-10.csv",
        "kajabi_contacts_2025-11-17.csv",
        "kajabi_contacts_2025-11-24.csv",
    ]
    raw = summary.exports[0].path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfName,First Name,")
    assert b"\r\n" in raw
    header = next(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert header[: len(FIXED_COLUMNS)] == list(FIXED_COLUMNS)
    assert {
        "Phone Number (phone_number)",
        "Address (address_line_1)",
        "Zip Code (address_zip)",
        "Source (custom_1)",
        "Last Name (custom_2)",
    } <= set(header[len(FIXED_COLUMNS) :])
    frame = read_export(summary.exports[0].path)
    assert frame["Source (custom_1)"].str.contains("\n").any()  # multi-line quoted cells
    assert frame["Tags"].str.contains(", ").any()
    assert frame["Created At"].str.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [-+]\d{4}$").all()
    assert (frame["Email"] != frame["Email"].str.strip()).any()  # stray spaces
    assert (
        frame["Email"].str.strip() != frame["Email"].str.strip().str.lower()
    ).any()  # mixed case


def test_row_counts_per_week(demo: tuple[str, DemoSummary]) -> None:
    _, summary = demo
    spec = summary.spec
    week1 = len(read_export(summary.exports[0].path))
    expected1 = (
        spec.count("kajabi_contacts")
        + spec.count("merged_duplicates")
        + spec.count("new_signups_first_week")
    )
    assert week1 == expected1 == summary.exports[0].rows
    for before, after in zip(summary.exports, summary.exports[1:], strict=False):
        assert len(read_export(after.path)) == before.rows + after.new_signups - after.gone
        assert after.gone == spec.count("gone_per_week")


def test_week_one_stories(demo: tuple[str, DemoSummary]) -> None:
    url, summary = demo
    export = read_export(summary.exports[0].path)
    emails = export["Email"].str.strip().str.lower()
    with psycopg.connect(url) as conn:
        merged = {
            row[0]
            for row in conn.execute(
                "SELECT lower(email::text) FROM contacts WHERE deleted_at IS NOT NULL"
            )
        }
        live = {
            row[0]
            for row in conn.execute(
                "SELECT lower(email::text) FROM contacts WHERE deleted_at IS NULL"
            )
        }
        db_ids = {
            row[0]
            for row in conn.execute("SELECT kajabi_id FROM contacts WHERE kajabi_id IS NOT NULL")
        }
    assert merged <= set(emails)  # a naive import would bring every merged-away contact back
    new = export[~export["ID"].isin(db_ids)]
    assert len(new) == summary.spec.count("new_signups_first_week")
    duplicates = summary.likely_duplicates
    assert set(duplicates["duplicate_kind"]) == {
        "same_phone",
        "gmail_alias",
        "same_name_postal_code",
        "gmail_plus_tag",
    }
    assert set(duplicates["kajabi_id"]) <= set(new["ID"])
    assert not set(duplicates["email"].str.lower()) & live
    changed = export[export["ID"].isin(summary.changed_email_ids)]
    assert len(changed) == summary.changed_emails > 0
    assert not set(changed["Email"].str.strip().str.lower()) & live


def test_later_weeks_change_only_what_the_summary_says(demo: tuple[str, DemoSummary]) -> None:
    _, summary = demo
    for week in (2, 3):
        before = read_export(summary.exports[week - 2].path).set_index("ID")
        after = read_export(summary.exports[week - 1].path).set_index("ID")
        kept = before.index.intersection(after.index)
        changed = (before.loc[kept] != after.loc[kept]).any(axis=1)
        edits = summary.edits[summary.edits["week"] == week]
        assert set(changed[changed].index) == set(edits["kajabi_id"])
        assert len(edits) == summary.spec.count("kajabi_edits_per_week")
        assert {
            "plain",
            "protected_phone",
            "protected_name",
            "protected_address",
            "db_changed_phone",
            "db_changed_address",
        } == set(edits["pool"])
        assert len(before.index.difference(after.index)) == summary.exports[week - 1].gone


def test_same_spec_gives_identical_files_and_rows(
    db_url: str, empty_db_url: str, tmp_path: Path
) -> None:
    spec = DemoSpec(contacts=800, weeks=2)
    first = generate_demo(db_url, tmp_path / "a", spec)
    second = generate_demo(empty_db_url, tmp_path / "b", spec)
    for one, two in zip(first.exports, second.exports, strict=True):
        assert one.path.read_bytes() == two.path.read_bytes()
    dump = "SELECT c.*, e.* FROM contacts c LEFT JOIN contact_emails e ON e.contact_id = c.id ORDER BY c.id, e.id"
    with psycopg.connect(db_url) as a, psycopg.connect(empty_db_url) as b:
        assert a.execute(dump).fetchall() == b.execute(dump).fetchall()
    other_seed = generate_demo(db_url, tmp_path / "c", DemoSpec(contacts=800, weeks=2, seed=7))
    assert other_seed.exports[0].path.read_bytes() != first.exports[0].path.read_bytes()

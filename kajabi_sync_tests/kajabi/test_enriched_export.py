"""Enriched export for Kajabi's bulk import: membership, values, address unit, safety, splits."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest

from kajabi_sync.fields import ADDRESS_FIELDS, CONTACT_FIELDS
from kajabi_sync.kajabi import split_csv
from kajabi_sync.kajabi.enriched_export import (
    FULL_EXPORT_NAME,
    NEW_CONTACTS_NAME,
    UPDATES_ONLY_NAME,
    build_enriched_export,
    export_preview,
    export_summary,
    write_enriched_export,
)
from kajabi_sync.kajabi.import_format import FIELD_HEADERS, IMPORT_HEADERS
from kajabi_sync.reports import write_csv

ADDRESS_HEADERS = [FIELD_HEADERS[part] for part in ADDRESS_FIELDS]


def contacts_frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows)).reindex(columns=["id", "email", *CONTACT_FIELDS])


def kajabi_frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows)).reindex(columns=["contact_id", "email", *CONTACT_FIELDS])


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def rows_by_email(path: Path) -> dict[str, dict[str, str]]:
    return {row["Email"]: row for row in read_rows(path)}


@pytest.fixture()
def week() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four live contacts: same as Kajabi, enriched, new, and linked but absent this week."""
    contacts = contacts_frame(
        {
            "id": "c-same",
            "email": "same@example.com",
            "first_name": "Sam",
            "last_name": "Same",
            "kajabi_id": "101",
        },
        {
            "id": "c-enriched",
            "email": "rich@example.com",
            "first_name": "Rita",
            "last_name": "Rich",
            "phone": "+13035550101",
            "kajabi_id": "102",
        },
        {
            "id": "c-new",
            "email": "new@example.com",
            "first_name": "Nora",
            "last_name": "New",
            "city": "Boulder",
        },
        {"id": "c-absent", "email": "gone@example.com", "first_name": "Gus", "kajabi_id": "104"},
    )
    kajabi = kajabi_frame(
        {
            "contact_id": "c-same",
            "email": "same@example.com",
            "first_name": "Sam",
            "last_name": "Same",
            "kajabi_id": "101",
        },
        {
            "contact_id": "c-enriched",
            "email": "rich@example.com",
            "first_name": "Rita",
            "last_name": "Rich",
            "kajabi_id": "102",
        },
    )
    return contacts, kajabi


def test_three_files_have_import_columns_and_the_right_contacts(week, tmp_path):
    files = write_enriched_export(build_enriched_export(*week), tmp_path)

    full, updates, new = (
        files.paths[name] for name in (FULL_EXPORT_NAME, UPDATES_ONLY_NAME, NEW_CONTACTS_NAME)
    )
    assert full == (tmp_path / "kajabi_full_enriched_export.csv",)
    assert updates == (tmp_path / "kajabi_updates_only.csv",)
    assert new == (tmp_path / "kajabi_new_contacts_only.csv",)
    for (path,) in (full, updates, new):
        header = path.read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == list(IMPORT_HEADERS)
        assert header.startswith("Email,Name,First Name,Last Name,Phone Number,Address,")
    assert set(rows_by_email(full[0])) == {"same@example.com", "rich@example.com"}
    assert set(rows_by_email(updates[0])) == {"rich@example.com"}
    assert set(rows_by_email(new[0])) == {"new@example.com"}
    assert files.rows_per_file == {full[0]: 2, updates[0]: 1, new[0]: 1}


def test_file_has_no_byte_order_mark(week, tmp_path):
    files = write_enriched_export(build_enriched_export(*week), tmp_path)
    assert not files.all_paths()[0].read_bytes().startswith(b"\xef\xbb\xbf")


def test_full_export_carries_database_values_and_ids(week, tmp_path):
    files = write_enriched_export(build_enriched_export(*week), tmp_path)
    rich = rows_by_email(files.paths[FULL_EXPORT_NAME][0])["rich@example.com"]
    assert rich["Name"] == "Rita Rich"
    assert rich["Phone Number"] == "+13035550101"
    assert rich["Kajabi ID"] == "102"


def test_no_blank_cell_where_the_database_has_a_value():
    contacts = contacts_frame(
        *(
            {
                "id": f"c{i}",
                "email": f"p{i}@example.com",
                "first_name": "Ann",
                "last_name": "Lee",
                "phone": "+13035550101",
                "address_line_1": "1 Main St",
                "address_line_2": "Apt 2",
                "city": "Denver",
                "state": "CO",
                "postal_code": "80202",
                "country": "US",
                "kajabi_id": str(i),
                "kajabi_member_id": f"m{i}",
            }
            for i in range(3)
        )
    )
    # Kajabi knows nothing about these people but their email.
    kajabi = kajabi_frame(
        *({"contact_id": f"c{i}", "email": f"p{i}@example.com"} for i in range(3))
    )

    export = build_enriched_export(contacts, kajabi)

    assert len(export.updates) == 3
    for frame in (export.full, export.updates):
        assert frame.notna().all().all(), frame
    assert export.fields_differing["city"] == 3
    assert export.fields_differing["first_name"] == 3


def test_kajabi_value_is_sent_back_where_the_database_is_blank():
    contacts = contacts_frame(
        {
            "id": "c1",
            "email": "a@example.com",
            "first_name": "Ann",
            "last_name": "  ",
            "phone": None,
        }
    )
    kajabi = kajabi_frame(
        {
            "contact_id": "c1",
            "email": "a@example.com",
            "first_name": "Ann",
            "last_name": "Kajabi-Last",
            "phone": "+13035550199",
            "kajabi_id": "555",
        }
    )

    export = build_enriched_export(contacts, kajabi)

    row = export.full.iloc[0]
    assert row["Last Name"] == "Kajabi-Last"
    assert row["Phone Number"] == "+13035550199"
    assert row["Kajabi ID"] == "555"
    assert row["Name"] == "Ann Kajabi-Last"
    # A blank database field is never a difference, so nothing here needs an update.
    assert export.updates.empty
    assert sum(export.fields_differing.values()) == 0


def test_difference_is_exact_text_after_stripping():
    contacts = contacts_frame(
        {"id": "c1", "email": "a@example.com", "first_name": " Ann "},
        {"id": "c2", "email": "b@example.com", "first_name": "bob"},
    )
    kajabi = kajabi_frame(
        {"contact_id": "c1", "email": "a@example.com", "first_name": "Ann"},
        {"contact_id": "c2", "email": "b@example.com", "first_name": "Bob"},
    )

    export = build_enriched_export(contacts, kajabi)

    assert list(export.updates["Email"]) == ["b@example.com"]
    assert export.full.set_index("Email").loc["a@example.com", "First Name"] == "Ann"
    assert export.fields_differing["first_name"] == 1


def test_address_comes_from_the_database_alone_when_it_holds_any_part():
    contacts = contacts_frame(
        {
            "id": "c1",
            "email": "a@example.com",
            "address_line_1": "12 Corrected Rd",
            "city": "Denver",
        }
    )
    kajabi = kajabi_frame(
        {
            "contact_id": "c1",
            "email": "a@example.com",
            "address_line_1": "12 Old Rd",
            "address_line_2": "Apt 9",
            "city": "Denver",
            "state": "CO",
            "postal_code": "80202",
            "country": "US",
        }
    )

    export = build_enriched_export(contacts, kajabi)

    row = export.full.iloc[0]
    assert row["Address"] == "12 Corrected Rd"
    assert row["City"] == "Denver"
    for header in ("Address Line 2", "State", "Zip Code", "Country"):
        assert pd.isna(row[header]), header
    assert export.fields_differing["address_line_1"] == 1
    assert export.fields_differing["address_line_2"] == 0
    assert list(export.updates["Email"]) == ["a@example.com"]


def test_kajabi_address_is_sent_back_whole_when_the_database_has_none():
    contacts = contacts_frame({"id": "c1", "email": "a@example.com", "first_name": "Ann"})
    kajabi_address = {
        "address_line_1": "12 Old Rd",
        "address_line_2": "Apt 9",
        "city": "Denver",
        "state": "CO",
        "postal_code": "80202",
        "country": "US",
    }
    kajabi = kajabi_frame(
        {"contact_id": "c1", "email": "a@example.com", "first_name": "Ann", **kajabi_address}
    )

    export = build_enriched_export(contacts, kajabi)

    row = export.full.iloc[0]
    assert [row[FIELD_HEADERS[part]] for part in ADDRESS_FIELDS] == list(kajabi_address.values())
    assert export.updates.empty


def test_new_contacts_exclude_kajabi_matches_and_contacts_already_linked(week):
    export = build_enriched_export(*week)

    assert list(export.new_contacts["Email"]) == ["new@example.com"]
    assert export.linked_but_absent_from_kajabi == 1
    new = export.new_contacts.iloc[0]
    assert new["City"] == "Boulder"
    assert pd.isna(new["Kajabi ID"])


def test_import_keeps_kajabis_email_when_the_database_email_differs():
    # After a merge the surviving contact's primary email is not the one Kajabi knows: sending
    # the database email would create a second Kajabi contact instead of updating this one.
    contacts = contacts_frame(
        {"id": "c1", "email": "primary@example.com", "first_name": "Ann"},
        {"id": "c2", "email": "Case@Example.com", "first_name": "Cas"},
    )
    kajabi = kajabi_frame(
        {"contact_id": "c1", "email": "old-alias@example.com", "first_name": "A"},
        {"contact_id": "c2", "email": "case@example.com", "first_name": "Cas"},
    )

    export = build_enriched_export(contacts, kajabi)

    assert list(export.full["Email"]) == ["old-alias@example.com", "Case@Example.com"]
    assert export.emails_differing == 1


def test_kajabi_rows_of_contacts_no_longer_live_are_left_out():
    contacts = contacts_frame({"id": "c1", "email": "a@example.com"})
    kajabi = kajabi_frame(
        {"contact_id": "c1", "email": "a@example.com"},
        {"contact_id": "merged-away", "email": "b@example.com", "first_name": "Bea"},
    )

    export = build_enriched_export(contacts, kajabi)

    assert list(export.full["Email"]) == ["a@example.com"]
    assert export.kajabi_rows_without_live_contact == 1


def test_repeated_kajabi_contact_is_refused():
    contacts = contacts_frame({"id": "c1", "email": "a@example.com"})
    kajabi = kajabi_frame(
        {"contact_id": "c1", "email": "a@example.com"},
        {"contact_id": "c1", "email": "b@example.com"},
    )
    with pytest.raises(ValueError, match="one row per contact"):
        build_enriched_export(contacts, kajabi)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [("Ann", "Lee", "Ann Lee"), ("Ann", None, "Ann"), (None, "Lee", "Lee"), (" ", None, "")],
)
def test_name_joins_first_and_last_whichever_exists(first, last, expected, tmp_path):
    contacts = contacts_frame(
        {"id": "c1", "email": "a@example.com", "first_name": first, "last_name": last}
    )
    export = build_enriched_export(contacts, kajabi_frame())
    files = write_enriched_export(export, tmp_path)
    (row,) = read_rows(files.paths[NEW_CONTACTS_NAME][0])
    assert row["Name"] == expected


def test_formulas_are_neutralised_and_phones_survive_verbatim(tmp_path):
    contacts = contacts_frame(
        {
            "id": "c1",
            "email": "a@example.com",
            "first_name": '=HYPERLINK("http://x","y")',
            "last_name": "@SUM(A1:A2)",
            "phone": "+13035550101",
        },
        {
            "id": "c2",
            "email": "b@example.com",
            "first_name": "-2+3",
            "city": "\t=cmd|' /C calc'!A0",
            "phone": "+1 (303) 555-0102",
        },
    )
    files = write_enriched_export(build_enriched_export(contacts, kajabi_frame()), tmp_path)

    rows = rows_by_email(files.paths[NEW_CONTACTS_NAME][0])
    first, second = rows["a@example.com"], rows["b@example.com"]
    assert first["First Name"] == "'" + '=HYPERLINK("http://x","y")'
    assert first["Last Name"] == "'@SUM(A1:A2)"
    assert first["Name"].startswith("'=HYPERLINK")
    assert first["Phone Number"] == "+13035550101"
    assert second["First Name"] == "'-2+3"
    assert second["Phone Number"] == "+1 (303) 555-0102"
    # The tab is stripped like all surrounding space, and what it hid is still neutralised.
    assert second["City"] == "'=cmd|' /C calc'!A0"
    for row in rows.values():
        for header, value in row.items():
            if header != "Phone Number":
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (header, value)


def test_value_starting_with_tab_inside_the_cell_is_neutralised(tmp_path):
    # Stripping only touches the ends; a tab after leading text is harmless, one at the start
    # of a Kajabi value that reaches the file must be escaped.
    contacts = contacts_frame({"id": "c1", "email": "a@example.com"})
    kajabi = kajabi_frame(
        {"contact_id": "c1", "email": "a@example.com", "state": "CO\tnote", "first_name": "\t+cmd"}
    )
    files = write_enriched_export(build_enriched_export(contacts, kajabi), tmp_path)
    (row,) = read_rows(files.paths[FULL_EXPORT_NAME][0])
    assert row["State"] == "CO\tnote"
    assert row["First Name"] == "'+cmd"


def test_unicode_names_round_trip(tmp_path):
    names = [("Zoë", "Ñúñez"), ("李", "小龙"), ("Åsa", "Øvergård 😀")]
    contacts = contacts_frame(
        *(
            {"id": f"c{i}", "email": f"u{i}@example.com", "first_name": first, "last_name": last}
            for i, (first, last) in enumerate(names)
        )
    )
    files = write_enriched_export(build_enriched_export(contacts, kajabi_frame()), tmp_path)
    rows = read_rows(files.paths[NEW_CONTACTS_NAME][0])
    assert [(row["First Name"], row["Last Name"], row["Name"]) for row in rows] == [
        (first, last, f"{first} {last}") for first, last in names
    ]


def test_files_split_at_max_rows_and_stale_files_are_removed(tmp_path):
    contacts = contacts_frame(
        *({"id": f"c{i}", "email": f"u{i}@example.com", "first_name": "N"} for i in range(7))
    )
    kajabi = kajabi_frame(
        *({"contact_id": f"c{i}", "email": f"u{i}@example.com"} for i in range(2))
    )
    export = build_enriched_export(contacts, kajabi)
    # An earlier, bigger run left more parts and an unsplit file of the same base name.
    for stale in (
        "kajabi_new_contacts_only.csv",
        "kajabi_new_contacts_only_part03.csv",
        "kajabi_new_contacts_only_part04.csv",
        "kajabi_updates_only_part01.csv",
    ):
        (tmp_path / stale).write_text("old\n")
    unrelated = tmp_path / "kajabi_new_contacts_only_notes.txt"
    unrelated.write_text("keep me\n")

    files = write_enriched_export(export, tmp_path, max_rows_per_file=3)

    new_parts = files.paths[NEW_CONTACTS_NAME]
    assert [path.name for path in new_parts] == [
        "kajabi_new_contacts_only_part01.csv",
        "kajabi_new_contacts_only_part02.csv",
    ]
    assert [files.rows_per_file[path] for path in new_parts] == [3, 2]
    assert [len(read_rows(path)) for path in new_parts] == [3, 2]
    emails = [row["Email"] for path in new_parts for row in read_rows(path)]
    assert emails == [f"u{i}@example.com" for i in range(2, 7)]
    assert files.paths[FULL_EXPORT_NAME] == (tmp_path / "kajabi_full_enriched_export.csv",)
    assert files.paths[UPDATES_ONLY_NAME] == (tmp_path / "kajabi_updates_only.csv",)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [path.name for path in files.all_paths()] + [unrelated.name]
    )


def test_a_smaller_run_replaces_parts_with_one_file(tmp_path):
    contacts = contacts_frame(*({"id": f"c{i}", "email": f"u{i}@example.com"} for i in range(4)))
    write_enriched_export(
        build_enriched_export(contacts, kajabi_frame()), tmp_path, max_rows_per_file=3
    )
    files = write_enriched_export(
        build_enriched_export(contacts.head(2), kajabi_frame()), tmp_path, max_rows_per_file=3
    )
    assert not list(tmp_path.glob("kajabi_new_contacts_only_part*.csv"))
    assert files.rows_per_file[tmp_path / "kajabi_new_contacts_only.csv"] == 2


def test_max_rows_per_file_must_be_positive(week, tmp_path):
    with pytest.raises(ValueError):
        write_enriched_export(build_enriched_export(*week), tmp_path, max_rows_per_file=0)


def test_summary_counts_and_masked_preview(week):
    export = build_enriched_export(*week)

    summary = export_summary(export)

    assert summary["rows"] == {FULL_EXPORT_NAME: 2, UPDATES_ONLY_NAME: 1, NEW_CONTACTS_NAME: 1}
    assert summary["fields_differing"]["phone"] == 1
    assert sum(summary["fields_differing"].values()) == 1
    preview = summary["preview"]
    assert list(preview["Email"]) == ["ri***@example.com"]
    assert list(preview["Phone Number"]) == ["***0101"]
    assert list(preview["Changed Fields"]) == ["Phone Number"]
    assert "rich@example.com" not in preview.to_string()


def test_preview_is_limited_to_the_first_rows():
    contacts = contacts_frame(
        *({"id": f"c{i}", "email": f"u{i}@example.com", "city": "X"} for i in range(15))
    )
    kajabi = kajabi_frame(
        *({"contact_id": f"c{i}", "email": f"u{i}@example.com"} for i in range(15))
    )
    preview = export_preview(build_enriched_export(contacts, kajabi))
    assert len(preview) == 10
    assert preview["Email"].str.startswith("u").all()
    assert preview["Email"].str.contains(r"\*\*\*@example\.com").all()


def test_ids_match_whatever_their_type_or_case():
    # psycopg hands uuid columns over as uuid.UUID; the matcher may hold them as text.
    contact_id = uuid.UUID("7f1c9b1e-0d6a-4e59-9d47-2f0c1b7a1e11")
    contacts = contacts_frame({"id": contact_id, "email": "a@example.com", "city": "Denver"})
    kajabi = kajabi_frame({"contact_id": str(contact_id).upper(), "email": "a@example.com"})

    export = build_enriched_export(contacts, kajabi)

    assert export.rows() == {FULL_EXPORT_NAME: 1, UPDATES_ONLY_NAME: 1, NEW_CONTACTS_NAME: 0}


def test_preview_of_an_export_without_updates_is_empty(week):
    contacts, kajabi = week
    export = build_enriched_export(contacts.head(1), kajabi.head(1))
    preview = export_preview(export)
    assert preview.empty
    assert "Changed Fields" in preview.columns


def test_arrow_backed_contacts_give_the_same_files(week, tmp_path):
    contacts, kajabi = week
    python = write_enriched_export(build_enriched_export(contacts, kajabi), tmp_path / "python")
    arrow = write_enriched_export(
        build_enriched_export(contacts.astype("string[pyarrow]"), kajabi), tmp_path / "arrow"
    )
    assert [p.name for p in arrow.all_paths()] == [p.name for p in python.all_paths()]
    for ours, theirs in zip(arrow.all_paths(), python.all_paths(), strict=False):
        assert ours.read_bytes() == theirs.read_bytes()


def test_a_part_that_cannot_be_written_fails_the_export_and_leaves_stale_parts(tmp_path):
    # Parts are written two at a time: a failing part still fails the whole write, no part
    # after its pair starts, and the folder is not tidied as if the run had finished.
    contacts = contacts_frame(*({"id": f"c{i}", "email": f"u{i}@example.com"} for i in range(9)))
    export = build_enriched_export(contacts, kajabi_frame())
    stale = tmp_path / "kajabi_new_contacts_only_part09.csv"
    stale.write_text("old\n")

    def failing(frame, path):
        if path.name.endswith("_part02.csv"):
            raise OSError(28, "No space left on device")
        return write_csv(frame, path)

    with (
        mock.patch.object(split_csv, "write_csv", failing),
        pytest.raises(OSError, match="No space left"),
    ):
        write_enriched_export(export, tmp_path, max_rows_per_file=3)
    assert stale.exists()
    assert not (tmp_path / "kajabi_new_contacts_only_part02.csv").exists()
    # Its pair (part 1) finishes; the parts after the pair are never started.
    assert (tmp_path / "kajabi_new_contacts_only_part01.csv").exists()
    assert not (tmp_path / "kajabi_new_contacts_only_part03.csv").exists()

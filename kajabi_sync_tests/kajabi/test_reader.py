import datetime as dt
import hashlib

import pandas as pd
import pytest

from kajabi_sync.kajabi.reader import KajabiFormatError, export_date_from_name, read_kajabi_export
from kajabi_sync_tests.kajabi.contract import BAD_INPUT, CONTRACT_HEADER, HEADER, csv_bytes

JANE = {
    "Name": "Jane Doe",
    "First Name": "Jane",
    "Last Name": "Doe",
    "Email": "jane@example.com",
    "ID": "1",
}


def test_contract_example_header_reads_with_labels_kept(tmp_path):
    path = tmp_path / "kajabi_contacts_2024-05-06.csv"
    path.write_text(CONTRACT_HEADER + "\n" + "Jane Doe,Jane,Doe,jane@example.com" + "," * 23 + "\n")
    raw = read_kajabi_export(path)
    assert list(raw.frame.columns) == ["row_number", *HEADER]
    assert raw.frame["row_number"].tolist() == [2]
    assert raw.frame["row_number"].dtype == "int64"
    assert raw.frame.loc[0, "Email"] == "jane@example.com"
    assert raw.dropped_columns == [] and raw.warnings == []
    assert raw.export_date == dt.date(2024, 5, 6)
    assert raw.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert raw.encoding == "utf-8"


def test_cells_stay_unparsed_text(write_export):
    path = write_export(
        [
            {
                **JANE,
                "Name": " NA ",
                "ID": "007",
                "Sign In Count": "1e5",
                "Created At": "2024-05-06 18:01:32 -0700",
                "Tags": "quiz, Bali 2027 Attendee",
                "Last Name": "null",
            }
        ]
    )
    row = read_kajabi_export(path).frame.iloc[0]
    assert (row["Name"], row["ID"], row["Sign In Count"], row["Last Name"]) == (
        " NA ",
        "007",
        "1e5",
        "null",
    )
    assert row["Created At"] == "2024-05-06 18:01:32 -0700"
    assert row["Tags"] == "quiz, Bali 2027 Attendee"
    assert row["Member ID"] == ""


def test_row_numbers_are_spreadsheet_rows_despite_multi_line_cells(write_export):
    rows = [
        {**JANE, "Address (address_line_1)": "12 Main St\nApt 4\n\nBack door"},
        {**JANE, "Email": "b@example.com", "Name": "Line\r\nbreak"},
        {**JANE, "Email": "c@example.com"},
    ]
    frame = read_kajabi_export(write_export(rows)).frame
    assert frame["row_number"].tolist() == [2, 3, 4]
    assert frame.loc[0, "Address (address_line_1)"] == "12 Main St\nApt 4\n\nBack door"
    assert frame.loc[1, "Name"] == "Line\r\nbreak"
    assert frame.loc[2, "Email"] == "c@example.com"


def test_a_100_000_character_cell_is_read_whole(write_export):
    long_note = ('Ünïcode, "quoted"\nnote ' * 5_000)[:100_000]
    frame = read_kajabi_export(write_export([{**JANE, "Source (custom_1)": long_note}, JANE])).frame
    assert frame.loc[0, "Source (custom_1)"] == long_note
    assert frame["row_number"].tolist() == [2, 3]


def test_card_columns_are_never_loaded():
    raw = read_kajabi_export(BAD_INPUT / "card_columns.csv")
    assert raw.dropped_columns == [
        "Card Number (custom_3)",
        "CVV (custom_4)",
        "Expiry (custom_5)",
        "Exp Date (custom_6)",
        "CC (custom_7)",
        "Security Code (custom_8)",
        "Credit Card Expiration (custom_9)",
    ]
    assert "Notes (custom_10)" in raw.frame.columns
    everything = raw.frame.astype(str).to_csv() + "\n".join(raw.warnings)
    for secret in ("4111", "737", "12/29", "2029"):
        assert secret not in everything


def test_windows_1252_falls_back_with_a_warning():
    raw = read_kajabi_export(BAD_INPUT / "windows_1252.csv")
    assert raw.encoding == "cp1252"
    assert raw.frame.loc[0, "Name"] == "José Núñez"
    assert raw.frame.loc[0, "City (address_city)"] == "Bogotá"
    assert any("Windows-1252" in w for w in raw.warnings)


def test_bom_is_not_part_of_the_first_label():
    raw = read_kajabi_export(BAD_INPUT / "utf8_bom.csv")
    assert raw.encoding == "utf-8-sig"
    assert raw.frame.columns[1] == "Name"
    assert raw.frame.loc[0, "Name"] == "Zoë Müller"


def test_crlf_line_ends_and_crlf_inside_a_cell():
    frame = read_kajabi_export(BAD_INPUT / "crlf.csv").frame
    assert frame.loc[0, "Address (address_line_1)"] == "12 Main St\r\nApt 4"
    assert frame.loc[1, "Sign In Count"] == "3"  # no stray "\r" on the last cell


def test_header_only_is_an_empty_export():
    raw = read_kajabi_export(BAD_INPUT / "header_only.csv")
    assert raw.frame.empty
    assert list(raw.frame.columns) == ["row_number", *HEADER]


@pytest.mark.parametrize("bad", [b"", b"  \r\n\n"])
def test_empty_file_is_an_error(tmp_path, bad):
    path = tmp_path / "kajabi_contacts_2024-05-06.csv"
    path.write_bytes(bad)
    with pytest.raises(KajabiFormatError, match="empty") as caught:
        read_kajabi_export(path)
    assert str(path) in str(caught.value)


def test_bytes_that_read_as_words_in_no_encoding_are_an_error(tmp_path):
    path = tmp_path / "x.csv"
    # 0x81 is undefined in Windows-1252, and Mac Roman reads "JaÅne": a capital inside a word.
    path.write_bytes(csv_bytes([JANE]).replace(b"Jane Doe", b"Ja\x81ne Doe"))
    with pytest.raises(KajabiFormatError, match="neither as Windows-1252 nor as Mac Roman"):
        read_kajabi_export(path)


def test_a_column_named_row_number_is_refused(write_export):
    with pytest.raises(KajabiFormatError, match="row_number"):
        read_kajabi_export(write_export([JANE], header=[*HEADER, "row_number"]))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("kajabi_contacts_2024-05-06.csv", dt.date(2024, 5, 6)),
        ("/some/dir/kajabi_contacts_2024-12-31.csv", dt.date(2024, 12, 31)),
        ("kajabi_contacts_2024-02-30.csv", None),
        ("contacts.csv", None),
        ("kajabi_contacts_2024-05-06.csv.bak", None),
    ],
)
def test_export_date_from_name(name, expected):
    assert export_date_from_name(name) == expected


def test_frame_text_columns_are_strings(write_export):
    frame = read_kajabi_export(write_export([JANE])).frame
    assert all(pd.api.types.is_string_dtype(frame[c]) for c in HEADER)

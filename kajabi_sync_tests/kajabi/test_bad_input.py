"""The bad-input corpus: each file gives a clear error or a quarantine, never a crash or an altered value."""

import csv
import tomllib

import pandas as pd
import pytest

from kajabi_sync.kajabi.reader import KajabiFormatError, read_kajabi_export
from kajabi_sync.kajabi.validate import validate_export
from kajabi_sync_tests.kajabi.contract import BAD_INPUT

CASES = tomllib.loads((BAD_INPUT / "cases.toml").read_text())["case"]


def test_every_corpus_file_has_a_case():
    assert {case["file"] for case in CASES} == {p.name for p in BAD_INPUT.glob("*.csv")}


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["outcome"] == "error"], ids=lambda c: c["file"]
)
def test_refused_files_name_the_file_and_the_problem(case):
    path = BAD_INPUT / case["file"]
    with pytest.raises(KajabiFormatError) as caught:
        read_kajabi_export(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in case["message"]:
        assert fragment in message
    assert caught.value.row == case.get("row")
    if "row" in case:
        assert f"row {case['row']}:" in message
    if "secret" in case:
        assert case["secret"] not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["outcome"] == "quarantine"], ids=lambda c: c["file"]
)
def test_readable_files_quarantine_bad_rows_and_keep_the_rest(case):
    validated = validate_export(read_kajabi_export(BAD_INPUT / case["file"]))
    assert sorted(validated.rejects["row_number"]) == case["rejected_rows"]
    assert sorted(validated.frame["row_number"]) == case["kept_rows"]
    if "warning" in case:
        assert any(case["warning"] in w for w in validated.warnings)


def _cells(name):
    with open(BAD_INPUT / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    "name", ["names_in_every_script.csv", "formula_injection.csv", "sql_strings.csv"]
)
def test_values_come_out_byte_identical(name):
    expected = _cells(name)
    frame = validate_export(read_kajabi_export(BAD_INPUT / name)).frame
    assert len(frame) == len(expected)
    for row, source in zip(frame.itertuples(), expected, strict=True):
        for field, label in [
            ("name", "Name"),
            ("first_name", "First Name"),
            ("last_name", "Last Name"),
            ("city", "City (address_city)"),
            ("state", "State (address_state)"),
        ]:
            value = getattr(row, field)
            if source[label]:
                assert value.encode("utf-8") == source[label].encode("utf-8")
            else:
                assert value is pd.NA


def test_formula_and_sql_text_is_plain_text():
    frame = validate_export(read_kajabi_export(BAD_INPUT / "formula_injection.csv")).frame
    assert frame.loc[0, "first_name"] == "=1+1"
    assert frame.loc[0, "name"] == '=HYPERLINK("http://evil.example","click")'
    frame = validate_export(read_kajabi_export(BAD_INPUT / "sql_strings.csv")).frame
    assert frame.loc[0, "first_name"] == "Robert'); DROP TABLE contacts;--"
    assert frame.loc[0, "last_name"] == "' OR '1'='1"


def test_card_data_appears_nowhere():
    validated = validate_export(read_kajabi_export(BAD_INPUT / "card_columns.csv"))
    text = "\n".join(
        [
            validated.frame.to_csv(),
            validated.rejects.astype(str).to_csv(),
            validated.duplicate_emails.to_csv(),
            *validated.warnings,
            *validated.source.warnings,
        ]
    )
    for secret in (
        "4111 1111 1111 1111",
        "4111111111111111",
        "737",
        "12/29",
        "2029-12",
        "12/2029",
        "1234",
    ):
        assert secret not in text
    assert "Card Number (custom_3)" in text  # the label alone is reported


def test_same_person_twice_keeps_the_fullest_row_and_reports_the_conflict():
    validated = validate_export(read_kajabi_export(BAD_INPUT / "same_person_twice.csv"))
    jane = validated.frame.set_index("email").loc["jane@example.com"]
    assert jane["row_number"] == 4
    assert jane["first_name"] == "Janet"
    report = validated.duplicate_emails
    assert report.to_dict("records")[0]["kept_row_number"] == 4
    assert report.loc[0, "dropped_row_numbers"] == "2; 5"
    assert "first_name" in report.loc[0, "reason"] and "phone" in report.loc[0, "reason"]


@pytest.mark.parametrize(
    "name, first_names",
    [
        ("utf8_one_cp1252_byte.csv", ["José", "Nína"]),  # the damaged row 3 is quarantined
        ("excel_mac_roman_cr.csv", ["José", "Zoë"]),
    ],
)
def test_legacy_and_damaged_files_keep_every_accented_letter(name, first_names):
    frame = validate_export(read_kajabi_export(BAD_INPUT / name)).frame
    assert frame["first_name"].tolist() == first_names
    assert not frame["last_name"].str.contains("Ã|Ž|\ufffd").any()

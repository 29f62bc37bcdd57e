import email_validator
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.frames import TEXT_LIST
from kajabi_sync.kajabi.reader import ExportFile, read_kajabi_export
from kajabi_sync.kajabi.schemas import VALIDATED_COLUMNS, VALIDATED_EXPORT_SCHEMA
from kajabi_sync.kajabi.validate import (
    comma_list,
    email_problems,
    parse_kajabi_timestamp,
    validate_export,
)

JANE = {
    "Name": "Jane Doe",
    "First Name": "Jane",
    "Last Name": "Doe",
    "Email": "jane@example.com",
    "ID": "1",
}


def _validate(write_export, rows):
    return validate_export(read_kajabi_export(write_export(rows)))


def test_output_columns_dtypes_and_values(write_export):
    validated = _validate(
        write_export,
        [
            {
                **JANE,
                "Email": " Jane@Example.COM ",
                "Name": "  Jane Q. Doe ",
                "Member ID": "77",
                "Phone Number (phone_number)": "(303) 555-0101",
                "Address (address_line_1)": "12 Main St",
                "City (address_city)": "denver",
                "State (address_state)": "CO",
                "Zip Code (address_zip)": "08020",
                "Country (address_country)": "US",
                "Tags": " quiz, Bali 2027 Attendee,, ",
                "Products": "Course A",
                "Created At": "2024-05-06 18:01:32 -0700",
                "Last Name (custom_2)": "Custom",
            }
        ],
    )
    frame = validated.frame
    assert tuple(frame.columns) == VALIDATED_COLUMNS
    assert frame["row_number"].dtype == "int64"
    for column in ("email", "email_raw", "name", *CONTACT_FIELDS, "phone_e164"):
        assert frame[column].dtype == "string", column
    row = frame.iloc[0]
    assert row["email"] == "jane@example.com"
    assert row["email_raw"] == " Jane@Example.COM "
    assert row["name"] == "Jane Q. Doe"
    assert row["last_name"] == "Doe"  # not "Last Name (custom_2)"
    assert row["city"] == "denver" and row["postal_code"] == "08020"
    assert row["kajabi_id"] == "1" and row["kajabi_member_id"] == "77"
    assert row["phone"] == "(303) 555-0101" and row["phone_e164"] == "+13035550101"
    assert row["tags"] == ["quiz", "Bali 2027 Attendee"] and row["products"] == ["Course A"]
    assert row["created_at"] == pd.Timestamp("2024-05-07 01:01:32", tz="UTC")
    assert row["address_line_2"] is pd.NA
    assert validated.rejects.empty and validated.duplicate_emails.empty


def test_source_is_the_file_without_its_raw_rows(write_export):
    raw = read_kajabi_export(write_export([JANE, {**JANE, "Email": "not an email", "ID": "2"}]))
    source = validate_export(raw).source
    assert isinstance(source, ExportFile)
    assert (source.path, source.sha256, source.export_date, source.encoding) == (
        raw.path,
        raw.sha256,
        raw.export_date,
        raw.encoding,
    )
    assert source.rows == 2  # the file's records, rejects included
    assert not hasattr(source, "frame")  # no raw values travel with the validated export
    assert source.warnings == raw.warnings


def test_form_name_is_never_split_into_first_and_last(write_export):
    validated = _validate(
        write_export,
        [{**JANE, "First Name": "", "Last Name": "", "First Name (name)": "Mary Ann Lee"}],
    )
    row = validated.frame.iloc[0]
    assert row["first_name"] is pd.NA and row["last_name"] is pd.NA
    assert any("form name" in w and "rather than guessed" in w for w in validated.warnings)


def test_phone_uses_mobile_when_phone_is_empty(write_export):
    frame = _validate(
        write_export, [{**JANE, "Mobile Phone Number (mobile_phone_number)": "+44 20 7946 0958"}]
    ).frame
    assert frame.loc[0, "phone"] == "+44 20 7946 0958"
    assert frame.loc[0, "phone_e164"] == "+442079460958"


def test_rejects_name_row_column_and_reason_without_the_full_email(write_export):
    validated = _validate(
        write_export, [JANE, {**JANE, "Email": "janedoe@example"}, {**JANE, "Email": " "}]
    )
    rejects = validated.rejects
    assert list(rejects.columns) == ["row_number", "column", "reason", "masked_value"]
    assert rejects["row_number"].tolist() == [3, 4]
    assert set(rejects["column"]) == {"Email"}
    assert "period" in rejects.loc[0, "reason"] and rejects.loc[1, "reason"] == "Email is empty"
    assert "janedoe@example" not in rejects.to_csv()
    assert validated.frame["row_number"].tolist() == [2]


def test_email_problems_agrees_with_email_validator_on_tricky_values():
    emails = pd.Series(
        [
            "a@b.co",
            "josé@exämple.com",
            "用户@例子.广告",
            "a..b@example.com",
            "a@-example.com",
            "a@example.123",
            "a@test",
            "a@x.test",
            "x" * 65 + "@example.com",
            "a@" + "b" * 64 + ".com",
            "a@xn--80ak6aa92e.com",
            "a@ab--cd.com",
            pd.NA,
            "o'brien+tag@example.co.uk",
            "a b@example.com",
        ],
        dtype="string",
    )
    valid = (email_problems(emails).isna() & emails.notna()).tolist()
    assert valid == [pd.notna(e) and _email_validator_accepts(e) for e in emails]
    assert valid[:4] == [True, True, True, False]


def _email_validator_accepts(value: str) -> bool:
    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    st.emails()
    | st.from_regex(r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{1,70}@[a-zA-Z0-9.-]{1,70}", fullmatch=True)
)
def test_the_fast_path_never_accepts_what_email_validator_rejects(value):
    emails = pd.Series([value.lower()], dtype="string")
    assert email_problems(emails).isna().iloc[0] == _email_validator_accepts(value.lower())


def test_duplicate_ties_go_to_the_later_row(write_export):
    validated = _validate(write_export, [JANE, {**JANE, "Email": "JANE@example.com", "ID": "2"}])
    assert validated.frame["row_number"].tolist() == [3]
    report = validated.duplicate_emails.iloc[0]
    assert (report["email"], report["kept_row_number"], report["dropped_row_numbers"]) == (
        "jane@example.com",
        3,
        "2",
    )
    assert "kajabi_id" in report["reason"]


def test_duplicates_without_differences_say_so(write_export):
    validated = _validate(write_export, [{**JANE, "City (address_city)": "Denver"}, JANE])
    assert validated.frame["row_number"].tolist() == [2]
    assert "no different values" in validated.duplicate_emails.loc[0, "reason"]


def test_comma_list_strips_items_as_str_strip_and_drops_empty_ones():
    cells = ["a, b ,,c", "", None, ",, ,", " x ", "\u00a0y\u2003, z w\n", "\u3000"]
    lists = comma_list(pd.Series(cells, dtype="string", index=[5, 6, 7, 8, 9, 10, 11]))
    assert lists.dtype == TEXT_LIST and lists.index.tolist() == [5, 6, 7, 8, 9, 10, 11]
    assert lists.tolist() == [["a", "b", "c"], [], [], [], ["x"], ["y", "z w"], []]
    expected = [
        [item.strip() for item in (cell or "").split(",") if item.strip()] for cell in cells
    ]
    assert lists.tolist() == expected
    assert comma_list(pd.Series([], dtype="string")).tolist() == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.none() | st.text(alphabet=st.sampled_from(" ,\t\n\u00a0\u2003\u3000\x1cab\u00e9")))
)
def test_comma_list_is_split_and_str_strip_on_any_text(cells):
    lists = comma_list(pd.Series(cells, dtype="string"))
    expected = [
        [item.strip() for item in (cell or "").split(",") if item.strip()] for cell in cells
    ]
    assert lists.tolist() == expected


def test_timestamps_parse_only_the_kajabi_format():
    parsed = parse_kajabi_timestamp(
        pd.Series(
            [
                "2024-05-06 18:01:32 -0700",
                "2024-05-06 18:01:32 +0530",
                "",
                "2024-02-30 10:00:00 -0700",
                "06/05/2024 18:01",
                " 2024-05-06 18:01:32 +0000 ",
            ],
            dtype="string",
        )
    )
    assert parsed.tolist()[:2] == [
        pd.Timestamp("2024-05-07 01:01:32", tz="UTC"),
        pd.Timestamp("2024-05-06 12:31:32", tz="UTC"),
    ]
    assert parsed[2:5].isna().all()
    assert parsed[5] == pd.Timestamp("2024-05-06 18:01:32", tz="UTC")


def test_unparseable_created_at_is_left_empty_with_a_warning(write_export):
    validated = _validate(write_export, [{**JANE, "Created At": "yesterday"}])
    assert validated.frame["created_at"].isna().all()
    assert any("Created At" in w and "rows 2" in w for w in validated.warnings)


def test_schema_rejects_an_upper_case_or_repeated_email(write_export):
    frame = _validate(write_export, [JANE, {**JANE, "Email": "b@example.com"}]).frame
    VALIDATED_EXPORT_SCHEMA.validate(frame)
    upper = frame.copy()
    upper.loc[0, "email"] = "Jane@example.com"
    with pytest.raises(pa.errors.SchemaError):
        VALIDATED_EXPORT_SCHEMA.validate(upper)
    repeated = frame.copy()
    repeated.loc[1, "email"] = "jane@example.com"
    with pytest.raises(pa.errors.SchemaError):
        VALIDATED_EXPORT_SCHEMA.validate(repeated)
    header_row = frame.copy()
    header_row.loc[0, "row_number"] = 1
    with pytest.raises(pa.errors.SchemaError):
        VALIDATED_EXPORT_SCHEMA.validate(header_row)


def test_header_only_export_validates_to_an_empty_frame(write_export):
    validated = _validate(write_export, [])
    assert validated.frame.empty and tuple(validated.frame.columns) == VALIDATED_COLUMNS
    assert validated.source.rows == 0

"""Hostile input, round two: each case read, planned and applied against the real database.

Every plan trusts Kajabi on the first import (``first_import="trust_kajabi"``), the setting under
which a wrong value would be written as an ``update``: a case passes only if nothing corrupted
reaches the database even then.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from kajabi_sync.db.apply import ImportRecord, apply_plan
from kajabi_sync.db.snapshot import load_snapshot
from kajabi_sync.frames import ARROW_TEXT
from kajabi_sync.kajabi.reader import KajabiFormatError, read_kajabi_export
from kajabi_sync.kajabi.validate import ValidatedExport, _without_placeholders, validate_export
from kajabi_sync.matching.features import canonical_email
from kajabi_sync.survivorship.plan import ImpactPlan, PlanSettings, build_plan
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.kajabi.contract import csv_bytes

TRUST = PlanSettings(first_import="trust_kajabi")
EXPORT = "kajabi_contacts_2025-11-17.csv"


def row(email: str, first: str = "", last: str = "", kajabi_id: str = "", **form: str) -> dict:
    labels = {
        "phone": "Phone Number (phone_number)",
        "city": "City (address_city)",
        "postal_code": "Zip Code (address_zip)",
        "country": "Country (address_country)",
    }
    cells = {
        "Name": f"{first} {last}".strip(),
        "First Name": first,
        "Last Name": last,
        "Email": email,
        "ID": kajabi_id,
    }
    cells.update({labels[name]: value for name, value in form.items()})
    return cells


def import_file(url: str, path: Path) -> tuple[ValidatedExport, ImpactPlan]:
    """Read, validate, plan (trusting Kajabi) and apply one export file."""
    validated = validate_export(read_kajabi_export(path))
    with psycopg.connect(url) as conn:
        plan = build_plan(validated.frame, load_snapshot(conn), TRUST)
        record = ImportRecord(
            file_name=path.name, file_sha256="0" * 64, export_rows=len(plan.matches)
        )
        apply_plan(conn, plan, record)
    return validated, plan


def contacts(url: str) -> dict[str, dict]:
    with psycopg.connect(url) as conn:
        cursor = conn.execute(
            """SELECT email::text, first_name, last_name, phone, city, postal_code, kajabi_id
               FROM contacts WHERE deleted_at IS NULL"""
        )
        names = [c.name for c in cursor.description]
        return {r[0]: dict(zip(names, r, strict=True)) for r in cursor.fetchall()}


def all_text(url: str) -> str:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT c::text FROM contacts c").fetchall()
        rows += conn.execute("SELECT f::text FROM kajabi_sync.field_changes f").fetchall()
        rows += conn.execute("SELECT b::text FROM kajabi_sync.kajabi_base b").fetchall()
    return "\n".join(r[0] for r in rows)


# --- 1. One stray byte in a UTF-8 file -------------------------------------------------------


def test_one_stray_windows_1252_byte_quarantines_its_row_and_the_rest_stays_utf8(db_url, tmp_path):
    insert_contacts(
        db_url,
        {"email": "jose@example.com", "first_name": "José", "kajabi_id": "1"},
        {"email": "zoe@example.com", "last_name": "Lee", "kajabi_id": "2"},
        {"email": "rene@example.com", "first_name": "René", "kajabi_id": "3"},
    )
    body = csv_bytes(
        [
            row("jose@example.com", "José", kajabi_id="1"),
            row("zoe@example.com", "Zoë", "Lee", kajabi_id="2"),
            row("rene@example.com", "RENE_PLACEHOLDER", kajabi_id="3"),
            row("nina@example.com", "Nína", "Núñez", kajabi_id="4"),
        ]
    ).replace(b"RENE_PLACEHOLDER", b"Ren\xe9")  # one Windows-1252 byte on line 4
    path = tmp_path / EXPORT
    path.write_bytes(body)

    validated, plan = import_file(db_url, path)

    assert validated.source.encoding == "utf-8"
    assert any("line 4" in w and "quarantined" in w for w in validated.warnings)
    reject = validated.rejects.iloc[0]
    assert (len(validated.rejects), reject["row_number"], reject["column"]) == (1, 4, "Name")
    assert "could not be read" in reject["reason"]
    stored = contacts(db_url)
    assert stored["jose@example.com"]["first_name"] == "José"  # unchanged, not JosÃ©
    assert stored["zoe@example.com"]["first_name"] == "Zoë"  # filled, not ZoÃ«
    assert stored["rene@example.com"]["first_name"] == "René"  # its row was quarantined
    assert (stored["nina@example.com"]["first_name"], stored["nina@example.com"]["last_name"]) == (
        "Nína",
        "Núñez",
    )
    text = all_text(db_url)
    assert "Ã" not in text and "\ufffd" not in text


def test_a_file_already_garbled_by_a_wrong_decoding_is_refused_naming_row_and_column(tmp_path):
    path = tmp_path / EXPORT
    path.write_bytes(
        csv_bytes([row("a@example.com", "Ana", kajabi_id="1"), row("j@example.com", "JosÃ©")])
    )
    with pytest.raises(KajabiFormatError) as caught:
        read_kajabi_export(path)
    message = str(caught.value)
    assert caught.value.row == 3
    assert str(path) in message and "'Name'" in message and "garbled by a wrong encoding" in message


def test_a_file_with_no_utf8_at_all_is_windows_1252_only_when_that_is_the_one_clean_reading(
    db_url, tmp_path
):
    insert_contacts(db_url, {"email": "jose@example.com", "first_name": "José", "kajabi_id": "1"})
    path = tmp_path / EXPORT
    text = csv_bytes(
        [row("jose@example.com", "José", "Pérez", kajabi_id="1"), row("n@example.com", "Nína")]
    ).decode("utf-8")
    path.write_bytes(text.encode("cp1252"))

    validated, _ = import_file(db_url, path)

    assert validated.source.encoding == "cp1252"
    assert any("Windows-1252" in w for w in validated.warnings)
    stored = contacts(db_url)
    assert stored["jose@example.com"]["first_name"] == "José"
    assert stored["jose@example.com"]["last_name"] == "Pérez"
    assert stored["n@example.com"]["first_name"] == "Nína"


# --- 2. Excel for Mac: Mac Roman with CR line endings ----------------------------------------


def test_excel_for_mac_mac_roman_with_cr_line_ends_is_read_as_mac_roman(db_url, tmp_path):
    insert_contacts(db_url, {"email": "jose@example.com", "first_name": "José", "kajabi_id": "1"})
    text = csv_bytes(
        [row("jose@example.com", "José", "Müller", kajabi_id="1"), row("n@example.com", "Nína")]
    ).decode("utf-8")
    path = tmp_path / EXPORT
    path.write_bytes(text.replace("\n", "\r").encode("mac_roman"))

    validated, plan = import_file(db_url, path)

    assert validated.source.encoding == "mac_roman"
    assert any("Mac Roman" in w for w in validated.warnings)
    stored = contacts(db_url)
    assert stored["jose@example.com"]["first_name"] == "José"  # not JosŽ
    assert stored["jose@example.com"]["last_name"] == "Müller"
    assert stored["n@example.com"]["first_name"] == "Nína"
    assert "Ž" not in all_text(db_url)


@pytest.mark.parametrize(
    "cell, why",
    [
        (b"Ren\x81e", "neither as Windows-1252 nor as Mac Roman"),  # Mac Roman: RenÅe
        (b"\xc9milie", "both as Windows-1252 and as Mac Roman"),  # Émilie / …milie
    ],
)
def test_a_legacy_file_whose_encoding_cannot_be_told_is_refused(tmp_path, cell, why):
    path = tmp_path / EXPORT
    path.write_bytes(
        csv_bytes([row("a@example.com", "CELL", kajabi_id="1")]).replace(b"CELL", cell)
    )
    with pytest.raises(KajabiFormatError) as caught:
        read_kajabi_export(path)
    assert why in str(caught.value) and "CSV UTF-8" in str(caught.value)


# --- 3. Placeholders are not values ----------------------------------------------------------


def test_placeholders_never_overwrite_and_never_fill(db_url, tmp_path):
    insert_contacts(
        db_url,
        *[
            {
                "email": f"p{n}@example.com",
                "first_name": f"P{n}",
                "phone": "+13035550100",
                "city": "Denver",
                "kajabi_id": str(n + 1),
            }
            for n in range(6)
        ],
    )
    tokens = ["N/A", "none", "-", "n/a", "null", "TBD"]
    rows = [
        row(f"p{n}@example.com", f"P{n}", kajabi_id=str(n + 1), phone=token, city=token.upper())
        for n, token in enumerate(tokens)
    ]
    rows.append(row("new@example.com", "Ned", "Null", kajabi_id="9", phone="000-000-0000"))
    path = tmp_path / EXPORT
    path.write_bytes(csv_bytes(rows))

    validated, plan = import_file(db_url, path)

    stored = contacts(db_url)
    for n in range(6):
        assert (stored[f"p{n}@example.com"]["phone"], stored[f"p{n}@example.com"]["city"]) == (
            "+13035550100",
            "Denver",
        )
    new = stored["new@example.com"]
    assert new["phone"] is None  # never filled
    assert new["last_name"] == "Null"  # a real surname, not a placeholder
    assert plan.writes()["field"].tolist() == []
    warning = next(w for w in validated.warnings if "placeholder" in w)
    assert warning.startswith("13 placeholder value(s)")
    assert "phone: 7" in warning and "city: 6" in warning


@pytest.mark.parametrize("column", ["last_name", "address_line_1"])
def test_a_value_that_only_starts_or_ends_like_a_placeholder_is_a_value(column):
    # The patterns are alternations, matched against the whole cell: "None of the above Ltd"
    # starts like "none" and "Nathan" like "na", "12 Main St -" ends like "-".
    values = pd.Series(
        ["None of the above Ltd", "Nathan", "12 Main St -", "Unknown Pleasures", "N/A", "-"],
        dtype=ARROW_TEXT,
    )
    kept, placeholders = _without_placeholders(column, values)
    assert kept.isna().tolist() == [False, False, False, False, True, True]
    assert placeholders == 2


# --- 4. Lost leading zeros -------------------------------------------------------------------


def test_a_zip_that_lost_its_leading_zero_is_cosmetic_and_warned_about(db_url, tmp_path):
    people = [
        {"email": f"z{n}@example.com", "first_name": f"Z{n}", "postal_code": "02130"}
        for n in range(10)
    ]
    people.append({"email": "moved@example.com", "first_name": "M", "postal_code": "02130"})
    insert_contacts(db_url, *[{**p, "kajabi_id": str(n)} for n, p in enumerate(people)])
    rows = [
        row(p["email"], p["first_name"], kajabi_id=str(n), postal_code="2130")
        for n, p in enumerate(people[:10])
    ]
    rows.append(row("moved@example.com", "M", kajabi_id="10", postal_code="80202"))
    path = tmp_path / EXPORT
    path.write_bytes(csv_bytes(rows))

    validated, plan = import_file(db_url, path)

    postal = plan.changes[plan.changes["field"] == "postal_code"]
    assert postal["decision"].value_counts().to_dict() == {"cosmetic": 10, "update": 1}
    stored = contacts(db_url)
    assert {stored[p["email"]]["postal_code"] for p in people[:10]} == {"02130"}
    assert stored["moved@example.com"]["postal_code"] == "80202"  # a real move still applies
    warning = next(w for w in validated.warnings if "leading zeros" in w)
    assert warning.startswith("10 US postal code(s)") and "Excel" in warning


# --- 5. An NFD email is the same address ------------------------------------------------------


def test_an_nfd_email_with_a_new_kajabi_id_matches_the_existing_contact(db_url, tmp_path):
    nfc = "rené@example.com"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    insert_contacts(db_url, {"email": nfc, "first_name": "René", "kajabi_id": "1"})
    path = tmp_path / EXPORT
    path.write_bytes(
        csv_bytes([row(nfd.upper(), "René", "Roy", kajabi_id="999"), row("x@example.com", "X")])
    )

    validated, plan = import_file(db_url, path)

    assert plan.new_contacts["email"].tolist() == ["x@example.com"]
    stored = contacts(db_url)
    assert sorted(stored) == ["rené@example.com", "x@example.com"]
    assert stored["rené@example.com"]["last_name"] == "Roy"  # the one contact was filled


def test_a_new_contact_s_nfd_email_is_stored_composed(db_url, tmp_path):
    nfd = unicodedata.normalize("NFD", "Zoë@Example.com")
    path = tmp_path / EXPORT
    path.write_bytes(csv_bytes([row(nfd, "Zoë", kajabi_id="5")]))
    import_file(db_url, path)
    assert list(contacts(db_url)) == ["Zoë@Example.com"]


def test_the_duplicate_finder_folds_nfd_emails_like_the_matcher():
    nfc = "rené.roy+news@gmail.com"
    keys = canonical_email(pd.Series([nfc, unicodedata.normalize("NFD", nfc).upper()]))
    assert keys.tolist() == ["reneroy@gmail.com".replace("ne", "né", 1)] * 2

"""Small hand-written contacts and exports for tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg
from psycopg import sql

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.frames import TEXT_LIST
from kajabi_sync.kajabi.columns import (
    CREATED_AT_COLUMN,
    EMAIL_COLUMN,
    FIELD_FROM_FIXED_COLUMN,
    FIELD_FROM_HANDLE,
    FIXED_COLUMNS,
    NAME_COLUMN,
    PHONE_FALLBACK_HANDLE,
)
from kajabi_sync.normalize import email_key, phone_key


def insert_contacts(url: str, *contacts: dict) -> list[str]:
    """Insert contacts (dicts of contacts columns); return their ids in order."""
    ids = []
    with psycopg.connect(url) as conn:
        for contact in contacts:
            columns = list(contact)
            query = sql.SQL("INSERT INTO contacts ({}) VALUES ({}) RETURNING id::text").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(sql.Placeholder() * len(columns)),
            )
            ids.append(conn.execute(query, list(contact.values())).fetchone()[0])
    return ids


def export_frame(*rows: dict) -> pd.DataFrame:
    """A validated-export frame (the contract of ``kajabi.validate``) from partial rows."""
    records = []
    for number, row in enumerate(rows, start=2):
        record = {"row_number": number, "email_raw": row["email"], "name": None}
        record.update({f: row.get(f) for f in CONTACT_FIELDS})
        records.append(record)
    frame = pd.DataFrame(records)
    for column in ["email_raw", "name", *CONTACT_FIELDS]:
        frame[column] = frame[column].astype("string")
    frame.insert(1, "email", email_key(frame["email_raw"]))
    frame["phone_e164"] = phone_key(frame["phone"])
    frame["tags"] = pd.Series([[]] * len(frame), dtype=TEXT_LIST)
    frame["products"] = pd.Series([[]] * len(frame), dtype=TEXT_LIST)
    frame["created_at"] = pd.NaT
    frame["row_number"] = frame["row_number"].astype("int64")
    return frame


# The sites' labels of the form fields the policy reads (a label is the site's own choice; the
# handle in brackets is what the importer recognises, from kajabi.columns).
FORM_LABELS = {
    "phone": "Phone Number",
    "address_line_1": "Address",
    "address_line_2": "Address Line 2",
    "city": "City",
    "state": "State",
    "country": "Country",
    "postal_code": "Zip Code",
}
FORM_COLUMNS = {
    field: f"{FORM_LABELS[field]} ({FIELD_FROM_HANDLE[field]})" for field in FORM_LABELS
}
assert set(FORM_COLUMNS) == set(FIELD_FROM_HANDLE)
PHONE_FALLBACK_COLUMN = f"Mobile Phone Number ({PHONE_FALLBACK_HANDLE})"


def kajabi_csv(path, *rows: dict) -> Path:
    """Write a Kajabi-layout export (BOM, fixed columns, ``Label (handle)`` form columns)."""
    records = []
    for row in rows:
        record = dict.fromkeys(FIXED_COLUMNS, "")
        record.update(
            {
                NAME_COLUMN: " ".join(filter(None, [row.get("first_name"), row.get("last_name")])),
                EMAIL_COLUMN: row["email"],
                CREATED_AT_COLUMN: "2024-05-06 18:01:32 -0700",
            }
        )
        record.update({c: row.get(f) or "" for f, c in FIELD_FROM_FIXED_COLUMN.items()})
        record.update({label: row.get(f) or "" for f, label in FORM_COLUMNS.items()})
        records.append(record)
    path = Path(path)
    frame = pd.DataFrame(records, columns=[*FIXED_COLUMNS, *FORM_COLUMNS.values()])
    # Every form handle the policy reads is in a real export, the fallback phone included.
    frame.insert(len(FIXED_COLUMNS) + 1, PHONE_FALLBACK_COLUMN, "")
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path

"""Small hand-written contacts and exports for tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg
from psycopg import sql

from kajabi_sync.fields import CONTACT_FIELDS
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
    frame["tags"] = [[] for _ in range(len(frame))]
    frame["products"] = [[] for _ in range(len(frame))]
    frame["created_at"] = pd.NaT
    frame["row_number"] = frame["row_number"].astype("int64")
    return frame


FIXED_COLUMNS = [
    "Name",
    "First Name",
    "Last Name",
    "Email",
    "Products",
    "Tags",
    "ID",
    "Member ID",
    "External User ID",
    "Created At",
    "Member Created At",
    "Sign In Count",
    "Last Activity",
    "Last Sign In At",
]
FORM_COLUMNS = {
    "phone": "Phone Number (phone_number)",
    "address_line_1": "Address (address_line_1)",
    "address_line_2": "Address Line 2 (address_line_2)",
    "city": "City (address_city)",
    "state": "State (address_state)",
    "country": "Country (address_country)",
    "postal_code": "Zip Code (address_zip)",
}


def kajabi_csv(path, *rows: dict) -> Path:
    """Write a Kajabi-layout export (BOM, fixed columns, ``Label (handle)`` form columns)."""
    records = []
    for row in rows:
        record = dict.fromkeys(FIXED_COLUMNS, "")
        record.update(
            {
                "Name": " ".join(filter(None, [row.get("first_name"), row.get("last_name")])),
                "First Name": row.get("first_name") or "",
                "Last Name": row.get("last_name") or "",
                "Email": row["email"],
                "ID": row.get("kajabi_id") or "",
                "Member ID": row.get("kajabi_member_id") or "",
                "Created At": "2024-05-06 18:01:32 -0700",
            }
        )
        record.update({label: row.get(f) or "" for f, label in FORM_COLUMNS.items()})
        records.append(record)
    path = Path(path)
    frame = pd.DataFrame(records, columns=FIXED_COLUMNS + list(FORM_COLUMNS.values()))
    # Every form handle the policy reads is in a real export, the fallback phone included.
    frame.insert(len(FIXED_COLUMNS) + 1, "Mobile Phone Number (mobile_phone_number)", "")
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path

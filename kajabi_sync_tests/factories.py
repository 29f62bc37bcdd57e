"""Small hand-written contacts and exports for tests."""

from __future__ import annotations

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

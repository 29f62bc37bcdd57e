"""Writing one weekly Kajabi export exactly as Kajabi lays it out (see the contract).

UTF-8 with a byte-order mark, CRLF line ends, the fourteen fixed columns then the form
columns as ``Label (handle)``; quoted cells may hold commas and line breaks. The file is the
raw input the pipeline reads, so nothing is formula-neutralised here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from kajabi_sync.demo.formats import NULL, cat, csv_blocks
from kajabi_sync.reports import atomic_text_file

# Export header -> column of the Kajabi rows frame (the example header of the contract).
EXPORT_COLUMNS: dict[str, str] = {
    "Name": "full_name",
    "First Name": "first_name",
    "Last Name": "last_name",
    "Email": "kajabi_email",
    "Products": "products",
    "Tags": "tags",
    "ID": "kajabi_id",
    "Member ID": "kajabi_member_id",
    "External User ID": "external_user_id",
    "Created At": "created_at",
    "Member Created At": "member_created_at",
    "Sign In Count": "sign_in_count",
    "Last Activity": "last_activity",
    "Last Sign In At": "last_sign_in_at",
    "First Name (name)": "form_name",
    "Email (email)": "form_email",
    "Phone Number (phone_number)": "phone",
    "Mobile Phone Number (mobile_phone_number)": "mobile_phone",
    "Address (address_line_1)": "address_line_1",
    "Address Line 2 (address_line_2)": "address_line_2",
    "City (address_city)": "city",
    "State (address_state)": "state",
    "Country (address_country)": "country",
    "Zip Code (address_zip)": "postal_code",
    "Business Number (business_number)": "business_number",
    "Source (custom_1)": "custom_1",
    "Last Name (custom_2)": "custom_2",
}


def export_path(exports_dir: Path, export_date: date) -> Path:
    return exports_dir / f"kajabi_contacts_{export_date.isoformat()}.csv"


def full_name(rows: pd.DataFrame) -> np.ndarray:
    """Kajabi's ``Name``: first, middle and last name joined, skipping the empty ones."""
    name = rows["first_name"].fillna("").to_numpy().astype(object)
    for column in ("middle_name", "last_name"):
        part = rows[column].to_numpy()
        has = pd.notna(part)
        joined = np.where(name[has] == "", part[has], cat(name[has], " ", part[has]).astype(object))
        name[has] = joined
    return np.where(name == "", NULL, name)


def export_columns(rows: pd.DataFrame, week_rows: np.ndarray) -> list[np.ndarray]:
    """The export's cells, column by column, for ``week_rows`` (newest contact first, as Kajabi lists)."""
    ids = rows["kajabi_id"].to_numpy()[week_rows].astype(np.int64)
    created = rows["created_s"].to_numpy()[week_rows]
    order = week_rows[np.lexsort((ids, created))[::-1]]
    picked = rows.iloc[order][["first_name", "middle_name", "last_name"]]
    columns = []
    for column in EXPORT_COLUMNS.values():
        values = full_name(picked) if column == "full_name" else rows[column].to_numpy()[order]
        columns.append(values.astype(object))
    return columns


def write_export(rows: pd.DataFrame, week_rows: np.ndarray, path: Path) -> int:
    """Write ``rows[week_rows]`` as a Kajabi export at ``path`` (atomic, owner-only); return rows."""
    columns = export_columns(rows, week_rows)
    with atomic_text_file(path, encoding="utf-8-sig") as handle:
        handle.write(",".join(EXPORT_COLUMNS) + "\r\n")
        for block in csv_blocks(columns):
            handle.write(block)
    return len(week_rows)

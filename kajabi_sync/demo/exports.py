"""Writing one weekly Kajabi export exactly as Kajabi lays it out (``kajabi.export_file``).

The fourteen fixed columns, the standard form columns and two custom fields; quoted cells may
hold commas and line breaks. The file is the raw input the pipeline reads.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from kajabi_sync.demo.formats import NULL, cat
from kajabi_sync.kajabi.columns import (
    EMAIL_COLUMN,
    FIELD_FROM_FIXED_COLUMN,
    FIELD_FROM_HANDLE,
    FIXED_COLUMNS,
    FORM_NAME_HANDLE,
    NAME_COLUMN,
    PHONE_FALLBACK_HANDLE,
    STANDARD_FORM_COLUMNS,
    form_handle,
)
from kajabi_sync.kajabi.export_file import write_export_file

# The site's custom fields (label -> column of the Kajabi rows frame): a free-text one, and one
# whose label collides with a fixed column's, as real sites' do.
CUSTOM_COLUMNS: dict[str, str] = {
    "Source (custom_1)": "custom_1",
    "Last Name (custom_2)": "custom_2",
}


def _source_column(label: str) -> str:
    """The column of the Kajabi rows frame an export column comes from.

    A column feeding one of our fields comes from that field; Kajabi's own ``Name`` and
    ``Email`` and the form's name and email are kept apart (they may disagree); any other
    fixed column is its label in snake case, any other form column its handle.
    """
    handle = form_handle(label)
    if handle is None:
        fields = {column: field for field, column in FIELD_FROM_FIXED_COLUMN.items()}
        named = {NAME_COLUMN: "full_name", EMAIL_COLUMN: "kajabi_email"}
        return fields.get(label) or named.get(label) or label.lower().replace(" ", "_")
    fields = {h: field for field, h in FIELD_FROM_HANDLE.items()}
    named = {
        FORM_NAME_HANDLE: "form_name",
        "email": "form_email",
        PHONE_FALLBACK_HANDLE: "mobile_phone",
    }
    return fields.get(handle) or named.get(handle) or handle


# Export header -> column of the Kajabi rows frame, in file order.
EXPORT_COLUMNS: dict[str, str] = {
    **{label: _source_column(label) for label in (*FIXED_COLUMNS, *STANDARD_FORM_COLUMNS)},
    **CUSTOM_COLUMNS,
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
    write_export_file(
        path, list(EXPORT_COLUMNS), zip(*export_columns(rows, week_rows), strict=True)
    )
    return len(week_rows)

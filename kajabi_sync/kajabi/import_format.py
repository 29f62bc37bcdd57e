"""The CSV shape Kajabi's bulk import reads (People -> Import), declared once.

Kajabi maps import columns by header name and wants ONE ``Name`` column; ``First Name`` and
``Last Name`` ride along so the split is not lost. ``Kajabi ID`` and ``Member ID`` are for the
reviewer's reference (Kajabi matches imported rows by ``Email`` only).
"""

from __future__ import annotations

import pandas as pd

EMAIL_HEADER = "Email"
NAME_HEADER = "Name"

# Database column -> Kajabi import header, in file order (after Email and Name).
FIELD_HEADERS: dict[str, str] = {
    "first_name": "First Name",
    "last_name": "Last Name",
    "phone": "Phone Number",
    "address_line_1": "Address",
    "address_line_2": "Address Line 2",
    "city": "City",
    "state": "State",
    "postal_code": "Zip Code",
    "country": "Country",
    "kajabi_id": "Kajabi ID",
    "kajabi_member_id": "Member ID",
}

IMPORT_HEADERS: tuple[str, ...] = (EMAIL_HEADER, NAME_HEADER, *FIELD_HEADERS.values())


def as_text(series: pd.Series) -> pd.Series:
    """``series`` as a pandas string Series, keeping its storage when it already is one."""
    if isinstance(series.dtype, pd.StringDtype):
        return series
    return series.astype("string")


def full_name(first: pd.Series, last: pd.Series) -> pd.Series:
    """``first last`` joined by one space, whichever of the two exists; NA when neither does."""
    first = as_text(first)
    last = as_text(last)
    both = first + " " + last
    return both.fillna(first).fillna(last)


def to_import_frame(email: pd.Series, fields: pd.DataFrame) -> pd.DataFrame:
    """Kajabi import columns from an email Series and a frame holding every mapped field.

    ``email`` and ``fields`` must share one index; the result keeps it.
    """
    missing = [field for field in FIELD_HEADERS if field not in fields.columns]
    if missing:
        raise ValueError(f"fields frame lacks columns: {missing}")
    out = pd.DataFrame(index=fields.index)
    out[EMAIL_HEADER] = as_text(email)
    out[NAME_HEADER] = full_name(fields["first_name"], fields["last_name"])
    for field, header in FIELD_HEADERS.items():
        out[header] = as_text(fields[field])
    return out

"""Which Kajabi export column feeds which of our fields, and which columns must never be read.

Kajabi writes fourteen fixed columns, then the site's form fields as ``Label (handle)``. Labels
are chosen (and translated) per site and collide ("Last Name (custom_2)" is a custom field, not
the last name), so form columns are recognised by their HANDLE only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

from kajabi_sync.frames import ARROW_TEXT, as_arrow_text

FIXED_COLUMNS: tuple[str, ...] = (
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
)
# The standard form fields' columns, as Kajabi's export labels them, in export order (a site's
# custom fields follow them as ``Title (custom_N)``).
STANDARD_FORM_COLUMNS: tuple[str, ...] = (
    "First Name (name)",
    "Email (email)",
    "Phone Number (phone_number)",
    "Mobile Phone Number (mobile_phone_number)",
    "Address (address_line_1)",
    "Address Line 2 (address_line_2)",
    "City (address_city)",
    "State (address_state)",
    "Country (address_country)",
    "Zip Code (address_zip)",
    "Business Number (business_number)",
)
EMAIL_COLUMN = "Email"
NAME_COLUMN = "Name"
TAGS_COLUMN = "Tags"
PRODUCTS_COLUMN = "Products"
CREATED_AT_COLUMN = "Created At"
ID_COLUMN = "ID"
EXTERNAL_USER_ID_COLUMN = "External User ID"

# Our field <- fixed Kajabi column.
FIELD_FROM_FIXED_COLUMN: Mapping[str, str] = {
    "first_name": "First Name",
    "last_name": "Last Name",
    "kajabi_id": ID_COLUMN,
    "kajabi_member_id": "Member ID",
}
# Our field <- form handle.
FIELD_FROM_HANDLE: Mapping[str, str] = {
    "phone": "phone_number",
    "address_line_1": "address_line_1",
    "address_line_2": "address_line_2",
    "city": "address_city",
    "state": "address_state",
    "postal_code": "address_zip",
    "country": "address_country",
}
# Used for ``phone`` only where ``phone_number`` is empty.
PHONE_FALLBACK_HANDLE = "mobile_phone_number"
# The form's own name field; read only to report it, never split into first/last (see validate).
FORM_NAME_HANDLE = "name"

# The form handles the policy reads, in contract order: a file without one of them imports
# nothing into that field, so a missing one is reported (and blocks when last week had it).
POLICY_HANDLES: tuple[str, ...] = (
    "phone_number",
    PHONE_FALLBACK_HANDLE,
    "address_line_1",
    "address_line_2",
    "address_city",
    "address_state",
    "address_country",
    "address_zip",
)
assert set(POLICY_HANDLES) == {*FIELD_FROM_HANDLE.values(), PHONE_FALLBACK_HANDLE}

MAPPED_HANDLES: frozenset[str] = frozenset(
    [*FIELD_FROM_HANDLE.values(), PHONE_FALLBACK_HANDLE, FORM_NAME_HANDLE]
)

_HANDLE = re.compile(r"\(([A-Za-z0-9_]+)\)\s*$")

# Card numbers, security codes and expiry dates: such a column is dropped before anything
# else sees it. Deliberately broad; a false positive only loses a custom field we never store.
_CARD_LABEL = re.compile(
    r"card|credit|debit|(?<![a-z])(cc|pan|csc|cvn|exp|mm\s*/\s*yy)(?![a-z])|cvv|cvc|cv2"
    r"|security[\s_-]*code|verification[\s_-]*(code|value)|expir|exp[\s_.-]*(date|month|year)",
    re.IGNORECASE,
)


def form_handle(label: str) -> str | None:
    """``"Teléfono (phone_number)"`` -> ``"phone_number"``; ``None`` for a column without a handle."""
    match = _HANDLE.search(label)
    return match.group(1).lower() if match else None


def looks_like_card_data(label: str) -> bool:
    """True when a column label suggests a card number, a CVV/CVC or an expiry date."""
    return _CARD_LABEL.search(label) is not None


def mapped_columns_by_handle(labels: Iterable[str]) -> dict[str, str]:
    """The column label of each handle we read; ValueError if one appears in two columns."""
    found: dict[str, str] = {}
    for label in labels:
        handle = form_handle(label)
        if handle not in MAPPED_HANDLES:
            continue
        if handle in found:
            raise ValueError(
                f"the form field handle ({handle}) appears in two columns: "
                f"{found[handle]!r} and {label!r}"
            )
        found[handle] = label
    return found


def contact_fields_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Our contact fields, as the file's raw text, from an export frame (absent column -> empty).

    ``phone`` is the phone_number form field, falling back to mobile_phone_number when the
    former is empty (blank or whitespace).
    """
    by_handle = mapped_columns_by_handle(frame.columns)
    empty = pd.Series("", index=frame.index, dtype=ARROW_TEXT)

    def column(label: str | None) -> pd.Series:
        if label not in frame.columns:
            return empty
        # The reader's Arrow-backed strings are kept as they are: converting copies every cell.
        series = frame[label]
        return as_arrow_text(series)

    out = {field: column(label) for field, label in FIELD_FROM_FIXED_COLUMN.items()}
    for field, handle in FIELD_FROM_HANDLE.items():
        out[field] = column(by_handle.get(handle))
    mobile = column(by_handle.get(PHONE_FALLBACK_HANDLE))
    out["phone"] = out["phone"].where(out["phone"].str.strip() != "", mobile)
    out["form_name"] = column(by_handle.get(FORM_NAME_HANDLE))
    return pd.DataFrame(out, index=frame.index)

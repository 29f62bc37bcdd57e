"""The shape every validated Kajabi export frame must have (checked by ``validate_export``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from kajabi_sync.fields import CONTACT_FIELDS

VALIDATED_COLUMNS: tuple[str, ...] = (
    "row_number",
    "email",
    "email_raw",
    "name",
    *CONTACT_FIELDS,
    "phone_e164",
    "tags",
    "products",
    "created_at",
)


def _is_normalised_email(email: pd.Series) -> pd.Series:
    return (email == email.str.strip().str.lower()).fillna(False).astype(bool)


def _text(**kwargs: Any) -> pa.Column:
    return pa.Column(pd.StringDtype(), **kwargs)


def _list_column() -> pa.Column:
    # Lists of strings (built by validate.comma_list); checking each cell's type would cost a
    # Python call per row for no protection the tests do not already give.
    return pa.Column(object, nullable=False)


# One row per contact: a unique, trimmed, lower-case email and its spreadsheet row in the file.
VALIDATED_EXPORT_SCHEMA = pa.DataFrameSchema(
    {
        "row_number": pa.Column(np.int64, pa.Check.ge(2), unique=True, nullable=False),
        "email": _text(
            checks=pa.Check(_is_normalised_email, name="email_is_trimmed_lower_case"),
            unique=True,
            nullable=False,
        ),
        "email_raw": _text(nullable=False),
        "name": _text(nullable=True),
        **{name: _text(nullable=True) for name in CONTACT_FIELDS},
        "phone_e164": _text(nullable=True),
        "tags": _list_column(),
        "products": _list_column(),
        "created_at": pa.Column(pd.DatetimeTZDtype("ns", "UTC"), nullable=True),
    },
    strict=True,
    ordered=True,
    name="validated_kajabi_export",
)

"""The shape every validated Kajabi export frame must have (checked by ``validate_export``)."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow.compute as pc

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.frames import ARROW_TEXT, TEXT_LIST
from kajabi_sync.normalize import arrow_text


def _import_checks_without_strategies() -> None:
    """Import pandera's built-in checks (what its first validation would) without hypothesis.

    The checks module imports pandera's data-synthesis strategies, and those import hypothesis
    whenever it is installed (a test dependency here), with every hypothesis plugin: the first
    validation of a process would load a property-testing framework that validation never uses.
    With hypothesis hidden (``None`` in ``sys.modules`` makes its import fail) the strategies take
    their own no-hypothesis path, and only they are disabled in this process; every check
    validates as it does with them. A process that imported hypothesis already (a test run)
    gets the checks as pandera imports them."""
    if "hypothesis" in sys.modules or "pandera.backends.pandas.builtin_checks" in sys.modules:
        return
    sys.modules["hypothesis"] = None  # type: ignore[assignment]
    try:
        import pandera.backends.pandas.builtin_checks  # noqa: F401
    finally:
        del sys.modules["hypothesis"]


_import_checks_without_strategies()

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
    """``email == email.strip().lower()`` in Python's sense, NA False.

    ASCII text is compared by Arrow (there Python's and Arrow's whitespace and lower case are
    the same); any other text by Python's own ``str`` methods, whose Unicode tables (case
    mappings) differ from Arrow's for some letters."""
    text = arrow_text(email)
    ascii_only = pc.fill_null(pc.string_is_ascii(text), False).to_numpy(zero_copy_only=False)
    normal = pc.equal(text, pc.ascii_lower(pc.utf8_trim_whitespace(text)))
    ok = pc.fill_null(normal, False).to_numpy(zero_copy_only=False) & ascii_only
    other = np.flatnonzero(~ascii_only)
    if len(other):
        rest = email.iloc[other].astype(pd.StringDtype("python"))
        ok[other] = (rest == rest.str.strip().str.lower()).fillna(False).to_numpy(dtype=bool)
    return pd.Series(ok, index=email.index)


def _text(**kwargs: Any) -> pa.Column:
    return pa.Column(ARROW_TEXT, **kwargs)


def _list_column() -> pa.Column:
    # Lists of text, built by validate.comma_list; an empty cell is an empty list, never NA.
    return pa.Column(TEXT_LIST, nullable=False)


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

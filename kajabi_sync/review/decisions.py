"""The user's decisions: read from a filled ``needs_review.csv`` or chosen in bulk, then checked
against the open items and the database, all or nothing.

A problem names its row (the file's line number and review_id), and every problem of the
file is reported at once, so one correction round is enough.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import email_validator
import numpy as np
import pandas as pd
import phonenumbers

from kajabi_sync.db.apply import ApplyRefused
from kajabi_sync.normalize import DEFAULT_PHONE_REGION, email_key
from kajabi_sync.reports import _FORMULA_TRIGGERS
from kajabi_sync.review.items import REVIEW_COLUMNS, REVIEW_ENCODING
from kajabi_sync.review.kinds import KINDS
from kajabi_sync.survivorship.policy import POLICY, comparison_key

REQUIRED_COLUMNS: tuple[str, ...] = ("review_id", "resolution")
EMAIL_FIELD = "email"  # the field of an email_change item: the contact's primary email
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_VALUE_LENGTH = 255


class DecisionsRefused(ApplyRefused):
    """The decisions were not applied (nothing was written); the message names each row."""


@dataclass(frozen=True)
class Decision:
    """One decided row. ``seen``: the file's other cells (what the operator saw), when the
    decision comes from a file; empty for bulk decisions."""

    review_id: str
    resolution: str
    value: str | None = None
    note: str | None = None
    line: int | None = None  # the file's line number (the header is line 1)
    seen: tuple[tuple[str, str | None], ...] = ()
    contact_id: str | None = None  # a held duplicate merged into another contact than suggested

    def where(self) -> str:
        place = f"line {self.line}, " if self.line is not None else ""
        return f"{place}review_id {self.review_id}"


def _cell(value: object) -> str | None:
    """A spreadsheet cell as text: blank is None; the ``'`` the reports put before a
    formula-like cell is taken off again."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    if text.startswith("'") and text[1:].startswith(_FORMULA_TRIGGERS):
        text = text[1:]
    return text or None


def _read(path: Path, sep: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=REVIEW_ENCODING, sep=sep)


def read_decision_file(path: Path | str) -> list[Decision]:
    """The decided rows of a review file (rows with neither resolution nor value stay open).
    Raises DecisionsRefused for a file that is not a review file."""
    path = Path(path)
    if not path.is_file():
        raise DecisionsRefused(f"no review file at {path}; nothing was written")
    try:
        frame = _read(path, ",")
        if len(frame.columns) == 1 and ";" in str(frame.columns[0]):
            frame = _read(path, ";")  # a spreadsheet saving with the locale's list separator
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DecisionsRefused(
            f"{path.name} cannot be read as a review file ({error}); save it as CSV (UTF-8) — "
            "nothing was written"
        ) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DecisionsRefused(
            f"{path.name} has no column {', '.join(missing)}: it is not a needs_review.csv file "
            "(keep its header row as written) — nothing was written"
        )
    decisions = []
    for position, row in enumerate(frame.to_dict("records")):
        cells = {c: _cell(row.get(c)) for c in REVIEW_COLUMNS if c in frame.columns}
        resolution, value = cells.get("resolution"), cells.get("value")
        if resolution is None and value is None:
            continue
        decisions.append(
            Decision(
                review_id=(cells.get("review_id") or "").upper(),
                resolution=(resolution or "value").lower(),
                value=value,
                note=cells.get("note"),
                line=position + 2,
                seen=tuple(
                    (c, cells.get(c))
                    for c in ("database_value", "kajabi_value")
                    if c in frame.columns
                ),
                contact_id=cells.get("contact_id"),
            )
        )
    return decisions


def bulk_decisions(
    items: pd.DataFrame, resolution: str, kind: str | None = None, field: str | None = None
) -> list[Decision]:
    """Every open item of ``kind`` (and ``field``) decided ``resolution``."""
    if kind is not None and kind not in KINDS:
        raise DecisionsRefused(
            f"unknown kind {kind!r}; the kinds are {', '.join(KINDS)} — nothing was written"
        )
    chosen = items
    if kind is not None:
        chosen = chosen[chosen["kind"] == kind]
    if field is not None:
        chosen = chosen[chosen["field"] == field]
    return [Decision(review_id=rid, resolution=resolution) for rid in chosen["review_id"]]


def value_problem(field: str, value: str) -> str | None:
    """Why ``value`` cannot be written to ``field``, None when it can."""
    if len(value) > MAX_VALUE_LENGTH:
        return f"the value is longer than {MAX_VALUE_LENGTH} characters"
    if _CONTROL.search(value):
        return "the value holds a control character (a line break or tab)"
    if field == "phone":
        try:
            parsed = phonenumbers.parse(value, DEFAULT_PHONE_REGION)
        except phonenumbers.NumberParseException:
            return f"{value!r} is not a phone number"
        if not phonenumbers.is_possible_number(parsed):
            return f"{value!r} is not a possible phone number"
    elif field == "email":
        try:
            email_validator.validate_email(value, check_deliverability=False)
        except email_validator.EmailNotValidError as error:
            return f"{value!r} is not an email address ({error})"
    elif field in ("kajabi_id", "kajabi_member_id") and not value.isdigit():
        return f"a {field} is a number, not {value!r}"
    return None


def _keys(field: str, values: pd.Series) -> pd.Series:
    policy = POLICY.get(field)
    text = values.astype("string")
    if field == EMAIL_FIELD:
        key = email_key(text)
    else:
        key = comparison_key(text, policy.comparison) if policy else text.str.strip()
    key = key.astype("string").mask(key == "")
    # A spreadsheet may drop the leading zeros of a number-looking cell (a postal code).
    digits = key.str.fullmatch(r"\d+").fillna(False)
    stripped = key.str.lstrip("0").mask(lambda k: k == "", "0")
    return key.mask(digits, stripped)


def same_values(fields: pd.Series, left: pd.Series, right: pd.Series) -> np.ndarray:
    """Per row, whether ``left`` and ``right`` mean the same value of that row's field (the
    field's comparison; empty equals empty). Computed per field over all rows at once."""
    same = np.ones(len(fields), dtype=bool)
    fields = fields.reset_index(drop=True)
    left, right = left.reset_index(drop=True), right.reset_index(drop=True)
    for field, rows in fields.groupby(fields, sort=False).groups.items():
        a, b = _keys(str(field), left[rows]), _keys(str(field), right[rows])
        equal = ((a == b).fillna(False) | (a.isna() & b.isna())).to_numpy(dtype=bool)
        same[np.asarray(rows)] = equal
    return same

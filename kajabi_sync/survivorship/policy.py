"""The survivorship policy, declared once: per field, how to compare it and what protects it.

The protection rules are the user's strategy: a field that another source enriched
must never be overwritten by a stale Kajabi value. A source column that names ``kajabi``
itself is Kajabi's own data and protects nothing.

How the plan (``plan.py``) uses this table, field by field:

- **Comparison.** Names and address parts compare as ``normalize.text_key``: up to case,
  spacing, Unicode form (NFC/NFD) and character width, but ``Jose`` is not ``José``. Phones
  compare in E.164. Text that differs only in its Unicode form is ``unchanged``; the database's
  bytes are kept, and values written from Kajabi are stored composed (NFC).
- **Protection ends per field once the two systems agree.** A protected field stays protected
  while Kajabi has not held the database's value. Once the base (what Kajabi sent at the last
  import) equals the database's value, a new Kajabi value is an edit made in Kajabi: an
  ``update`` whose reason says so, or ``protected_edit`` (kept, listed for review) with the
  setting ``protected_edit: review``. For the address, "agree" means the whole address.
- **The address is one unit.** Its parts are never mixed from two sources. When every part
  the database holds agrees with Kajabi's, Kajabi's address completes it and the empty parts
  are filled together. Otherwise the database's address is kept whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from kajabi_sync.fields import ADDRESS_FIELDS, CONTACT_FIELDS
from kajabi_sync.frames import ARROW_TEXT
from kajabi_sync.normalize import phone_key, postal_key, text_key

Comparison = Literal["text", "phone", "postal", "exact"]


# The snapshot column listing, per contact, the fields a person set by hand in a review
# decision (``,first_name,city,``; see ``db.snapshot``). Not a column of ``contacts``.
MANUAL_FIELDS_COLUMN = "manual_fields"


@dataclass(frozen=True)
class Protection:
    """A database column whose content marks a field as enriched by another source.

    ``manual``: the field (any of ``fields``) was set by hand in a review decision
    (``MANUAL_FIELDS_COLUMN``)."""

    column: str
    kind: Literal["present", "non_kajabi_source", "manual"]
    fields: tuple[str, ...] = ()

    def applies(self, contacts: pd.DataFrame) -> pd.Series:
        return pd.Series(self.verdict(contacts)[0], index=contacts.index, dtype="boolean")

    def describe(self, contacts: pd.DataFrame) -> pd.Series:
        """Why the rule protects each contact, on the rows where it applies (NA elsewhere)."""
        applies, why = self.verdict(contacts)
        out = pd.Series(pd.NA, index=contacts.index, dtype="string")
        out.iloc[np.flatnonzero(applies)] = why
        return out

    def verdict(self, contacts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(applies: bool per contact, why: one text per contact it applies to, in order).

        Only the rows holding a value are examined, as Arrow-backed text: the provenance
        columns are mostly empty, and Python-object string methods over every contact of every
        rule were the largest part of the plan's time (benchmarks/RESULTS.md)."""
        if self.column not in contacts:  # a frame without manual fields (none were set)
            return np.zeros(len(contacts), dtype=bool), np.empty(0, dtype=object)
        column = contacts[self.column]
        held = np.flatnonzero(column.notna().to_numpy())
        value = column.iloc[held].astype(ARROW_TEXT).str.strip()
        hit = value != ""
        if self.kind == "non_kajabi_source":
            hit &= value.str.casefold() != "kajabi"
        if self.kind == "manual":
            hit &= np.logical_or.reduce(
                [value.str.contains(f",{f},", regex=False).fillna(False) for f in self.fields]
            )
        hit = hit.fillna(False).to_numpy(dtype=bool)
        applies = np.zeros(len(contacts), dtype=bool)
        applies[held[hit]] = True
        if self.kind == "present":
            why = np.full(int(hit.sum()), f"{self.column} is set", dtype=object)
        elif self.kind == "manual":
            why = np.full(int(hit.sum()), "set by hand in a review decision (manual)", dtype=object)
        else:
            why = ("came from " + value[hit] + f" ({self.column})").to_numpy(dtype=object)
        return applies, why


@dataclass(frozen=True)
class FieldPolicy:
    field: str
    comparison: Comparison
    protections: tuple[Protection, ...] = ()
    # The address is one unit: its parts are never mixed from two sources.
    address_unit: bool = False


def _manual(*fields: str) -> Protection:
    return Protection(MANUAL_FIELDS_COLUMN, "manual", fields)


# A hand-set part of the address protects the whole address (it is one unit).
_ADDRESS_PROTECTION = (
    Protection("billing_address_source", "non_kajabi_source"),
    _manual(*ADDRESS_FIELDS),
)

POLICY: dict[str, FieldPolicy] = {
    policy.field: policy
    for policy in (
        FieldPolicy(
            "first_name",
            "text",
            (Protection("paypal_first_name", "present"), _manual("first_name")),
        ),
        FieldPolicy(
            "last_name", "text", (Protection("paypal_last_name", "present"), _manual("last_name"))
        ),
        FieldPolicy(
            "phone",
            "phone",
            (
                Protection("phone_source", "non_kajabi_source"),
                Protection("paypal_phone", "present"),
                _manual("phone"),
            ),
        ),
        *(
            FieldPolicy(
                f,
                "postal" if f == "postal_code" else "text",
                _ADDRESS_PROTECTION,
                address_unit=True,
            )
            for f in ADDRESS_FIELDS
        ),
        FieldPolicy("kajabi_id", "exact", (_manual("kajabi_id"),)),
        FieldPolicy("kajabi_member_id", "exact", (_manual("kajabi_member_id"),)),
    )
}
assert tuple(POLICY) == CONTACT_FIELDS, "the policy must cover exactly the Kajabi fields, in order"

# Every field of a contact that another system created is protected.
CONTACT_PROTECTION = Protection("source_system", "non_kajabi_source")

# The database columns the policy reads (the apply re-checks them before writing). Manual
# fields are not a contacts column: a review run that sets one writes the field itself, which
# the apply re-checks.
PROVENANCE_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [CONTACT_PROTECTION.column]
        + [p.column for policy in POLICY.values() for p in policy.protections if p.kind != "manual"]
    )
)


def comparison_key(values: pd.Series, comparison: Comparison) -> pd.Series:
    """The key under which two values of a field mean the same thing."""
    if comparison == "phone":
        return phone_key(values)
    if comparison == "text":
        return text_key(values)
    if comparison == "postal":
        return postal_key(values)
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def protection(
    policy: FieldPolicy,
    contacts: pd.DataFrame,
    verdicts: dict[Protection, tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[pd.Series, pd.Series]:
    """(is protected, why) for one field over all contacts; the first rule that applies explains.

    ``verdicts``: a cache shared across fields, so each rule (``source_system`` protects every
    field) is evaluated once per plan."""
    verdicts = {} if verdicts is None else verdicts
    protected = np.zeros(len(contacts), dtype=bool)
    reason = np.full(len(contacts), None, dtype=object)
    for rule in (*policy.protections, CONTACT_PROTECTION):
        if rule not in verdicts:
            verdicts[rule] = rule.verdict(contacts)
        applies, why = verdicts[rule]
        first = applies & ~protected
        if first.any():
            reason[first] = why[first[applies]]
            protected |= first
    return (
        pd.Series(protected, index=contacts.index, dtype="boolean"),
        pd.Series(reason, index=contacts.index, dtype="string"),
    )

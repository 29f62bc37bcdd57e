"""The survivorship policy, declared once: per field, how to compare it and what protects it.

The protection rules are the user's (``shared/seed``): a field that another source enriched
must never be overwritten by Kajabi. A source column that names ``kajabi`` itself is Kajabi's
own data and protects nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from kajabi_sync.fields import ADDRESS_FIELDS, CONTACT_FIELDS
from kajabi_sync.normalize import phone_key, text_key

Comparison = Literal["text", "phone", "exact"]


@dataclass(frozen=True)
class Protection:
    """A database column whose content marks a field as enriched by another source."""

    column: str
    kind: Literal["present", "non_kajabi_source"]

    def applies(self, contacts: pd.DataFrame) -> pd.Series:
        value = contacts[self.column].astype("string").str.strip()
        present = value.notna() & (value != "")
        if self.kind == "present":
            return present
        return present & (value.str.casefold() != "kajabi")

    def describe(self, contacts: pd.DataFrame) -> pd.Series:
        if self.kind == "present":
            return pd.Series(f"{self.column} is set", index=contacts.index, dtype="string")
        value = contacts[self.column].astype("string").str.strip()
        return "came from " + value + f" ({self.column})"


@dataclass(frozen=True)
class FieldPolicy:
    field: str
    comparison: Comparison
    protections: tuple[Protection, ...] = ()
    # The address is one unit: its parts are never mixed from two sources.
    address_unit: bool = False


_ADDRESS_PROTECTION = (Protection("billing_address_source", "non_kajabi_source"),)

POLICY: dict[str, FieldPolicy] = {
    policy.field: policy
    for policy in (
        FieldPolicy("first_name", "text", (Protection("paypal_first_name", "present"),)),
        FieldPolicy("last_name", "text", (Protection("paypal_last_name", "present"),)),
        FieldPolicy(
            "phone",
            "phone",
            (Protection("phone_source", "non_kajabi_source"), Protection("paypal_phone", "present")),
        ),
        *(FieldPolicy(f, "text", _ADDRESS_PROTECTION, address_unit=True) for f in ADDRESS_FIELDS),
        FieldPolicy("kajabi_id", "exact"),
        FieldPolicy("kajabi_member_id", "exact"),
    )
}
assert tuple(POLICY) == CONTACT_FIELDS, "the policy must cover exactly the Kajabi fields, in order"

# Every field of a contact that another system created is protected.
CONTACT_PROTECTION = Protection("source_system", "non_kajabi_source")

# The database columns the policy reads (the apply re-checks them before writing).
PROVENANCE_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [CONTACT_PROTECTION.column]
        + [p.column for policy in POLICY.values() for p in policy.protections]
    )
)


def comparison_key(values: pd.Series, comparison: Comparison) -> pd.Series:
    """The key under which two values of a field mean the same thing."""
    if comparison == "phone":
        return phone_key(values)
    if comparison == "text":
        return text_key(values)
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def protection(policy: FieldPolicy, contacts: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(is protected, why) for one field over all contacts; the first rule that applies explains."""
    protected = pd.Series(False, index=contacts.index)
    reason = pd.Series(pd.NA, index=contacts.index, dtype="string")
    for rule in (*policy.protections, CONTACT_PROTECTION):
        applies = rule.applies(contacts) & ~protected
        if applies.any():
            reason = reason.mask(applies, rule.describe(contacts))
            protected |= applies
    return protected, reason

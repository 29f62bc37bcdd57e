"""What to generate: the user's arguments, and every category count derived from them.

The default population mirrors the first user's real database (6,555 live contacts); every
count scales with ``contacts`` so a 1,000,000-contact benchmark keeps the same proportions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Counts measured on the first user's database, at 6,555 live contacts.
REFERENCE_CONTACTS = 6_555
REFERENCE_COUNTS: dict[str, int] = {
    "kajabi_contacts": 5_387,
    "phone_enriched": 1_117,
    "paypal_names": 508,
    "shipping_addresses": 1_210,
    "zoho_linked": 1_956,
    "corrected_addresses": 672,
    "merged_duplicates": 125,
    # Kajabi-side stories for the first export.
    "new_signups_first_week": 30,
    "likely_duplicate_signups": 4,
    "changed_emails": 6,
    # Week-1 cells that a naive COALESCE(kajabi, db) import would overwrite with a real difference.
    "stale_names": 19,
    "stale_zoho_phones": 17,
    "stale_other_phones": 45,
    "stale_kajabi_source_phones": 8,
    "junk_line2_unflagged": 45,
    "junk_line2_flagged": 5,
    # Later weeks.
    "new_signups_per_week": 25,
    "kajabi_edits_per_week": 27,
    "gone_per_week": 11,
}
# Categories that stay at least 1 on small demos, so every story is present in a test database.
AT_LEAST_ONE = frozenset(REFERENCE_COUNTS) - {"kajabi_contacts"}
MIN_CONTACTS = 300


@dataclass(frozen=True)
class DemoSpec:
    contacts: int = REFERENCE_CONTACTS
    weeks: int = 2
    first_export: date = date(2025, 11, 10)
    seed: int = 20_251_110

    def __post_init__(self) -> None:
        if self.contacts < MIN_CONTACTS:
            raise ValueError(f"contacts must be at least {MIN_CONTACTS}")
        if self.weeks < 1:
            raise ValueError("weeks must be at least 1")
        if self.first_export.weekday() != 0:
            raise ValueError("first_export must be a Monday (Kajabi exports are weekly)")

    def count(self, category: str) -> int:
        """The reference count for ``category`` scaled to ``contacts``."""
        scaled = round(REFERENCE_COUNTS[category] * self.contacts / REFERENCE_CONTACTS)
        return max(scaled, 1) if category in AT_LEAST_ONE else scaled

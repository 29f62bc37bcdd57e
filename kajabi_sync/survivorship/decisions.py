"""The decision vocabulary, declared once: every decision the plan can make, and the sets of
decisions the plan, the reports, the summary, the guards and the naive comparison group by.

A decision is stored as its plain text value (``Decision.FILL == "fill"``) in the plan's
frames, the CSV reports and ``kajabi_sync.field_changes``, so these names are stable.
"""

from __future__ import annotations

from enum import StrEnum


class Decision(StrEnum):
    """What the import does with one (contact, field), or with a row's email or a new row."""

    # Equal, or equal up to case, spacing, phone format or Unicode form.
    UNCHANGED = "unchanged"
    COSMETIC = "cosmetic"
    # Written to the contact.
    FILL = "fill"
    UPDATE = "update"
    # The database keeps its value.
    KEEP_DB_KAJABI_BLANK = "keep_db_kajabi_blank"
    PROTECTED = "protected"
    KEPT_DB = "kept_db"
    CONFLICT = "conflict"
    UNATTRIBUTED = "unattributed"
    # A Kajabi-side edit of a protected field after the two systems agreed, held for a person
    # (setting ``protected_edit: review``).
    PROTECTED_EDIT = "protected_edit"
    # The row's email is new for the contact it matched by Kajabi ID (field ``email``):
    # recorded as a secondary address and listed for review, or made the primary email
    # (setting ``email_change: make_primary``).
    EMAIL_CHANGE = "email_change"
    EMAIL_PROMOTED = "email_promoted"
    # A row that matched no contact (field ``(contact)`` in the reports and the audit).
    NEW_CONTACT = "new_contact"

    @property
    def label(self) -> str:
        """How the summary and the reports name the decision for a person."""
        return _LABELS[self]


_LABELS: dict[Decision, str] = {
    Decision.UNCHANGED: "unchanged",
    Decision.COSMETIC: "cosmetic (same up to format)",
    Decision.FILL: "fills (database empty)",
    Decision.UPDATE: "updates (Kajabi-side edits)",
    Decision.KEEP_DB_KAJABI_BLANK: "Kajabi blank",
    Decision.PROTECTED: "protected from overwrite",
    Decision.KEPT_DB: "kept (database newer)",
    Decision.CONFLICT: "conflicts (both changed)",
    Decision.UNATTRIBUTED: "unattributed (first import)",
    Decision.PROTECTED_EDIT: "Kajabi edits of protected fields to review",
    Decision.EMAIL_CHANGE: "email changes (kept as secondary)",
    Decision.EMAIL_PROMOTED: "email changes (made primary)",
    Decision.NEW_CONTACT: "new contacts",
}

# The decisions a contact field (``fields.CONTACT_FIELDS``) can get, in report order.
FIELD_DECISIONS: tuple[Decision, ...] = (
    Decision.UNCHANGED,
    Decision.FILL,
    Decision.UPDATE,
    Decision.PROTECTED,
    Decision.PROTECTED_EDIT,
    Decision.KEPT_DB,
    Decision.CONFLICT,
    Decision.UNATTRIBUTED,
    Decision.COSMETIC,
    Decision.KEEP_DB_KAJABI_BLANK,
)

# Decisions that write a contact field with Kajabi's value.
WRITE_DECISIONS: tuple[Decision, ...] = (Decision.FILL, Decision.UPDATE)

# Decisions that record a row's new email under the contact it matched.
EMAIL_DECISIONS: tuple[Decision, ...] = (Decision.EMAIL_CHANGE, Decision.EMAIL_PROMOTED)

# Decisions where the database keeps its value while Kajabi holds another: together, how far
# the two systems still disagree (what the enriched export is there to send to Kajabi).
DIVERGENT_DECISIONS: tuple[Decision, ...] = (
    Decision.COSMETIC,
    Decision.PROTECTED,
    Decision.PROTECTED_EDIT,
    Decision.KEPT_DB,
    Decision.CONFLICT,
    Decision.UNATTRIBUTED,
    Decision.KEEP_DB_KAJABI_BLANK,
)

# Decisions a person should look at (the review list): nothing was written for them, or (an
# email change) the contact's primary email is left for a person to promote.
NEEDS_PERSON_DECISIONS: tuple[Decision, ...] = (
    Decision.CONFLICT,
    Decision.UNATTRIBUTED,
    Decision.PROTECTED_EDIT,
    Decision.EMAIL_CHANGE,
)

assert set(WRITE_DECISIONS) | set(DIVERGENT_DECISIONS) | {Decision.UNCHANGED} == set(
    FIELD_DECISIONS
), "every field decision either writes, diverges or is unchanged"
assert not set(WRITE_DECISIONS) & set(DIVERGENT_DECISIONS)

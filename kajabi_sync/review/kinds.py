"""The kinds of review items, declared once: where each comes from and what may be decided.

A kind whose items are (contact, field) rows of the plan (``conflict``, ``unattributed``, and
the survivorship kinds as the plan produces them) names the plan decision it lists. Adding a
kind is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Resolutions of a field item: keep what the database has, take Kajabi's, or write ``value``.
FIELD_RESOLUTIONS: tuple[str, ...] = ("keep_database", "take_kajabi", "value")
HOLD_RESOLUTIONS: tuple[str, ...] = ("merge", "release")
# Resolutions of a new email recorded under a contact as a secondary address.
EMAIL_RESOLUTIONS: tuple[str, ...] = ("make_primary", "keep_secondary")


@dataclass(frozen=True)
class ReviewKind:
    name: str
    prefix: str  # the review_id's first letter, so an id says what it is
    source: Literal["changes", "held"]  # plan.changes rows of ``decision``, or plan.held
    resolutions: tuple[str, ...]
    suggestion: str
    label: str  # what the summary calls N items of it ("held duplicates")
    decision: str | None = None  # the plan decision listed (source "changes")
    explanation: str = ""


KINDS: dict[str, ReviewKind] = {
    kind.name: kind
    for kind in (
        ReviewKind(
            "conflict",
            "C",
            "changes",
            FIELD_RESOLUTIONS,
            "keep_database",
            "conflicts",
            decision="conflict",
            explanation="both sides changed the field since the last import",
        ),
        ReviewKind(
            "unattributed",
            "U",
            "changes",
            FIELD_RESOLUTIONS,
            "keep_database",
            "unattributed (first import)",
            decision="unattributed",
            explanation="first import: the values differ and nothing tells which one is newer",
        ),
        ReviewKind(
            "protected_edit",
            "P",
            "changes",
            FIELD_RESOLUTIONS,
            "take_kajabi",
            "Kajabi edits of protected fields",
            decision="protected_edit",
            explanation="Kajabi changed a protected field after the two systems agreed",
        ),
        ReviewKind(
            "email_change",
            "E",
            "changes",
            EMAIL_RESOLUTIONS,
            "make_primary",
            "email changes",
            decision="email_change",
            explanation="Kajabi has a new email for the contact (kept as a secondary address)",
        ),
        ReviewKind(
            "held_duplicate",
            "H",
            "held",
            HOLD_RESOLUTIONS,
            "merge",
            "held duplicates",
            explanation="a new Kajabi email that looks like an existing contact",
        ),
    )
}

# Every resolution any kind accepts, for messages.
ALL_RESOLUTIONS: tuple[str, ...] = tuple(
    dict.fromkeys(r for kind in KINDS.values() for r in kind.resolutions)
)


def field_kinds() -> tuple[ReviewKind, ...]:
    return tuple(k for k in KINDS.values() if k.source == "changes")

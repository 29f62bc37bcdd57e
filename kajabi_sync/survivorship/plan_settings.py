"""The plan's settings, declared once: their allowed values, defaults and descriptions.

The Dagster Launchpad (``PlanConfig``) and ``kajabi-sync plan`` both build ``PlanSettings`` from
these, so a value is refused before anything runs, with the allowed values listed: a misspelt
setting must never quietly switch the plan to another mode.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, get_args

FirstImport = Literal["keep_database", "trust_kajabi"]
EmailChange = Literal["keep_secondary", "make_primary"]
ProtectedEdit = Literal["update", "review"]

DESCRIPTIONS: dict[str, str] = {
    "first_import": (
        "How the first import treats an unprotected field where the database and Kajabi differ. "
        "keep_database (default): keep the database's value and list it as 'unattributed'. "
        "trust_kajabi: the seed's plain rules, Kajabi's value is written ('update')."
    ),
    "email_change": (
        "What happens when a Kajabi row matches a contact by its Kajabi ID but carries a new "
        "email. keep_secondary (default): the new email is recorded as a secondary address of "
        "the contact and listed for review ('email_change'); the primary email, which PayPal and "
        "Zoho may key on, stays. make_primary: the new email becomes the primary email and the "
        "old one stays as a secondary address ('email_promoted')."
    ),
    "protected_edit": (
        "What happens when Kajabi edits a protected field after the two systems agreed on it "
        "(Kajabi had imported the database's value). update (default): the edit is written "
        "('update'). review: it is kept out and listed for a person ('protected_edit')."
    ),
}


class PlanSettingError(ValueError):
    """A plan setting has a value that is not one of its allowed values."""


@dataclass(frozen=True)
class PlanSettings:
    first_import: FirstImport = "keep_database"
    email_change: EmailChange = "keep_secondary"
    protected_edit: ProtectedEdit = "update"

    def __post_init__(self) -> None:
        for name, allowed in ALLOWED.items():
            value = getattr(self, name)
            if value not in allowed:
                raise PlanSettingError(
                    f"plan setting {name} must be one of {', '.join(allowed)}, not {value!r}"
                )


# Each setting's allowed values, in the order the help lists them (the default first).
ALLOWED: dict[str, tuple[str, ...]] = {
    "first_import": get_args(FirstImport),
    "email_change": get_args(EmailChange),
    "protected_edit": get_args(ProtectedEdit),
}
assert set(ALLOWED) == {f.name for f in fields(PlanSettings)} == set(DESCRIPTIONS)

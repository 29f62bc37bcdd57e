"""The plan's settings, declared once: their allowed values, defaults and descriptions.

A ``SiteSettings`` model (``kajabi_sync.site_config``, as the guard thresholds); where a value
comes from, the first source that has it winning:

1. a single run's choice: the Dagster Launchpad (``PlanConfig``) or ``kajabi-sync plan``;
2. environment variables ``KAJABI_SYNC_FIRST_IMPORT``, ``KAJABI_SYNC_EMAIL_CHANGE``,
   ``KAJABI_SYNC_PROTECTED_EDIT``;
3. a ``[plan]`` table in the site's TOML file (``KAJABI_SYNC_THRESHOLDS_FILE``, else
   ``kajabi_sync.toml`` at the repository root), e.g. ``email_change = "make_primary"``;
4. the defaults below.

A value outside the allowed ones, or an unknown name, is refused before anything is planned,
naming where it came from and the allowed values: a misspelt setting must never quietly switch
the plan to another mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal, get_args

from pydantic import Field

from kajabi_sync.site_config import SiteSettings, env_name

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


class PlanSettings(SiteSettings):
    """Each setting is one of its allowed values; anything else is refused, naming where."""

    toml_table: ClassVar[str | None] = "plan"
    override_source: ClassVar[str] = "this run"
    error: ClassVar[type[ValueError]] = PlanSettingError
    noun: ClassVar[str] = "plan setting"

    first_import: FirstImport = Field(
        default="keep_database", description=DESCRIPTIONS["first_import"]
    )
    email_change: EmailChange = Field(
        default="keep_secondary", description=DESCRIPTIONS["email_change"]
    )
    protected_edit: ProtectedEdit = Field(
        default="update", description=DESCRIPTIONS["protected_edit"]
    )

    @classmethod
    def allowed(cls, name: str) -> str:
        return f"one of {', '.join(ALLOWED[name])}"


# Each setting's allowed values, in the order the help lists them (the default first).
ALLOWED: dict[str, tuple[str, ...]] = {
    name: get_args(info.annotation) for name, info in PlanSettings.model_fields.items()
}
assert set(ALLOWED) == set(DESCRIPTIONS)
assert all(ALLOWED[name][0] == info.default for name, info in PlanSettings.model_fields.items())

TOML_TABLE = PlanSettings.toml_table


def load_plan_settings(
    environ: Mapping[str, str] | None = None, **chosen: str | None
) -> PlanSettings:
    """``chosen`` (this run's values; None = not chosen), then the environment, then the site's
    TOML file, then the defaults, each checked (see the module docstring)."""
    return PlanSettings.load(environ, {k: v for k, v in chosen.items() if v is not None})


__all__ = ["ALLOWED", "DESCRIPTIONS", "PlanSettingError", "PlanSettings", "env_name"]

"""The plan's settings, declared once: their allowed values, defaults and descriptions.

Where a value comes from, later sources winning (as the guard thresholds):

1. the defaults below;
2. a ``[plan]`` table in the site's TOML file (``KAJABI_SYNC_THRESHOLDS_FILE``, else
   ``kajabi_sync.toml`` at the repository root), e.g. ``email_change = "make_primary"``;
3. environment variables ``KAJABI_SYNC_FIRST_IMPORT``, ``KAJABI_SYNC_EMAIL_CHANGE``,
   ``KAJABI_SYNC_PROTECTED_EDIT``;
4. a single run's choice: the Dagster Launchpad (``PlanConfig``) or ``kajabi-sync plan``.

A value outside the allowed ones, or an unknown name, is refused before anything is planned,
naming where it came from and the allowed values: a misspelt setting must never quietly switch
the plan to another mode.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

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

TOML_TABLE = "plan"


def env_name(name: str) -> str:
    return "KAJABI_SYNC_" + name.upper()


def _checked(values: Mapping[str, Any], where: str) -> dict[str, str]:
    unknown = sorted(set(values) - set(ALLOWED))
    if unknown:
        raise PlanSettingError(
            f"{where}: unknown plan setting(s) {', '.join(unknown)}; known: {', '.join(ALLOWED)}"
        )
    for name, value in values.items():
        if value not in ALLOWED[name]:
            raise PlanSettingError(
                f"{where}: plan setting {name} must be one of {', '.join(ALLOWED[name])}, "
                f"not {value!r}"
            )
    return dict(values)


def load_plan_settings(
    environ: Mapping[str, str] | None = None, **chosen: str | None
) -> PlanSettings:
    """The defaults, then the site's TOML file, then the environment, then ``chosen`` (this
    run's values; None = not chosen), each checked (see the module docstring)."""
    from kajabi_sync.guards.thresholds import thresholds_file  # the site's one settings file

    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}  # each source's values checked against ALLOWED
    path = thresholds_file(environ)
    if path is not None:
        with path.open("rb") as handle:
            table = tomllib.load(handle).get(TOML_TABLE, {})
        if not isinstance(table, dict):
            raise PlanSettingError(f"{path}: [{TOML_TABLE}] must be a table")
        values |= _checked(table, f"{path} [{TOML_TABLE}]")
    for name in ALLOWED:
        if environ.get(env_name(name)):
            values |= _checked({name: environ[env_name(name)]}, env_name(name))
    values |= _checked({k: v for k, v in chosen.items() if v is not None}, "this run")
    return PlanSettings(**values)

"""The guard thresholds, declared once, with their defaults: a ``SiteSettings`` model (see
``kajabi_sync.site_config`` for how every site setting is read and checked).

Where a value comes from, the first source that has it winning:

1. a single run's override from the Dagster launchpad (see ``kajabi_sync.defs.checks``);
2. environment variables, one per field, named ``KAJABI_SYNC_`` + the field in capitals:
   ``KAJABI_SYNC_MAX_OVERWRITE_PCT``, ``KAJABI_SYNC_MIN_OVERWRITE_LIMIT``,
   ``KAJABI_SYNC_MAX_EXPORT_DROP_PCT``, ``KAJABI_SYNC_MAX_REJECTED_PCT``,
   ``KAJABI_SYNC_MAX_DUPLICATE_RECREATIONS``, ``KAJABI_SYNC_MAX_NEW_CONTACTS_PCT``,
   ``KAJABI_SYNC_MAX_CONFLICTS``, ``KAJABI_SYNC_MAX_DIVERGENCE_GROWTH_PCT``,
   ``KAJABI_SYNC_MAX_DIVERGENCE_PCT``, ``KAJABI_SYNC_MIN_DIVERGENCE_LIMIT``;
3. a TOML file: ``KAJABI_SYNC_THRESHOLDS_FILE``, else ``kajabi_sync.toml`` at the repository
   root when it exists, with a ``[guards]`` table, e.g.::

       [guards]
       max_overwrite_pct = 3.0
       max_new_contacts_pct = 25

4. the defaults below.

Percentages are percent (2.0 means 2 %). A misspelt key or a value that is not a number is an
error, never silently ignored: a guard that quietly fell back to a default would be worse than
one that refuses to start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field

from kajabi_sync.site_config import SITE_FILE_ENV, SiteSettings, env_name, not_boolean

THRESHOLDS_FILE_ENV = SITE_FILE_ENV
TOML_TABLE = "guards"


Percent = Annotated[float, BeforeValidator(not_boolean), Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, BeforeValidator(not_boolean), Field(ge=0)]


class ThresholdError(ValueError):
    """A threshold setting is misspelt or not a valid number; the message says where."""


class NumericLimits(SiteSettings):
    """Settings that are non-negative numbers (``Percent`` and ``Count`` fields): unknown names,
    non-numbers, negatives, NaN, booleans and fractional counts are refused, from every source."""

    error: ClassVar[type[ValueError]] = ThresholdError
    noun: ClassVar[str] = "threshold"

    @classmethod
    def allowed(cls, name: str) -> str:
        kind = float if cls.model_fields[name].annotation is float else int
        return f"a non-negative {kind.__name__}"


class Thresholds(NumericLimits):
    """The import guards' thresholds (every source validated by this model)."""

    toml_table: ClassVar[str | None] = TOML_TABLE

    max_overwrite_pct: Percent = Field(
        default=2.0,
        description="Block when existing database values would be replaced (decision update) "
        "for more than this % of the matched contacts (see min_overwrite_limit).",
    )
    min_overwrite_limit: Count = Field(
        default=25,
        description="The overwrite limit is never below this many values, so a small site is "
        "not blocked by a handful of real edits.",
    )
    max_export_drop_pct: Percent = Field(
        default=10.0,
        description="Block when the file has more than this % fewer contacts than the last "
        "applied export (a truncated download).",
    )
    max_rejected_pct: Percent = Field(
        default=1.0, description="Block when more than this % of the file's rows are quarantined."
    )
    max_duplicate_recreations: Count = Field(
        default=0,
        description="Block when more new contacts than this have an email the database "
        "already knows (merged away or deleted).",
    )
    max_new_contacts_pct: Percent = Field(
        default=20.0, description="Block when new contacts exceed this % of the file's rows."
    )
    max_conflicts: Count = Field(
        default=0,
        description="Warning only: warn when more fields than this changed on both sides "
        "since the last import.",
    )
    max_divergence_growth_pct: Percent = Field(
        default=10.0,
        description="Warning only: warn when database-vs-Kajabi differences grew by more "
        "than this % against the last applied import.",
    )
    max_divergence_pct: Percent = Field(
        default=1.0,
        description="Warning only: Kajabi counts as converged while the fields where it "
        "still disagrees stay within this % of the matched contacts (see "
        "min_divergence_limit).",
    )
    min_divergence_limit: Count = Field(
        default=5, description="The convergence limit is never below this many fields."
    )


# Each field's number type (float for percentages, int for counts).
FIELDS: dict[str, type] = {
    name: float if info.annotation is float else int
    for name, info in Thresholds.model_fields.items()
}


def load_thresholds(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Thresholds:
    """This run's overrides, then the environment, then the TOML file, then the defaults (see
    the module docstring)."""
    return Thresholds.load(environ, overrides)


__all__ = [
    "FIELDS",
    "Count",
    "NumericLimits",
    "Percent",
    "THRESHOLDS_FILE_ENV",
    "ThresholdError",
    "Thresholds",
    "env_name",
    "load_thresholds",
]

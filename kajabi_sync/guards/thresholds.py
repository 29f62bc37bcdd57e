"""The guard thresholds, declared once, with their defaults.

Where a value comes from, later sources winning:

1. the defaults below;
2. a TOML file: ``KAJABI_SYNC_THRESHOLDS_FILE``, else ``kajabi_sync.toml`` at the repository
   root when it exists, with a ``[guards]`` table, e.g.::

       [guards]
       max_overwrite_pct = 3.0
       max_new_contacts_pct = 25

3. environment variables, one per field, named ``KAJABI_SYNC_`` + the field in capitals:
   ``KAJABI_SYNC_MAX_OVERWRITE_PCT``, ``KAJABI_SYNC_MIN_OVERWRITE_LIMIT``,
   ``KAJABI_SYNC_MAX_EXPORT_DROP_PCT``, ``KAJABI_SYNC_MAX_REJECTED_PCT``,
   ``KAJABI_SYNC_MAX_DUPLICATE_RECREATIONS``, ``KAJABI_SYNC_MAX_NEW_CONTACTS_PCT``,
   ``KAJABI_SYNC_MAX_CONFLICTS``, ``KAJABI_SYNC_MAX_DIVERGENCE_GROWTH_PCT``,
   ``KAJABI_SYNC_MAX_DIVERGENCE_PCT``, ``KAJABI_SYNC_MIN_DIVERGENCE_LIMIT``;
4. a single run's override from the Dagster launchpad (see ``kajabi_sync.defs.checks``).

Percentages are percent (2.0 means 2 %). A misspelt key or a value that is not a number is an
error, never silently ignored: a guard that quietly fell back to a default would be worse than
one that refuses to start.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kajabi_sync.settings import REPO_ROOT

THRESHOLDS_FILE_ENV = "KAJABI_SYNC_THRESHOLDS_FILE"
DEFAULT_THRESHOLDS_FILE = REPO_ROOT / "kajabi_sync.toml"
TOML_TABLE = "guards"
ENV_PREFIX = "KAJABI_SYNC_"

Percent = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]


class ThresholdError(ValueError):
    """A threshold setting is misspelt or not a valid number; the message says where."""


class Thresholds(BaseModel):
    """Every source (defaults, TOML, environment, a run's override) is validated by this model:
    unknown names, non-numbers, negatives, NaN and fractional counts are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        # True would pass as 1: a switch where a number belongs is a mistake, not a limit.
        if isinstance(value, bool):
            raise ValueError("a number, not a boolean")
        return value

    def with_overrides(self, overrides: Mapping[str, Any]) -> Thresholds:
        """A copy with some fields replaced (unknown names and bad values raise ThresholdError)."""
        return _validated({**self.model_dump(), **overrides}, "override")


# Each field's number type (float for percentages, int for counts).
FIELDS: dict[str, type] = {
    name: float if info.annotation is float else int
    for name, info in Thresholds.model_fields.items()
}


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _validated(values: Mapping[str, Any], where: str) -> Thresholds:
    try:
        return Thresholds.model_validate(dict(values))
    except ValidationError as invalid:
        errors = invalid.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        raise ThresholdError(
            f"{where}: unknown threshold(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}"
        )
    name = str(errors[0]["loc"][0])
    raise ThresholdError(
        f"{where}: {name} must be a non-negative {FIELDS[name].__name__}, "
        f"not {errors[0]['input']!r}"
    )


def thresholds_file(environ: Mapping[str, str]) -> Path | None:
    """The TOML file to read: the one the environment names (it must exist), or the default."""
    named = environ.get(THRESHOLDS_FILE_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ThresholdError(f"{THRESHOLDS_FILE_ENV}={named}: no such file")
        return path
    return DEFAULT_THRESHOLDS_FILE if DEFAULT_THRESHOLDS_FILE.is_file() else None


def load_thresholds(environ: Mapping[str, str] | None = None) -> Thresholds:
    """Defaults, then the TOML file, then environment variables (see the module docstring)."""
    environ = os.environ if environ is None else environ
    thresholds = Thresholds()
    path = thresholds_file(environ)
    if path is not None:
        with path.open("rb") as handle:
            table = tomllib.load(handle).get(TOML_TABLE, {})
        if not isinstance(table, dict):
            raise ThresholdError(f"{path}: [{TOML_TABLE}] must be a table")
        thresholds = _validated({**thresholds.model_dump(), **table}, str(path))
    from_env = {name: environ[env_name(name)] for name in FIELDS if environ.get(env_name(name))}
    return _validated({**thresholds.model_dump(), **from_env}, "environment")

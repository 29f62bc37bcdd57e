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

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kajabi_sync.settings import REPO_ROOT

THRESHOLDS_FILE_ENV = "KAJABI_SYNC_THRESHOLDS_FILE"
DEFAULT_THRESHOLDS_FILE = REPO_ROOT / "kajabi_sync.toml"
TOML_TABLE = "guards"
ENV_PREFIX = "KAJABI_SYNC_"


class ThresholdError(ValueError):
    """A threshold setting is misspelt or not a valid number; the message says where."""


@dataclass(frozen=True)
class Thresholds:
    # Overwrite volume: existing database values replaced (decision update), in % of the
    # matched contacts, but never a limit below min_overwrite_limit.
    max_overwrite_pct: float = 2.0
    min_overwrite_limit: int = 25
    # Truncated export: the drop in rows against the last applied export, in %.
    max_export_drop_pct: float = 10.0
    # Rows quarantined by validation, in % of the file's rows.
    max_rejected_pct: float = 1.0
    # New contacts whose email the database already knows (merged away, deleted).
    max_duplicate_recreations: int = 0
    # New contacts, in % of the file's rows.
    max_new_contacts_pct: float = 20.0
    # Warnings only: conflicts listed for review, and growth of database-vs-Kajabi divergence
    # against the last applied import, in %.
    max_conflicts: int = 0
    max_divergence_growth_pct: float = 10.0
    # Warning only: Kajabi counts as converged while the fields where it still disagrees with
    # the database stay within this % of the matched contacts.
    max_divergence_pct: float = 1.0
    min_divergence_limit: int = 5

    def with_overrides(self, overrides: Mapping[str, Any]) -> Thresholds:
        """A copy with some fields replaced (unknown names and bad values raise ThresholdError)."""
        return dataclasses.replace(self, **_coerce(overrides, "override"))


# Each field's number type, from its default (annotations are strings under __future__).
FIELDS: dict[str, type] = {f.name: type(f.default) for f in dataclasses.fields(Thresholds)}


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _coerce(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ThresholdError(
            f"{where}: unknown threshold(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}"
        )
    coerced: dict[str, Any] = {}
    for name, value in values.items():
        kind = FIELDS[name]
        try:
            number = kind(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if (
            number is None
            or not math.isfinite(number)
            or number < 0
            or (kind is int and float(value) != number)
        ):
            raise ThresholdError(
                f"{where}: {name} must be a non-negative {kind.__name__}, not {value!r}"
            )
        coerced[name] = number
    return coerced


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
        thresholds = dataclasses.replace(thresholds, **_coerce(table, str(path)))
    from_env = {name: environ[env_name(name)] for name in FIELDS if environ.get(env_name(name))}
    return dataclasses.replace(thresholds, **_coerce(from_env, "environment"))

"""Where things live, from the environment (the names the user relies on are kept stable).

- ``KAJABI_SYNC_DATABASE_URL``: the contacts database (a libpq URL); unset = embedded PostgreSQL.
- ``KAJABI_SYNC_DATA_DIR``: default ``data/`` at the repository root; exports arrive in
  ``kajabi_exports/kajabi_contacts_YYYY-MM-DD.csv``; each week's reports go to
  ``reports/YYYY-MM-DD/`` (the week's Monday), and ``current/`` holds the last applied week's;
  filled review files are dropped into ``review/`` (and moved to ``review/applied/`` once
  applied).
- ``DAGSTER_HOME``: default ``dagster_home/``; the embedded database keeps its files there.
- ``KAJABI_SYNC_FIRST_WEEK``: the first weekly partition (a date; its week's Monday is used).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

DATABASE_URL_ENV = "KAJABI_SYNC_DATABASE_URL"
DATA_DIR_ENV = "KAJABI_SYNC_DATA_DIR"
FIRST_WEEK_ENV = "KAJABI_SYNC_FIRST_WEEK"
# Where the weekly partitions have always started: every week materialised so far keeps its key
# and history, and the demo's and tests' weeks (2025) lie inside. A site whose first export is
# later sets KAJABI_SYNC_FIRST_WEEK; a default read from the exports folder would move whenever
# an old file is archived, taking its weeks out of the UI.
DEFAULT_FIRST_WEEK = date(2025, 1, 6)


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or REPO_ROOT / "data").resolve()


def exports_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "kajabi_exports"


def reports_root(base: Path | None = None) -> Path:
    """Every week's reports, one folder per week: ``reports/YYYY-MM-DD/``."""
    return (base or data_dir()) / "reports"


def week_reports_dir(week: str, base: Path | None = None) -> Path:
    """The reports of the week keyed by its Monday (``YYYY-MM-DD``)."""
    return reports_root(base) / week


def current_dir(base: Path | None = None) -> Path:
    """The last applied week's reports (replaced as a whole when the next week applies)."""
    return (base or data_dir()) / "current"


def review_dir(base: Path | None = None) -> Path:
    """Filled review files dropped here are applied by the next weekly run before it plans."""
    return (base or data_dir()) / "review"


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / "dagster_home").resolve()


def embedded_pgdata() -> Path:
    return dagster_home() / "contacts_pgdata"


def first_week(today: date | None = None) -> date:
    """The Monday of ``KAJABI_SYNC_FIRST_WEEK`` (default 2025-01-06): the first weekly partition.

    Any day of a week names that week. A value that is not a date, or a week that has not begun,
    is an error naming the variable, so a typo never silently empties the partitions."""
    raw = os.environ.get(FIRST_WEEK_ENV, "").strip()
    if not raw:
        return DEFAULT_FIRST_WEEK
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{FIRST_WEEK_ENV}={raw!r} is not a date: write the first week as YYYY-MM-DD, "
            f"e.g. {FIRST_WEEK_ENV}=2025-11-10"
        ) from None
    monday = day - timedelta(days=day.weekday())
    today = today or datetime.now(UTC).date()  # the partitions' calendar is UTC
    this_week = today - timedelta(days=today.weekday())
    if monday > this_week:
        raise ValueError(
            f"{FIRST_WEEK_ENV}={raw} is a week that has not begun (this week starts "
            f"{this_week:%Y-%m-%d}): set it to the week of the site's first Kajabi export"
        )
    return monday

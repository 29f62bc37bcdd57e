"""Finding the week's export among ``kajabi_exports/kajabi_contacts_YYYY-MM-DD.csv`` files."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from kajabi_sync.kajabi.reader import export_date_from_name

# The week's export is due on its Monday at 09:00 UTC: the Monday schedule runs then.
EXPORT_DUE_TIME = time(9, 0)


class NoExportForWeek(FileNotFoundError):
    pass


def dated_exports(folder: Path) -> list[tuple[date, Path]]:
    """Every export file in ``folder`` with the date its name carries, oldest first."""
    found = []
    for path in folder.glob("kajabi_contacts_*.csv"):
        exported = export_date_from_name(path)
        if exported is not None:
            found.append((exported, path))
    return sorted(found)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def newest_per_week(folder: Path, since: date | None = None) -> list[tuple[date, Path]]:
    """Each week's newest export (the one its partition reads), oldest week first; with
    ``since``, only the weeks from ``since``'s week on (earlier files have no partition)."""
    newest: dict[date, tuple[date, Path]] = {}
    for exported, path in dated_exports(folder):
        if since is None or monday_of(exported) >= monday_of(since):
            newest[monday_of(exported)] = (exported, path)
    return [newest[week] for week in sorted(newest)]


def export_for_week(folder: Path, monday: date) -> Path:
    """The newest export dated within the week starting ``monday`` (Monday to Sunday)."""
    week = [(d, p) for d, p in dated_exports(folder) if monday <= d <= monday + timedelta(days=6)]
    if not week:
        skipped = "".join(f" Skipped {name}: {why}." for name, why in unrecognised_exports(folder))
        raise NoExportForWeek(
            f"no Kajabi export for the week of {monday:%Y-%m-%d} in {folder}: expected a file named "
            f"kajabi_contacts_YYYY-MM-DD.csv dated {monday:%Y-%m-%d} to "
            f"{monday + timedelta(days=6):%Y-%m-%d}.{skipped}"
        )
    return week[-1][1]


_BROWSER_COPY = re.compile(r"(kajabi_contacts_\d{4}-\d{2}-\d{2})\s*[(\[]\d+[)\]]\.csv$", re.I)


def unrecognised_exports(folder: Path) -> list[tuple[str, str]]:
    """CSV files in the exports folder that no week reads, each with why (for error messages)."""
    found = []
    for path in sorted(folder.glob("*")):
        if path.suffix.lower() != ".csv" or export_date_from_name(path) is not None:
            continue
        copy = _BROWSER_COPY.match(path.name)
        if copy:
            why = (
                "a browser adds ' (1)' to a file downloaded twice; rename it to "
                f"{copy.group(1)}.csv (replacing the older download if there is one)"
            )
        elif path.name.lower().startswith("kajabi_contacts_"):
            why = "the date in its name is not a real YYYY-MM-DD date"
        else:
            why = "its name is not kajabi_contacts_YYYY-MM-DD.csv"
        found.append((path.name, why))
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ExportDue:
    """Whether the export of the latest week whose deadline has passed is in the folder."""

    week: date | None  # None: no week is due yet (the first week's deadline is still ahead)
    due_at: datetime | None
    path: Path | None  # the week's export, if it arrived
    checked_at: datetime

    @property
    def on_time(self) -> bool:
        return self.week is None or self.path is not None

    @property
    def overdue_seconds(self) -> float:
        if self.on_time or self.due_at is None:
            return 0.0
        return (self.checked_at - self.due_at).total_seconds()

    def explain(self, folder: Path) -> str:
        if self.week is None:
            return "No weekly export is due yet: the first week's deadline (Monday 09:00 UTC) is ahead."
        if self.path is not None:
            return f"The export for the week of {self.week:%Y-%m-%d} has arrived: {self.path.name}."
        hours = self.overdue_seconds / 3600
        return (
            f"OVERDUE: no Kajabi export for the week of {self.week:%Y-%m-%d}. It was due on "
            f"Monday {self.week:%Y-%m-%d} at 09:00 UTC ({hours:.0f} h ago), so that week has not "
            f"been imported. Export all contacts in Kajabi (People, Export) and save the file as "
            f"{folder / f'kajabi_contacts_{self.week:%Y-%m-%d}.csv'} (any date of that week will do)."
        )


def export_due(folder: Path, now: datetime, first_week: date) -> ExportDue:
    """The export of the latest week whose Monday 09:00 UTC has passed at ``now``, if it arrived."""
    now = now.astimezone(UTC)
    monday = monday_of(now.date())
    due_at = datetime.combine(monday, EXPORT_DUE_TIME, UTC)
    if now < due_at:  # before this Monday's deadline, last week's export is the one due
        monday, due_at = monday - timedelta(days=7), due_at - timedelta(days=7)
    if monday < monday_of(first_week):
        return ExportDue(week=None, due_at=None, path=None, checked_at=now)
    try:
        path: Path | None = export_for_week(folder, monday)
    except NoExportForWeek:
        path = None
    return ExportDue(week=monday, due_at=due_at, path=path, checked_at=now)

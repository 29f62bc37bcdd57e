"""Finding the week's export among ``kajabi_exports/kajabi_contacts_YYYY-MM-DD.csv`` files."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

from kajabi_sync.kajabi.reader import export_date_from_name


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
        raise NoExportForWeek(
            f"no Kajabi export for the week of {monday:%Y-%m-%d} in {folder}: expected a file named "
            f"kajabi_contacts_YYYY-MM-DD.csv dated {monday:%Y-%m-%d} to {monday + timedelta(days=6):%Y-%m-%d}"
        )
    return week[-1][1]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

"""Forty known people and their weekly Kajabi exports: the guard scenarios' data.

``week_1_db_url`` (a fixture of kajabi_sync_tests/conftest.py) is these people with their first
week applied through the weekly job, made once per test module and copied for each test.
"""

from __future__ import annotations

from pathlib import Path

from kajabi_sync_tests.factories import insert_contacts, kajabi_csv
from kajabi_sync_tests.weekly_job import run_week

WEEK_1, WEEK_2 = "2025-11-10", "2025-11-17"
PEOPLE = 40


def person(i: int, **changes) -> dict:
    row = {
        "email": f"person{i}@example.com",
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "kajabi_id": str(1000 + i),
    }
    return {**row, **changes}


def new_person(i: int) -> dict:
    return {"email": f"newbie{i}@example.com", "first_name": f"New{i}", "kajabi_id": str(5000 + i)}


def seed(db_url: str, people: int = PEOPLE) -> None:
    insert_contacts(db_url, *(person(i) for i in range(people)))


def write_export(data_dir: Path, day: str, rows: list[dict]) -> Path:
    return kajabi_csv(data_dir / "kajabi_exports" / f"kajabi_contacts_{day}.csv", *rows)


def everyone() -> list[dict]:
    """The seeded people as Kajabi sends them: the first one without a last name, so every week's
    plan lists at least one field (impact_analysis cannot mask an empty change list)."""
    return [person(0, last_name=None)] + [person(i) for i in range(1, PEOPLE)]


def apply_week_1(db_url: str, data_dir: Path) -> None:
    """Seed the people and apply their first week (everyone) through the weekly job."""
    seed(db_url)
    write_export(data_dir, WEEK_1, everyone())
    result = run_week(WEEK_1, db_url=db_url, data_dir=data_dir)
    assert result.success


def truncate_file(path: Path) -> None:
    """Cut a file after half its records, at a line end, as an interrupted download would."""
    lines = path.read_bytes().splitlines(keepends=True)
    header, records = lines[0], lines[1:]
    path.write_bytes(header + b"".join(records[: len(records) // 2]))

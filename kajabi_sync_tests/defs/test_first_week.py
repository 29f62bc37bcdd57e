"""KAJABI_SYNC_FIRST_WEEK: the weekly partitions start at the site's first week."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from kajabi_sync import settings
from kajabi_sync.defs.partitions import weekly_partitions_from
from kajabi_sync.exports_folder import monday_of, newest_per_week

TODAY = date(2026, 12, 1)  # a Tuesday


def test_unset_keeps_the_partitions_from_2025_01_06(monkeypatch):
    monkeypatch.delenv(settings.FIRST_WEEK_ENV, raising=False)
    assert settings.first_week(TODAY) == date(2025, 1, 6)


@pytest.mark.parametrize(
    ("value", "monday"),
    [
        ("2025-11-10", date(2025, 11, 10)),  # a Monday
        ("2025-11-12", date(2025, 11, 10)),  # any day names its week
        (" 2026-01-04 ", date(2025, 12, 29)),  # a Sunday in January: December's Monday
        ("2026-11-30", date(2026, 11, 30)),  # the week in progress
    ],
)
def test_the_setting_names_a_week(monkeypatch, value, monday):
    monkeypatch.setenv(settings.FIRST_WEEK_ENV, value)
    assert settings.first_week(TODAY) == monday


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("10/11/2025", "is not a date: write the first week as YYYY-MM-DD"),
        ("2025-13-01", "is not a date"),
        ("2026-12-07", "a week that has not begun (this week starts 2026-11-30)"),
    ],
)
def test_a_wrong_value_is_an_error_naming_the_variable(monkeypatch, value, says):
    monkeypatch.setenv(settings.FIRST_WEEK_ENV, value)
    with pytest.raises(ValueError, match="KAJABI_SYNC_FIRST_WEEK") as error:
        settings.first_week(TODAY)
    assert says in str(error.value)


def test_partitions_run_from_the_first_week_to_the_week_in_progress():
    partitions = weekly_partitions_from(date(2025, 11, 12))
    keys = partitions.get_partition_keys()
    assert keys[0] == "2025-11-10"
    assert keys[-1] == monday_of(datetime.now(UTC).date()).isoformat()  # end_offset=1
    assert all(date.fromisoformat(key).weekday() == 0 for key in keys)
    assert len(keys) == len(set(keys))


def test_the_code_location_reads_the_setting(tmp_path):
    probe = (
        "from kajabi_sync.definitions import defs\n"
        "keys = defs.resolve_job_def('weekly_kajabi_sync').partitions_def.get_partition_keys()\n"
        "print(keys[0], len(keys))\n"
    )
    env = {"KAJABI_SYNC_FIRST_WEEK": "2025-11-10", "DAGSTER_HOME": str(tmp_path), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    first, count = done.stdout.split()
    assert first == "2025-11-10"
    assert int(count) == len(weekly_partitions_from(date(2025, 11, 10)).get_partition_keys())


def test_the_code_location_refuses_a_wrong_first_week(tmp_path):
    env = {"KAJABI_SYNC_FIRST_WEEK": "next monday", "DAGSTER_HOME": str(tmp_path), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", "import kajabi_sync.definitions"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "KAJABI_SYNC_FIRST_WEEK='next monday' is not a date" in done.stderr


def test_files_before_the_first_week_have_no_week(tmp_path):
    for day in ("2025-11-03", "2025-11-10", "2025-11-12", "2025-11-17"):
        (tmp_path / f"kajabi_contacts_{day}.csv").write_text("email\n")
    weeks = newest_per_week(tmp_path, since=date(2025, 11, 12))
    assert [path.name for _, path in weeks] == [
        "kajabi_contacts_2025-11-12.csv",
        "kajabi_contacts_2025-11-17.csv",
    ]
    assert len(newest_per_week(tmp_path)) == 3

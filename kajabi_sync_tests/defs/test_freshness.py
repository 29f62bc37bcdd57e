"""The weekly export is due by the Monday schedule: overdue until the file is in the folder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from kajabi_sync.definitions import defs as code_location
from kajabi_sync.defs.freshness import (
    RAW_EXPORT,
    weekly_export_freshness_sensor,
    weekly_export_on_time,
)
from kajabi_sync.defs.resources import DataFolder
from kajabi_sync.exports_folder import export_due, monday_of

FIRST = date(2025, 1, 6)


def at(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).replace(
        hour=hour, minute=minute
    )


def touch(folder: Path, day: str) -> None:
    (folder / f"kajabi_contacts_{day}.csv").write_text("email\n")


@pytest.mark.parametrize(
    ("now", "week"),
    [
        (at("2025-12-29", 8, 59), "2025-12-22"),  # Monday before the deadline: last week's
        (at("2025-12-29", 9, 0), "2025-12-29"),  # from 09:00 UTC: this week's
        (at("2026-01-04", 23, 59), "2025-12-29"),  # the Sunday after, in the new year
        (at("2026-01-05", 10, 0), "2026-01-05"),
    ],
)
def test_the_week_due_follows_the_monday_deadline(tmp_path, now, week):
    due = export_due(tmp_path, now, FIRST)
    assert due.week == date.fromisoformat(week)
    assert not due.on_time
    assert due.overdue_seconds == (now - at(week, 9)).total_seconds()
    message = due.explain(tmp_path)
    assert message.startswith(f"OVERDUE: no Kajabi export for the week of {week}")
    assert str(tmp_path / f"kajabi_contacts_{week}.csv") in message


def test_an_export_dated_in_the_week_is_on_time(tmp_path):
    touch(tmp_path, "2026-01-02")  # a Friday of the week of 2025-12-29
    due = export_due(tmp_path, at("2026-01-04", 12), FIRST)
    assert due.on_time and due.overdue_seconds == 0
    assert due.explain(tmp_path) == (
        "The export for the week of 2025-12-29 has arrived: kajabi_contacts_2026-01-02.csv."
    )


def test_nothing_is_due_before_the_first_weeks_deadline(tmp_path):
    due = export_due(tmp_path, at("2025-11-10", 8), date(2025, 11, 10))
    assert due.week is None and due.on_time
    assert export_due(tmp_path, at("2025-11-10", 9), date(2025, 11, 10)).on_time is False


def sensor_tick(instance: dg.DagsterInstance, data_dir: Path, cursor: str | None):
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"data_folder": DataFolder(path=str(data_dir))},
        repository_def=code_location.get_repository_def(),
    ) as context:
        return weekly_export_freshness_sensor.evaluate_tick(context)


def run_check(instance: dg.DagsterInstance, data_dir: Path, request: dg.RunRequest):
    definitions = dg.Definitions(
        assets=[a for a in code_location.assets if RAW_EXPORT in a.keys],
        asset_checks=[weekly_export_on_time],
        jobs=[
            dg.define_asset_job(
                "on_time", selection=dg.AssetSelection.checks(weekly_export_on_time)
            )
        ],
        resources={"data_folder": DataFolder(path=str(data_dir))},
    )
    assert request.asset_check_keys == [weekly_export_on_time.check_key]
    result = definitions.resolve_job_def("on_time").execute_in_process(instance=instance)
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_the_sensor_marks_this_weeks_export_overdue_until_it_arrives(data_dir, instance):
    now = datetime.now(UTC)
    due_week = monday_of(now.date())
    if now < at(due_week.isoformat(), 9):
        due_week -= timedelta(days=7)

    first = sensor_tick(instance, data_dir, cursor=None)
    (request,) = first.run_requests
    overdue = run_check(instance, data_dir, request)
    assert not overdue.passed
    assert overdue.severity == dg.AssetCheckSeverity.WARN
    assert overdue.description.startswith(f"OVERDUE: no Kajabi export for the week of {due_week}")
    assert overdue.metadata["overdue_hours"].value >= 0

    unchanged = sensor_tick(instance, data_dir, cursor=first.cursor)
    assert not unchanged.run_requests and "Unchanged. OVERDUE" in unchanged.skip_message

    touch(data_dir / "kajabi_exports", due_week.isoformat())
    arrived = sensor_tick(instance, data_dir, cursor=first.cursor)
    (request,) = arrived.run_requests
    on_time = run_check(instance, data_dir, request)
    assert on_time.passed
    assert on_time.description == (
        f"The export for the week of {due_week} has arrived: kajabi_contacts_{due_week}.csv."
    )


def test_the_freshness_sensor_ships_running_and_the_weekly_job_leaves_the_check_out():
    assert weekly_export_freshness_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    job = code_location.resolve_job_def("weekly_kajabi_sync")
    assert weekly_export_on_time.check_key not in job.asset_layer.asset_graph.asset_check_keys

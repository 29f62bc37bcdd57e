"""The Monday schedule and the export sensor, through Dagster's own tick harness.

The scheduled times are computed from today's date, so the current week is always tested (the
week in progress must be a partition once its Monday has begun), plus a Monday and a Sunday
around the most recent New Year (a week whose Monday and Sunday lie in different years). Each
RunRequest's partition must exist in the job's partitions at the tick's time, and the run it
describes must apply on demo data dated that week.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from kajabi_sync.definitions import defs as code_location
from kajabi_sync.defs.jobs import (
    EXPORT_TAG,
    new_kajabi_export_sensor,
    weekly_kajabi_sync,
    weekly_kajabi_sync_schedule,
)
from kajabi_sync.defs.partitions import SKIPPED_TAG, is_partition, week_key, weekly_partitions
from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
from kajabi_sync.demo import DemoSpec, generate_demo
from kajabi_sync.exports_folder import monday_of
from kajabi_sync_tests.weekly_job import run_week, weekly_job

TODAY = datetime.now(UTC).date()
THIS_MONDAY = monday_of(TODAY)


def new_year_week(today: date = TODAY) -> date:
    """The Monday of the week that contains the latest New Year's Day whose week has ended."""
    year = today.year
    while monday_of(date(year, 1, 1)) + timedelta(days=7) > today:
        year -= 1
    return monday_of(date(year, 1, 1))


NEW_YEAR_MONDAY = new_year_week()
NEW_YEAR_SUNDAY = NEW_YEAR_MONDAY + timedelta(days=6)


def at_nine(day: date) -> datetime:
    return datetime.combine(day, time(9), UTC)


def definitions(db_url: str, data_dir: Path) -> dg.Definitions:
    """The code location's own job, schedule and sensor on the test's database and folder."""
    return dg.Definitions(
        assets=code_location.assets,
        asset_checks=code_location.asset_checks,
        jobs=[weekly_kajabi_sync],
        schedules=[weekly_kajabi_sync_schedule],
        sensors=[new_kajabi_export_sensor],
        resources={
            "database": ContactsDatabase(url=db_url),
            "data_folder": DataFolder(path=str(data_dir)),
        },
    )


def schedule_tick(
    instance: dg.DagsterInstance, data_dir: Path, scheduled: datetime
) -> list[dg.RunRequest | str]:
    """One tick at ``scheduled``. With the repository, Dagster resolves each request's partition
    at the tick's time, as the daemon does: an unknown week raises here, as it did on Mondays."""
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=scheduled,
        resources={"data_folder": DataFolder(path=str(data_dir))},
        repository_def=definitions("", data_dir).get_repository_def(),
    ) as context:
        data = weekly_kajabi_sync_schedule.evaluate_tick(context)
    return list(data.run_requests or []) + ([data.skip_message] if data.skip_message else [])


def sensor_requests(instance: dg.DagsterInstance, data_dir: Path) -> dg.SensorExecutionData:
    with dg.build_sensor_context(
        instance=instance,
        resources={"data_folder": DataFolder(path=str(data_dir))},
        repository_def=definitions("", data_dir).get_repository_def(),
    ) as context:
        return new_kajabi_export_sensor.evaluate_tick(context)


def imported(db_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT partition_key, file_name FROM kajabi_sync.import_runs ORDER BY id"
        ).fetchall()


@pytest.mark.parametrize(
    ("scheduled", "week"),
    [
        pytest.param(at_nine(THIS_MONDAY), THIS_MONDAY, id="this-monday"),
        pytest.param(at_nine(NEW_YEAR_MONDAY), NEW_YEAR_MONDAY, id="new-year-monday"),
        pytest.param(at_nine(NEW_YEAR_SUNDAY), NEW_YEAR_MONDAY, id="new-year-sunday"),
    ],
)
def test_the_schedule_launches_its_week_and_the_run_applies(
    db_url, data_dir, scheduled, week, instance
):
    generate_demo(db_url, data_dir, DemoSpec(contacts=400, weeks=1, first_export=week))

    (request,) = schedule_tick(instance, data_dir, scheduled)

    assert isinstance(request, dg.RunRequest), request
    assert request.partition_key == week.isoformat()
    partitions = weekly_job(db_url, data_dir).partitions_def
    assert is_partition(request.partition_key, at=scheduled, partitions=partitions)
    # Without end_offset=1 the week in progress is no partition at its own tick (the bug).
    ended_weeks_only = dg.WeeklyPartitionsDefinition(start_date="2025-01-06", day_offset=1)
    assert not is_partition(request.partition_key, at=scheduled, partitions=ended_weeks_only)

    result = run_week(
        request.partition_key,
        {"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        db_url=db_url,
        data_dir=data_dir,
        instance=instance,
        tags=request.tags,
    )
    assert result.success
    assert imported(db_url) == [(week.isoformat(), f"kajabi_contacts_{week:%Y-%m-%d}.csv")]
    # The next tick of the same week does not launch the same file again.
    (again,) = schedule_tick(instance, data_dir, scheduled)
    assert isinstance(again, str) and "already launched" in again, again


def test_a_monday_without_an_export_is_skipped_with_the_reason(data_dir, instance):
    (skip,) = schedule_tick(instance, data_dir, at_nine(THIS_MONDAY))
    assert isinstance(skip, str)
    assert f"no Kajabi export for the week of {THIS_MONDAY:%Y-%m-%d}" in skip
    assert "kajabi_contacts_YYYY-MM-DD.csv" in skip


def test_schedule_sensor_and_this_week_agree_on_the_key(data_dir, instance):
    # A file dated today: the schedule at this Monday 09:00, the sensor, and the newest
    # partition the UI offers ("this week") all name the same week.
    (data_dir / "kajabi_exports" / f"kajabi_contacts_{TODAY:%Y-%m-%d}.csv").write_text("email\n")
    (scheduled,) = schedule_tick(instance, data_dir, at_nine(THIS_MONDAY))
    (sensed,) = sensor_requests(instance, data_dir).run_requests
    assert isinstance(scheduled, dg.RunRequest)
    assert scheduled.partition_key == sensed.partition_key == THIS_MONDAY.isoformat()
    assert weekly_partitions.get_last_partition_key() == THIS_MONDAY.isoformat()
    assert scheduled.tags[EXPORT_TAG] == sensed.tags[EXPORT_TAG]


def test_the_sensor_maps_each_file_to_an_existing_week(data_dir, instance):
    exports = data_dir / "kajabi_exports"
    dated = {
        NEW_YEAR_MONDAY: NEW_YEAR_MONDAY,  # a Monday in December (or on 1 January)
        NEW_YEAR_SUNDAY: NEW_YEAR_MONDAY,  # the Sunday after it, in January: the same week
        TODAY: THIS_MONDAY,
    }
    for day in [*dated, date(2024, 12, 30), THIS_MONDAY + timedelta(days=7)]:
        (exports / f"kajabi_contacts_{day:%Y-%m-%d}.csv").write_text("email\n")

    data = sensor_requests(instance, data_dir)

    keys = {
        request.tags[EXPORT_TAG].split(":")[0]: request.partition_key
        for request in data.run_requests
    }
    # Before the first week (2024-12-30) and next week's file (no partition yet) are skipped,
    # not a failed tick.
    assert keys == {
        f"kajabi_contacts_{day:%Y-%m-%d}.csv": week.isoformat() for day, week in dated.items()
    }
    for key in keys.values():
        assert weekly_partitions.has_partition_key(key)
        assert key == week_key(date.fromisoformat(key))


def test_the_sensor_skips_a_file_the_schedule_already_launched(db_url, data_dir, instance):
    generate_demo(db_url, data_dir, DemoSpec(contacts=400, weeks=1, first_export=THIS_MONDAY))
    (request,) = schedule_tick(instance, data_dir, at_nine(THIS_MONDAY))
    assert isinstance(request, dg.RunRequest)
    assert run_week(
        request.partition_key,
        db_url=db_url,
        data_dir=data_dir,
        instance=instance,
        tags=request.tags,
    ).success
    data = sensor_requests(instance, data_dir)
    assert not data.run_requests
    assert data.skip_message and "no new Kajabi export" in data.skip_message


def test_a_week_without_an_export_is_skipped_not_failed(db_url, data_dir, instance):
    result = run_week(THIS_MONDAY.isoformat(), db_url=db_url, data_dir=data_dir, instance=instance)
    assert result.success
    assert not result.get_asset_materialization_events()
    assert not result.get_asset_check_evaluations()
    assert instance.get_run_by_id(result.run_id).tags[SKIPPED_TAG] == "no_export_for_week"
    (observation,) = [
        e.asset_observation_data.asset_observation
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION
    ]
    assert observation.partition == THIS_MONDAY.isoformat()
    reason = observation.metadata["skipped"].value
    assert f"no Kajabi export for the week of {THIS_MONDAY:%Y-%m-%d}" in reason
    assert "Nothing was read or written" in reason
    assert imported(db_url) == []


def test_the_schedule_ships_running():
    assert weekly_kajabi_sync_schedule.default_status == dg.DefaultScheduleStatus.RUNNING

"""The weekly job, its Monday schedule, and a sensor for exports that arrive later in the week.

The schedule, the sensor and a manual run all give an export file the same partition: the
Monday of the date in its name (:func:`~kajabi_sync.defs.partitions.week_key`). A run request
carries the file's fingerprint (name, size, modification time) as a tag, so the schedule and the
sensor never launch the same file twice between them; a file replaced under the same name is a
new fingerprint and runs again (its apply is refused if the content was applied already).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from kajabi_sync.defs.freshness import weekly_export_on_time
from kajabi_sync.defs.partitions import is_partition, week_key, weekly_partitions
from kajabi_sync.defs.resources import DataFolder
from kajabi_sync.exports_folder import (
    EXPORT_DUE_TIME,
    NoExportForWeek,
    dated_exports,
    export_for_week,
)

JOB_NAME = "weekly_kajabi_sync"
SCHEDULE_CRON = f"{EXPORT_DUE_TIME.minute} {EXPORT_DUE_TIME.hour} * * 1"  # Mondays 09:00
SCHEDULE_TIMEZONE = "UTC"  # the partitions' calendar
EXPORT_TAG = "kajabi_sync/export"

weekly_kajabi_sync = dg.define_asset_job(
    JOB_NAME,
    # weekly_export_on_time is about the folder today, not the run's week: its sensor runs it.
    selection=dg.AssetSelection.groups("kajabi_weekly_import")
    - dg.AssetSelection.checks(weekly_export_on_time),
    description="Read the week's Kajabi export, plan the import, check it, apply it, and write "
    "the enriched export for Kajabi.",
    # Every step in the run's own process. The steps form one chain (each needs the one before),
    # so a process per step runs nothing in parallel and costs each step a Python and Dagster
    # start-up plus its definitions (benchmarks/RESULTS.md, "Executor"); the values between
    # steps are Parquet files either way (defs/io.py), so no step holds an earlier one's frames.
    # The run is still its own process, so the UI, the daemon and a crash work as before; the
    # CLI and the tests run it with execute_in_process, i.e. the same way.
    executor_def=dg.in_process_executor,
)


def export_fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}"


def export_run_request(path: Path, exported: date) -> dg.RunRequest:
    """The run of the week that ``path`` (dated ``exported``) belongs to."""
    fingerprint = export_fingerprint(path)
    return dg.RunRequest(
        partition_key=week_key(exported),
        run_key=fingerprint,
        tags={EXPORT_TAG: fingerprint},
    )


def launched_for(instance: dg.DagsterInstance, fingerprint: str) -> str | None:
    """The id of a run of the weekly job already launched for this exact file, if any."""
    runs = instance.get_run_records(
        dg.RunsFilter(job_name=JOB_NAME, tags={EXPORT_TAG: fingerprint}), limit=1
    )
    return runs[0].dagster_run.run_id if runs else None


@dg.schedule(
    job=weekly_kajabi_sync,
    cron_schedule=SCHEDULE_CRON,
    execution_timezone=SCHEDULE_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Mondays 09:00 UTC: import the export dropped for the current week. Runs from "
    "the start; pause it with the toggle on this page (or `dagster schedule stop`).",
)
def weekly_kajabi_sync_schedule(
    context: dg.ScheduleEvaluationContext, data_folder: DataFolder
) -> dg.RunRequest | dg.SkipReason:
    scheduled = context.scheduled_execution_time or datetime.now(UTC)
    monday = date.fromisoformat(week_key(scheduled.date()))
    if not is_partition(monday.isoformat(), at=scheduled):
        return dg.SkipReason(
            f"the week of {monday:%Y-%m-%d} is before the first week "
            f"({weekly_partitions.start:%Y-%m-%d}, KAJABI_SYNC_FIRST_WEEK)"
        )
    try:
        path = export_for_week(data_folder.exports(), monday)
    except NoExportForWeek as missing:
        return dg.SkipReason(str(missing))
    request = export_run_request(path, monday)
    already = launched_for(context.instance, request.tags[EXPORT_TAG])
    if already:
        return dg.SkipReason(f"{path.name} was already launched for its week (run {already})")
    return request


@dg.sensor(
    job=weekly_kajabi_sync,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the week's import when a new export file appears after Monday's schedule.",
)
def new_kajabi_export_sensor(
    context: dg.SensorEvaluationContext, data_folder: DataFolder
) -> dg.SensorResult:
    requests = list(_new_export_requests(context, data_folder.exports()))
    if requests:
        return dg.SensorResult(run_requests=requests)
    return dg.SensorResult(skip_reason=f"no new Kajabi export in {data_folder.exports()}")


def _new_export_requests(
    context: dg.SensorEvaluationContext, folder: Path
) -> Iterator[dg.RunRequest]:
    now = datetime.now(UTC)
    for exported, path in dated_exports(folder):
        key = week_key(exported)
        if not is_partition(key, at=now):
            # Before the first week, or dated in a week that has not begun: no partition to run.
            context.log.info(f"{path.name}: skipped, the week of {key} is not a partition")
            continue
        request = export_run_request(path, exported)
        if not launched_for(context.instance, request.tags[EXPORT_TAG]):
            yield request

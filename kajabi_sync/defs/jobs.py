"""The weekly job, its schedule, and a sensor for exports that arrive later in the week."""

from datetime import datetime

import dagster as dg

from kajabi_sync.defs.partitions import weekly_partitions
from kajabi_sync.defs.resources import DataFolder
from kajabi_sync.exports_folder import NoExportForWeek, dated_exports, export_for_week, monday_of

weekly_kajabi_sync = dg.define_asset_job(
    "weekly_kajabi_sync",
    selection=dg.AssetSelection.groups("kajabi_weekly_import"),
    description="Read the week's Kajabi export, plan the import, check it, apply it, and write "
    "the enriched export for Kajabi.",
)


@dg.schedule(
    job=weekly_kajabi_sync,
    cron_schedule="0 9 * * 1",
    execution_timezone="UTC",
    description="Mondays 09:00: import the export dropped for the current week.",
)
def weekly_kajabi_sync_schedule(context: dg.ScheduleEvaluationContext, data_folder: DataFolder):
    monday = monday_of(context.scheduled_execution_time.date())
    try:
        path = export_for_week(data_folder.exports(), monday)
    except NoExportForWeek as missing:
        return dg.SkipReason(str(missing))
    return dg.RunRequest(partition_key=monday.isoformat(), run_key=f"{monday}:{path.name}")


@dg.sensor(
    job=weekly_kajabi_sync,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the week's import when a new export file appears after Monday's schedule.",
)
def new_kajabi_export_sensor(context: dg.SensorEvaluationContext, data_folder: DataFolder):
    start = weekly_partitions.start
    for exported, path in dated_exports(data_folder.exports()):
        if datetime(exported.year, exported.month, exported.day) < start.replace(tzinfo=None):
            continue
        stat = path.stat()
        yield dg.RunRequest(
            partition_key=monday_of(exported).isoformat(),
            run_key=f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}",
        )

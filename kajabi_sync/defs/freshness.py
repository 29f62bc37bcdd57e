"""Is the weekly export late? A check on ``raw_kajabi_export``, and the sensor that keeps it true.

The week's export is due when the Monday schedule runs (09:00 UTC). From then until the file is in
the exports folder, ``weekly_export_on_time`` fails on the asset's page as OVERDUE, saying which
week, since when, and which file to save. It looks at the folder, not at runs, so a backfill of an
old week neither hides nor causes it; that is also why the weekly job does not run it.
``weekly_export_freshness_sensor`` (on from the start) evaluates the check whenever its answer
changes: when a deadline passes, and when the export arrives.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from kajabi_sync.defs.partitions import weekly_partitions
from kajabi_sync.defs.resources import DataFolder
from kajabi_sync.exports_folder import ExportDue, export_due

RAW_EXPORT = dg.AssetKey("raw_kajabi_export")


def _due_now(data_folder: DataFolder) -> ExportDue:
    return export_due(data_folder.exports(), datetime.now(UTC), weekly_partitions.start.date())


@dg.asset_check(
    asset=RAW_EXPORT,
    name="weekly_export_on_time",
    blocking=False,
    description="Warns (OVERDUE) when the week's Kajabi export is not in the exports folder by "
    "Monday 09:00 UTC, when the schedule runs.",
)
def weekly_export_on_time(data_folder: DataFolder) -> dg.AssetCheckResult:
    due = _due_now(data_folder)
    metadata: dict[str, dg.RawMetadataValue] = {"week": str(due.week) if due.week else "none due"}
    if due.due_at is not None:
        metadata["due_at"] = dg.MetadataValue.timestamp(due.due_at)
    if due.path is not None:
        metadata["file"] = dg.MetadataValue.path(str(due.path))
    if not due.on_time:
        metadata["overdue_hours"] = round(due.overdue_seconds / 3600, 1)
    return dg.AssetCheckResult(
        passed=due.on_time,
        severity=dg.AssetCheckSeverity.WARN,
        description=due.explain(data_folder.exports()),
        metadata=metadata,
    )


@dg.sensor(
    name="weekly_export_freshness_sensor",
    asset_selection=dg.AssetSelection.checks(weekly_export_on_time),
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-evaluates weekly_export_on_time when its answer changes: a Monday 09:00 UTC "
    "deadline passes, or the week's export arrives.",
)
def weekly_export_freshness_sensor(
    context: dg.SensorEvaluationContext, data_folder: DataFolder
) -> dg.SensorResult:
    due = _due_now(data_folder)
    state = f"{due.week}:{due.path.name if due.path else 'missing'}"
    if context.cursor == state:
        return dg.SensorResult(skip_reason=f"Unchanged. {due.explain(data_folder.exports())}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=state, asset_check_keys=[weekly_export_on_time.check_key])
        ],
        cursor=state,
    )

"""The weekly partitions: one per week, keyed by its Monday, from ``KAJABI_SYNC_FIRST_WEEK`` on.

``end_offset=1`` makes the week in progress a partition from its Monday 00:00 UTC: the export
that arrives on Monday belongs to that Monday's week, and the Monday 09:00 schedule asks for it
(without the offset Dagster lists only weeks that have ended, and the tick fails with an unknown
partition). What this changes:

- the schedule, the sensor and a manual run of "this week" all use :func:`week_key` of the
  export's date, which now always exists once its week has begun;
- a backfill or "materialise missing" also offers the week in progress; a week with no export
  file is skipped with its reason (``raw_kajabi_export`` yields nothing), never a failed run;
- the UI counts one partition more (the week in progress).
"""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg

from kajabi_sync import settings
from kajabi_sync.exports_folder import monday_of


def weekly_partitions_from(first_week: date) -> dg.WeeklyPartitionsDefinition:
    """Weeks from ``first_week``'s Monday (day_offset=1: weeks start on Monday) to this week."""
    return dg.WeeklyPartitionsDefinition(
        start_date=monday_of(first_week).isoformat(), day_offset=1, end_offset=1
    )


weekly_partitions = weekly_partitions_from(settings.first_week())


def week_key(day: date) -> str:
    """The partition key of the week that contains ``day``: its Monday."""
    return monday_of(day).isoformat()


def partition_monday(partition_key: str) -> date:
    return date.fromisoformat(partition_key)


def is_partition(
    partition_key: str,
    at: datetime | None = None,
    partitions: dg.WeeklyPartitionsDefinition = weekly_partitions,
) -> bool:
    """Whether ``partition_key`` is one of the weekly partitions at time ``at`` (default now)."""
    with dg.partition_loading_context(effective_dt=at):
        return partitions.has_partition_key(partition_key)


SKIPPED_TAG = "kajabi_sync/skipped"


def skip_week_without_export(context: dg.AssetExecutionContext, reason: str) -> dg.AssetObservation:
    """Mark the run of a week that has no export file as skipped, and say why.

    The asset then yields no output, so every later step is skipped and the run succeeds:
    a backfill or "materialise missing" over weeks without a file ends green, each week saying
    why nothing happened (run tag, log, and an observation on the week's partition)."""
    message = f"Skipped: {reason}. Nothing was read or written for this week."
    context.log.warning(message)
    context.instance.add_run_tags(context.run.run_id, {SKIPPED_TAG: "no_export_for_week"})
    return dg.AssetObservation(
        asset_key=context.asset_key,
        partition=context.partition_key,
        metadata={"skipped": message},
    )

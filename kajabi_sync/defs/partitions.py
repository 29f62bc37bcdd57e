from __future__ import annotations

from datetime import date

import dagster as dg

# Weeks start on Monday (day_offset=1) and are keyed by that Monday.
weekly_partitions = dg.WeeklyPartitionsDefinition(start_date="2025-01-06", day_offset=1)


def partition_monday(partition_key: str) -> date:
    return date.fromisoformat(partition_key)

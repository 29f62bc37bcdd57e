"""Running the weekly job for any week, with the code location built from the environment."""

from __future__ import annotations

import dagster as dg

from kajabi_sync.definitions import build_definitions
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync_tests.reliability.dagster_run import SMALL_EXPORT_OVERRIDE


def run_week(
    instance: dg.DagsterInstance, partition: str, run_config: dict | None = None
) -> dg.ExecuteInProcessResult:
    defs = build_definitions()  # as the test's environment sets the code location up
    return defs.resolve_job_def("weekly_kajabi_sync").execute_in_process(
        partition_key=partition,
        instance=instance,
        run_config=SMALL_EXPORT_OVERRIDE if run_config is None else run_config,
        raise_on_error=False,
    )


def plan_decisions(result: dg.ExecuteInProcessResult, email: str) -> dict[str, str]:
    """field -> decision for one matched contact (by lower-cased email) in the run's impact plan
    (the plan lists only fields that are not unchanged)."""
    changes = result.output_for_node("impact_analysis").changes
    rows = changes[changes["email"] == email]
    return dict.fromkeys(CONTACT_FIELDS, "unchanged") | dict(
        zip(rows["field"], rows["decision"], strict=True)
    )

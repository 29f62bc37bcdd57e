"""Driving Dagster from outside it: run the weekly job, evaluate the Monday schedule's tick, and
read the instance's runs that stopped. The CLI's demo and status reach Dagster through here only.

Plain values in and out (dataclasses of str): no Dagster type leaves this module, so its callers
need not import dagster. ``kajabi_sync.definitions`` (the code location) is loaded only by the
functions that run it, so reading the run history costs no code-location load.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from unittest.mock import patch
from zoneinfo import ZoneInfo

import dagster as dg

from kajabi_sync import settings
from kajabi_sync.defs.jobs import JOB_NAME, SCHEDULE_TIMEZONE, weekly_kajabi_sync_schedule


@dataclass(frozen=True)
class ScheduledRun:
    """What the Monday schedule's tick launches: the week's partition and the run's tags."""

    partition_key: str
    tags: dict[str, str]


@dataclass(frozen=True)
class RunOutcome:
    """A finished run of the weekly job: what stopped it (empty when it went through) and the
    warnings of its non-blocking checks."""

    problems: list[str]
    warnings: list[str]


@dataclass(frozen=True)
class BlockedCheck:
    check_name: str
    why: str  # the first line of the check's description


@dataclass(frozen=True)
class ProblemRun:
    """A recent run that failed or that a blocking check stopped."""

    run_id: str
    job_name: str
    week: str  # the partition key, "-" for a run without one
    status: str  # DagsterRunStatus's value, e.g. FAILURE or SUCCESS
    blocked: tuple[BlockedCheck, ...]


@dataclass(frozen=True)
class RunHistory:
    home: Path  # DAGSTER_HOME
    found: bool  # False: no instance (dagster.yaml or history/) at ``home``
    problem_runs: tuple[ProblemRun, ...]


def scheduled_week(monday: date) -> ScheduledRun:
    """The run ``weekly_kajabi_sync_schedule`` launches at ``monday`` 09:00 UTC, from its own
    tick evaluated on the persistent instance as the daemon does."""
    from kajabi_sync.definitions import defs

    schedule = defs.resolve_schedule_def(weekly_kajabi_sync_schedule.name)
    repository = defs.get_repository_def()
    tick_time = datetime.combine(monday, time(9), ZoneInfo(SCHEDULE_TIMEZONE))
    with (
        dg.DagsterInstance.get() as instance,
        dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=tick_time,
            resources=repository.get_top_level_resources(),
            repository_def=repository,
        ) as context,
    ):
        tick = schedule.evaluate_tick(context)
    if not tick.run_requests:
        raise RuntimeError(
            f"the schedule's tick at {tick_time:%Y-%m-%d %H:%M %Z} launched nothing: "
            f"{tick.skip_message or 'no reason given'}"
        )
    (request,) = tick.run_requests
    return ScheduledRun(str(request.partition_key), dict(request.tags))


def run_weekly_job(
    partition_key: str,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping | None = None,
    *,
    environment: Mapping[str, str] | None = None,
) -> RunOutcome:
    """Run ``weekly_kajabi_sync`` for one week on the persistent Dagster instance (so the run
    shows in the UI), in this process.

    ``environment``: variables set for this run only (restored after it), with the code location
    built from them, as ``dagster dev`` loads it when started with them. Without it, the code
    location ``kajabi_sync.definitions`` loaded."""
    # Imported before the environment changes: its module-level ``defs`` stays the one the
    # process's own environment gives.
    from kajabi_sync import definitions

    with patch.dict(os.environ, environment) if environment else nullcontext():
        code_location = definitions.build_definitions() if environment else definitions.defs
        job = code_location.resolve_job_def(JOB_NAME)
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(
                partition_key=partition_key,
                instance=instance,
                raise_on_error=False,
                run_config={**quiet, **(run_config or {})},
                tags=dict(tags) if tags else None,
            )
    problems: list[str] = []
    warnings: list[str] = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            problems.append(f"{event.step_key}: {event.step_failure_data.error.message.strip()}")
        check = (
            event.asset_check_evaluation_data
            if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
            else None
        )
        if check is not None and not check.passed:
            blocking = check.severity == dg.AssetCheckSeverity.ERROR
            label = "check" if blocking else "warning from check"
            problems.append(f"{label} {check.check_name}: {check.description or 'failed'}")
            if not blocking:
                warnings.append(problems.pop())
    if not result.success and not problems:
        problems.append("the run failed: see the Dagster UI")
    return RunOutcome(problems, warnings)


def problem_runs(limit: int) -> RunHistory:
    """Of the ``limit`` newest Dagster runs, those that failed or that a blocking check stopped,
    with the checks that stopped them."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home())
    if not (home / "dagster.yaml").exists() and not (home / "history").exists():
        return RunHistory(home, False, ())
    os.environ.setdefault("DAGSTER_HOME", str(home))
    stopped: list[ProblemRun] = []
    with dg.DagsterInstance.get() as instance:
        for run in instance.get_runs(limit=limit):
            blocked = []
            for entry in instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ):
                event = entry.dagster_event
                if event is None:
                    continue
                check = event.asset_check_evaluation_data
                if not check.passed and check.severity == dg.AssetCheckSeverity.ERROR:
                    why = (check.description or "failed").strip().splitlines()[0]
                    blocked.append(BlockedCheck(check.check_name, why))
            if blocked or run.status == dg.DagsterRunStatus.FAILURE:
                stopped.append(
                    ProblemRun(
                        run.run_id,
                        run.job_name,
                        run.tags.get("dagster/partition", "-"),
                        run.status.value,
                        tuple(blocked),
                    )
                )
    return RunHistory(home, True, tuple(stopped))

"""The weekly job run in process, and what the tests read back from its result.

The one helper behind every test that runs a whole week through Dagster: the job as the code
location defines it (its assets and guard checks), for any partition and run config, on the
test's database and data folder or on the ones the environment names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from kajabi_sync.definitions import build_definitions
from kajabi_sync.defs.checks import GUARDS_OP
from kajabi_sync.defs.jobs import weekly_kajabi_sync
from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
from kajabi_sync.defs.week_status import BLOCKED_BY_TAG, VERDICT_TAG
from kajabi_sync_tests.reliability.scenario import dump_database

JOB = "weekly_kajabi_sync"
# Scenarios of a handful of rows, where one new or rejected row is a large share of the export:
# the guards' deliberate per-run override (recorded with the import run) lets them through.
SMALL_EXPORT_OVERRIDE = {
    "ops": {
        GUARDS_OP: {
            "config": {
                "max_new_contacts_pct": 100.0,
                "max_rejected_pct": 100.0,
                "max_overwrite_pct": 100.0,
                "override_reason": "reliability test: a handful of rows",
            }
        }
    }
}
# The write and what follows it: a blocked week materialises none of them.
WRITE_AND_AFTER = frozenset({"protected_contacts", "kajabi_enriched_export"})


def weekly_job(db_url: str | None = None, data_dir: Path | None = None) -> dg.JobDefinition:
    """The weekly job as the code location builds it now (``build_definitions``: the
    ``KAJABI_SYNC_*`` variables are read at this call), on ``db_url`` and ``data_dir`` when
    given instead of the database and folder the environment names."""
    location = build_definitions()
    if db_url is None and data_dir is None:
        return location.resolve_job_def(JOB)
    resources: dict[str, Any] = dict(location.resources or {})
    if db_url is not None:
        resources["database"] = ContactsDatabase(url=db_url)
    if data_dir is not None:
        resources["data_folder"] = DataFolder(path=str(data_dir))
    return dg.Definitions(
        assets=location.assets,
        asset_checks=location.asset_checks,
        jobs=[weekly_kajabi_sync],
        resources=resources,
    ).resolve_job_def(JOB)


def run_week(
    partition: str,
    run_config: dict | None = None,
    *,
    db_url: str | None = None,
    data_dir: Path | None = None,
    instance: dg.DagsterInstance | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """The whole weekly job for ``partition``; a failed step fails the result, it never raises.

    Without ``instance``, an ephemeral one keeps its storage next to ``data_dir`` (one left to
    make its own temporary folder deletes it only when garbage-collected: a ResourceWarning).
    The result's ``dagster_run`` is read back after the run, so its tags are the final ones.
    """
    if instance is None:
        if data_dir is None:
            raise ValueError("run_week needs an instance or a data_dir to keep one next to")
        instance = dg.DagsterInstance.ephemeral(tempdir=str(Path(data_dir).parent / "dagster"))
    return weekly_job(db_url, data_dir).execute_in_process(
        partition_key=partition,
        run_config=run_config or {},
        instance=instance,
        tags=tags,
        raise_on_error=False,
    )


def guard_override(**config: Any) -> dict:
    """The run config giving the guards' op ``config`` (a per-run override)."""
    return {"ops": {GUARDS_OP: {"config": config}}}


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """check name -> its evaluation in the run."""
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialised(result: dg.ExecuteInProcessResult) -> set[str]:
    """The names of the assets the run materialised."""
    return {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The failed steps' messages as the UI shows them (a Failure's description)."""
    return "\n".join(
        e.step_failure_data.user_failure_data.description
        if e.step_failure_data.user_failure_data
        else e.step_failure_data.error.message
        for e in result.all_events
        if e.is_step_failure
    )


def step_failures(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """step key -> the full error text, for every failed step (for assertion messages)."""
    return {
        event.step_key: event.step_failure_data.error.to_string()
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_FAILURE
    }


def week_observation(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """The metadata of the newest observation the run logged for ``asset``."""
    observed = [
        e.event_specific_data.asset_observation
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION
        and e.event_specific_data.asset_observation.asset_key.path[-1] == asset
    ]
    assert observed, f"no observation of {asset}"
    return observed[-1].metadata


def assert_blocked_by(
    result: dg.ExecuteInProcessResult, name: str, before: dict, db_url: str
) -> None:
    """``result`` is a week blocked by the check ``name``: the plan was made, nothing from the
    write on ran, the database is as ``before`` (``dump_database``), and every place a person
    looks says so: the check, the run's tags, its failure message and the week's summary."""
    evaluations = checks(result)
    assert not result.success
    assert evaluations[name].passed is False
    assert evaluations[name].severity == dg.AssetCheckSeverity.ERROR
    assert evaluations[name].description.startswith("BLOCKED")
    assert "impact_analysis" in materialised(result)  # the plan stays inspectable
    assert not materialised(result) & WRITE_AND_AFTER
    assert dump_database(db_url) == before
    run_tags = result.dagster_run.tags
    assert run_tags.get(VERDICT_TAG) == "blocked"
    assert name in run_tags.get(BLOCKED_BY_TAG, "").split(", ")
    message = failure_message(result)
    assert message.startswith("BLOCKED by ") and name in message.splitlines()[0]
    assert "Traceback" not in message
    summary = week_observation(result, "impact_analysis")["summary"].value
    first = summary.split("\n\n", 1)[1]  # after the title
    assert first.startswith("**BLOCKED** by ") and f"`{name}`" in first.splitlines()[0]
    for asset in WRITE_AND_AFTER:
        assert week_observation(result, asset)["verdict"].value == "BLOCKED"

"""Where a week stands, shown where one looks: the verdict at the top of the week's summary, on
the week's assets that were not written, and as tags on the run (so the runs list tells a
blocked week from a crash).

The summary of ``impact_analysis`` is rendered when the plan is made (PLANNED); the checks and
the write then log an observation of ``impact_analysis`` for the same partition carrying the
summary again, rendered with their verdict (BLOCKED, APPLIED). The UI shows the newest
observation's ``summary`` in place of the materialisation's, so the week's page always says
where the week stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg
import psycopg

from kajabi_sync.db.audit import recent_runs
from kajabi_sync.defs.resources import DataFolder
from kajabi_sync.kajabi import ValidatedExport
from kajabi_sync.summary import (
    BLOCKED,
    Verdict,
    impact_summary,
    previous_import,
    report_links,
    review_file_path,
)
from kajabi_sync.survivorship.plan import ImpactPlan

VERDICT_TAG = "kajabi_sync/verdict"
BLOCKED_BY_TAG = "kajabi_sync/blocked_by"
SUMMARY_ASSET = dg.AssetKey("impact_analysis")
# The assets a blocked week does not write: their page for the week says why.
WRITING_ASSETS = (dg.AssetKey("protected_contacts"), dg.AssetKey("kajabi_enriched_export"))


def week_title(week: str) -> str:
    return f"Kajabi import, week of {week}"


def week_summary(
    conn: psycopg.Connection,
    plan: ImpactPlan,
    export: ValidatedExport,
    data_folder: DataFolder,
    week: str,
    verdict: Verdict,
    kajabi_files: Mapping[str, Sequence[Path | str]] | None = None,
    needs: Mapping[str, int] | None = None,
) -> str:
    """The week's summary with ``verdict`` for ``plan`` made from ``export`` (its file and
    warnings are read; its rows need not be loaded), compared with the import before this export
    and linking to this week's own report folder. ``needs``: see ``impact_summary``."""
    source = export.source
    previous = previous_import(recent_runs(conn, limit=50), source.export_date if source else None)
    folder = data_folder.reports(week)
    return impact_summary(
        plan,
        previous,
        report_links(folder, week, kajabi_files),
        title=week_title(week),
        verdict=verdict,
        review_file=str(review_file_path(folder, week)),
        export_warnings=export.warnings,
        needs=needs,
    )


def verdict_events(
    context: dg.OpExecutionContext | dg.AssetExecutionContext,
    week: str,
    summary: str,
    verdict: Verdict,
) -> list[dg.AssetObservation]:
    """Tag the run with the verdict, and return the observations that show it: the week's
    summary on ``impact_analysis``, and for a blocked week the assets it did not write. The
    caller yields them (an op that fails next would lose events only logged)."""
    status = verdict.status.upper()
    blocked_by = ", ".join(r.name for r in verdict.blocking)
    events = [
        dg.AssetObservation(
            asset_key=SUMMARY_ASSET,
            partition=week,
            metadata={"summary": dg.MetadataValue.md(summary), "verdict": status},
        )
    ]
    tags = {VERDICT_TAG: verdict.status}
    if verdict.status == BLOCKED:
        tags[BLOCKED_BY_TAG] = blocked_by
        events += [
            dg.AssetObservation(
                asset_key=key,
                partition=week,
                metadata={
                    "verdict": status,
                    "status": f"BLOCKED by {blocked_by}: nothing was written for the week of "
                    f"{week}. See the week's summary on impact_analysis.",
                },
            )
            for key in WRITING_ASSETS
        ]
    context.instance.add_run_tags(context.run.run_id, tags)
    return events


def observe_verdict(
    context: dg.OpExecutionContext | dg.AssetExecutionContext,
    week: str,
    summary: str,
    verdict: Verdict,
) -> None:
    """``verdict_events``, logged (for an asset that returns its output afterwards)."""
    for event in verdict_events(context, week, summary, verdict):
        context.log_event(event)

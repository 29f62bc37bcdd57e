"""The push back to Kajabi (``KAJABI_SYNC_PUSH=api``): plan, a blocking volume check, send.

``kajabi_push_plan`` lists, after ``kajabi_enriched_export``, the PATCHes (and, with
``KAJABI_SYNC_PUSH_NEW=1``, the creations) that make Kajabi hold the database's values. The
blocking check ``push_volume`` runs on it before the first request; ``kajabi_push`` then sends
them through the outbox, and the warning check ``push_rejections`` lists what Kajabi refused.

Per-run override (Launchpad → Config), recorded with the push run (``kajabi_sync.push_runs``)::

    ops:
      kajabi_push_guards:
        config:
          max_push_pct: 30.0
          override_reason: "first push after the enrichment"
"""

import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import dagster as dg
import pandas as pd
from pydantic import Field

from kajabi_sync.db.push_outbox import rejected_rows
from kajabi_sync.defs.assets import KAJABI_VALUE_COLUMNS, _table, weekly_asset
from kajabi_sync.defs.checks import RunOverrides, per_run_config
from kajabi_sync.defs.io import reading
from kajabi_sync.defs.partitions import weekly_partitions
from kajabi_sync.defs.resources import ContactsDatabase, KajabiApi
from kajabi_sync.kajabi import ValidatedExport
from kajabi_sync.kajabi.api.push import (
    MAX_PUSH_PCT_ENV,
    MIN_PUSH_LIMIT_ENV,
    PushPlan,
    PushThresholds,
    load_push_thresholds,
    push_volume,
)
from kajabi_sync.kajabi.api.push_run import run_push
from kajabi_sync.kajabi.api.week_push import week_push_plan
from kajabi_sync.masking import mask_email
from kajabi_sync.site_config import SiteSettings
from kajabi_sync.survivorship.plan import ImpactPlan

PUSH_GUARDS_OP = "kajabi_push_guards"
PLAN_ASSET = dg.AssetKey("kajabi_push_plan")
PUSH_ASSET = dg.AssetKey("kajabi_push")


class _PushGuardOptions(RunOverrides):
    """This run's deliberate override of the push volume limit (with a reason, recorded).
    One optional field per push threshold is added from ``PushThresholds``."""

    settings: ClassVar[type[SiteSettings]] = PushThresholds

    override_reason: str = Field(
        default="",
        description="Required with any override: why this push is fine. It is stored with the "
        "push run.",
    )


if TYPE_CHECKING:
    PushGuardConfig = _PushGuardOptions
else:
    PushGuardConfig = per_run_config("PushGuardConfig", _PushGuardOptions)


def recorded_push_overrides(run_config: Mapping[str, Any]) -> dict[str, Any]:
    given = (run_config.get("ops") or {}).get(PUSH_GUARDS_OP, {}).get("config") or {}
    return {k: v for k, v in given.items() if v not in (None, False, "")}


def _preview(plan: PushPlan, limit: int = 20) -> pd.DataFrame:
    rows = [
        {"email": r.email, "action": r.action, "attributes": ", ".join(r.attributes)}
        for r in plan.requests[:limit]
    ]
    frame = pd.DataFrame(rows, columns=["email", "action", "attributes"])
    if len(frame):
        frame["email"] = mask_email(frame["email"])
    return frame


@weekly_asset(
    kinds={"kajabi", "api"},
    description="What the push would send to Kajabi's API: one PATCH per contact whose "
    "database values differ from Kajabi's, with only the differing attributes (never a blank, "
    "never an email, never a delete).",
    # After the apply and the files for Kajabi (side effects: nothing stored to load).
    deps=["kajabi_enriched_export"],
    ins={"validated_export": dg.AssetIn(metadata=reading(frame=[*KAJABI_VALUE_COLUMNS, "name"]))},
)
def kajabi_push_plan(
    context: dg.AssetExecutionContext,
    impact_analysis: ImpactPlan,
    validated_export: ValidatedExport,
    database: ContactsDatabase,
    kajabi_api: KajabiApi,
) -> dg.Output[PushPlan]:
    source = validated_export.source
    site_contacts = source.rows if source else len(validated_export.frame)
    with database.connection() as conn:
        plan, note = week_push_plan(
            conn,
            impact_analysis,
            validated_export.frame,
            source.sha256 if source else None,
            site_contacts,
            context.partition_key,
            kajabi_api.push_new,
        )
    if note:
        context.log.warning(note)
    return dg.Output(
        plan,
        metadata={
            "dagster/row_count": len(plan.requests),
            "contacts_to_update": len(plan.updates()),
            "contacts_to_create": len(plan.creates()),
            **{f"attribute/{k}": v for k, v in plan.attribute_counts().items()},
            "emails_differing_not_pushed": plan.emails_differing,
            "site_contacts": plan.site_contacts,
            "dry_run": f"kajabi-sync push {context.partition_key} --dry-run",
            "note": note or "",
            "preview": _table(_preview(plan)),
        },
    )


def _partitioned_spec(
    name: str, asset: dg.AssetKey, blocking: bool, description: str
) -> dg.AssetCheckSpec:
    with warnings.catch_warnings():  # partitioned checks are "preview" (see checks.py)
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name,
            asset=asset,
            blocking=blocking,
            description=description,
            partitions_def=weekly_partitions,
        )


PUSH_VOLUME_SPEC = _partitioned_spec(
    "push_volume",
    PLAN_ASSET,
    True,
    "Contacts the push would change in Kajabi: blocks above max_push_pct of the site's "
    "contacts (at least min_push_limit), before the first request.",
)
PUSH_REJECTIONS_SPEC = _partitioned_spec(
    "push_rejections",
    PUSH_ASSET,
    False,
    "Contacts Kajabi refused this week (422 with its reason and field, or gone from Kajabi): a "
    "warning, listed for a person to fix; the other contacts were pushed.",
)


@dg.multi_asset_check(name=PUSH_GUARDS_OP, specs=[PUSH_VOLUME_SPEC])
def kajabi_push_guards(
    context: dg.AssetCheckExecutionContext,
    config: PushGuardConfig,
    kajabi_push_plan: PushPlan,
) -> Iterator[dg.AssetCheckResult]:
    if config.threshold_overrides() and not config.override_reason.strip():
        raise dg.Failure(
            description="An override was given without override_reason: say why this push is "
            "fine (it is stored with the push run). Nothing was sent."
        )
    thresholds = load_push_thresholds(overrides=config.threshold_overrides())
    verdict = push_volume(kajabi_push_plan, thresholds)
    description = ("Passed. " if verdict.passed else "BLOCKED the push. ") + verdict.explanation
    if not verdict.passed:
        context.log.error(f"push_volume: {verdict.explanation}")
        description += (
            "\n\nTo push anyway, deliberately: re-run this partition with this Launchpad config "
            "(the override is recorded with the push run):\n\nops:\n  "
            f"{PUSH_GUARDS_OP}:\n    config:\n      max_push_pct: {verdict.pct_to_pass}\n"
            '      override_reason: "<why this push is fine>"'
            f"\n\nTo change it for every run: {MAX_PUSH_PCT_ENV} or {MIN_PUSH_LIMIT_ENV}."
        )
    metadata: dict[str, Any] = {
        "value": verdict.contacts,
        "limit": verdict.limit,
        "threshold": f"{thresholds.max_push_pct}% of the site's contacts, at least "
        f"{thresholds.min_push_limit}",
    }
    if config.override_reason.strip():
        metadata["override_reason"] = config.override_reason.strip()
    yield dg.AssetCheckResult(
        asset_key=PLAN_ASSET,
        check_name="push_volume",
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )


@weekly_asset(
    kinds={"kajabi", "api"},
    description="The push plan sent to Kajabi's API through the outbox (kajabi_sync.push_outbox): "
    "resumable, and never a request Kajabi already applied sent twice.",
    ins={"validated_export": dg.AssetIn(metadata=reading(frame=[]))},  # the file, not its rows
)
def kajabi_push(
    context: dg.AssetExecutionContext,
    kajabi_push_plan: PushPlan,
    validated_export: ValidatedExport,
    database: ContactsDatabase,
    kajabi_api: KajabiApi,
) -> dg.MaterializeResult:
    steps = context.run.step_keys_to_execute or [n.name for n in context.job_def.graph.nodes]
    if PUSH_GUARDS_OP not in steps:
        raise dg.Failure(
            description=f"kajabi_push sends only in a run that also runs the {PUSH_GUARDS_OP} "
            "check; nothing was sent. Launch the weekly_kajabi_sync job for this partition."
        )
    source = validated_export.source
    with database.connection() as conn, kajabi_api.client() as client:
        site = client.resolve_site(kajabi_api.site_id)
        outcome = run_push(
            conn,
            client,
            site,
            kajabi_push_plan,
            context.partition_key,
            dagster_run_id=context.run.run_id,
            file_sha256=source.sha256 if source else None,
            overrides=recorded_push_overrides(context.run.run_config),
            log=context.log.info,
        )
    return dg.MaterializeResult(
        metadata={
            "push_run_id": outcome.push_run_id,
            **{f"this_run/{k}": v for k, v in sorted(outcome.counts.items())},
            **{f"week/{k}": v for k, v in sorted(outcome.week.items())},
        },
    )


@dg.multi_asset_check(name="kajabi_push_rejections", specs=[PUSH_REJECTIONS_SPEC])
def push_rejections(
    context: dg.AssetCheckExecutionContext, database: ContactsDatabase
) -> Iterator[dg.AssetCheckResult]:
    with database.connection() as conn:
        rows = rejected_rows(conn, context.partition_key)
    frame = pd.DataFrame(
        [
            {
                "email": r["email"],
                "kajabi_id": r["kajabi_id"] or "(new)",
                "attributes": ", ".join(r["attributes"]),
                "status": r["http_status"],
                "reason": r["error"],
            }
            for r in rows
        ],
        columns=["email", "kajabi_id", "attributes", "status", "reason"],
    )
    if len(frame):
        frame["email"] = mask_email(frame["email"])
    yield dg.AssetCheckResult(
        asset_key=PUSH_ASSET,
        check_name="push_rejections",
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"Kajabi refused {len(rows)} contact(s) this week; each reason names the field. "
            "Correct the value in the database (or in Kajabi) and the next push sends it."
            if rows
            else "Kajabi accepted every request of this week's push."
        ),
        metadata={"rejected": len(rows), "rejections": _table(frame.head(50))},
    )

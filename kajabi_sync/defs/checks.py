"""Blocking asset checks on ``impact_analysis``: the write waits for them, and a failed one stops it.

All guards run in one op, after the plan, so a blocked week still has its plan and reports to
inspect; only ``protected_contacts`` (the write) and what follows it are skipped. The checks are
partitioned like the assets, so each run's checks load that partition's plan and export only.

Per-run override (Launchpad → Config), recorded with the import run by ``protected_contacts``::

    ops:
      kajabi_import_guards:
        config:
          max_overwrite_pct: 6.0
          override_reason: "Kajabi bulk-corrected phone formats this week"

Permanent thresholds: environment variables or ``kajabi_sync.toml`` (see
``kajabi_sync.guards.thresholds``).
"""

import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import create_model

from kajabi_sync.defs.partitions import weekly_partitions
from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
from kajabi_sync.guards.evaluate import GUARDS
from kajabi_sync.guards.result import GuardResult
from kajabi_sync.guards.thresholds import FIELDS, env_name, load_thresholds
from kajabi_sync.guards.week import check_week
from kajabi_sync.kajabi import ValidatedExport
from kajabi_sync.survivorship.plan import ImpactPlan

GUARDS_OP = "kajabi_import_guards"
CHECKED_ASSET = dg.AssetKey("impact_analysis")


class _GuardOptions(dg.Config):
    """This run's deliberate overrides; every field left empty keeps the configured threshold.
    One optional field per threshold is added from ``Thresholds`` (see ``GuardConfig``)."""

    allow_stale_export: bool = False
    allow_earlier_export_pending: bool = False
    # Required with any override: it is stored with the import run.
    override_reason: str = ""

    def threshold_overrides(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in FIELDS if getattr(self, name) is not None}

    def overrides_anything(self) -> bool:
        return (
            bool(self.threshold_overrides())
            or self.allow_stale_export
            or self.allow_earlier_export_pending
        )


# The Launchpad config: the options above plus one optional field per threshold, taken from the
# Thresholds model so the two cannot differ (a value is validated when the guards apply it).
if TYPE_CHECKING:
    GuardConfig = _GuardOptions
else:
    GuardConfig = create_model(
        "GuardConfig",
        __base__=_GuardOptions,
        __doc__=_GuardOptions.__doc__,
        **{name: (kind | None, None) for name, kind in FIELDS.items()},
    )


def recorded_overrides(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """The guard overrides a run was launched with (what ``protected_contacts`` stores)."""
    given = (run_config.get("ops") or {}).get(GUARDS_OP, {}).get("config") or {}
    return {k: v for k, v in given.items() if v not in (None, False, "")}


def require_guards(context: dg.AssetExecutionContext) -> None:
    """Refuse a write in a run that does not run the guards (e.g. only ``protected_contacts``
    selected in the UI): it would apply a plan nobody checked, perhaps one that was blocked."""
    steps = context.run.step_keys_to_execute or [n.name for n in context.job_def.graph.nodes]
    if GUARDS_OP not in steps:
        raise dg.Failure(
            description=f"protected_contacts writes only in a run that also runs the {GUARDS_OP} "
            "checks; nothing was written. Launch the weekly_kajabi_sync job for this partition "
            "(with an override in its config if a check blocked it)."
        )


def planned_export(plan: ImpactPlan) -> ValidatedExport:
    """The export the plan was made from, without its rows (see ``ImpactPlan.export_summary``)."""
    if plan.export_summary is None:
        raise dg.Failure(
            description="This impact plan was stored before plans carried their export's summary: "
            "re-run the whole weekly_kajabi_sync job for this partition. Nothing was written."
        )
    return plan.export_summary


def override_snippet(override: Mapping[str, Any]) -> str:
    lines = [
        f"      {key}: {str(value).lower() if isinstance(value, bool) else value}"
        for key, value in override.items()
    ]
    return "\n".join(
        [
            "ops:",
            f"  {GUARDS_OP}:",
            "    config:",
            *lines,
            '      override_reason: "<why this week is fine>"',
        ]
    )


def describe(result: GuardResult) -> str:
    verdict = (
        "Passed" if result.passed else ("BLOCKED the import" if result.blocking else "Warning")
    )
    text = (
        f"{verdict}. {result.explanation}\n\nMeasured: {result.value}; limit: "
        f"{'none' if result.limit is None else result.limit}; threshold: {result.threshold}."
    )
    if not result.passed and result.override:
        settings = [name for name in result.override if name in FIELDS]
        text += (
            "\n\nTo import anyway, deliberately: re-run this partition with this Launchpad config "
            f"(the override is recorded with the import run):\n\n{override_snippet(result.override)}"
        )
        if settings:
            text += (
                f"\n\nTo change it for every run: {', '.join(map(env_name, settings))} or "
                "[guards] in kajabi_sync.toml."
            )
    return text


def _metadata(result: GuardResult, reason: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "value": "n/a" if result.value is None else result.value,
        "limit": "none" if result.limit is None else result.limit,
        "threshold": result.threshold,
        **result.metadata,
    }
    if reason:
        metadata["override_reason"] = reason
    return metadata


def _check_specs() -> list[dg.AssetCheckSpec]:
    # Partitioned specs are what make each run's checks load that partition's plan only (an
    # unpartitioned check on a partitioned asset loads every partition). Dagster 1.13 marks
    # them "preview"; the warning is silenced here, where the choice is made on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [
            dg.AssetCheckSpec(
                guard.name,
                asset=CHECKED_ASSET,
                description=guard.description,
                blocking=guard.blocking,
                additional_deps=["validated_export"],
                partitions_def=weekly_partitions,
            )
            for guard in GUARDS
        ]


@dg.multi_asset_check(name=GUARDS_OP, specs=_check_specs())
def kajabi_import_guards(
    context: dg.AssetCheckExecutionContext,
    config: GuardConfig,
    impact_analysis: ImpactPlan,
    database: ContactsDatabase,
    data_folder: DataFolder,
) -> Iterator[dg.AssetCheckResult]:
    if config.overrides_anything() and not config.override_reason.strip():
        raise dg.Failure(
            description="An override was given without override_reason: say why this week is "
            "fine (it is stored with the import run). Nothing was written."
        )
    thresholds = load_thresholds().with_overrides(config.threshold_overrides())
    # validated_export (an additional dep of every check) comes inside the plan, without rows.
    with database.connection() as conn:
        results = check_week(
            conn,
            impact_analysis,
            planned_export(impact_analysis),
            data_folder.exports(),
            thresholds,
            first_week=weekly_partitions.start.date(),
            allow_stale_export=config.allow_stale_export,
            allow_earlier_export_pending=config.allow_earlier_export_pending,
        )
    for result in results:
        if result.blocks:
            context.log.error(f"{result.name}: {result.explanation}")
        yield dg.AssetCheckResult(
            asset_key=CHECKED_ASSET,
            check_name=result.name,
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR if result.blocking else dg.AssetCheckSeverity.WARN,
            description=describe(result),
            metadata=_metadata(result, config.override_reason.strip()),
        )

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

A blocked week logs its summary with the verdict on ``impact_analysis``, tags the run
(``kajabi_sync/verdict``, ``kajabi_sync/blocked_by``) and fails with the plain reason.

Permanent thresholds: environment variables or ``kajabi_sync.toml`` (see
``kajabi_sync.guards.thresholds``).
"""

import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import dagster as dg
from pydantic import Field, create_model

from kajabi_sync.defs.partitions import weekly_partitions
from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
from kajabi_sync.defs.week_status import verdict_events, week_summary
from kajabi_sync.guards.evaluate import GUARDS
from kajabi_sync.guards.result import GuardResult, passes_when
from kajabi_sync.guards.thresholds import FIELDS, Thresholds, env_name, load_thresholds
from kajabi_sync.guards.week import check_week
from kajabi_sync.kajabi import ValidatedExport
from kajabi_sync.site_config import SiteSettings
from kajabi_sync.summary import BLOCKED, Verdict
from kajabi_sync.survivorship.plan import ImpactPlan

GUARDS_OP = "kajabi_import_guards"
CHECKED_ASSET = dg.AssetKey("impact_analysis")
EXPORT_ASSET = dg.AssetKey("validated_export")


class RunOverrides(dg.Config):
    """A Launchpad config that overrides some site settings for one run: ``per_run_config`` adds
    one optional field per field of ``settings`` (its type and description), so the settings
    model is the one declaration of its fields; an empty field keeps the site's setting."""

    settings: ClassVar[type[SiteSettings]]

    def threshold_overrides(self) -> dict[str, Any]:
        """The settings this run overrides (validated when the settings are loaded with them)."""
        given = {name: getattr(self, name) for name in self.settings.model_fields}
        return {name: value for name, value in given.items() if value is not None}


def per_run_config(name: str, options: type[RunOverrides]) -> type[RunOverrides]:
    """``options`` plus one optional field per field of ``options.settings``."""
    kinds: dict[str, Any] = {
        field: info.annotation for field, info in options.settings.model_fields.items()
    }
    fields: dict[str, Any] = {
        field: (
            kinds[field] | None,
            Field(
                default=None,
                description=f"This run only. {info.description} Empty keeps the configured value.",
            ),
        )
        for field, info in options.settings.model_fields.items()
    }
    return create_model(name, __base__=options, __doc__=options.__doc__, **fields)


class _GuardOptions(RunOverrides):
    """This run's deliberate overrides; every field left empty keeps the configured threshold.
    One optional field per threshold is added from ``Thresholds`` (see ``GuardConfig``)."""

    settings: ClassVar[type[SiteSettings]] = Thresholds

    allow_stale_export: bool = Field(
        default=False,
        description="Let through a file older than the last applied export, or one applied "
        "already.",
    )
    allow_earlier_export_pending: bool = Field(
        default=False,
        description="Let this week through although an earlier week's export is not applied.",
    )
    allow_missing_columns: bool = Field(
        default=False,
        description="Let through a file that lacks a column the last applied export had.",
    )
    override_reason: str = Field(
        default="",
        description="Required with any override: why this week is fine. It is stored with "
        "the import run.",
    )

    def overrides_anything(self) -> bool:
        return (
            bool(self.threshold_overrides())
            or self.allow_stale_export
            or self.allow_earlier_export_pending
            or self.allow_missing_columns
        )


# The Launchpad config: the options above plus one optional field per threshold, taken from the
# Thresholds model so the two cannot differ (a value is validated when the guards apply it).
# mypy sees the options class (the added fields are read through threshold_overrides).
if TYPE_CHECKING:
    GuardConfig = _GuardOptions
else:
    GuardConfig = per_run_config("GuardConfig", _GuardOptions)


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


# What the override snippet asks the user to replace. Plain words, no angle brackets (markdown
# outside a code block would swallow ``<...>`` as an HTML tag); refused if launched unchanged.
REASON_PLACEHOLDER = "WRITE HERE WHY THIS WEEK IS FINE"


def override_snippet(override: Mapping[str, Any]) -> str:
    """The Launchpad config (YAML) that lets one week through with ``override``."""
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
            f'      override_reason: "{REASON_PLACEHOLDER}"',
        ]
    )


def override_help(override: Mapping[str, Any]) -> str:
    """Markdown: how to let this week through, with the snippet as a fenced YAML block (a block
    keeps its lines and its text verbatim, so it can be pasted into the Launchpad)."""
    return (
        "To import anyway, deliberately: open the Launchpad of the weekly_kajabi_sync job for "
        "this week, paste this config, replace the reason with yours, and launch (the override "
        "and the reason are recorded with the import run):\n\n"
        f"```yaml\n{override_snippet(override)}\n```"
    )


def measured(result: GuardResult) -> str:
    """What was measured and where the line is, in words."""
    value = "could not be measured" if result.value is None else f"{result.value:,}"
    return f"Measured: {value}; {passes_when(result)} ({result.threshold})."


def describe(result: GuardResult) -> str:
    """The check's text in the UI: the verdict first, then the numbers, then what to do."""
    if result.passed:
        return f"Passed. {result.explanation}\n\n{measured(result)}"
    if not result.blocking:
        # A warning never stops the import: no override to give, only what to look at.
        return (
            "Warning (the import was not stopped by it). "
            f"{result.explanation}\n\n{measured(result)}"
        )
    text = f"BLOCKED the import: nothing was written. {result.explanation}\n\n{measured(result)}"
    if result.override:
        text += "\n\n" + override_help(result.override)
        settings = [name for name in result.override if name in FIELDS]
        if settings:
            text += (
                f"\n\nTo change it for every run: {', '.join(map(env_name, settings))} or "
                "[guards] in kajabi_sync.toml."
            )
    else:
        text += "\n\nThis check cannot be overridden."
    return text


def blocked_failure(results: list[GuardResult]) -> str:
    """The run's failure message: the plain reason, first line first."""
    names = ", ".join(r.name for r in results)
    lines = [f"BLOCKED by {names}: nothing was written this week."]
    lines += [f"{r.name}: {r.explanation} {measured(r)}" for r in results]
    lines.append(
        "The plan and reports of this run are there to read; the blocked check in the UI "
        "gives the Launchpad config that lets this week through."
    )
    return "\n".join(lines)


def _metadata(result: GuardResult, reason: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "value": "n/a" if result.value is None else result.value,
        "limit": "none" if result.limit is None else result.limit,
        "passes_when": passes_when(result),
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
                additional_deps=[EXPORT_ASSET],
                partitions_def=weekly_partitions,
            )
            for guard in GUARDS
        ]


@dg.multi_asset_check(
    name=GUARDS_OP,
    specs=_check_specs(),
    # Loaded whole: Dagster takes no read metadata on a check's input that is also a dep of its
    # specs (the assets' inputs read the file, rejects and row count only: defs/io.py).
    ins={"validated_export": dg.AssetIn(EXPORT_ASSET)},
)
def kajabi_import_guards(
    context: dg.AssetCheckExecutionContext,
    config: GuardConfig,
    impact_analysis: ImpactPlan,
    validated_export: ValidatedExport,
    database: ContactsDatabase,
    data_folder: DataFolder,
) -> Iterator[dg.AssetCheckResult | dg.AssetObservation]:
    reason = config.override_reason.strip()
    if config.overrides_anything() and not reason:
        raise dg.Failure(
            description="An override was given without override_reason: say why this week is "
            "fine (it is stored with the import run). Nothing was written."
        )
    if reason == REASON_PLACEHOLDER:
        raise dg.Failure(
            description=f'override_reason is still "{REASON_PLACEHOLDER}": replace it with why '
            "this week is fine (it is stored with the import run). Nothing was written."
        )
    thresholds = load_thresholds(overrides=config.threshold_overrides())
    with database.connection() as conn:
        results = check_week(
            conn,
            impact_analysis,
            validated_export,
            data_folder.exports(),
            thresholds,
            first_week=weekly_partitions.start.date(),
            allow_stale_export=config.allow_stale_export,
            allow_earlier_export_pending=config.allow_earlier_export_pending,
            allow_missing_columns=config.allow_missing_columns,
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
            metadata=_metadata(result, reason),
        )
    blocking = [r for r in results if r.blocks]
    if not blocking:
        return
    week = context.op_execution_context.partition_key
    overrides: dict[str, Any] = {}
    for result in blocking:
        overrides.update(result.override)
    verdict = Verdict(
        BLOCKED,
        results,
        override_help=override_help(overrides)
        if all(r.override for r in blocking)
        else "One of these checks cannot be overridden: do not import this file.",
    )
    with database.connection() as conn:
        summary = week_summary(conn, impact_analysis, validated_export, data_folder, week, verdict)
    yield from verdict_events(context.op_execution_context, week, summary, verdict)
    # The step's (and so the run's) failure message: the reason in plain words, not Dagster's
    # "1 blocking asset check failed" and a stack trace.
    raise dg.Failure(description=blocked_failure(blocking), allow_retries=False)

"""The five assets of the weekly import. Each is a thin call into the domain modules."""

import functools
from collections.abc import Callable, Iterator
from typing import Any, Final, Literal

import dagster as dg
import pandas as pd
from pydantic import Field

from kajabi_sync.db.apply import ApplyResult, ImportRecord, abandon_if_orphaned, apply_plan
from kajabi_sync.db.connection import scalar
from kajabi_sync.db.holds import record_holds
from kajabi_sync.db.kajabi_api import run_holding
from kajabi_sync.db.snapshot import last_applied_import
from kajabi_sync.defs.checks import recorded_overrides, require_guards
from kajabi_sync.defs.io import reading
from kajabi_sync.defs.partitions import (
    partition_monday,
    skip_week_without_export,
    weekly_partitions,
)
from kajabi_sync.defs.resources import ContactsDatabase, DataFolder, KajabiApi
from kajabi_sync.defs.week_status import observe_verdict, week_summary, week_title
from kajabi_sync.exports_folder import NoExportForWeek, export_for_week
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.kajabi import RawExport, ValidatedExport, read_kajabi_export, validate_export
from kajabi_sync.kajabi.api import settings as api_settings
from kajabi_sync.kajabi.api.pull import WeekSnapshot, week_snapshot
from kajabi_sync.kajabi.enriched_export import (
    export_summary,
    write_enriched_export,
)
from kajabi_sync.reports import (
    DUPLICATE_CANDIDATES_REPORT,
    DUPLICATE_EMAILS_REPORT,
    REJECTS_REPORT,
    publish_week,
    week_file_name,
    write_csv,
)
from kajabi_sync.review.folder import apply_dropped_files
from kajabi_sync.review.items import (
    counts_by_kind,
    record_review_items,
    review_items,
    write_review_file,
)
from kajabi_sync.summary import (
    APPLIED,
    PLANNED,
    Verdict,
    candidates_preview,
    changes_preview,
    code_span,
    impact_summary,
    previous_import,
    report_links,
    week_figures,
)
from kajabi_sync.survivorship.plan import ImpactPlan
from kajabi_sync.survivorship.plan_settings import ALLOWED as PLAN_ALLOWED
from kajabi_sync.survivorship.plan_settings import DESCRIPTIONS as PLAN_DESCRIPTIONS
from kajabi_sync.survivorship.plan_settings import (
    PlanSettings,
    env_name,
    load_plan_settings,
)
from kajabi_sync.survivorship.report import (
    divergence_by_field,
    write_impact_report,
)
from kajabi_sync.weekly_plan import plan_week, week_enriched_export

GROUP = "kajabi_weekly_import"
OWNERS = ["team:operations"]
TAGS = {"cadence": "weekly", "personal_data": "masked_in_ui"}

# Every asset of the weekly import shares its partitions, group, owners and tags.
weekly_asset = functools.partial(
    dg.asset, partitions_def=weekly_partitions, group_name=GROUP, owners=OWNERS, tags=TAGS
)


SITE_SETTING: Final = "site_setting"  # a PlanConfig value: this run takes the site's setting


def _site(name: str) -> str:
    return (
        f"{PLAN_DESCRIPTIONS[name]} {SITE_SETTING} (default): the site's setting ([plan] {name} "
        f"in kajabi_sync.toml, or {env_name(name)}), else {getattr(PlanSettings(), name)}."
    )


class PlanConfig(dg.Config):
    """How the plan decides the cases a site may want handled differently (see the README).
    A value outside the allowed ones is refused before the run starts."""

    first_import: Literal["site_setting", "keep_database", "trust_kajabi"] = Field(
        default=SITE_SETTING, description=_site("first_import")
    )
    email_change: Literal["site_setting", "keep_secondary", "make_primary"] = Field(
        default=SITE_SETTING, description=_site("email_change")
    )
    protected_edit: Literal["site_setting", "update", "review"] = Field(
        default=SITE_SETTING, description=_site("protected_edit")
    )

    def plan_settings(self) -> PlanSettings:
        chosen = {name: getattr(self, name) for name in PLAN_ALLOWED}
        return load_plan_settings(**{k: v for k, v in chosen.items() if v != SITE_SETTING})


def _table(frame: pd.DataFrame) -> dg.TableMetadataValue:
    records = [
        dg.TableRecord({k: (None if pd.isna(v) else v) for k, v in row.items()})
        for row in frame.astype(object).to_dict("records")
    ]
    columns = [
        dg.TableColumn(str(c), "int" if pd.api.types.is_integer_dtype(frame[c]) else "string")
        for c in frame.columns
    ]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def _schema(frame: pd.DataFrame) -> dg.TableSchema:
    """``dagster/column_schema``: the columns the asset page lists, with their dtypes."""
    return dg.TableSchema(
        columns=[dg.TableColumn(str(c), str(frame[c].dtype)) for c in frame.columns]
    )


def _week_export(
    context: dg.AssetExecutionContext,
    data_folder: DataFolder,
    pull: Callable[[], WeekSnapshot] | None,
) -> Iterator[dg.Output[RawExport] | dg.AssetObservation]:
    source_metadata: dict[str, Any] = {"source": "file dropped in kajabi_exports/"}
    if pull is not None:
        snapshot = pull()
        source_metadata = (
            {
                "source": "Kajabi API (pulled)",
                "api_contacts": snapshot.contacts,
                "api_pages": snapshot.pages,
                "api_requests": snapshot.requests,
            }
            if snapshot.pulled
            else {"source": "Kajabi API snapshot (replayed: the week's file already existed)"}
        )
    try:
        path = export_for_week(data_folder.exports(), partition_monday(context.partition_key))
    except NoExportForWeek as missing:
        yield skip_week_without_export(context, str(missing))
        return
    raw = read_kajabi_export(path)
    for warning in raw.warnings:
        context.log.warning(warning)
    yield dg.Output(
        raw,
        metadata={
            "file": dg.MetadataValue.path(str(path)),
            "sha256": raw.sha256,
            "export_date": str(raw.export_date),
            "encoding": raw.encoding,
            "dagster/row_count": len(raw.frame),
            "dagster/column_schema": _schema(raw.frame),
            "columns": len(raw.frame.columns),
            "dropped_card_data_columns": ", ".join(raw.dropped_columns) or "none",
            **source_metadata,
        },
    )


def raw_export_asset(pulls: bool) -> dg.AssetsDefinition:
    """``raw_kajabi_export`` for ``KAJABI_SYNC_SOURCE``: the files path needs exactly the
    resources it always needed; the API path also needs the API and the database (the pull
    records its snapshot there)."""
    if not pulls:

        @weekly_asset(
            name="raw_kajabi_export",
            kinds={"csv", "kajabi"},
            description="The week's full Kajabi contacts export, read as Kajabi wrote it "
            "(card-data columns dropped).",
            output_required=False,  # a week without an export file is skipped, not failed
        )
        def from_files(
            context: dg.AssetExecutionContext, data_folder: DataFolder
        ) -> Iterator[dg.Output[RawExport] | dg.AssetObservation]:
            yield from _week_export(context, data_folder, None)

        return from_files

    @weekly_asset(
        name="raw_kajabi_export",
        kinds={"csv", "kajabi"},
        description="The week's full Kajabi contacts snapshot (card-data columns dropped): a "
        "week without a file is first pulled from Kajabi's API into kajabi_contacts_<Monday>.csv "
        "in Kajabi's export layout; a week with a file is replayed from it.",
        output_required=False,  # a week without an export file is skipped, not failed
    )
    def from_api(
        context: dg.AssetExecutionContext,
        data_folder: DataFolder,
        kajabi_api: KajabiApi,
        database: ContactsDatabase,
    ) -> Iterator[dg.Output[RawExport] | dg.AssetObservation]:
        def pull() -> WeekSnapshot:
            with database.connection() as conn, kajabi_api.client() as client:
                return week_snapshot(
                    conn,
                    client,
                    kajabi_api.site_id,
                    data_folder.exports(),
                    partition_monday(context.partition_key),
                    context.partition_key,
                    context.run.run_id,
                )

        yield from _week_export(context, data_folder, pull)

    return from_api


# As KAJABI_SYNC_SOURCE was when this module loaded; the code location builds its own with
# ``kajabi_sync.definitions.build_definitions``.
raw_kajabi_export = raw_export_asset(api_settings.source() == "api")


@weekly_asset(
    kinds={"pandas", "pandera"},
    description="The export's usable rows, normalised and checked by a pandera schema; unusable "
    "rows are quarantined into kajabi_export_rejects.csv.",
)
def validated_export(
    context: dg.AssetExecutionContext, raw_kajabi_export: RawExport, data_folder: DataFolder
) -> dg.Output[ValidatedExport]:
    validated = validate_export(raw_kajabi_export)
    for warning in validated.warnings[len(raw_kajabi_export.warnings) :]:
        context.log.warning(warning)  # the reader's own were logged by raw_kajabi_export
    week = context.partition_key
    reports = data_folder.reports(week)
    rejects_path = write_csv(validated.rejects, reports / week_file_name(REJECTS_REPORT, week))
    duplicates_path = write_csv(
        validated.duplicate_emails, reports / week_file_name(DUPLICATE_EMAILS_REPORT, week)
    )
    return dg.Output(
        validated,
        metadata={
            "dagster/row_count": len(validated.frame),
            "dagster/column_schema": _schema(validated.frame),
            "rejected_rows": len(validated.rejects),
            "duplicate_emails": len(validated.duplicate_emails),
            "rejects_file": dg.MetadataValue.path(str(rejects_path)),
            "duplicate_emails_file": dg.MetadataValue.path(str(duplicates_path)),
            "rejects_preview": _table(validated.rejects.head(20)),
            "warnings": dg.MetadataValue.md(
                "\n".join(f"- {w}" for w in validated.warnings) or "none"
            ),
        },
    )


@weekly_asset(
    kinds={"pandas"},  # it reads the database, writes nothing there (only merge memory)
    description="The impact plan: for every matched contact and field, what the import will do and "
    "why (fill, update, protected, conflict, ...), before anything is written.",
)
def impact_analysis(
    context: dg.AssetExecutionContext,
    config: PlanConfig,
    validated_export: ValidatedExport,
    database: ContactsDatabase,
    data_folder: DataFolder,
) -> dg.Output[ImpactPlan]:
    week_key = context.partition_key
    with database.connection() as conn:
        # Decisions dropped into data/review/ go in first, so this plan no longer lists them.
        applied = apply_dropped_files(conn, data_folder.review(), dagster_run_id=context.run.run_id)
        for done in applied:
            context.log.info(
                f"applied review file {done.path.name}: review run {done.result.review_run_id}, "
                f"{done.result.decided} decision(s)"
            )
        week = plan_week(conn, validated_export.frame, config.plan_settings())
    plan = week.plan
    candidates = week.candidates
    folder = data_folder.reports(week_key)
    candidates_path = write_csv(
        candidates, folder / week_file_name(DUPLICATE_CANDIDATES_REPORT, week_key)
    )
    report = write_impact_report(plan, folder, week_key)
    items = review_items(plan)
    needs = counts_by_kind(items)
    review_path = write_review_file(items, folder, week_key)
    figures = week_figures(plan)  # plan_figures, and the real divergence last
    by_field = plan.decision_counts().reset_index(names="decision")
    source = validated_export.source
    summary = impact_summary(
        plan,
        previous_import(week.recent_runs, source.export_date if source else None),
        report_links(folder, week_key),
        title=week_title(week_key),
        verdict=Verdict(PLANNED),
        review_file=str(review_path),
        export_warnings=validated_export.warnings,
        needs=needs,
    )
    return dg.Output(
        plan,
        metadata={
            "summary": dg.MetadataValue.md(summary),
            "verdict": PLANNED.upper(),
            "week": week_key,
            **figures,  # "divergence": real differences only
            "divergence_cosmetic": figures["cosmetic"],
            "dagster/row_count": len(plan.changes),
            "dagster/column_schema": _schema(plan.changes),
            **{f"divergence/{k}": v for k, v in divergence_by_field(plan).items()},
            **{f"naive/{k}": v for k, v in plan.naive.items()},
            "decisions_by_field": _table(by_field),
            "report_file": dg.MetadataValue.path(str(report)),
            "review_file": dg.MetadataValue.path(str(review_path)),
            **{f"needs_review/{k}": v for k, v in needs.items()},
            "review_decisions_applied": sum(done.result.decided for done in applied),
            "merge_memory_bootstrapped": week.merge_memory_added,
            "duplicate_candidates_file": dg.MetadataValue.path(str(candidates_path)),
            "duplicate_candidates_preview": _table(candidates_preview(candidates)),
            "changes_preview": _table(changes_preview(plan.changes)),
        },
    )


def _written(plan: ImpactPlan) -> pd.DataFrame:
    """Fields written, per field and decision (fill, update), every field listed."""
    writes = plan.writes()
    table = pd.crosstab(writes["field"], writes["decision"]) if len(writes) else pd.DataFrame()
    table = table.reindex(index=list(CONTACT_FIELDS), columns=["fill", "update"], fill_value=0)
    return table.astype("int64").reset_index(names="field")


@weekly_asset(
    kinds={"postgres"},
    description="The contacts database after applying exactly the impact plan (fills, allowed "
    "updates, new contacts, new bases) in one audited transaction.",
    ins={"validated_export": dg.AssetIn(metadata=reading(frame=[]))},  # the file, not its rows
)
def protected_contacts(
    context: dg.AssetExecutionContext,
    impact_analysis: ImpactPlan,
    validated_export: ValidatedExport,
    database: ContactsDatabase,
    data_folder: DataFolder,
) -> dg.MaterializeResult:
    require_guards(context)
    week = context.partition_key
    source = validated_export.source
    if source is None:
        raise dg.Failure(
            description="This validated export does not say which file it was read from: "
            "re-run the whole weekly_kajabi_sync job for this partition. Nothing was written."
        )
    record = ImportRecord.of_export(
        source,
        partition_key=week,
        dagster_run_id=context.run.run_id,
        overrides=recorded_overrides(context.run.run_config),
    )
    orphaned = abandon_if_orphaned()  # the parent as it is now, checked again before the commit
    with database.connection() as conn:
        already = run_holding(conn, source.path.name, source.sha256, source.export_date)
        if already is not None:
            # A re-run of an applied week, or a quiet API week: the guards let it through
            # because applying it again would change nothing, so nothing is written at all.
            context.log.info(f"{source.path.name} is applied already (import run {already})")
            return dg.MaterializeResult(
                metadata={
                    "import_run_id": already,
                    "already_applied": True,
                    "fields_written": 0,
                    "contacts_created": 0,
                },
            )
        # run_holding's reads opened a transaction: ended here, so that the apply's transaction
        # is the real one and its COMMIT is the import's (the orphan check and
        # CommitOutcomeUnknown are at that commit).
        conn.rollback()
        # What this import leaves for a person: the open list review files are checked against.
        items = review_items(impact_analysis)

        def record_for_review(result: ApplyResult) -> None:
            # In the import's transaction, so a kill never leaves an import without its holds
            # (they stay held in later weeks until the user decides) or its review items.
            record_holds(conn, impact_analysis.held)
            record_review_items(conn, items, result.import_run_id)
            orphaned()

        result = apply_plan(conn, impact_analysis, record, before_commit=record_for_review)
        live = scalar(conn, "SELECT count(*) FROM contacts WHERE deleted_at IS NULL")
        verdict = applied_verdict(result)
        summary = week_summary(
            conn,
            impact_analysis,
            validated_export,
            data_folder,
            week,
            verdict,
            needs=counts_by_kind(items),
        )
    observe_verdict(context, week, summary, verdict)
    written = _written(impact_analysis)
    rollback = f"kajabi-sync rollback {result.import_run_id} --yes"
    return dg.MaterializeResult(
        metadata={
            "summary": dg.MetadataValue.md(summary),
            "verdict": APPLIED.upper(),
            "week": week,
            "dagster/row_count": live,
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(c, "text") for c in ("id", "email", *CONTACT_FIELDS)]
            ),
            "import_run_id": result.import_run_id,
            "rollback_command": dg.MetadataValue.md(f"```bash\n{rollback}\n```"),
            "fields_written": result.fields_written,
            "fills": int(written["fill"].sum()),
            "updates": int(written["update"].sum()),
            "written_by_field": _table(written),
            **{
                f"written/{row.field}/{decision}": int(getattr(row, decision))
                for row in written.itertuples()
                for decision in ("fill", "update")
                if getattr(row, decision)
            },
            "contacts_created": result.contacts_created,
            "bases_changed": result.bases_changed,
            "held_for_review": len(impact_analysis.held),
            "export_file": source.path.name,
        },
    )


APPLY_ASSET = dg.AssetKey("protected_contacts")
# What ``kajabi_values`` reads of the validated export: Kajabi's values, not its lists and dates.
KAJABI_VALUE_COLUMNS = ("row_number", "email", *CONTACT_FIELDS)


def applied(context: dg.AssetExecutionContext) -> ApplyResult:
    """What ``protected_contacts`` did for this partition, from its materialisation: the apply
    stores nothing between steps (its result is in the database), so the steps after it read
    the figures it recorded."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=APPLY_ASSET, asset_partitions=[context.partition_key]),
        limit=1,
    ).records
    materialization = records[0].asset_materialization if records else None
    if materialization is None:
        raise dg.Failure(
            description=f"protected_contacts has not been applied for {context.partition_key}: "
            "run the whole weekly_kajabi_sync job for this partition."
        )
    figures = {k: v.value for k, v in materialization.metadata.items()}
    return ApplyResult(
        int(figures["import_run_id"]),
        int(figures["fields_written"]),
        int(figures["contacts_created"]),
        int(figures.get("bases_changed", 0)),
        {"already_applied": True} if figures.get("already_applied") else {},
    )


def applied_verdict(result: ApplyResult) -> Verdict:
    return Verdict(
        APPLIED,
        import_run_id=result.import_run_id,
        fields_written=result.fields_written,
        contacts_created=result.contacts_created,
    )


@weekly_asset(
    kinds={"csv", "kajabi"},
    description="The database's enriched contacts in Kajabi's bulk-import format, so Kajabi "
    "becomes clean: full file, updates only, and database contacts Kajabi does not have yet. "
    "Once written, the week's reports are published to data/current/.",
    deps=[APPLY_ASSET],  # the database after the apply: a side effect, not a stored value
    ins={"validated_export": dg.AssetIn(metadata=reading(frame=KAJABI_VALUE_COLUMNS))},
)
def kajabi_enriched_export(
    context: dg.AssetExecutionContext,
    impact_analysis: ImpactPlan,
    validated_export: ValidatedExport,
    database: ContactsDatabase,
    data_folder: DataFolder,
) -> dg.MaterializeResult:
    week = context.partition_key
    protected_contacts = applied(context)
    with database.connection() as conn:
        export = week_enriched_export(conn, impact_analysis, validated_export.frame)
    folder = data_folder.reports(week)
    files = write_enriched_export(export, folder, week=week)
    summary = export_summary(export)
    source = validated_export.source
    current = data_folder.current()
    with database.connection() as conn:
        newest = last_applied_import(conn)
    # current/ is the newest applied week only: a re-run of an older applied week (which
    # writes nothing) leaves it as it is.
    if newest is not None and newest["id"] == protected_contacts.import_run_id:
        publish_week(
            current,
            folder,
            week=week,
            export_file=source.path.name if source else "unknown",
            import_run_id=protected_contacts.import_run_id,
            dagster_run_id=context.run.run_id,
        )
        published = f"\nPublished to {code_span(current)}.\n"
    else:
        published = f"\n{code_span(current)} keeps the newest applied week.\n"
        context.log.info(f"{current} keeps the newest applied week; not replaced by {week}")
    verdict = applied_verdict(protected_contacts)
    with database.connection() as conn:
        week_md = week_summary(
            conn, impact_analysis, validated_export, data_folder, week, verdict, files.paths
        )
    observe_verdict(context, week, week_md + published, verdict)
    return dg.MaterializeResult(
        metadata={
            "week": week,
            "dagster/row_count": len(export.full),
            "dagster/column_schema": _schema(export.full),
            **{f"rows/{path.name}": rows for path, rows in files.rows_per_file.items()},
            **{f"differs/{k}": v for k, v in export.fields_differing.items()},
            "summary": dg.MetadataValue.json({k: v for k, v in summary.items() if k != "preview"}),
            "preview": _table(summary["preview"]),
            "current_folder": dg.MetadataValue.path(str(current)),
            "week_folder": dg.MetadataValue.path(str(folder)),
        },
    )

"""All guards of one week's import, in the order a person reads them."""

from __future__ import annotations

from dataclasses import dataclass

from kajabi_sync.guards.export_guards import (
    earlier_export_pending,
    file_rows,
    missing_columns,
    rejected_rows,
    stale_export,
    truncated_export,
)
from kajabi_sync.guards.facts import ImportFacts
from kajabi_sync.guards.plan_guards import (
    conflicts_for_review,
    divergence_growth,
    duplicate_recreation,
    kajabi_converged,
    new_contact_surge,
    overwrite_volume,
    protected_overwrites,
)
from kajabi_sync.guards.result import GuardResult
from kajabi_sync.guards.thresholds import Thresholds
from kajabi_sync.kajabi.validate import ValidatedExport
from kajabi_sync.survivorship.plan import ImpactPlan


@dataclass(frozen=True)
class Guard:
    name: str
    blocking: bool
    description: str


GUARDS: tuple[Guard, ...] = (
    Guard(
        "overwrite_volume",
        True,
        "Existing non-empty database values the plan would replace: "
        "blocks above max_overwrite_pct of matched contacts (at least min_overwrite_limit).",
    ),
    Guard(
        "protected_overwrites",
        True,
        "Protected (enriched) values the plan would overwrite: "
        "must be zero by construction; any is a bug and blocks.",
    ),
    Guard(
        "truncated_export",
        True,
        "The file's rows against the last applied export (before any "
        "import: live contacts with a Kajabi ID): blocks on a drop above max_export_drop_pct.",
    ),
    Guard(
        "rejected_rows",
        True,
        "Rows quarantined by validation: blocks above max_rejected_pct of the file.",
    ),
    Guard(
        "missing_columns",
        True,
        "Form columns the import reads (phone_number, address_zip, ...) that the file lacks: "
        "named always; blocks when the last applied export had them.",
    ),
    Guard(
        "duplicate_recreation",
        True,
        "New contacts whose email the database already knows "
        "(merged away, deleted): blocks above max_duplicate_recreations.",
    ),
    Guard(
        "new_contact_surge", True, "New contacts: blocks above max_new_contacts_pct of the file."
    ),
    Guard(
        "stale_export",
        True,
        "A file older than the last applied export, or the same file applied "
        "again: blocks the write (the plan and reports are still computed).",
    ),
    Guard(
        "earlier_export_pending",
        True,
        "An earlier week's export not applied yet: blocks, so "
        "weeks apply in date order and a backfill in any order ends as a forward run.",
    ),
    Guard(
        "conflicts_for_review",
        False,
        "Fields changed on both sides since the last import: warns above max_conflicts.",
    ),
    Guard(
        "divergence_growth",
        False,
        "Fields where the database and Kajabi disagree: warns when they "
        "grow by more than max_divergence_growth_pct since the last import.",
    ),
    Guard(
        "kajabi_converged",
        False,
        "Fields where Kajabi still disagrees with the database: warns "
        "above max_divergence_pct of matched contacts (import the enriched export into Kajabi, "
        "or let the push send the database's values).",
    ),
)


def evaluate_guards(
    plan: ImpactPlan,
    export: ValidatedExport,
    facts: ImportFacts,
    thresholds: Thresholds,
    allow_stale_export: bool = False,
    pending_exports: list | None = None,
    allow_earlier_export_pending: bool = False,
    allow_missing_columns: bool = False,
    pushing: bool = False,
) -> list[GuardResult]:
    """One result per guard in ``GUARDS``, in that order. ``pushing``: the site pushes the
    database's values to Kajabi through the API (the advice on converging says so)."""
    rows = file_rows(export)
    last_rows = (facts.last_import or {}).get("export_rows") or None
    results = [
        overwrite_volume(plan, thresholds),
        protected_overwrites(plan),
        truncated_export(export, facts, thresholds),
        rejected_rows(export, thresholds),
        missing_columns(export, facts, allow_missing_columns),
        duplicate_recreation(plan, facts.known_new_emails, thresholds),
        new_contact_surge(plan, rows, thresholds),
        stale_export(export, facts, allow_stale_export),
        earlier_export_pending(export, pending_exports or [], allow_earlier_export_pending),
        conflicts_for_review(plan, thresholds),
        divergence_growth(
            plan,
            facts.last_import_decisions,
            thresholds,
            last_matched=facts.last_import_matched or last_rows,
            absent=max(facts.live_kajabi_ids - plan.matched_contacts, 0),
            pushing=pushing,
        ),
        kajabi_converged(plan, thresholds, facts.last_import_decisions, pushing),
    ]
    assert [r.name for r in results] == [g.name for g in GUARDS]
    return results

"""Guards over the impact plan: how much it would overwrite, create, and leave diverging."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kajabi_sync.guards.result import GuardResult, pct_to_pass, percent
from kajabi_sync.guards.thresholds import Thresholds
from kajabi_sync.survivorship.decisions import DIVERGENT_DECISIONS, WRITE_DECISIONS, Decision
from kajabi_sync.survivorship.plan import ImpactPlan
from kajabi_sync.survivorship.report import divergence_by_field


def _overwrites(plan: ImpactPlan) -> pd.DataFrame:
    """Planned writes that replace a non-empty database value."""
    changes = plan.changes
    writes = changes["decision"].isin(WRITE_DECISIONS) & changes["db_value"].notna()
    return changes[writes.to_numpy(bool)]


def overwrite_volume(plan: ImpactPlan, thresholds: Thresholds) -> GuardResult:
    overwrites = _overwrites(plan)
    count = len(overwrites)
    matched = plan.matched_contacts
    limit = max(int(thresholds.max_overwrite_pct / 100 * matched), thresholds.min_overwrite_limit)
    by_field = overwrites["field"].value_counts()
    return GuardResult(
        name="overwrite_volume",
        passed=count <= limit,
        blocking=True,
        value=count,
        limit=limit,
        threshold=f"{thresholds.max_overwrite_pct}% of {matched} matched contacts, "
        f"at least {thresholds.min_overwrite_limit}",
        explanation=f"{count} existing database value(s) would be replaced by Kajabi's "
        f"({percent(count, matched)}% of matched contacts). A shifted column or a wrong file "
        "shows up here first: compare db_value and kajabi_value of the 'update' rows in "
        "import_impact_analysis.csv.",
        override={"max_overwrite_pct": pct_to_pass(count, matched)},
        metadata={
            "matched_contacts": matched,
            **{f"overwrites/{f}": int(n) for f, n in by_field.items()},
        },
    )


def protected_overwrites(plan: ImpactPlan) -> GuardResult:
    hits = _overwrites(plan)
    hits = hits[hits["protected"].fillna(False).astype(bool).to_numpy()]
    count = len(hits)
    return GuardResult(
        name="protected_overwrites",
        passed=count == 0,
        blocking=True,
        value=count,
        limit=0,
        threshold="0 (by construction; not overridable)",
        explanation=f"{count} value(s) that another source enriched (a protected field) would be "
        "overwritten. The survivorship policy never plans this, so a non-zero count is a bug in "
        "kajabi_sync: do not import; report it with import_impact_analysis.csv.",
        metadata={"fields": ", ".join(sorted(hits["field"].unique())) or "none"},
    )


def new_contact_surge(plan: ImpactPlan, file_rows: int, thresholds: Thresholds) -> GuardResult:
    count = len(plan.new_contacts)
    limit = int(thresholds.max_new_contacts_pct / 100 * file_rows)
    return GuardResult(
        name="new_contact_surge",
        passed=count <= limit,
        blocking=True,
        value=count,
        limit=limit,
        threshold=f"{thresholds.max_new_contacts_pct}% of the file's {file_rows} rows",
        explanation=f"{count} contact(s) would be created ({percent(count, file_rows)}% of the "
        "file). Many new contacts at once usually means the rows did not match: changed email "
        "case rules, another site's export, or a database restored from an old backup.",
        override={"max_new_contacts_pct": pct_to_pass(count, file_rows)},
        metadata={"file_rows": file_rows},
    )


def duplicate_recreation(
    plan: ImpactPlan, known_new_emails: pd.Series, thresholds: Thresholds
) -> GuardResult:
    count = len(known_new_emails)
    limit = thresholds.max_duplicate_recreations
    return GuardResult(
        name="duplicate_recreation",
        passed=count <= limit,
        blocking=True,
        value=count,
        limit=limit,
        threshold=f"{limit} new contacts with an address the database already knows",
        explanation=f"{count} of the {len(plan.new_contacts)} new contact(s) use an address the "
        "database already knows (merged away into another contact, on a deleted contact, or "
        "another contact's address): importing would recreate a duplicate that was removed.",
        override={"max_duplicate_recreations": count},
        metadata={"new_contacts": len(plan.new_contacts)},
    )


def conflicts_for_review(plan: ImpactPlan, thresholds: Thresholds) -> GuardResult:
    conflicts = plan.changes[(plan.changes["decision"] == Decision.CONFLICT).to_numpy(bool)]
    count = len(conflicts)
    return GuardResult(
        name="conflicts_for_review",
        passed=count <= thresholds.max_conflicts,
        blocking=False,
        value=count,
        limit=thresholds.max_conflicts,
        threshold=f"at most {thresholds.max_conflicts} conflicts (a warning, never a stop)",
        explanation=f"{count} field(s) changed both in Kajabi and in the database since the last "
        "import. The database's value is kept; the rows with decision 'conflict' in "
        "import_impact_analysis.csv need a person's look.",
        override={"max_conflicts": count},
        metadata={"contacts": int(conflicts["contact_id"].nunique())},
    )


def divergence_growth(
    plan: ImpactPlan, last_import_decisions: dict, thresholds: Thresholds
) -> GuardResult:
    by_field = divergence_by_field(plan)
    now = sum(by_field.values())
    before = sum(int(last_import_decisions.get(d, 0)) for d in DIVERGENT_DECISIONS)
    common: dict[str, Any] = dict(
        name="divergence_growth",
        blocking=False,
        value=now,
        threshold=f"at most {thresholds.max_divergence_growth_pct}% more diverging fields than "
        "at the last import (a warning, never a stop)",
        metadata={
            "previous_divergence": before,
            **{f"divergence/{f}": n for f, n in by_field.items()},
        },
    )
    if not last_import_decisions or before == 0:
        return GuardResult(
            passed=True,
            limit=None,
            explanation=f"{now} field(s) where the database and Kajabi disagree after this import. "
            "No earlier import to compare with: passed (the figure is the baseline).",
            **common,
        )
    limit = int(before * (1 + thresholds.max_divergence_growth_pct / 100))
    return GuardResult(
        passed=now <= limit,
        limit=limit,
        explanation=f"{now} field(s) where the database and Kajabi disagree after this import, "
        f"against {before} at the last import. Growth means Kajabi drifts from the database: "
        "was the enriched export imported into Kajabi?",
        override={"max_divergence_growth_pct": pct_to_pass(now - before, before)},
        **common,
    )


def kajabi_converged(plan: ImpactPlan, thresholds: Thresholds) -> GuardResult:
    """Whether Kajabi agrees with the database (after the enriched export was imported there)."""
    by_field = divergence_by_field(plan)
    now = sum(by_field.values())
    limit = max(
        int(thresholds.max_divergence_pct / 100 * plan.matched_contacts),
        thresholds.min_divergence_limit,
    )
    worst = ", ".join(f"{f} {n}" for f, n in sorted(by_field.items(), key=lambda kv: -kv[1]) if n)
    return GuardResult(
        name="kajabi_converged",
        passed=now <= limit,
        blocking=False,
        value=now,
        limit=limit,
        threshold=f"at most {thresholds.max_divergence_pct}% of the {plan.matched_contacts} matched "
        f"contacts, at least {thresholds.min_divergence_limit} (a warning, never a stop)",
        explanation=f"{now} field(s) where Kajabi still disagrees with the database"
        + (f" ({worst})" if worst else "")
        + ". Import kajabi_updates_only.csv into Kajabi (People → Import) and the next export "
        "converges; no protection needs switching off.",
        override={"max_divergence_pct": pct_to_pass(now, plan.matched_contacts)},
        metadata={f"divergence/{f}": n for f, n in by_field.items()},
    )

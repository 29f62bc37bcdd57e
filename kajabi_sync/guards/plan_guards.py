"""Guards over the impact plan: how much it would overwrite, create, and leave diverging."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kajabi_sync.guards.result import GuardResult, pct_to_pass, percent
from kajabi_sync.guards.thresholds import Thresholds
from kajabi_sync.kajabi.api.settings import PUSH_ENV
from kajabi_sync.survivorship.decisions import DIVERGENT_DECISIONS, WRITE_DECISIONS, Decision
from kajabi_sync.survivorship.plan import ImpactPlan
from kajabi_sync.survivorship.policy import POLICY, comparison_key
from kajabi_sync.survivorship.report import divergence_by_field


def _converging(pushing: bool) -> str:
    """How Kajabi gets the database's values: the push on a site that pushes through the API,
    else the updates file, imported by a person."""
    if pushing:
        return (
            f"the push ({PUSH_ENV}=api) sends the database's values to Kajabi after this import, "
            "no file to import"
        )
    return "import kajabi_updates_only.csv into Kajabi (People → Import)"


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


def _stale_protected_overwrites(plan: ImpactPlan) -> pd.DataFrame:
    """Planned writes over a protected value that Kajabi did not hold at the last import.

    Restated from the policy's comparison keys, not from the plan's decisions: the only
    legitimate overwrite of a protected value is a Kajabi-side edit after the two systems
    agreed (the base equals the database's value, and Kajabi's value differs from the base)."""
    hits = _overwrites(plan)
    hits = hits[hits["protected"].fillna(False).astype(bool).to_numpy()]
    stale = np.ones(len(hits), dtype=bool)
    for name, rows in hits.groupby("field").groups.items():
        at = hits.index.get_indexer(rows)
        comparison = POLICY[str(name)].comparison
        db_key = comparison_key(hits.loc[rows, "db_value"].astype("string"), comparison)
        base_key = comparison_key(hits.loc[rows, "base_value"].astype("string"), comparison)
        kajabi_key = comparison_key(hits.loc[rows, "kajabi_value"].astype("string"), comparison)
        agreed = (db_key == base_key).fillna(False) & (kajabi_key != base_key).fillna(False)
        stale[at] = ~agreed.to_numpy(bool)
    return hits[stale]


def protected_overwrites(plan: ImpactPlan) -> GuardResult:
    hits = _stale_protected_overwrites(plan)
    count = len(hits)
    return GuardResult(
        name="protected_overwrites",
        passed=count == 0,
        blocking=True,
        value=count,
        limit=0,
        threshold="0 (by construction; not overridable)",
        explanation=f"{count} value(s) that another source enriched (a protected field) would be "
        "overwritten although Kajabi did not hold them at the last import (only a Kajabi-side "
        "edit made after the two systems agreed may replace a protected value). The "
        "survivorship policy never plans this, so a non-zero count is a bug in "
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


def _real_and_cosmetic(counts: dict) -> tuple[int, int]:
    """(fields whose values really differ, fields that differ only in format) from decision
    counts: a cosmetic difference (case, spacing, phone format) is not drift."""
    cosmetic = int(counts.get(Decision.COSMETIC, 0))
    real = sum(int(counts.get(d, 0)) for d in DIVERGENT_DECISIONS) - cosmetic
    return real, cosmetic


def _per_contact(fields: int, contacts: int) -> str:
    return f"{fields / contacts:.3f}" if contacts else "n/a"


def divergence_growth(
    plan: ImpactPlan,
    last_import_decisions: dict,
    thresholds: Thresholds,
    *,
    last_matched: int | None = None,
    absent: int = 0,
    pushing: bool = False,
) -> GuardResult:
    """Real divergence per contact present in both systems, against the last import's.

    Counted over matched contacts only, so a file that lacks contacts (truncated, filtered) does
    not read as convergence: the limit is the last import's rate scaled to this week's matched
    contacts. ``last_matched``: the contacts the last import matched (None: its rate is taken
    as over this week's). ``absent``: contacts linked to Kajabi that this file lacks.
    ``pushing``: the site pushes the database's values through the API (``KAJABI_SYNC_PUSH``)."""
    counts = plan.changes["decision"].value_counts().to_dict()
    now, cosmetic = _real_and_cosmetic(counts)
    before, _ = _real_and_cosmetic(last_import_decisions)
    matched = plan.matched_contacts
    before_matched = last_matched or matched
    by_field = divergence_by_field(plan)
    apart = (
        f" {cosmetic} more differ only in format (case, spacing, phone format), counted apart."
        if cosmetic
        else ""
    )
    missing = (
        f" {absent} contact(s) linked to Kajabi are absent from this file and not counted."
        if absent
        else ""
    )
    common: dict[str, Any] = dict(
        name="divergence_growth",
        blocking=False,
        value=now,
        threshold=f"at most {thresholds.max_divergence_growth_pct}% more differing fields per "
        "contact present in both systems than at the last import (a warning, never a stop)",
        metadata={
            "previous_divergence": before,
            "previous_matched_contacts": before_matched,
            "matched_contacts": matched,
            "cosmetic_only": cosmetic,
            "absent_from_file": absent,
            **{f"divergence/{f}": n for f, n in by_field.items()},
        },
    )
    if not last_import_decisions or before == 0:
        return GuardResult(
            passed=True,
            limit=None,
            explanation=f"{now} field(s) really differ between the database and Kajabi over the "
            f"{matched} contacts present in both.{apart}{missing} No earlier import to compare "
            "with: passed (the figure is the baseline).",
            **common,
        )
    limit = int(
        before / before_matched * matched * (1 + thresholds.max_divergence_growth_pct / 100)
    )
    return GuardResult(
        passed=now <= limit,
        limit=limit,
        explanation=f"{now} field(s) really differ over the {matched} contacts present in both "
        f"systems ({_per_contact(now, matched)} per contact), against {before} over "
        f"{before_matched} at the last import ({_per_contact(before, before_matched)} per "
        f"contact).{apart}{missing} If it grows, Kajabi drifts from the database: "
        f"{_converging(pushing)}.",
        override={"max_divergence_growth_pct": pct_to_pass(now - before, before)},
        **common,
    )


def kajabi_converged(
    plan: ImpactPlan,
    thresholds: Thresholds,
    last_import_decisions: dict | None = None,
    pushing: bool = False,
) -> GuardResult:
    """Whether Kajabi agrees with the database (after the enriched export was imported there,
    or the push sent its values), how far it still is, and whether that is shrinking since the
    last import. ``pushing``: as for ``divergence_growth``."""
    by_field = divergence_by_field(plan)
    counts = plan.changes["decision"].value_counts().to_dict()
    real, cosmetic = _real_and_cosmetic(counts)
    now = sum(by_field.values())
    limit = max(
        int(thresholds.max_divergence_pct / 100 * plan.matched_contacts),
        thresholds.min_divergence_limit,
    )
    worst = ", ".join(f"{f} {n}" for f, n in sorted(by_field.items(), key=lambda kv: -kv[1]) if n)
    trend = ""
    if last_import_decisions:
        before, _ = _real_and_cosmetic(last_import_decisions)
        if real < before:
            trend = f" Shrinking: {before - real} fewer than at the last import ({before})."
        elif real > before:
            trend = f" Not shrinking: {real - before} more than at the last import ({before})."
        else:
            trend = f" Not shrinking: the same as at the last import ({before})."
    return GuardResult(
        name="kajabi_converged",
        passed=now <= limit,
        blocking=False,
        value=now,
        limit=limit,
        threshold=f"at most {thresholds.max_divergence_pct}% of the {plan.matched_contacts} matched "
        f"contacts, at least {thresholds.min_divergence_limit} (a warning, never a stop)",
        explanation=f"Kajabi still differs from the database on {now} field(s) "
        f"({percent(now, plan.matched_contacts)}% of the {plan.matched_contacts} contacts in both"
        + (f"; {worst}" if worst else "")
        + f"): {real} real, {cosmetic} format only.{trend} To converge, {_converging(pushing)}; "
        "no protection needs switching off.",
        override={"max_divergence_pct": pct_to_pass(now, plan.matched_contacts)},
        metadata={
            "real_differences": real,
            "cosmetic_only": cosmetic,
            **{f"divergence/{f}": n for f, n in by_field.items()},
        },
    )

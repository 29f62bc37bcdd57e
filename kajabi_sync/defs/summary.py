"""The Monday-morning summary of ``impact_analysis``: what this week's import will do, what it
protected, and what needs a person, as markdown for the Dagster UI (and ``kajabi-sync plan``).

Pure: it reads the plan and last week's stored counts, nothing else. Personal data is masked
(the full detail is in the 0600 CSV reports it points to), and every cell taken from the export
is escaped, because a Kajabi sign-up form is free text and must not be able to inject markdown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date

import pandas as pd

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.masking import mask_email, mask_phone
from kajabi_sync.matching.holds import candidates_for_display
from kajabi_sync.review.items import counts_by_kind, review_items
from kajabi_sync.review.kinds import KINDS
from kajabi_sync.survivorship.decisions import DIVERGENT_DECISIONS, EMAIL_DECISIONS, Decision
from kajabi_sync.survivorship.plan import ImpactPlan
from kajabi_sync.survivorship.report import divergence_by_field, plan_figures

# The decisions where the database keeps its value while Kajabi holds another: together, how
# far the two systems still disagree (``divergence_by_field`` sums the same ones).
DIVERGENCE_DECISIONS: tuple[str, ...] = tuple(d.value for d in DIVERGENT_DECISIONS)

# (figure, label) in reading order for the week-over-week table.
WEEK_FIGURES: tuple[tuple[str, str], ...] = (
    ("export_rows", "rows in the export"),
    ("fields_to_write", "fields to write"),
    ("fill", "fills (database empty)"),
    ("update", "updates (Kajabi-side edits)"),
    ("new_contacts", "new contacts"),
    ("protected", "protected from overwrite"),
    ("kept_db", "kept (database newer)"),
    ("conflict", "conflicts (both changed)"),
    ("unattributed", "unattributed (first import)"),
    ("protected_edit", Decision.PROTECTED_EDIT.label),
    ("email_change", Decision.EMAIL_CHANGE.label),
    ("email_promoted", Decision.EMAIL_PROMOTED.label),
    ("held_for_review", "duplicate candidates held"),
    ("divergence", "divergence (fields that still disagree)"),
)

DECISION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("fill", "fill"),
    ("update", "update"),
    ("protected", "protected"),
    ("protected_edit", "protected edit"),
    ("kept_db", "kept db"),
    ("conflict", "conflict"),
    ("unattributed", "unattributed"),
    ("cosmetic", "cosmetic"),
    ("keep_db_kajabi_blank", "Kajabi blank"),
)

NAIVE_LABELS: dict[str, str] = {
    "values_overwritten": "field values overwritten",
    "contacts_overwritten": "contacts overwritten",
    "contacts_with_enriched_data_overwritten": "contacts whose PayPal/Zoho/hand enrichment was overwritten",
    "contacts_with_corrected_data_lost": "contacts whose corrections were lost",
    "paypal_enriched_contacts_overwritten": "PayPal-enriched contacts overwritten",
    "zoho_linked_contacts_overwritten": "Zoho-linked contacts overwritten",
    "merged_duplicates_recreated": "merged duplicates brought back",
    "deleted_contacts_recreated": "deleted contacts brought back",
    "duplicates_by_kajabi_id_created": "duplicates created for a known Kajabi ID",
    "contacts_inserted": "contacts inserted",
}

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def week_figures(plan: ImpactPlan) -> dict[str, int]:
    """This week's figures in ``WEEK_FIGURES`` names (``plan_figures`` plus the divergence)."""
    figures = dict(plan_figures(plan))
    figures["divergence"] = int(sum(divergence_by_field(plan).values()))
    return figures


def run_figures(run: Mapping | None) -> dict[str, int] | None:
    """A stored import run (an ``import_runs`` row with ``counts`` and ``export_rows``) in
    ``WEEK_FIGURES`` names; figures the run did not store are left out."""
    if run is None:
        return None
    counts = run.get("counts") or {}
    if isinstance(counts, str):
        counts = json.loads(counts)
    decisions = counts.get("decisions") or {}
    named = [d for d, _ in DECISION_COLUMNS] + [d.value for d in EMAIL_DECISIONS]
    figures: dict[str, int] = {d: int(decisions.get(d, 0)) for d in named}
    figures["divergence"] = int(sum(int(decisions.get(d, 0)) for d in DIVERGENCE_DECISIONS))
    for stored, name in (
        ("fields_written", "fields_to_write"),
        ("contacts_created", "new_contacts"),
        ("held_for_review", "held_for_review"),
    ):
        if counts.get(stored) is not None:
            figures[name] = int(counts[stored])
    if run.get("export_rows") is not None and not pd.isna(run.get("export_rows")):
        figures["export_rows"] = int(run["export_rows"])
    return figures


def previous_import(runs: pd.DataFrame, before: date | None = None) -> dict | None:
    """The newest applied, not rolled back, import exported before ``before`` (any, when None),
    from ``audit.recent_runs``: the week to compare this one with."""
    if runs.empty:
        return None
    candidates = runs[(runs["kind"] == "import") & runs["rolled_back_at"].isna()]
    if before is not None:
        # As timestamps: .dt.date of a column without any date stays datetime64, which cannot
        # be compared with a date.
        exported = pd.to_datetime(candidates["export_date"], errors="coerce")
        candidates = candidates[exported.notna() & (exported < pd.Timestamp(before))]
    if candidates.empty:
        return None
    return (
        candidates.sort_values(["export_date", "id"], ascending=False, na_position="last")
        .iloc[0]
        .to_dict()
    )


def escape_markdown(text: object) -> str:
    """One table cell of untrusted text: special characters escaped, on one line."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def code_span(text: object) -> str:
    """Untrusted text shown verbatim in a code span (a backtick inside would end it)."""
    return "`" + str(text).replace("`", "'").replace("\n", " ") + "`"


def mask_values(fields: pd.Series, values: pd.Series) -> pd.Series:
    """Enough of each value to find it in the CSV, not to read it: phones as ``***0101``, other
    text as its first two characters (``fields`` names each value's field)."""
    text = values.astype("string")
    masked = (text.str.slice(0, 2) + "***").where(text.notna())
    phones = (fields == "phone").to_numpy(bool)
    masked[phones] = mask_phone(text[phones])
    return masked


def _number(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _change(now: int, before: int | None) -> str:
    if before is None:
        return ""
    delta = now - before
    return "0" if delta == 0 else f"{delta:+,}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([" --- "] * len(header)) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def needs_you(needs: Mapping[str, int], review_file: str | None) -> list[str]:
    """The "Needs you" line: open review items by kind, the file and the command that applies it."""
    total = sum(needs.values())
    if not total:
        return ["- **Nothing needs you** this week: no conflicts, no duplicate candidates held."]
    split = ", ".join(f"{n:,} {KINDS[k].label}" for k, n in needs.items() if n)
    lines = [f"- **Needs you: {total:,}** ({split})."]
    if review_file:
        lines.append(
            f"  Fill the `resolution` column of {code_span(review_file)} and apply it with "
            f"{code_span(f'kajabi-sync resolve {review_file}')} (add `--yes` to apply), or drop "
            "the filled file into `data/review/` for the next weekly run."
        )
    return lines


def _headline(
    figures: Mapping[str, int],
    naive: Mapping[str, int],
    needs: Mapping[str, int],
    review_file: str | None,
) -> list[str]:
    lines = [
        f"- **Will write {figures['fields_to_write']:,} fields** ({figures['fill']:,} fills, "
        f"{figures['update']:,} updates) and **create {figures['new_contacts']:,} contacts**, "
        f"from {figures['export_rows']:,} export rows ({figures['matched_contacts']:,} matched).",
        f"- **Protected {figures['protected'] + figures['kept_db']:,} values** the database knows "
        f"better ({figures['protected']:,} enriched by another source, {figures['kept_db']:,} newer "
        f"than Kajabi's); a naive import would have overwritten "
        f"{naive.get('values_overwritten', 0):,} values.",
        *needs_you(needs, review_file),
    ]
    if figures["unattributed"]:
        lines.append(
            f"- First import: {figures['unattributed']:,} differing values kept as the database has "
            "them (`unattributed`), listed for review."
        )
    return lines


def _week_over_week(figures: Mapping[str, int], previous: Mapping | None) -> list[str]:
    before = run_figures(previous)
    if previous is None or before is None:
        lines = ["No earlier import to compare with: this is the first.", ""]
        label = "last week"
    else:
        when = previous.get("export_date") or previous.get("partition_key") or ""
        label = f"last import (run {previous.get('id')}, {code_span(when) if isinstance(when, str) else when})"
        lines = []
    rows = [
        [
            text,
            _number(figures.get(name)),
            _number(None if before is None else before.get(name)),
            _change(figures[name], None if before is None else before.get(name)),
        ]
        for name, text in WEEK_FIGURES
        if name in figures
    ]
    return lines + _table(["", "this week", label, "change"], rows)


def _decisions_by_field(plan: ImpactPlan) -> list[str]:
    counts = plan.decision_counts()
    rows = []
    for field in CONTACT_FIELDS:
        cells = [int(counts.at[d, field]) if d in counts.index else 0 for d, _ in DECISION_COLUMNS]
        rows.append([f"`{field}`", *(f"{c:,}" if c else "·" for c in cells)])
    totals = [int(counts.loc[d].sum()) if d in counts.index else 0 for d, _ in DECISION_COLUMNS]
    rows.append(["**all fields**", *(f"**{t:,}**" for t in totals)])
    return _table(["field", *(label for _, label in DECISION_COLUMNS)], rows)


def _naive(naive: Mapping[str, int]) -> list[str]:
    if not naive:
        return ["Nothing: the export matched no contact."]
    return [
        f"- {NAIVE_LABELS.get(name, name.replace('_', ' '))}: **{int(value):,}**"
        for name, value in naive.items()
    ]


def _conflicts(plan: ImpactPlan, limit: int, report: str) -> list[str]:
    conflicts = plan.changes[plan.changes["decision"] == Decision.CONFLICT]
    if conflicts.empty:
        return ["No conflicts."]
    shown = conflicts.head(limit)
    masked = {
        c: mask_values(shown["field"], shown[c]) for c in ("db_value", "kajabi_value", "base_value")
    }
    emails = mask_email(shown["email"])
    rows = [
        [
            escape_markdown(emails[i]),
            f"`{shown.at[i, 'field']}`",
            escape_markdown(masked["db_value"][i]),
            escape_markdown(masked["kajabi_value"][i]),
            escape_markdown(masked["base_value"][i]),
        ]
        for i in shown.index
    ]
    lines = _table(
        ["contact", "field", "database (kept)", "Kajabi now", "Kajabi last import"], rows
    )
    if len(conflicts) > limit:
        lines += ["", f"… and {len(conflicts) - limit:,} more in {code_span(report)}."]
    return lines


def _held(plan: ImpactPlan, limit: int) -> list[str]:
    held = plan.held
    if held.empty or "email" not in held:
        return ["No duplicate candidates held."]
    shown = candidates_for_display(held.head(limit))  # emails and phones masked, evidence too
    rows = [
        [
            escape_markdown(new),
            escape_markdown(old),
            "" if pd.isna(score) else f"{float(score):.2f}",
            escape_markdown(evidence),
        ]
        for new, old, score, evidence in zip(
            shown["email"], shown["existing_email"], shown["score"], shown["evidence"], strict=False
        )
    ]
    lines = _table(["new Kajabi email", "looks like", "score", "evidence"], rows)
    if len(held) > limit:
        lines += ["", f"… and {len(held) - limit:,} more."]
    lines += [
        "",
        "Decide each in the review file: `merge` (same person) or `release` (a new contact).",
    ]
    return lines


def impact_summary(
    plan: ImpactPlan,
    previous: Mapping | None,
    reports: Mapping[str, str],
    *,
    title: str = "This week's Kajabi import",  # markdown: escape untrusted parts (code_span)
    review_limit: int = 10,
    review_file: str | None = None,
) -> str:
    """The markdown summary: headline, this week vs ``previous`` (an ``import_runs`` row, e.g.
    ``previous_import(recent_runs(conn))``; None before the first import), decisions per field,
    what a naive import would have destroyed, what needs review (masked, at most
    ``review_limit`` rows each), and ``reports`` ({what it is: path}) for the full detail.
    ``review_file``: the week's ``needs_review.csv``, named with the command that applies it."""
    figures = week_figures(plan)
    impact_report = next(iter(reports.values()), "import_impact_analysis.csv")
    needs = counts_by_kind(review_items(plan))
    lines = [f"## {title}", "", *_headline(figures, plan.naive, needs, review_file), ""]
    lines += ["### This week vs last week", "", *_week_over_week(figures, previous), ""]
    lines += ["### Decisions per field", "", *_decisions_by_field(plan), ""]
    lines += [
        "### What a naive import would have destroyed",
        "",
        "The old `COALESCE(kajabi, database)` import, on the same export:",
        "",
        *_naive(plan.naive),
        "",
    ]
    lines += [
        f"### Conflicts to review ({figures['conflict']:,})",
        "",
        *_conflicts(plan, review_limit, impact_report),
        "",
    ]
    lines += [
        f"### Duplicate candidates held ({figures['held_for_review']:,})",
        "",
        *_held(plan, review_limit),
        "",
    ]
    lines += ["### Full reports", ""]
    lines += [f"- {escape_markdown(what)}: {code_span(path)}" for what, path in reports.items()]
    return "\n".join(lines) + "\n"

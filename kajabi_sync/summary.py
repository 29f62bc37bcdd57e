"""The Monday-morning summary of ``impact_analysis``: what this week's import will do, what it
protected, and what needs a person, as markdown for the Dagster UI (and ``kajabi-sync plan``).

Pure: it reads the plan and last week's stored counts, nothing else. Personal data is masked
(the full detail is in the 0600 CSV reports it points to), and every cell taken from the export
is escaped, because a Kajabi sign-up form is free text and must not be able to inject markdown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.guards.result import GuardResult, passes_when
from kajabi_sync.kajabi.enriched_export import (
    FULL_EXPORT_NAME,
    NEW_CONTACTS_NAME,
    UPDATES_ONLY_NAME,
)
from kajabi_sync.masking import mask_email, mask_identifier, mask_phone, mask_text
from kajabi_sync.matching.duplicates import HOLD_THRESHOLD
from kajabi_sync.matching.holds import HELD_EARLIER, candidates_for_display
from kajabi_sync.reports import DUPLICATE_CANDIDATES_REPORT, REJECTS_REPORT, week_file_name
from kajabi_sync.review.items import REVIEW_FILE, counts_by_kind, review_items
from kajabi_sync.review.kinds import KINDS
from kajabi_sync.survivorship.decisions import DIVERGENT_DECISIONS, EMAIL_DECISIONS, Decision
from kajabi_sync.survivorship.plan import ImpactPlan
from kajabi_sync.survivorship.report import IMPACT_REPORT, divergence_by_field, plan_figures

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
    ("divergence", "divergence (values that really differ)"),
    ("cosmetic", "differences in format only (case, spacing, phone)"),
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

PLANNED, BLOCKED, APPLIED = "planned", "blocked", "applied"


@dataclass(frozen=True)
class Verdict:
    """Where the week stands: planned (nothing checked or written yet), blocked by the guards
    (nothing written), or applied (``import_run_id`` written ``fields_written`` fields and
    created ``contacts_created`` contacts). ``results``: the guards' results, when they ran."""

    status: str = PLANNED
    results: Sequence[GuardResult] = ()
    import_run_id: int | None = None
    fields_written: int | None = None
    contacts_created: int | None = None
    # How to let a blocked week through (the fenced Launchpad config), or "" when it cannot be.
    override_help: str = ""

    @property
    def blocking(self) -> list[GuardResult]:
        return [r for r in self.results if r.blocks]

    @property
    def warnings(self) -> list[GuardResult]:
        return [r for r in self.results if not r.blocking and not r.passed]


def blocked_reason(result: GuardResult) -> str:
    """One failed check in a sentence: the name, what it measured against its limit."""
    measured = "could not be measured" if result.value is None else f"measured {result.value:,}"
    return f"{result.name} ({measured}, {passes_when(result)}): {result.explanation}"


def verdict_lines(verdict: Verdict, figures: Mapping[str, int]) -> list[str]:
    """The summary's first lines: BLOCKED / APPLIED / PLANNED, why, and what to do next."""
    if verdict.status == BLOCKED:
        names = ", ".join(code_span(r.name) for r in verdict.blocking)
        lines = [
            f"**BLOCKED** by {names}: **nothing was written** this week.",
            "",
            *[f"- {escape_markdown(blocked_reason(r))}" for r in verdict.blocking],
        ]
        if verdict.override_help:
            lines += ["", verdict.override_help]
    elif verdict.status == APPLIED:
        run = verdict.import_run_id
        lines = [
            f"**APPLIED** as import run {run}: wrote {verdict.fields_written or 0:,} fields "
            f"({figures['fill']:,} fills, {figures['update']:,} updates) and created "
            f"{verdict.contacts_created or 0:,} contacts (new sign-ups in Kajabi). "
            f"To undo the whole week: `kajabi-sync rollback {run} --yes`.",
        ]
    else:
        lines = [
            "**PLANNED**, nothing written yet: the checks run next, and the write only if they "
            "all pass."
        ]
    for warning in verdict.warnings:
        lines += [
            "",
            f"- Warning, {code_span(warning.name)}: {escape_markdown(warning.explanation)}",
        ]
    return lines


# What each file of the enriched export is for, by its logical name (files may be split in parts).
KAJABI_FILE_LABELS: dict[str, str] = {
    UPDATES_ONLY_NAME: "import this into Kajabi (People → Import): the contacts where the "
    "database knows better",
    NEW_CONTACTS_NAME: "database contacts Kajabi does not have yet (not this week's "
    "Kajabi sign-ups, which are the new contacts above)",
    FULL_EXPORT_NAME: "every contact both systems have, with the database's values",
}


def report_links(
    folder: Path, week: str | None, kajabi_files: Mapping[str, Sequence[Path | str]] | None = None
) -> dict[str, str]:
    """{what it is: path} of a week's reports in its own folder, the impact report first.
    ``kajabi_files``: the enriched export's files by logical name, once they are written."""
    links = {
        "every decision, with its reason": folder / week_file_name(IMPACT_REPORT, week),
        "what needs you (fill and apply)": review_file_path(folder, week),
        "duplicate candidates": folder / week_file_name(DUPLICATE_CANDIDATES_REPORT, week),
        "rows rejected by validation": folder / week_file_name(REJECTS_REPORT, week),
    }
    for name, paths in (kajabi_files or {}).items():
        label = KAJABI_FILE_LABELS.get(name, name)
        for part, path in enumerate(paths, start=1):
            links[label if len(paths) == 1 else f"{label} (part {part})"] = Path(path)
    return {what: str(path) for what, path in links.items()}


def review_file_path(folder: Path, week: str | None) -> Path:
    """The week's ``needs_review_<week>.csv`` in its report folder."""
    return folder / week_file_name(REVIEW_FILE, week)


def week_figures(plan: ImpactPlan) -> dict[str, int]:
    """This week's figures in ``WEEK_FIGURES`` names (``plan_figures`` plus the divergence)."""
    figures = dict(plan_figures(plan))
    # Real divergence, over the contacts present in both systems; format-only apart.
    figures["divergence"] = int(sum(divergence_by_field(plan).values())) - figures["cosmetic"]
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
    figures["divergence"] = int(
        sum(int(decisions.get(d, 0)) for d in DIVERGENCE_DECISIONS if d != "cosmetic")
    )
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
    """Enough of each value to find it in the CSV, not to read it: phones as ``***0101``, ids as
    ``***123``, other text as its first character (``fields`` names each value's field)."""
    text = values.astype("string")
    masked = mask_text(text)
    phones = (fields == "phone").to_numpy(bool)
    masked[phones] = mask_phone(text[phones])
    ids = fields.isin(["kajabi_id", "kajabi_member_id"]).to_numpy(bool)
    masked[ids] = mask_identifier(text[ids])
    return masked


# Preview order: what the import writes, then what needs a person, then what it protected;
# cosmetic differences last.
PREVIEW_ORDER: tuple[str, ...] = (
    Decision.UPDATE,
    Decision.FILL,
    Decision.EMAIL_PROMOTED,
    Decision.CONFLICT,
    Decision.PROTECTED_EDIT,
    Decision.EMAIL_CHANGE,
    Decision.UNATTRIBUTED,
    Decision.PROTECTED,
    Decision.KEPT_DB,
    Decision.KEEP_DB_KAJABI_BLANK,
    Decision.COSMETIC,
)


def changes_preview(changes: pd.DataFrame, limit: int = 20) -> pd.DataFrame:
    """The first ``limit`` changes that matter most (writes and conflicts first), masked."""
    rank = changes["decision"].map({d: i for i, d in enumerate(PREVIEW_ORDER)}).fillna(99)
    order = rank.astype(int).to_numpy().argsort(kind="stable")[:limit]
    shown = changes.iloc[order].reset_index(drop=True)
    return pd.DataFrame(
        {
            "email": mask_email(shown["email"]) if len(shown) else shown["email"],
            "field": shown["field"],
            "decision": shown["decision"],
            "database": mask_values(shown["field"], shown["db_value"]),
            "Kajabi": mask_values(shown["field"], shown["kajabi_value"]),
            "reason": shown["reason"],
        }
    )


def candidates_preview(candidates: pd.DataFrame, limit: int = 20) -> pd.DataFrame:
    """Held duplicate candidates for the UI: masked, the score rounded, and why each was held
    in its own words (the score and the evidence that matched)."""
    shown = candidates_for_display(candidates.head(limit)).reset_index(drop=True)
    score = pd.to_numeric(shown["score"], errors="coerce").round(2)
    evidence = shown["evidence"].astype("string").fillna("")
    held_earlier = (shown["why_held"].astype("string") == HELD_EARLIER).fillna(False)
    why = [
        f"held since an earlier import, waiting for you: {said}"
        if earlier
        else f"score {'?' if pd.isna(value) else f'{value:.2f}'} ≥ {HOLD_THRESHOLD:.2f} "
        f"against this contact: {said}"
        for value, said, earlier in zip(score, evidence, held_earlier, strict=True)
    ]
    return pd.DataFrame(
        {
            "new Kajabi email": shown["email"],
            "looks like": shown["existing_email"],
            "score": score,
            "why held": pd.Series(why, index=shown.index, dtype="string"),
        }
    )


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


# (write, create) in the tense of each verdict: before the checks, blocked, after the apply.
_TENSES: dict[str, tuple[str, str]] = {
    PLANNED: ("Will write", "create"),
    BLOCKED: ("Would have written", "created"),
    APPLIED: ("Wrote", "created"),
}


def _headline(
    figures: Mapping[str, int],
    naive: Mapping[str, int],
    needs: Mapping[str, int],
    review_file: str | None,
    status: str = PLANNED,
) -> list[str]:
    write, create = _TENSES[status]
    lines = [
        f"- **{write} {figures['fields_to_write']:,} fields** ({figures['fill']:,} fills, "
        f"{figures['update']:,} updates) and **{create} {figures['new_contacts']:,} contacts** "
        "(new sign-ups in Kajabi), "
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


def file_warnings(warnings: Sequence[str]) -> list[str]:
    """What reading and validating the file reported (``ValidatedExport.warnings``: encoding,
    quarantined rows, placeholders, missing columns...): counts, row numbers and column names,
    never values."""
    if not warnings:
        return []
    return ["### Read from the file", "", *(f"- {escape_markdown(w)}" for w in warnings), ""]


def impact_summary(
    plan: ImpactPlan,
    previous: Mapping | None,
    reports: Mapping[str, str],
    *,
    title: str = "This week's Kajabi import",  # markdown: escape untrusted parts (code_span)
    review_limit: int = 10,
    review_file: str | None = None,
    verdict: Verdict | None = None,
    export_warnings: Sequence[str] = (),
    needs: Mapping[str, int] | None = None,
) -> str:
    """The markdown summary: headline, this week vs ``previous`` (an ``import_runs`` row, e.g.
    ``previous_import(recent_runs(conn))``; None before the first import), decisions per field,
    what a naive import would have destroyed, what needs review (masked, at most
    ``review_limit`` rows each), and ``reports`` ({what it is: path}) for the full detail.
    ``review_file``: the week's ``needs_review.csv``, named with the command that applies it.
    It begins with the ``verdict`` (default: planned, nothing checked yet), in its tense.
    ``export_warnings``: what reading and validating the file reported (``file_warnings``).
    ``needs``: the plan's open review items by kind, ``counts_by_kind(review_items(plan))``,
    from a caller that has the items already (made from ``plan`` when not given)."""
    verdict = verdict or Verdict()
    figures = week_figures(plan)
    impact_report = next(iter(reports.values()), "import_impact_analysis.csv")
    if needs is None:
        needs = counts_by_kind(review_items(plan))
    lines = [f"## {title}", "", *verdict_lines(verdict, figures), ""]
    lines += [*_headline(figures, plan.naive, needs, review_file, verdict.status), ""]
    lines += file_warnings(export_warnings)
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

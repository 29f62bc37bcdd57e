"""The impact report: the plan as a CSV a person can read, and its summary figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.frames import concat_rows
from kajabi_sync.reports import week_file_name, write_csv
from kajabi_sync.survivorship.decisions import (
    DIVERGENT_DECISIONS,
    EMAIL_DECISIONS,
    FIELD_DECISIONS,
    WRITE_DECISIONS,
    Decision,
)
from kajabi_sync.survivorship.plan import ImpactPlan

IMPACT_REPORT = "import_impact_analysis.csv"
REPORT_COLUMNS = [
    "email",
    "contact_id",
    "field",
    "db_value",
    "kajabi_value",
    "base_value",
    "decision",
    "reason",
    "row_number",
]


def write_impact_report(plan: ImpactPlan, reports_dir: Path, week: str | None = None) -> Path:
    """``import_impact_analysis_<week>.csv``: one row per (contact, field) that is not
    unchanged, plus one row per new contact (field ``(contact)``, decision ``new_contact``)."""
    new = plan.new_contacts.assign(
        field="(contact)",
        db_value=pd.NA,
        kajabi_value=plan.new_contacts["email"],
        base_value=pd.NA,
        decision=Decision.NEW_CONTACT.value,
        reason="new in Kajabi: no live contact, other address or Kajabi ID matched",
    )
    parts = [frame[REPORT_COLUMNS] for frame in (plan.changes, new) if len(frame)]
    rows = concat_rows(parts) if parts else plan.changes[REPORT_COLUMNS]
    return write_csv(rows, reports_dir / week_file_name(IMPACT_REPORT, week))


def plan_figures(plan: ImpactPlan) -> dict[str, int]:
    """The headline numbers, one per decision and the row counts, for metadata and checks."""
    counts = plan.changes["decision"].value_counts()
    figures = {
        "export_rows": plan.export_rows,
        "matched_contacts": plan.matched_contacts,
        "new_contacts": len(plan.new_contacts),
        "held_for_review": len(plan.held),
        "fields_to_write": int(counts.reindex(list(WRITE_DECISIONS), fill_value=0).sum()),
    }
    for decision in (*FIELD_DECISIONS[1:], *EMAIL_DECISIONS):
        figures[decision.value] = int(counts.get(decision.value, 0))
    return figures


def divergence_by_field(plan: ImpactPlan) -> dict[str, int]:
    """Fields where the database and Kajabi still disagree after this import (it keeps the
    database's value): what the enriched export is there to send to Kajabi."""
    kept = plan.changes[plan.changes["decision"].isin(DIVERGENT_DECISIONS)]
    counts = kept["field"].value_counts()
    return {f: int(counts.get(f, 0)) for f in CONTACT_FIELDS}

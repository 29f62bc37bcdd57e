"""The impact_analysis markdown summary, from hand-made plans (no database, no Dagster)."""

from __future__ import annotations

import json
import re
from datetime import date

import pandas as pd

from kajabi_sync.summary import (
    escape_markdown,
    impact_summary,
    previous_import,
    run_figures,
    week_figures,
)
from kajabi_sync.survivorship.plan import CHANGE_COLUMNS, ImpactPlan

REPORTS = {"impact report": "/srv/data/current/import_impact_analysis.csv"}


def change(email: str, field: str, decision: str, db=None, kajabi=None, base=None) -> dict:
    return dict(
        row_number=2,
        email=email,
        contact_id="c-" + email,
        field=field,
        db_value=db,
        kajabi_value=kajabi,
        base_value=base,
        decision=decision,
        reason="why",
        protected=decision == "protected",
    )


def plan(
    *changes: dict, new: int = 0, held: pd.DataFrame | None = None, export_rows: int = 100
) -> ImpactPlan:
    frame = pd.DataFrame(list(changes), columns=CHANGE_COLUMNS)
    return ImpactPlan(
        changes=frame,
        matches=pd.DataFrame(),
        new_contacts=pd.DataFrame(
            {
                "contact_id": [f"n{i}" for i in range(new)],
                "email": [f"n{i}@x.org" for i in range(new)],
            }
        ),
        new_bases=pd.DataFrame(),
        naive={"values_overwritten": 42, "merged_duplicates_recreated": 3},
        export_rows=export_rows,
        matched_contacts=export_rows - new,
        provenance=pd.DataFrame(),
        held=held if held is not None else pd.DataFrame(),
    )


WEEK = plan(
    change("ann@example.com", "city", "fill", kajabi="Denver"),
    change("ann@example.com", "first_name", "update", db="Ann", kajabi="Anne", base="Ann"),
    change("bob@example.com", "first_name", "protected", db="Robert", kajabi="Bob"),
    change(
        "bob@example.com",
        "phone",
        "conflict",
        db="+13035550101",
        kajabi="+13035550199",
        base="+13035550000",
    ),
    change("cat@example.com", "last_name", "conflict", db="Smith", kajabi="Smyth", base="Smit"),
    new=2,
)
LAST_WEEK = {
    "id": 7,
    "kind": "import",
    "export_date": date(2025, 11, 3),
    "partition_key": "2025-11-03",
    "export_rows": 98,
    "counts": json.dumps(
        {
            "decisions": {"fill": 4, "protected": 1, "conflict": 0},
            "fields_written": 4,
            "contacts_created": 5,
            "held_for_review": 0,
        }
    ),
}


def table_row(markdown: str, label: str) -> list[str]:
    line = next(ln for ln in markdown.splitlines() if ln.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def test_headline_says_what_it_will_do_protect_and_what_needs_a_person():
    text = impact_summary(WEEK, LAST_WEEK, REPORTS)
    assert "**Will write 2 fields** (1 fills, 1 updates) and **create 2 contacts**" in text
    assert "**Protected 1 values**" in text and "overwritten 42 values" in text
    assert "**Needs you: 2** (2 conflicts)" in text
    assert "kajabi-sync resolve" not in text  # no review file named, no command to name


def test_needs_you_names_the_review_file_and_the_command_that_applies_it():
    text = impact_summary(WEEK, LAST_WEEK, REPORTS, review_file="/data/current/needs_review.csv")
    assert "**Needs you: 2** (2 conflicts)" in text
    assert "`/data/current/needs_review.csv`" in text
    assert "`kajabi-sync resolve /data/current/needs_review.csv`" in text


def test_this_week_against_last_week_with_the_change():
    text = impact_summary(WEEK, LAST_WEEK, REPORTS)
    assert "last import (run 7, 2025-11-03)" in text  # a date, else a code span
    assert table_row(text, "fills (database empty)") == ["fills (database empty)", "1", "4", "-3"]
    assert table_row(text, "conflicts (both changed)") == [
        "conflicts (both changed)",
        "2",
        "0",
        "+2",
    ]
    assert table_row(text, "new contacts") == ["new contacts", "2", "5", "-3"]
    assert table_row(text, "rows in the export") == ["rows in the export", "100", "98", "+2"]
    # protected + 2 conflicts this week; last week protected 1 + conflict 0
    assert table_row(text, "divergence (values that really differ)")[1:] == ["3", "1", "+2"]
    # Format-only differences are counted apart, never as divergence.
    cosmetic = plan(*WEEK.changes.to_dict("records"), change("dan@example.com", "city", "cosmetic"))
    text = impact_summary(cosmetic, LAST_WEEK, REPORTS)
    assert table_row(text, "divergence (values that really differ)")[1] == "3"
    assert table_row(text, "differences in format only (case, spacing, phone)")[1] == "1"


def test_first_import_has_nothing_to_compare_with():
    text = impact_summary(WEEK, None, REPORTS)
    assert "No earlier import to compare with" in text
    assert table_row(text, "fills (database empty)") == ["fills (database empty)", "1", "–", ""]


def test_decisions_per_field_table_has_every_field_and_totals():
    text = impact_summary(WEEK, None, REPORTS)
    header = table_row(text, "field")
    assert header[:4] == ["field", "fill", "update", "protected"]
    first_name = table_row(text, "`first_name`")
    assert (
        first_name[header.index("update")] == "1" and first_name[header.index("protected")] == "1"
    )
    assert table_row(text, "`state`")[1:] == ["·"] * (len(header) - 1)
    assert table_row(text, "**all fields**")[header.index("conflict")] == "**2**"


def test_naive_import_losses_are_listed():
    text = impact_summary(WEEK, None, REPORTS)
    assert "- field values overwritten: **42**" in text
    assert "- merged duplicates brought back: **3**" in text


def test_conflicts_are_masked_and_point_to_the_report():
    text = impact_summary(WEEK, None, REPORTS, review_limit=1)
    conflicts = text.split("### Conflicts to review (2)")[1].split("###")[0]
    assert "bo\\*\\*\\*@example.com" in conflicts  # escaped bo***@example.com
    assert "bob@example.com" not in text and "+13035550101" not in text
    assert "\\*\\*\\*0101" in conflicts and "\\*\\*\\*0199" in conflicts
    assert (
        "cat" not in conflicts
        and "… and 1 more in `/srv/data/current/import_impact_analysis.csv`" in conflicts
    )
    assert "- impact report: `/srv/data/current/import_impact_analysis.csv`" in text


def test_held_duplicate_candidates_are_masked():
    held = pd.DataFrame(
        {
            "email": ["jane.d@gmail.com"],
            "existing_email": ["jane@work.org"],
            "score": [0.9312],
            "evidence": ["same phone +13035550101; same name"],
        }
    )
    text = impact_summary(plan(held=held), None, REPORTS)
    section = text.split("### Duplicate candidates held (1)")[1]
    assert (
        "ja\\*\\*\\*@gmail.com" in section
        and "ja\\*\\*\\*@work.org" in section
        and "0.93" in section
    )
    assert "same phone \\*\\*\\*0101; same name" in section
    assert "jane.d@" not in text and "jane@work" not in text and "5550101" not in text
    assert "Needs you: 1" in text


def test_export_text_cannot_inject_markdown():
    hostile = "[click](https://evil.example)|<img src=x>\n# heading"
    text = impact_summary(
        plan(change("eve@example.com", "city", "conflict", db=hostile, kajabi=hostile)),
        None,
        REPORTS,
    )
    assert "](https" not in text and "<img" not in text and "\n# heading" not in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ev")]
    assert (
        len(rows) == 1 and len(re.findall(r"(?<!\\)\|", rows[0])) == 6
    )  # five cells, no extra column


def test_escape_markdown_flattens_and_escapes():
    assert escape_markdown("a|b\n*c*") == "a\\|b \\*c\\*"
    assert escape_markdown(None) == "" and escape_markdown(pd.NA) == ""


def test_week_figures_and_stored_run_figures_use_the_same_names():
    figures = week_figures(WEEK)
    stored = run_figures(LAST_WEEK)
    assert figures["divergence"] == 3 and figures["fields_to_write"] == 2
    assert {
        "fill",
        "update",
        "conflict",
        "divergence",
        "fields_to_write",
        "new_contacts",
        "export_rows",
    } <= set(stored)
    assert run_figures(None) is None


def test_previous_import_is_the_newest_standing_import_before_this_export():
    runs = pd.DataFrame(
        [
            dict(id=9, kind="merge", export_date=None, rolled_back_at=None),
            dict(
                id=8, kind="import", export_date=date(2025, 11, 10), rolled_back_at=None
            ),  # this week's own
            dict(
                id=6,
                kind="import",
                export_date=date(2025, 11, 3),
                rolled_back_at=pd.Timestamp("2025-11-04"),
            ),
            dict(id=5, kind="import", export_date=date(2025, 10, 27), rolled_back_at=None),
            dict(id=4, kind="import", export_date=date(2025, 10, 20), rolled_back_at=None),
        ]
    )
    assert previous_import(runs, date(2025, 11, 10))["id"] == 5
    assert previous_import(runs)["id"] == 8
    assert previous_import(runs, date(2025, 10, 20)) is None
    assert previous_import(runs.iloc[0:0]) is None


def test_the_verdict_comes_first_in_the_tense_of_what_happened():
    from kajabi_sync.guards.result import GuardResult
    from kajabi_sync.summary import APPLIED, BLOCKED, Verdict

    truncated = GuardResult(
        "truncated_export", False, True, 212, 382, "a drop of at most 10%", "The file has 212 rows."
    )
    warned = GuardResult("conflicts_for_review", False, False, 2, 0, "at most 0", "2 conflicts.")

    def after_title(verdict) -> str:
        return impact_summary(WEEK, LAST_WEEK, REPORTS, verdict=verdict).split("\n\n", 1)[1]

    planned = after_title(Verdict())
    assert planned.startswith("**PLANNED**, nothing written yet")
    assert "**Will write 2 fields**" in planned

    blocked = after_title(Verdict(BLOCKED, (truncated, warned), override_help="```yaml\nops:\n```"))
    assert blocked.startswith("**BLOCKED** by `truncated_export`: **nothing was written**")
    assert "measured 212, passes at 382 or more" in blocked
    assert "```yaml\nops:\n```" in blocked  # the override, verbatim
    assert "Warning, `conflicts_for_review`: 2 conflicts." in blocked
    assert "**Would have written 2 fields**" in blocked

    applied = after_title(
        Verdict(APPLIED, (), import_run_id=8, fields_written=2, contacts_created=2)
    )
    assert applied.startswith("**APPLIED** as import run 8: wrote 2 fields (1 fills, 1 updates)")
    assert "`kajabi-sync rollback 8 --yes`" in applied and "**Wrote 2 fields**" in applied
    assert "Will write" not in applied

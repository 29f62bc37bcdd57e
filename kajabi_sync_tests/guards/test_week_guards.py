"""Each guard on a real week: a Kajabi file read, validated and planned against the real
database, then ``check_week``, the function behind the weekly job's checks, without Dagster.

How a blocking result stops the job (nothing written, the run's tags, its failure message, the
week's summary) is the same code for every guard, proven through whole job runs in
defs/test_checks.py; here each guard's measure is proven on the week that trips it, with the
words a person reads for it (the check's description, the failure's first line, the summary).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg

from kajabi_sync import settings
from kajabi_sync.defs.checks import blocked_failure, describe
from kajabi_sync.guards.result import GuardResult
from kajabi_sync.guards.thresholds import load_thresholds
from kajabi_sync.guards.week import check_week
from kajabi_sync.kajabi import read_kajabi_export, validate_export
from kajabi_sync.summary import BLOCKED, Verdict, verdict_lines
from kajabi_sync.survivorship.plan import ImpactPlan
from kajabi_sync.survivorship.plan_settings import load_plan_settings
from kajabi_sync.weekly_plan import plan_week
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.guards.weeks import (
    PEOPLE,
    WEEK_1,
    WEEK_2,
    everyone,
    new_person,
    person,
    seed,
    truncate_file,
    write_export,
)

# Blocking guards: their checks fail with ERROR severity and stop the write (the others warn).
BLOCKING = {
    "overwrite_volume",
    "protected_overwrites",
    "truncated_export",
    "rejected_rows",
    "missing_columns",
    "duplicate_recreation",
    "new_contact_surge",
    "stale_export",
    "earlier_export_pending",
}


def week_guards(
    db_url: str, export: Path, adjust: Callable[[ImpactPlan], None] | None = None
) -> dict[str, GuardResult]:
    """name -> result of every guard for ``export``, planned as ``impact_analysis`` plans it
    (default settings and thresholds); ``adjust`` may change the plan before the guards."""
    validated = validate_export(read_kajabi_export(export))
    with psycopg.connect(db_url) as conn:
        plan = plan_week(conn, validated.frame, load_plan_settings()).plan
    if adjust is not None:
        adjust(plan)
    with psycopg.connect(db_url) as conn:  # the facts are read in a transaction of their own
        results = check_week(
            conn,
            plan,
            validated,
            export.parent,
            load_thresholds(),
            first_week=settings.first_week(),
        )
    return {r.name: r for r in results}


def assert_blocks(results: dict[str, GuardResult], name: str) -> GuardResult:
    """``name`` blocks the week, and says so where a person reads it."""
    result = results[name]
    assert result.blocks and result.blocking and not result.passed
    assert describe(result).startswith("BLOCKED")
    first_line = blocked_failure([result]).splitlines()[0]
    assert first_line.startswith("BLOCKED by ") and name in first_line
    summary = verdict_lines(Verdict(BLOCKED, [result]), {})[0]
    assert summary.startswith("**BLOCKED** by ") and f"`{name}`" in summary
    return result


def test_exactly_the_blocking_guards_block(db_url, data_dir):
    seed(db_url)
    results = week_guards(db_url, write_export(data_dir, WEEK_1, everyone()))
    assert {n for n, r in results.items() if r.blocking} == BLOCKING


def test_a_truncated_export_blocks_against_the_last_applied_export(week_1_db_url, data_dir):
    export = write_export(data_dir, WEEK_2, everyone())
    truncate_file(export)
    result = assert_blocks(week_guards(week_1_db_url, export), "truncated_export")
    assert result.metadata["drop_pct"] == 50.0


def test_a_truncated_first_export_blocks_against_the_contacts_with_a_kajabi_id(db_url, data_dir):
    seed(db_url)
    export = write_export(data_dir, WEEK_1, everyone())
    truncate_file(export)
    result = assert_blocks(week_guards(db_url, export), "truncated_export")
    assert result.metadata["reference_contacts"] == PEOPLE


def test_rejected_rows_above_one_percent_block(db_url, data_dir):
    seed(db_url)
    bad = [{"email": "not-an-email"}, {"email": "also@@bad"}]
    export = write_export(data_dir, WEEK_1, everyone() + bad)
    assert assert_blocks(week_guards(db_url, export), "rejected_rows").value == 2


def test_recreating_a_merged_away_address_blocks(db_url, data_dir):
    seed(db_url)
    # A merge chain: old@ was merged into a contact that was itself merged away (deleted) later.
    (survivor,) = insert_contacts(
        db_url, {"email": "middle@example.com", "deleted_at": "2025-01-01"}
    )
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO kajabi_sync.merged_from (merged_email, surviving_contact_id, reason) "
            "VALUES ('old@example.com', %s, 'duplicate')",
            (survivor,),
        )
    export = write_export(
        data_dir, WEEK_1, everyone() + [{"email": "Old@Example.com", "kajabi_id": "777"}]
    )
    assert_blocks(week_guards(db_url, export), "duplicate_recreation")


def test_a_surge_of_new_contacts_blocks(db_url, data_dir):
    seed(db_url)
    export = write_export(data_dir, WEEK_1, everyone() + [new_person(i) for i in range(12)])
    result = assert_blocks(week_guards(db_url, export), "new_contact_surge")  # 12 of 52
    assert result.limit == 10


def test_an_export_older_than_the_last_applied_one_blocks(week_1_db_url, data_dir):
    export = write_export(data_dir, "2025-11-03", everyone() + [new_person(1)])
    result = assert_blocks(week_guards(week_1_db_url, export), "stale_export")
    assert "older than the last applied export" in result.explanation


def test_a_planned_write_over_a_protected_value_blocks(week_1_db_url, data_dir):
    export = write_export(
        data_dir, WEEK_2, everyone()[:1] + [person(1, last_name="Edited")] + everyone()[2:]
    )

    def survivorship_bug(plan: ImpactPlan) -> None:
        # The one planned update made a protected field that Kajabi never held (its base is
        # another value), i.e. a stale Kajabi value.
        update = plan.changes["decision"] == "update"
        assert update.sum() == 1
        plan.changes.loc[update, "protected"] = True
        plan.changes.loc[update, "base_value"] = "Someone Else"

    results = week_guards(week_1_db_url, export, survivorship_bug)
    assert_blocks(results, "protected_overwrites")
    assert results["overwrite_volume"].passed  # one update is no volume problem

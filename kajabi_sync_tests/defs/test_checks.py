"""The guards through the real weekly job: each blocks a dangerous week, passes a clean one.

A blocked week must leave the database byte-for-byte as it was and skip the write and
everything after it, while the plan (and its reports) is still computed for inspection.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml

from kajabi_sync import weekly_plan
from kajabi_sync.definitions import defs as code_location
from kajabi_sync.defs.checks import GUARDS_OP, REASON_PLACEHOLDER, GuardConfig
from kajabi_sync.defs.jobs import weekly_kajabi_sync
from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
from kajabi_sync.defs.week_status import BLOCKED_BY_TAG, VERDICT_TAG
from kajabi_sync.guards.evaluate import GUARDS
from kajabi_sync.guards.thresholds import FIELDS
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv

WEEK_1, WEEK_2 = "2025-11-10", "2025-11-17"
PEOPLE = 40
WRITE_AND_AFTER = {"protected_contacts", "kajabi_enriched_export"}
TABLES = (
    "contacts",
    "contact_emails",
    "kajabi_sync.import_runs",
    "kajabi_sync.field_changes",
    "kajabi_sync.kajabi_base",
    "kajabi_sync.kajabi_base_history",
    "kajabi_sync.merged_from",
)


def person(i: int, **changes) -> dict:
    row = {
        "email": f"person{i}@example.com",
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "kajabi_id": str(1000 + i),
    }
    return {**row, **changes}


def new_person(i: int) -> dict:
    return {"email": f"newbie{i}@example.com", "first_name": f"New{i}", "kajabi_id": str(5000 + i)}


def seed(db_url: str, people: int = PEOPLE) -> None:
    insert_contacts(db_url, *(person(i) for i in range(people)))


def write_export(data_dir, day: str, rows: list[dict]):
    return kajabi_csv(data_dir / "kajabi_exports" / f"kajabi_contacts_{day}.csv", *rows)


def everyone() -> list[dict]:
    """The seeded people as Kajabi sends them: the first one without a last name, so every week's
    plan lists at least one field (impact_analysis cannot mask an empty change list)."""
    return [person(0, last_name=None)] + [person(i) for i in range(1, PEOPLE)]


def run_week(
    db_url, data_dir, partition: str, run_config: dict | None = None
) -> dg.ExecuteInProcessResult:
    definitions = dg.Definitions(
        assets=code_location.assets,
        asset_checks=code_location.asset_checks,
        jobs=[weekly_kajabi_sync],
        resources={
            "database": ContactsDatabase(url=db_url),
            "data_folder": DataFolder(path=str(data_dir)),
        },
    )
    job = definitions.resolve_job_def("weekly_kajabi_sync")
    # Its storage in the test's folder: an instance left to make its own temporary folder
    # would delete it only when garbage-collected (a ResourceWarning).
    instance = dg.DagsterInstance.ephemeral(tempdir=str(Path(data_dir).parent / "dagster"))
    result = job.execute_in_process(
        partition_key=partition,
        run_config=run_config or {},
        raise_on_error=False,
        instance=instance,
    )
    run = instance.get_run_by_id(result.run_id)
    RUN_TAGS[result.run_id] = dict(run.tags) if run else {}
    return result


# The tags each run ended with (the run sets its verdict on itself while it runs).
RUN_TAGS: dict[str, dict[str, str]] = {}


def override(**config) -> dict:
    return {"ops": {GUARDS_OP: {"config": config}}}


def checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialised(result) -> set[str]:
    return {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}


def launchpad_snippet(description: str) -> str:
    """The fenced YAML block of a check's description (markdown keeps a block verbatim)."""
    return description.split("```yaml\n", 1)[1].split("\n```", 1)[0]


def failure_message(result) -> str:
    """The failed steps' messages as the UI shows them (a Failure's description)."""
    return "\n".join(
        e.step_failure_data.user_failure_data.description
        if e.step_failure_data.user_failure_data
        else e.step_failure_data.error.message
        for e in result.all_events
        if e.is_step_failure
    )


def dump(db_url: str) -> str:
    """Every row of every table an import touches, in a stable order, as text."""
    with psycopg.connect(db_url) as conn:
        return "\n".join(
            f"{table}: {[row[0] for row in conn.execute(f'SELECT t::text FROM {table} t ORDER BY 1')]}"
            for table in TABLES
        )


def assert_blocked_by(result, name: str, before: str, db_url: str) -> None:
    evaluations = checks(result)
    assert not result.success
    assert evaluations[name].passed is False
    assert evaluations[name].severity == dg.AssetCheckSeverity.ERROR
    assert evaluations[name].description.startswith("BLOCKED")
    assert "impact_analysis" in materialised(result)  # the plan stays inspectable
    assert not materialised(result) & WRITE_AND_AFTER
    assert dump(db_url) == before
    # Where one looks: the run's tags, its failure message, the week's summary.
    run_tags = RUN_TAGS[result.run_id]
    assert run_tags.get(VERDICT_TAG) == "blocked"
    assert name in run_tags.get(BLOCKED_BY_TAG, "").split(", ")
    message = failure_message(result)
    assert message.startswith("BLOCKED by ") and name in message.splitlines()[0]
    assert "Traceback" not in message
    summary = week_observation(result, "impact_analysis")["summary"].value
    first = summary.split("\n\n", 1)[1]  # after the title
    assert first.startswith("**BLOCKED** by ") and f"`{name}`" in first.splitlines()[0]
    for asset in WRITE_AND_AFTER:
        assert week_observation(result, asset)["verdict"].value == "BLOCKED"


def week_observation(result, asset: str) -> dict:
    """The metadata of the newest observation the run logged for ``asset``."""
    observed = [
        e.event_specific_data.asset_observation
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION
        and e.event_specific_data.asset_observation.asset_key.path[-1] == asset
    ]
    assert observed, f"no observation of {asset}"
    return observed[-1].metadata


def applied_week_1(db_url, data_dir, extra: list[dict] | None = None) -> None:
    seed(db_url)
    write_export(data_dir, WEEK_1, everyone() + (extra or []))
    assert run_week(db_url, data_dir, WEEK_1).success


def test_the_job_runs_every_guard_and_config_mirrors_the_thresholds():
    job = code_location.resolve_job_def("weekly_kajabi_sync")
    assert {k.name for k in job.asset_layer.asset_graph.asset_check_keys} == {
        g.name for g in GUARDS
    }
    assert set(FIELDS) <= set(GuardConfig.model_fields)


def test_clean_weeks_pass_every_check_and_each_partition_sees_its_own_export(db_url, data_dir):
    seed(db_url)
    write_export(data_dir, WEEK_1, everyone() + [new_person(1), new_person(2)])
    write_export(data_dir, WEEK_2, everyone() + [new_person(1), new_person(2), new_person(3)])

    for partition, rows in ((WEEK_1, PEOPLE + 2), (WEEK_2, PEOPLE + 3)):
        result = run_week(db_url, data_dir, partition)
        evaluations = checks(result)
        assert result.success
        assert set(evaluations) == {g.name for g in GUARDS}
        assert all(e.passed for e in evaluations.values()), {
            n: e.description for n, e in evaluations.items() if not e.passed
        }
        assert {e.partition for e in evaluations.values()} == {partition}
        assert evaluations["rejected_rows"].metadata["file_rows"].value == rows
        assert WRITE_AND_AFTER <= materialised(result)
    with psycopg.connect(db_url) as conn:
        runs = conn.execute(
            "SELECT partition_key, export_rows, overrides FROM kajabi_sync.import_runs ORDER BY id"
        ).fetchall()
    assert runs == [(WEEK_1, PEOPLE + 2, {}), (WEEK_2, PEOPLE + 3, {})]
    # The second week compared itself with the first one's export.
    assert checks(result)["truncated_export"].metadata["reference_contacts"].value == PEOPLE + 2


def test_a_shifted_column_blocks_until_a_deliberate_override_which_is_recorded(db_url, data_dir):
    applied_week_1(db_url, data_dir)
    # The first-name column carries the last names: every contact's first name would change.
    write_export(data_dir, WEEK_2, [person(i, first_name=f"Last{i}") for i in range(PEOPLE)])
    before = dump(db_url)

    blocked = run_week(db_url, data_dir, WEEK_2)
    assert_blocked_by(blocked, "overwrite_volume", before, db_url)
    # The description carries the exact launchpad config; pasted with a reason, it lets the week through.
    snippet = yaml.safe_load(launchpad_snippet(checks(blocked)["overwrite_volume"].description))
    assert snippet == override(max_overwrite_pct=100.1, override_reason=REASON_PLACEHOLDER)

    no_reason = run_week(db_url, data_dir, WEEK_2, override(max_overwrite_pct=100.1))
    assert not no_reason.success and not materialised(no_reason) & WRITE_AND_AFTER
    unchanged = run_week(db_url, data_dir, WEEK_2, snippet)  # pasted, the reason not written
    assert not unchanged.success and not materialised(unchanged) & WRITE_AND_AFTER
    assert REASON_PLACEHOLDER in failure_message(unchanged)
    assert dump(db_url) == before

    reason = "Kajabi fixed swapped names on purpose"
    snippet["ops"][GUARDS_OP]["config"]["override_reason"] = reason
    allowed = run_week(db_url, data_dir, WEEK_2, snippet)
    assert allowed.success
    assert checks(allowed)["overwrite_volume"].metadata["override_reason"].value == reason
    with psycopg.connect(db_url) as conn:
        recorded = conn.execute(
            "SELECT overrides FROM kajabi_sync.import_runs WHERE partition_key = %s", (WEEK_2,)
        ).fetchone()[0]
        first = conn.execute(
            "SELECT first_name FROM contacts WHERE email = 'person3@example.com'"
        ).fetchone()[0]
    assert recorded == {"max_overwrite_pct": 100.1, "override_reason": reason}
    assert first == "Last3"


def truncate_file(path) -> None:
    """Cut a file after half its records, at a line end, as an interrupted download would."""
    lines = path.read_bytes().splitlines(keepends=True)
    header, records = lines[0], lines[1:]
    path.write_bytes(header + b"".join(records[: len(records) // 2]))


def test_a_truncated_export_blocks_against_the_last_applied_export(db_url, data_dir):
    applied_week_1(db_url, data_dir)
    truncate_file(write_export(data_dir, WEEK_2, everyone()))
    before = dump(db_url)
    result = run_week(db_url, data_dir, WEEK_2)
    assert_blocked_by(result, "truncated_export", before, db_url)
    assert checks(result)["truncated_export"].metadata["drop_pct"].value == 50.0


def test_a_truncated_first_export_blocks_against_the_contacts_with_a_kajabi_id(db_url, data_dir):
    seed(db_url)
    truncate_file(write_export(data_dir, WEEK_1, everyone()))
    before = dump(db_url)
    result = run_week(db_url, data_dir, WEEK_1)
    assert_blocked_by(result, "truncated_export", before, db_url)
    assert checks(result)["truncated_export"].metadata["reference_contacts"].value == PEOPLE


def test_rejected_rows_above_one_percent_block(db_url, data_dir):
    seed(db_url)
    write_export(data_dir, WEEK_1, everyone() + [{"email": "not-an-email"}, {"email": "also@@bad"}])
    before = dump(db_url)
    result = run_week(db_url, data_dir, WEEK_1)
    assert_blocked_by(result, "rejected_rows", before, db_url)
    assert checks(result)["rejected_rows"].metadata["value"].value == 2


def test_recreating_a_merged_away_address_blocks(db_url, data_dir):
    seed(db_url)
    # A merge chain: old@ was merged into a contact that was itself merged away (deleted) later.
    survivor = insert_contacts(db_url, {"email": "middle@example.com", "deleted_at": "2025-01-01"})[
        0
    ]
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO kajabi_sync.merged_from (merged_email, surviving_contact_id, reason) "
            "VALUES ('old@example.com', %s, 'duplicate')",
            (survivor,),
        )
    write_export(data_dir, WEEK_1, everyone() + [{"email": "Old@Example.com", "kajabi_id": "777"}])
    before = dump(db_url)
    result = run_week(db_url, data_dir, WEEK_1)
    assert_blocked_by(result, "duplicate_recreation", before, db_url)


def test_a_surge_of_new_contacts_blocks(db_url, data_dir):
    seed(db_url)
    write_export(data_dir, WEEK_1, everyone() + [new_person(i) for i in range(12)])  # 12 of 52
    before = dump(db_url)
    result = run_week(db_url, data_dir, WEEK_1)
    assert_blocked_by(result, "new_contact_surge", before, db_url)
    assert checks(result)["new_contact_surge"].metadata["limit"].value == 10


def test_the_same_file_again_for_its_own_week_passes_and_writes_nothing(db_url, data_dir):
    applied_week_1(db_url, data_dir)
    before = dump(db_url)
    again = run_week(db_url, data_dir, WEEK_1)
    assert again.success
    assert checks(again)["stale_export"].passed
    assert "applied already" in checks(again)["stale_export"].description
    assert dump(db_url) == before


def test_the_same_file_under_another_weeks_name_blocks_the_write_but_not_the_plan(db_url, data_dir):
    applied_week_1(db_url, data_dir)
    before = dump(db_url)
    exports = data_dir / "kajabi_exports"
    (exports / f"kajabi_contacts_{WEEK_2}.csv").write_bytes(
        (exports / f"kajabi_contacts_{WEEK_1}.csv").read_bytes()
    )
    again = run_week(db_url, data_dir, WEEK_2)
    assert_blocked_by(again, "stale_export", before, db_url)
    assert "same SHA-256" in checks(again)["stale_export"].description
    # The blocked week's reports are in its own folder; current/ is still week 1's as applied.
    assert (data_dir / "reports" / WEEK_1 / f"import_impact_analysis_{WEEK_1}.csv").exists()
    assert "week of 2025-11-10" in (data_dir / "current" / "README.txt").read_text()


def test_an_export_older_than_the_last_applied_one_blocks(db_url, data_dir):
    seed(db_url)
    write_export(data_dir, WEEK_2, everyone())
    assert run_week(db_url, data_dir, WEEK_2).success
    write_export(data_dir, WEEK_1, everyone() + [new_person(1)])
    before = dump(db_url)
    result = run_week(db_url, data_dir, WEEK_1)
    assert_blocked_by(result, "stale_export", before, db_url)
    assert "older than the last applied export" in checks(result)["stale_export"].description


def test_a_planned_write_over_a_protected_value_blocks(db_url, data_dir, monkeypatch):
    applied_week_1(db_url, data_dir)
    write_export(
        data_dir, WEEK_2, everyone()[:1] + [person(1, last_name="Edited")] + everyone()[2:]
    )
    real_build_plan = weekly_plan.build_plan

    def buggy_build_plan(*args, **kwargs):
        # Stands for a survivorship bug: the one planned update is a protected field that
        # Kajabi never held (its base is another value), i.e. a stale Kajabi value.
        plan = real_build_plan(*args, **kwargs)
        update = plan.changes["decision"] == "update"
        plan.changes.loc[update, "protected"] = True
        plan.changes.loc[update, "base_value"] = "Someone Else"
        return plan

    monkeypatch.setattr(weekly_plan, "build_plan", buggy_build_plan)
    before = dump(db_url)
    result = run_week(db_url, data_dir, WEEK_2)
    assert_blocked_by(result, "protected_overwrites", before, db_url)
    assert checks(result)["overwrite_volume"].passed  # one update is no volume problem


def test_conflicts_and_growing_divergence_warn_without_stopping_the_write(db_url, data_dir):
    # Week 1 left one diverging field (a last name Kajabi lacks); week 2 lacks 18 more.
    applied_week_1(db_url, data_dir)
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE contacts SET first_name = 'Frank' WHERE email = 'person1@example.com'")
    week_2 = everyone()
    week_2[1] = person(1, first_name="Fred")
    week_2[2:20] = [person(i, last_name=None) for i in range(2, 20)]
    write_export(data_dir, WEEK_2, week_2)
    result = run_week(db_url, data_dir, WEEK_2)
    evaluations = checks(result)
    assert result.success and WRITE_AND_AFTER <= materialised(result)
    for name in ("conflicts_for_review", "divergence_growth"):
        assert evaluations[name].passed is False
        assert evaluations[name].severity == dg.AssetCheckSeverity.WARN
    assert all(
        e.passed
        for n, e in evaluations.items()
        if n not in ("conflicts_for_review", "divergence_growth", "kajabi_converged")
    )


def test_the_demo_s_first_and_second_weeks_pass_every_blocking_check_with_the_defaults(
    db_url, data_dir
):
    from kajabi_sync.demo import DemoSpec, generate_demo

    summary = generate_demo(db_url, data_dir, DemoSpec())
    first, second = summary.exports[:2]
    warned = {}
    for week in (first, second):
        result = run_week(db_url, data_dir, week.export_date.isoformat())
        evaluations = checks(result)
        assert result.success and WRITE_AND_AFTER <= materialised(result)
        assert set(evaluations) == {g.name for g in GUARDS}
        failed = {n: e for n, e in evaluations.items() if not e.passed}
        assert all(e.severity == dg.AssetCheckSeverity.WARN for e in failed.values()), {
            n: e.description for n, e in failed.items()
        }
        warned[week.export_date] = set(failed)
    # Both weeks warn that Kajabi has not converged (the demo never re-imports the enriched
    # export into Kajabi); week 2 also lists the demo's planted both-sides edits for review.
    planted_conflicts = summary.edits["pool"].str.startswith("db_changed").any()
    assert warned == {
        first.export_date: {"kajabi_converged"},
        second.export_date: {"kajabi_converged"}
        | ({"conflicts_for_review"} if planted_conflicts else set()),
    }


def test_require_guards_refuses_a_run_that_skips_the_guards():
    from types import SimpleNamespace

    from kajabi_sync.defs.checks import require_guards

    def context(steps):
        return SimpleNamespace(run=SimpleNamespace(step_keys_to_execute=steps), job_def=None)

    require_guards(context(["impact_analysis", GUARDS_OP, "protected_contacts"]))
    with pytest.raises(dg.Failure, match="nothing was written"):
        require_guards(context(["protected_contacts"]))

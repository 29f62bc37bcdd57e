"""``kajabi_sync.defs.operate``: a week the guards stop, as the run reports it and as
``kajabi-sync status`` lists it from the persistent instance."""

from __future__ import annotations

from kajabi_sync import cli
from kajabi_sync.defs import operate
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.guards.weeks import everyone, new_person, write_export

WEEK = "2025-11-10"


def test_a_blocked_week_is_reported_by_its_run_and_listed_by_status(
    db_url, data_dir, tmp_path, monkeypatch, capsys
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    people = everyone()  # the first without a last name: every week's plan then lists a field
    insert_contacts(db_url, *people)
    surge = [new_person(i) for i in range(12)]  # 12 new of 52: above the 10% limit
    write_export(data_dir, WEEK, people + surge)

    outcome = operate.run_weekly_job(WEEK)

    assert any(p.startswith("check new_contact_surge: ") for p in outcome.problems), outcome
    history = operate.problem_runs(limit=10)
    assert history.found and history.home == home
    (run,) = history.problem_runs
    assert (run.job_name, run.week) == ("weekly_kajabi_sync", WEEK)
    assert "new_contact_surge" in [check.check_name for check in run.blocked]
    assert all(check.why and "\n" not in check.why for check in run.blocked)

    assert cli.main(["status"]) == cli.EXIT_OK
    out = capsys.readouterr().out.split("Dagster runs that failed or were blocked by a check:\n")[1]
    lines = out.splitlines()
    assert lines[0] == f"  run {run.run_id[:8]} (weekly_kajabi_sync, week {WEEK}): {run.status}"
    assert lines[1:] == [f"    blocked by {c.check_name}: {c.why}" for c in run.blocked]

"""``kajabi-sync demo`` runs its last week through the Monday schedule's own RunRequest."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from kajabi_sync import cli
from kajabi_sync.defs.jobs import EXPORT_TAG


@pytest.mark.slow  # generates a demo and runs the weekly job twice
def test_the_demo_runs_its_last_week_as_the_schedule_launches_it(
    db_url, data_dir, tmp_path, monkeypatch, capsys
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)

    assert cli.main(["demo", "--contacts", "400", "--weeks", "2"]) == cli.EXIT_OK

    out = capsys.readouterr().out
    assert (
        "week of 2025-11-17, as weekly_kajabi_sync_schedule launches it on Monday 2025-11-17 "
        "09:00 UTC" in out
    )
    with dg.DagsterInstance.get() as instance:
        runs = [record.dagster_run for record in instance.get_run_records()]
    by_week = {run.tags["dagster/partition"]: run for run in runs}
    assert set(by_week) == {"2025-11-10", "2025-11-17"}
    scheduled = by_week["2025-11-17"]
    assert scheduled.tags.get("dagster/schedule_name") == "weekly_kajabi_sync_schedule"
    assert scheduled.tags[EXPORT_TAG].startswith("kajabi_contacts_2025-11-17.csv:")
    assert scheduled.status == dg.DagsterRunStatus.SUCCESS
    assert "dagster/schedule_name" not in by_week["2025-11-10"].tags
    with psycopg.connect(db_url) as conn:
        applied = conn.execute(
            "SELECT partition_key, dagster_run_id FROM kajabi_sync.import_runs ORDER BY id"
        ).fetchall()
    assert applied[-1] == ("2025-11-17", scheduled.run_id)

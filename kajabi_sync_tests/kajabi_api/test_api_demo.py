"""``kajabi-sync demo --kajabi-api``: the whole loop against the fake, nobody touching a file."""

from __future__ import annotations

import os

import psycopg
import pytest

from kajabi_sync.cli import main


@pytest.mark.slow
def test_the_api_demo_converges_the_week_after_the_push(db_url, data_dir, monkeypatch, capsys):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    before = dict(os.environ)
    assert main(["demo", "--kajabi-api", "--contacts", "600"]) == 0
    out = capsys.readouterr().out
    weeks = [line for line in out.splitlines() if line.startswith("  pulled ")]
    assert len(weeks) == 3, out
    assert "kajabi_converged: warning" in weeks[0]  # before the first push
    assert all("kajabi_converged: clear" in line for line in weeks[1:]), out
    assert dict(os.environ) == before  # the demo's API settings do not leak
    snapshots = sorted(p.name for p in (data_dir / "kajabi_api_demo" / "kajabi_exports").iterdir())
    assert len(snapshots) == 3
    with psycopg.connect(db_url) as conn:
        pulls = conn.execute("SELECT count(*) FROM kajabi_sync.api_pulls").fetchone()[0]
        (overrides,) = conn.execute(
            "SELECT overrides FROM kajabi_sync.push_runs ORDER BY id LIMIT 1"
        ).fetchone()
        sent_twice = conn.execute(
            """SELECT count(*) FROM (SELECT contact_id FROM kajabi_sync.push_outbox
               WHERE status = 'applied' GROUP BY partition_key, contact_id HAVING count(*) > 1) x"""
        ).fetchone()[0]
    assert pulls == 3 and sent_twice == 0
    assert overrides["override_reason"] == "demo: the first push after the enrichment"

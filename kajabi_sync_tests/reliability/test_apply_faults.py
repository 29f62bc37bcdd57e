"""Faults during the apply, against a real PostgreSQL: kill, dropped connection, a rival, a moved database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import kajabi_sync.db.apply as apply_module
from kajabi_sync.db.apply import (
    APPLY_LOCK_KEY,
    ApplyInProgress,
    ApplyInterrupted,
    CommitOutcomeUnknown,
    PlanOutdated,
)
from kajabi_sync.settings import REPO_ROOT
from kajabi_sync_tests.factories import export_frame, insert_contacts
from kajabi_sync_tests.reliability.scenario import (
    CONTACTS,
    NEW_CONTACTS,
    apply_url,
    backend_alive,
    count_rows,
    dump_database,
    plan_for,
    seed_contacts,
    wait_for,
    weekly_export,
)

AUDIT_TABLES = ("kajabi_sync.import_runs", "kajabi_sync.field_changes", "kajabi_sync.kajabi_base")


def _start_child(db_url: str, workdir: Path) -> subprocess.Popen:
    env = {**os.environ, "APPLY_CHILD_DATABASE_URL": db_url}
    return subprocess.Popen(
        [sys.executable, "-m", "kajabi_sync_tests.reliability.apply_child", str(workdir)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _stop_child(child: subprocess.Popen) -> None:
    """Kill the child if it still runs, reap it and close its output pipe."""
    if child.poll() is None:
        child.kill()
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


def _wait_until_paused(child: subprocess.Popen, workdir: Path) -> dict:
    def ready():
        if child.poll() is not None:
            raise AssertionError(f"the apply child exited early:\n{child.stdout.read().decode()}")
        return (workdir / "ready").exists()

    wait_for(ready, "the child to pause inside apply_plan", timeout=300)
    return json.loads((workdir / "ready").read_text())


def _in_flight(db_url: str, pid: int) -> tuple[str, bool, bool]:
    """(state, wrote something, holds the apply lock) of the applying backend."""
    with psycopg.connect(db_url) as conn:
        state, wrote = conn.execute(
            "SELECT state, backend_xid IS NOT NULL FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
        locked = (
            conn.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'advisory' AND objid = %s",
                (pid, APPLY_LOCK_KEY),
            ).fetchone()[0]
            == 1
        )
    return state, wrote, locked


@pytest.fixture
def seeded(db_url: str) -> str:
    seed_contacts(db_url)
    return db_url


def test_sigkill_mid_apply_leaves_the_database_byte_identical(seeded, tmp_path):
    before = dump_database(seeded)
    child = _start_child(seeded, tmp_path)
    try:
        paused = _wait_until_paused(child, tmp_path)
        assert paused["updated"] == CONTACTS  # the UPDATE really ran inside the transaction
        assert _in_flight(seeded, paused["pid"]) == ("idle in transaction", True, True)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=120) == -signal.SIGKILL
    finally:
        _stop_child(child)
    # The server notices the dead client, rolls back and ends the backend.
    wait_for(lambda: not backend_alive(seeded, paused["pid"]), "the orphaned backend to end")

    assert dump_database(seeded) == before
    assert all(count_rows(seeded, table) == 0 for table in AUDIT_TABLES)

    result = apply_url(seeded, plan_for(seeded, weekly_export()))
    assert (result.fields_written, result.contacts_created) == (CONTACTS, NEW_CONTACTS)
    assert count_rows(seeded, "kajabi_sync.import_runs") == 1
    assert count_rows(seeded, "contacts") == CONTACTS + NEW_CONTACTS


def _terminating_after(step, db_url: str, terminated: list):
    """``step`` wrapped: after it ran, another connection terminates the applying backend."""

    def step_then_lose_the_connection(conn, *args):
        out = step(conn, *args)
        pid = conn.info.backend_pid
        with psycopg.connect(db_url, autocommit=True) as admin:
            terminated.append(
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
            )
        wait_for(lambda: not backend_alive(db_url, pid), "the terminated backend to end")
        return out

    return step_then_lose_the_connection


def test_connection_dropped_mid_apply_raises_clearly_and_writes_nothing(seeded, monkeypatch):
    before = dump_database(seeded)
    plan = plan_for(seeded, weekly_export())
    terminated = []
    with monkeypatch.context() as patch:
        patch.setattr(
            apply_module,
            "_update_contacts",
            _terminating_after(apply_module._update_contacts, seeded, terminated),
        )
        with pytest.raises(ApplyInterrupted) as raised:
            apply_url(seeded, plan)
    assert terminated == [True]
    message = str(raised.value)
    assert "connection to the contacts database failed during the apply" in message
    assert "terminating connection due to administrator command" in message  # the server's reason
    assert "nothing was written — run again" in message

    assert dump_database(seeded) == before
    result = apply_url(seeded, plan_for(seeded, weekly_export()))
    assert (result.fields_written, result.contacts_created) == (CONTACTS, NEW_CONTACTS)


def test_connection_dropped_at_commit_says_the_outcome_is_unknown_and_a_rerun_is_safe(
    seeded, monkeypatch
):
    before = dump_database(seeded)
    plan = plan_for(seeded, weekly_export())
    terminated = []
    with monkeypatch.context() as patch:  # the last step before COMMIT
        patch.setattr(
            apply_module,
            "write_bases",
            _terminating_after(apply_module.write_bases, seeded, terminated),
        )
        with pytest.raises(CommitOutcomeUnknown, match="may or may not have been applied"):
            apply_url(seeded, plan)
    assert terminated == [True]
    assert dump_database(seeded) == before  # here the COMMIT never reached the server

    result = apply_url(seeded, plan_for(seeded, weekly_export()))
    assert (result.fields_written, result.contacts_created) == (CONTACTS, NEW_CONTACTS)
    rerun = apply_url(seeded, plan_for(seeded, weekly_export()))
    assert (rerun.fields_written, rerun.contacts_created) == (0, 0)


def test_a_second_apply_refuses_while_the_first_holds_the_lock_and_never_applies_twice(
    seeded, tmp_path
):
    rival_plan = plan_for(seeded, weekly_export())  # made before the first apply changes anything
    child = _start_child(seeded, tmp_path)
    try:
        paused = _wait_until_paused(child, tmp_path)
        assert _in_flight(seeded, paused["pid"])[2]
        before = dump_database(seeded)  # what others see while the first apply is in flight

        with pytest.raises(
            ApplyInProgress, match="another kajabi_sync write .* is running"
        ) as refused:
            apply_url(seeded, rival_plan)
        assert "nothing was written" in str(refused.value)
        assert dump_database(seeded) == before

        (tmp_path / "release").touch()
        assert child.wait(timeout=300) == 0, child.stdout.read().decode()
    finally:
        _stop_child(child)
    first = json.loads((tmp_path / "result.json").read_text())
    assert (first["fields_written"], first["contacts_created"]) == (CONTACTS, NEW_CONTACTS)

    # Retrying the refused plan now must not apply the same export a second time.
    after_first = dump_database(seeded)
    with pytest.raises(PlanOutdated):
        apply_url(seeded, rival_plan)
    assert dump_database(seeded) == after_first
    assert count_rows(seeded, "kajabi_sync.import_runs") == 1
    assert count_rows(seeded, "kajabi_sync.field_changes") == CONTACTS + NEW_CONTACTS
    assert count_rows(seeded, "contacts") == CONTACTS + NEW_CONTACTS


def test_a_contact_changed_between_plan_and_apply_is_named_and_nothing_is_written(seeded):
    plan = plan_for(seeded, weekly_export())
    with psycopg.connect(seeded) as conn:  # a hand correction lands after the plan was made
        moved = [
            conn.execute(
                f"UPDATE contacts SET {change} WHERE email = %s RETURNING id::text", (email,)
            ).fetchone()[0]
            for change, email in [
                ("city = 'Boulder'", "person42@example.com"),
                ("phone_source = 'zoho'", "person7@example.com"),
            ]
        ]
    before = dump_database(seeded)

    with pytest.raises(PlanOutdated) as refused:
        apply_url(seeded, plan)
    message = str(refused.value)
    assert "2 contact(s) changed" in message
    # Named by id with the email masked: the message reaches the Dagster UI.
    assert all(f"pe***@example.com (contact {contact_id})" in message for contact_id in moved)
    assert "person42@example.com" not in message
    assert "nothing was written" in message
    assert dump_database(seeded) == before


def test_a_new_email_created_between_plan_and_apply_refuses_the_apply(db_url):
    insert_contacts(db_url, {"email": "known@example.com", "first_name": "Kim"})
    plan = plan_for(
        db_url,
        export_frame(
            {"email": "known@example.com", "city": "Denver"},
            {"email": "fresh@example.com", "first_name": "Fay"},
        ),
    )
    insert_contacts(db_url, {"email": "fresh@example.com", "first_name": "Fay (added by hand)"})
    before = dump_database(db_url)

    with pytest.raises(PlanOutdated, match="created since the plan"):
        apply_url(db_url, plan)
    assert dump_database(db_url) == before

"""``kill -9`` of the ``dagster`` process alone: its step child must not commit the import.

The real command (``dagster asset materialize``) runs each step in a child process. A
``sitecustomize`` module on the children's path (test-only, nothing in the package) pauses the
apply inside its transaction; the test then kills only the parent, releases the child, and
checks that the child abandoned the apply: no import run, no changed contact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg

from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.reliability.dagster_run import write_export
from kajabi_sync_tests.reliability.scenario import wait_for

PAUSE_HOOK = """
import json, os, sys, time
from pathlib import Path

_WORKDIR = Path(os.environ["KILLED_PARENT_WORKDIR"])


def _install():
    import kajabi_sync.db.apply as apply_module

    original = apply_module._update_contacts

    def update_then_pause(conn):
        updated = original(conn)
        state = {"pid": os.getpid(), "parent": os.getppid(), "updated": updated}
        (_WORKDIR / "ready").write_text(json.dumps(state))
        while not (_WORKDIR / "release").exists():
            time.sleep(0.05)
        return updated

    apply_module._update_contacts = update_then_pause


class _Finder:
    # Patch the module right after the step process imports it.
    def find_spec(self, name, path=None, target=None):
        if name != "kajabi_sync.db.apply":
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module):
            original_exec(module)
            _install()

        loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Finder())
"""


def test_a_step_whose_dagster_parent_was_killed_abandons_the_apply(db_url, tmp_path):
    hook, home, data = tmp_path / "hook", tmp_path / "dagster_home", tmp_path / "data"
    for folder in (hook, home, data / "kajabi_exports"):
        folder.mkdir(parents=True)
    (hook / "sitecustomize.py").write_text(textwrap.dedent(PAUSE_HOOK))
    insert_contacts(db_url, {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "1"})
    write_export(data, {"email": "jane@example.com", "first_name": "Jane", "city": "Denver"})
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
        "KILLED_PARENT_WORKDIR": str(tmp_path),
        "DAGSTER_HOME": str(home),
        "KAJABI_SYNC_DATA_DIR": str(data),
        "KAJABI_SYNC_DATABASE_URL": db_url,
    }
    dagster = Path(sys.executable).parent / "dagster"
    log = tmp_path / "dagster.log"
    with open(log, "wb") as output:
        parent = subprocess.Popen(
            [str(dagster), "asset", "materialize", "-m", "kajabi_sync.definitions"]
            + ["--select", "*", "--partition", "2025-11-10"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: (tmp_path / "ready").exists() or parent.poll() is not None,
            "the apply to pause",
            timeout=400,
        )
        assert parent.poll() is None, log.read_text()[-3000:]
        state = json.loads((tmp_path / "ready").read_text())
        assert state["updated"] == 1 and state["pid"] != parent.pid

        parent.send_signal(signal.SIGKILL)  # the dagster process only, not its children
        parent.wait(timeout=30)
        (tmp_path / "release").write_text("go")
        wait_for(lambda: not _alive(state["pid"]), "the orphaned step to finish", timeout=120)
    finally:
        if parent.poll() is None:
            parent.kill()
        (tmp_path / "release").write_text("go")

    with psycopg.connect(db_url) as conn:
        runs = conn.execute("SELECT count(*) FROM kajabi_sync.import_runs").fetchone()[0]
        city = conn.execute("SELECT city FROM contacts").fetchone()[0]
    assert (runs, city) == (0, None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A finished child of a dead parent is reaped by init; a zombie still answers kill(0).
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()

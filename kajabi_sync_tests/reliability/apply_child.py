"""A separate process that applies a real plan and pauses inside the transaction.

Run as ``python -m kajabi_sync_tests.reliability.apply_child WORKDIR`` with the database URL in
``APPLY_CHILD_DATABASE_URL``. It plans the scenario's weekly export, then calls the real
``apply_plan`` with ``_update_contacts`` wrapped: once the UPDATE has run (contacts changed, the
import run recorded, nothing committed) it writes ``WORKDIR/ready`` (backend pid, rows updated)
and waits for ``WORKDIR/release``. It writes ``WORKDIR/result.json`` when the apply returns.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psycopg

import kajabi_sync.db.apply as apply_module
from kajabi_sync_tests.reliability.scenario import RECORD, plan_for, weekly_export

RELEASE_TIMEOUT_SECONDS = 300


def main(workdir: Path) -> int:
    url = os.environ["APPLY_CHILD_DATABASE_URL"]
    plan = plan_for(url, weekly_export())
    original_update = apply_module._update_contacts

    def update_then_pause(conn: psycopg.Connection) -> int:
        updated = original_update(conn)
        ready = {"pid": conn.info.backend_pid, "updated": updated}
        (workdir / "ready.tmp").write_text(json.dumps(ready))
        os.replace(workdir / "ready.tmp", workdir / "ready")
        deadline = time.monotonic() + RELEASE_TIMEOUT_SECONDS
        while not (workdir / "release").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("never released")
            time.sleep(0.05)
        return updated

    apply_module._update_contacts = update_then_pause
    with psycopg.connect(url) as conn:
        result = apply_module.apply_plan(conn, plan, RECORD)
    (workdir / "result.json").write_text(
        json.dumps(
            {
                "import_run_id": result.import_run_id,
                "fields_written": result.fields_written,
                "contacts_created": result.contacts_created,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

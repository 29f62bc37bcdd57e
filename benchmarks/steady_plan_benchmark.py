"""``plan_week`` on a steady week: the full comparison (``reference=True``) against the steady
path (rows proven unchanged in SQL are not planned in Python, ``db.steady``).

    .venv/bin/python benchmarks/steady_plan_benchmark.py --contacts 100000

Generates the demo (two weekly exports) into a scratch database, plans and applies week 1, then
times both paths on week 2 (the demo's next week: a few Kajabi edits, sign-ups, email changes)
and on week 1 again (nothing changed since its import), checking that the two plans agree on
their figures. The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "kajabi_sync_steady_plan_bench"  # not kajabi_sync_bench*: pipeline_benchmark drops those


def _figures(week) -> tuple:
    plan = week.plan
    return (
        len(plan.changes),
        plan.changes["decision"].value_counts().sort_index().to_dict(),
        len(plan.new_contacts),
        len(plan.held),
        plan.export_rows,
        plan.matched_contacts,
        plan.naive,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()

    from kajabi_sync.db.apply import ImportRecord, apply_plan
    from kajabi_sync.demo import DemoSpec, generate_demo
    from kajabi_sync.kajabi import read_kajabi_export, validate_export
    from kajabi_sync.survivorship.plan import PlanSettings
    from kajabi_sync.weekly_plan import plan_week

    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(DATABASE)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    url = args.admin_url.rsplit("/", 1)[0] + "/" + DATABASE
    try:
        with tempfile.TemporaryDirectory(prefix="kajabi_steady_") as tmp:
            summary = generate_demo(url, Path(tmp) / "data", DemoSpec(args.contacts, weeks=2))
            exports = [validate_export(read_kajabi_export(e.path)).frame for e in summary.exports]
            settings = PlanSettings()
            with psycopg.connect(url, autocommit=True) as conn:
                first = plan_week(conn, exports[0], settings, reference=True)
                apply_plan(conn, first.plan, ImportRecord("w1.csv", "sha-w1", len(exports[0])))
                for label, export in (("week 2", exports[1]), ("week 1 again", exports[0])):
                    timings = {}
                    figures = {}
                    for reference in (True, False, True, False):
                        started = time.perf_counter()
                        week = plan_week(conn, export, settings, reference=reference)
                        seconds = time.perf_counter() - started
                        name = "full" if reference else "steady"
                        timings[name] = min(timings.get(name, seconds), seconds)
                        figures[name] = _figures(week)
                    assert figures["full"] == figures["steady"], figures
                    print(
                        f"{args.contacts:,} contacts, {label} ({len(export):,} rows, "
                        f"{figures['full'][0]:,} change rows, {figures['full'][2]:,} new): "
                        f"full {timings['full']:.2f} s, steady {timings['steady']:.2f} s",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE))
            )


if __name__ == "__main__":
    main()

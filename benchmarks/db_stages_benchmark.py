"""The PostgreSQL side of the weekly import: the ``guards`` and ``apply`` stages, statement by
statement, repeated on identical copies of the database.

    .venv/bin/python benchmarks/db_stages_benchmark.py --contacts 100000 --repeat 3
    .venv/bin/python benchmarks/db_stages_benchmark.py --contacts 100000 --explain 200

Generates the demo (``pipeline_benchmark.SteadySpec``, two weeks) into a scratch database, and
for each week plans once (``plan_week``, as ``pipeline_benchmark`` does), then ``--repeat``
times: copies the database as it was before the week's apply (``CREATE DATABASE ... TEMPLATE``),
runs the guards (``check_week``) and the apply stage (``apply_plan``, ``record_holds``,
``record_review_items``) on the copy, and reports each stage's wall seconds, this process's CPU
seconds and the PostgreSQL backend's CPU seconds (``/proc/<backend pid>/stat``: the server runs
on this machine), with the slowest statements. Week 2 is planned on the state week 1's apply
left. ``--explain MS``: on the last repetition, every statement of the stages slower than
``MS`` ms prints its plan with ``EXPLAIN (ANALYZE, BUFFERS)`` figures (``auto_explain``, sent to
this client as notices). Every scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline_benchmark import (  # noqa: E402
    SteadySpec,
    _drop_all,
    _generate_analyzed,
    _recreate,
    _url,
)

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Not kajabi_sync_bench*: pipeline_benchmark drops those when it ends.
DB_PREFIX = "kajabi_sync_dbstages"
_TICKS = os.sysconf("SC_CLK_TCK")


def _backend_cpu(pids: set[int]) -> float:
    """utime + stime of the backends ``pids``, in seconds (0 for one that has exited)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


class Statements:
    """Wall seconds of every statement and COPY run through psycopg while ``watch`` is on,
    with the backend pids of the connections that ran them."""

    def __init__(self) -> None:
        self.spent: dict[str, list[float]] = {}
        self.backends: set[int] = set()

    @staticmethod
    def _label(query: Any) -> str:
        text = query.as_string(None) if isinstance(query, sql.Composable) else str(query)
        return " ".join(text.split())[:150]

    def _add(self, label: str, seconds: float) -> None:
        self.spent.setdefault(label, []).append(seconds)

    @contextmanager
    def watch(self) -> Iterator[Statements]:
        execute, copy, connect = psycopg.Cursor.execute, psycopg.Cursor.copy, psycopg.connect
        watcher = self

        def timed_execute(cur: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return execute(cur, query, *args, **kwargs)
            finally:
                watcher._add(watcher._label(query), time.perf_counter() - started)

        @contextmanager
        def timed_copy(cur: Any, statement: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            started = time.perf_counter()
            try:
                with copy(cur, statement, *args, **kwargs) as handle:
                    yield handle
            finally:
                watcher._add(watcher._label(statement), time.perf_counter() - started)

        def tracked_connect(*args: Any, **kwargs: Any) -> Any:
            conn = connect(*args, **kwargs)
            watcher.backends.add(conn.info.backend_pid)
            if explain_ms is not None:
                _explain_on(conn, explain_ms)
            return conn

        exit_transaction = psycopg.Transaction.__exit__

        def timed_exit(transaction: Any, *args: Any) -> Any:
            started = time.perf_counter()
            try:
                return exit_transaction(transaction, *args)
            finally:
                kind = "SAVEPOINT" if transaction.savepoint_name else "transaction"
                watcher._add(
                    f"(end of {kind}: COMMIT, RELEASE or ROLLBACK)", time.perf_counter() - started
                )

        explain_ms = self.explain_ms
        psycopg.Transaction.__exit__ = timed_exit  # type: ignore[method-assign]
        psycopg.Cursor.execute = timed_execute  # type: ignore[method-assign]
        psycopg.Cursor.copy = timed_copy  # type: ignore[method-assign,assignment]
        psycopg.connect = tracked_connect  # type: ignore[assignment]
        try:
            yield self
        finally:
            psycopg.Cursor.execute = execute  # type: ignore[method-assign]
            psycopg.Cursor.copy = copy  # type: ignore[method-assign]
            psycopg.connect = connect  # type: ignore[assignment]
            psycopg.Transaction.__exit__ = exit_transaction  # type: ignore[method-assign]

    explain_ms: int | None = None


def _explain_on(conn: psycopg.Connection, ms: int) -> None:
    """auto_explain for this session, its plans sent to this client (notices, printed)."""
    conn.add_notice_handler(lambda d: print(f"\n{d.message_primary}", file=sys.stderr))
    for setting in (
        "LOAD 'auto_explain'",
        f"SET auto_explain.log_min_duration = {int(ms)}",
        "SET auto_explain.log_analyze = on",
        "SET auto_explain.log_buffers = on",
        "SET auto_explain.log_nested_statements = on",
        "SET auto_explain.log_triggers = on",
        "SET client_min_messages = log",
    ):
        conn.execute(setting)
    conn.commit()


def run_week(url: str, validated: Any, impact: Any, export_path: Path, week: str, explain: Any):
    """The guards and the apply stage on ``url``, as pipeline_benchmark.stages_child runs them,
    with the connections kept open until the backend CPU is read."""
    from kajabi_sync import settings
    from kajabi_sync.db.apply import ImportRecord, apply_plan
    from kajabi_sync.db.connection import connect
    from kajabi_sync.db.holds import record_holds
    from kajabi_sync.exports_folder import monday_of
    from kajabi_sync.guards.thresholds import load_thresholds
    from kajabi_sync.guards.week import check_week
    from kajabi_sync.review.items import record_review_items, review_items

    figures = []
    for name in ("guards", "apply"):
        statements = Statements()
        statements.explain_ms = explain
        with statements.watch():
            conn = connect(url)
            try:
                server_before = _backend_cpu(statements.backends)
                started, cpu = time.perf_counter(), time.process_time()
                if name == "guards":
                    results = check_week(
                        conn,
                        impact,
                        validated,
                        export_path.parent,
                        load_thresholds(),
                        first_week=monday_of(settings.first_week()),
                    )
                    blocked = [r.name for r in results if r.blocks]
                    if blocked:
                        raise RuntimeError(f"the guards blocked week {week}: {blocked}")
                else:
                    record = ImportRecord.of_export(validated.source, partition_key=week)
                    result = apply_plan(conn, impact, record)
                    record_holds(conn, impact.held)
                    record_review_items(conn, review_items(impact), result.import_run_id)
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
                server = _backend_cpu(statements.backends) - server_before
            finally:
                conn.close()
        figures.append(
            {
                "stage": name,
                "seconds": seconds,
                "cpu": cpu,
                "server_cpu": server,
                "statements": statements.spent,
            }
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--top", type=int, default=12, help="slowest statements shown per stage")
    parser.add_argument("--explain", type=int, default=None, metavar="MS")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()

    from kajabi_sync import weekly_plan
    from kajabi_sync.kajabi import read_kajabi_export, validate_export
    from kajabi_sync.survivorship.plan_settings import load_plan_settings

    template = f"{DB_PREFIX}_template"
    try:
        with tempfile.TemporaryDirectory(prefix="kajabi_dbstages_") as tmp:
            started = time.perf_counter()
            summary = _generate_analyzed(
                args.admin_url, template, Path(tmp) / "data", SteadySpec(args.contacts, weeks=2)
            )
            print(f"generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            before = template  # the database as it is before this week's apply
            for number, export in enumerate(summary.exports, start=1):
                partition = export.export_date.isoformat()
                validated = validate_export(read_kajabi_export(export.path))
                with psycopg.connect(_url(args.admin_url, before)) as conn:
                    impact = weekly_plan.plan_week(conn, validated.frame, load_plan_settings()).plan
                print(
                    f"\nweek {number}: {len(validated.frame):,} rows, {len(impact.writes()):,} "
                    f"writes, {len(impact.new_contacts):,} new, {len(impact.new_bases):,} bases",
                    file=sys.stderr,
                )
                totals: dict[str, list[dict]] = {}
                for attempt in range(args.repeat):
                    copy = f"{DB_PREFIX}_w{number}_{attempt}"
                    url = _recreate(args.admin_url, copy, before)
                    last = attempt == args.repeat - 1
                    for fig in run_week(
                        url,
                        validated,
                        impact,
                        export.path,
                        partition,
                        args.explain if last else None,
                    ):
                        totals.setdefault(fig["stage"], []).append(fig)
                        print(
                            f"  {fig['stage']:7} {fig['seconds']:6.2f} s wall, "
                            f"{fig['cpu']:5.2f} s CPU, {fig['server_cpu']:5.2f} s server CPU",
                            file=sys.stderr,
                        )
                    if not last:
                        with psycopg.connect(args.admin_url, autocommit=True) as admin:
                            admin.execute(
                                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                                    sql.Identifier(copy)
                                )
                            )
                    else:
                        after = copy
                for stage, figs in totals.items():
                    best = min(figs, key=lambda f: f["seconds"])
                    print(
                        f"week {number} {stage}: best of {len(figs)} {best['seconds']:.2f} s wall, "
                        f"{best['cpu']:.2f} s CPU, {best['server_cpu']:.2f} s server CPU; "
                        f"median {sorted(f['seconds'] for f in figs)[len(figs) // 2]:.2f} s",
                        file=sys.stderr,
                    )
                    slowest = sorted(best["statements"].items(), key=lambda kv: -sum(kv[1]))[
                        : args.top
                    ]
                    for label, spent in slowest:
                        print(
                            f"    {sum(spent) * 1000:8.1f} ms x{len(spent):<3} {label}",
                            file=sys.stderr,
                        )
                before = after
    finally:
        _drop_all(args.admin_url, DB_PREFIX)


if __name__ == "__main__":
    main()

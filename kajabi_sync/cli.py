"""``kajabi-sync``: the chores around the weekly import, from the command line.

Exit codes scripts can rely on: 0 done, 1 refused or failed (a clear message on stderr),
2 wrong usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _database_url(args: argparse.Namespace) -> str:
    from kajabi_sync.db.connection import resolve_database_url

    return resolve_database_url(getattr(args, "database_url", None))


def cmd_migrate(args: argparse.Namespace) -> int:
    from kajabi_sync.db.migrate import migrate_url

    applied = migrate_url(_database_url(args))
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")
    return EXIT_OK


def run_weekly_job(partition_key: str) -> tuple[list[str], list[str]]:
    """Run ``weekly_kajabi_sync`` for one week on the persistent Dagster instance (so the run
    shows in the UI), in this process. Returns (what stopped it, warnings)."""
    import dagster as dg

    from kajabi_sync.definitions import defs

    job = defs.resolve_job_def("weekly_kajabi_sync")
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            partition_key=partition_key, instance=instance, raise_on_error=False, run_config=quiet
        )
    problems: list[str] = []
    warnings: list[str] = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            problems.append(f"{event.step_key}: {event.step_failure_data.error.message.strip()}")
        check = (
            event.asset_check_evaluation_data
            if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
            else None
        )
        if check is not None and not check.passed:
            blocking = check.severity == dg.AssetCheckSeverity.ERROR
            label = "check" if blocking else "warning from check"
            problems.append(f"{label} {check.check_name}: {check.description or 'failed'}")
            if not blocking:
                warnings.append(problems.pop())
    if not result.success and not problems:
        problems.append("the run failed: see the Dagster UI")
    return problems, warnings


def cmd_demo(args: argparse.Namespace) -> int:
    from kajabi_sync import settings
    from kajabi_sync.demo import DemoSpec, generate_demo

    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home()))
    data_dir = settings.data_dir()
    spec = DemoSpec(contacts=args.contacts, weeks=args.weeks)
    print(f"Generating demo data: {spec.contacts:,} contacts, {spec.weeks} weekly exports ...")
    summary = generate_demo(_database_url(args), data_dir, spec)
    print(summary)
    ok = True
    for week in range(spec.weeks):
        monday = spec.first_export + timedelta(days=7 * week)
        print(f"Running weekly_kajabi_sync for the week of {monday} ...")
        problems, warnings = run_weekly_job(monday.isoformat())
        for message in warnings + problems:
            print("  " + message.splitlines()[0])
        print("  done" if not problems else "  stopped: nothing was written for this week")
        ok = ok and not problems
    reports = settings.reports_dir(data_dir)
    print(
        f"\nReports: {reports}\n"
        f"  import_impact_analysis.csv, kajabi_full_enriched_export.csv, kajabi_updates_only.csv, ...\n"
        f"Open the UI: DAGSTER_HOME={settings.dagster_home()} .venv/bin/dagster dev  "
        f"(then http://127.0.0.1:3000, asset impact_analysis)"
    )
    return EXIT_OK if ok else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kajabi-sync",
        description="Safe, visible weekly import of Kajabi contacts into the contacts database.",
    )
    parser.add_argument(
        "--database-url",
        help="contacts database (default: $KAJABI_SYNC_DATABASE_URL, else the embedded server)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="generate demo data and run the weekly job on it")
    demo.add_argument("--contacts", type=int, default=6555, help="contacts to generate (default 6555)")
    demo.add_argument("--weeks", type=int, default=2, help="weekly exports to generate and import")
    demo.set_defaults(handler=cmd_demo)

    migrate = commands.add_parser("migrate", help="create or update the database's tables (idempotent)")
    migrate.set_defaults(handler=cmd_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted: nothing was written by the step in progress", file=sys.stderr)
        return EXIT_FAILED
    except (ConnectionError, ValueError, RuntimeError, FileNotFoundError) as error:
        print(f"kajabi-sync: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

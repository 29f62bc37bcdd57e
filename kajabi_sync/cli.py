"""``kajabi-sync``: the chores around the weekly import, from the command line.

Exit codes scripts can rely on: 0 done, 1 refused or failed (a clear message on stderr; for
``plan``: a blocking check would stop the import), 2 wrong usage.

The commands call the domain modules (``kajabi_sync.db``, ``review``, ``survivorship``, ...) and
render what they return; no SQL is written here. Only the commands whose job is to drive Dagster
(``demo``, and the part of ``status`` that lists the runs that stopped) reach the Dagster layer,
through ``kajabi_sync.defs.operate``, imported inside them: the domain commands never load
dagster nor ``kajabi_sync.defs``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import psycopg
    from rich.console import Console

    from kajabi_sync.guards.result import GuardResult
    from kajabi_sync.survivorship.plan import ImpactPlan

from kajabi_sync.survivorship.plan_settings import ALLOWED as PLAN_SETTINGS_ALLOWED
from kajabi_sync.survivorship.plan_settings import DESCRIPTIONS as PLAN_SETTINGS_HELP

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class NotFound(LookupError):
    """What the command was asked about does not exist; the message says what to do."""


def _database_url(args: argparse.Namespace) -> str:
    from kajabi_sync.db.connection import resolve_database_url

    return resolve_database_url(getattr(args, "database_url", None))


def cmd_migrate(args: argparse.Namespace) -> int:
    from kajabi_sync.db.migrate import migrate_url

    applied = migrate_url(_database_url(args))
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")
    return EXIT_OK


def cmd_demo_kajabi_api(args: argparse.Namespace) -> int:
    """The weekly loop against the local fake Kajabi API: pull, plan, apply, push, converge."""
    import secrets
    import tempfile

    from kajabi_sync import settings
    from kajabi_sync.defs import operate
    from kajabi_sync.demo import DemoSpec, generate_demo
    from kajabi_sync.demo.api_loop import apply_changes, seed_fake, state_from_export
    from kajabi_sync.demo.fake_kajabi import FakeKajabi
    from kajabi_sync.kajabi.api import settings as api_settings

    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home()))
    if args.database_url:
        os.environ[settings.DATABASE_URL_ENV] = args.database_url
    data_dir = settings.data_dir() / "kajabi_api_demo"
    exports = settings.exports_dir(data_dir)
    for old in exports.glob("kajabi_contacts_*.csv"):  # the demo's own snapshots of a former run
        old.unlink()
    spec = DemoSpec(contacts=args.contacts, weeks=args.weeks or 3)
    print(f"Generating demo data: {spec.contacts:,} contacts, {spec.weeks} weeks of Kajabi ...")
    with tempfile.TemporaryDirectory(prefix="kajabi_side_") as kajabi_side:
        summary = generate_demo(_database_url(args), Path(kajabi_side), spec)
        states = [state_from_export(week.path) for week in summary.exports]
    print("\n".join(summary.lines()[:3]))
    # The first push after months of enrichment is large by design: let through deliberately,
    # with the reason recorded in kajabi_sync.push_runs, as an operator would.
    first_push = {
        "ops": {
            "kajabi_push_guards": {
                "config": {
                    "max_push_pct": 100.0,
                    "override_reason": "demo: the first push after the enrichment",
                }
            }
        }
    }
    ok = True
    with FakeKajabi(client_secret=secrets.token_urlsafe(16)) as fake:
        seed_fake(fake, states[0])
        # Set for each run only, and the code location built with them (as dagster dev would).
        environment = fake.environment() | {
            api_settings.SOURCE_ENV: "api",
            api_settings.PUSH_ENV: "api",
            api_settings.API_RPS_ENV: "500",  # the fake is local; Kajabi's default is 2
            settings.DATA_DIR_ENV: str(data_dir),
        }
        print(f"Fake Kajabi API at {fake.url} with {len(fake.contacts):,} contacts")
        for week, state in enumerate(states):
            monday = spec.first_export + timedelta(days=7 * week)
            if week:
                changes = apply_changes(fake, states[week - 1], state)
                print(
                    f"In Kajabi since last week: {changes.added} sign-ups, {changes.removed} "
                    f"deleted, {changes.edited} edited"
                )
            sent = len(fake.patches_applied)
            print(f"Running weekly_kajabi_sync for the week of {monday} (pull, apply, push) ...")
            outcome = operate.run_weekly_job(
                monday.isoformat(),
                run_config=first_push if week == 0 else None,
                environment=environment,
            )
            problems, warnings = outcome.problems, outcome.warnings
            converged = not any("kajabi_converged" in message for message in warnings)
            print(
                f"  pulled kajabi_contacts_{monday}.csv; pushed "
                f"{len(fake.patches_applied) - sent} PATCH(es); kajabi_converged: "
                + ("clear" if converged else "warning (Kajabi still differs)")
            )
            for message in warnings + problems:
                print("  " + message.splitlines()[0])
            ok = ok and not problems
    print(
        f"\nSnapshots: {exports}\nOpen the UI: DAGSTER_HOME={settings.dagster_home()} "
        ".venv/bin/dagster dev  (assets kajabi_push_plan, kajabi_push)"
    )
    return EXIT_OK if ok else EXIT_FAILED


def cmd_demo(args: argparse.Namespace) -> int:
    if args.kajabi_api:
        return cmd_demo_kajabi_api(args)
    from kajabi_sync import settings
    from kajabi_sync.defs import operate
    from kajabi_sync.demo import DemoSpec, generate_demo

    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home()))
    if args.database_url:  # the weekly job reads its database from the environment
        os.environ[settings.DATABASE_URL_ENV] = args.database_url
    data_dir = settings.data_dir()
    spec = DemoSpec(contacts=args.contacts, weeks=args.weeks or 2)
    print(f"Generating demo data: {spec.contacts:,} contacts, {spec.weeks} weekly exports ...")
    summary = generate_demo(_database_url(args), data_dir, spec)
    print("\n".join(summary.lines()))
    ok = True
    for week in range(spec.weeks):
        monday = spec.first_export + timedelta(days=7 * week)
        if week < spec.weeks - 1:
            print(f"Running weekly_kajabi_sync for the week of {monday} ...")
            outcome = operate.run_weekly_job(monday.isoformat())
        else:  # the last week as the Monday schedule launches it
            scheduled = operate.scheduled_week(monday)
            print(
                f"Running weekly_kajabi_sync for the week of {scheduled.partition_key}, as "
                f"weekly_kajabi_sync_schedule launches it on Monday {monday} 09:00 UTC ..."
            )
            outcome = operate.run_weekly_job(scheduled.partition_key, scheduled.tags)
        problems, warnings = outcome.problems, outcome.warnings
        for message in warnings + problems:
            print("  " + message.splitlines()[0])
        print("  done" if not problems else "  stopped: nothing was written for this week")
        ok = ok and not problems
    print(
        f"\nReports of each week: {settings.reports_root(data_dir)}/YYYY-MM-DD/\n"
        f"The last applied week: {settings.current_dir(data_dir)}/ (README.txt says which)\n"
        f"What needs you: kajabi-sync review; decide in {review_file_to_fill(data_dir)}, then "
        "kajabi-sync resolve FILE --yes (README: Monday morning)\n"
        f"Open the UI: DAGSTER_HOME={settings.dagster_home()} .venv/bin/dagster dev  "
        f"(then http://127.0.0.1:3000, asset impact_analysis, Partitions tab)\n"
        f"The Monday schedule is on. The demo's exports are from {spec.first_export:%Y}, so the "
        f"check weekly_export_on_time shows this week's export as OVERDUE until one is saved."
    )
    return EXIT_OK if ok else EXIT_FAILED


@contextmanager
def progress(steps: int, what: str) -> Iterator[Callable[[str], None]]:
    """A bar over a long job's steps on a terminal; silent when stderr is not one (scripts, CI)."""
    from tqdm import tqdm

    with tqdm(
        total=steps,
        desc=what,
        unit="step",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        leave=False,
    ) as bar:
        started = False

        def step(label: str) -> None:
            nonlocal started
            if started:
                bar.update(1)
            started = True
            bar.set_postfix_str(label)

        yield step
        bar.update(1)


def console() -> Console:
    """The terminal: colour and styles only when stdout is one (scripts and pipes get plain
    text); lines are never hard-wrapped into a file."""
    from rich.console import Console

    tty = sys.stdout.isatty()
    return Console(
        file=sys.stdout,
        no_color=not tty,
        highlight=False,
        soft_wrap=not tty,
        emoji=False,
        width=None if tty else 200,
    )


def print_table(frame: pd.DataFrame, *, indent: int = 2, empty: str = "(none)") -> None:
    """``frame`` as an aligned, left-aligned table without borders (rich)."""
    from rich import box
    from rich.padding import Padding
    from rich.table import Table

    out = console()
    if frame.empty:
        out.print(" " * indent + empty)
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in frame.columns:
        table.add_column(str(column), justify="left", overflow="fold")
    for row in frame.fillna("").astype(str).itertuples(index=False):
        table.add_row(*(str(cell) for cell in row))
    out.print(Padding(table, (0, 0, 0, indent), expand=False))


# --- plan -----------------------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace) -> int:
    """The impact plan of one export, as impact_analysis computes it, without Dagster running."""
    from kajabi_sync import settings
    from kajabi_sync.db.connection import open_database
    from kajabi_sync.exports_folder import monday_of
    from kajabi_sync.guards.thresholds import load_thresholds
    from kajabi_sync.guards.week import check_week
    from kajabi_sync.kajabi import read_kajabi_export, validate_export
    from kajabi_sync.reports import (
        DUPLICATE_CANDIDATES_REPORT,
        atomic_text_file,
        week_file_name,
        write_csv,
    )
    from kajabi_sync.summary import (
        BLOCKED,
        PLANNED,
        Verdict,
        code_span,
        impact_summary,
        previous_import,
    )
    from kajabi_sync.survivorship.plan_settings import load_plan_settings
    from kajabi_sync.survivorship.report import write_impact_report
    from kajabi_sync.weekly_plan import plan_week

    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"no export file at {path}")
    out = Path(args.out) if args.out else settings.data_dir() / "plans" / path.stem
    # Refused before anything is read: a misspelt site setting names its file or variable.
    chosen = load_plan_settings(**{name: getattr(args, name) for name in PLAN_SETTINGS_ALLOWED})
    with progress(5, f"planning {path.name}") as step:
        step("reading the export")
        raw = read_kajabi_export(path)
        step("validating")
        validated = validate_export(raw)
        step("reading the database")
        url = _database_url(args)
        with open_database(url) as conn:
            step("planning")
            week = plan_week(conn, validated.frame, chosen)
        plan, candidates, runs = week.plan, week.candidates, week.recent_runs
        with open_database(url) as conn:
            results = check_week(
                conn,
                plan,
                validated,
                settings.exports_dir(),
                load_thresholds(),
                first_week=settings.first_week(),
            )
        step("writing the reports")
        week_key = monday_of(raw.export_date).isoformat() if raw.export_date else None
        report = write_impact_report(plan, out, week_key)
        candidates_path = write_csv(
            candidates, out / week_file_name(DUPLICATE_CANDIDATES_REPORT, week_key)
        )
    for warning in validated.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    blocking = [r for r in results if r.blocks]
    verdict = Verdict(BLOCKED if blocking else PLANNED, results)
    summary_path = out / week_file_name("plan_summary.md", week_key)
    with atomic_text_file(summary_path) as handle:
        handle.write(
            impact_summary(
                plan,
                previous_import(runs, raw.export_date),
                {
                    "every decision, with its reason": str(report),
                    "duplicate candidates": str(candidates_path),
                },
                title=f"Plan for {code_span(path.name)}",
                verdict=verdict,
            )
        )
    print_plan(
        path, week_key, plan, blocking, verdict.warnings, [report, candidates_path, summary_path]
    )
    return EXIT_FAILED if blocking else EXIT_OK


def print_plan(
    path: Path,
    week: str | None,
    plan: ImpactPlan,
    blocking: Sequence[GuardResult],
    warned: Sequence[GuardResult],
    files: Sequence[Path],
) -> None:
    """The plan in plain text, the verdict first, in one screen (the detail is in ``files``)."""
    from kajabi_sync.guards.result import passes_when
    from kajabi_sync.summary import DECISION_COLUMNS, week_figures

    out = console()
    figures = week_figures(plan)
    if blocking:
        names = ", ".join(r.name for r in blocking)
        out.print(f"[bold red]WOULD BLOCK[/] by {names}: the import would write nothing.")
        for result in blocking:
            value = "n/a" if result.value is None else f"{result.value:,}"
            out.print(
                f"  {result.name}: {result.explanation} (measured {value}, {passes_when(result)})"
            )
        out.print(
            "  To import anyway, run the week in Dagster with the override the check gives "
            "(see the README, Guards)."
        )
    else:
        out.print("[bold green]WOULD APPLY[/]: every blocking check passes.")
    for result in warned:
        out.print(f"[yellow]Warning[/] {result.name}: {result.explanation}")
    week_text = f", week of {week}" if week else ""
    out.print(f"\nPlan for {path.name}{week_text}:")
    out.print(
        f"  write {figures['fields_to_write']:,} fields ({figures['fill']:,} fills, "
        f"{figures['update']:,} updates) and create {figures['new_contacts']:,} contacts (new "
        f"sign-ups in Kajabi), from {figures['export_rows']:,} rows "
        f"({figures['matched_contacts']:,} matched)"
    )
    out.print(
        f"  protect {figures['protected'] + figures['kept_db']:,} values the database knows "
        f"better; a naive import would overwrite {plan.naive.get('values_overwritten', 0):,}"
    )
    out.print(
        f"  needs you: {figures['conflict']:,} conflicts, "
        f"{figures['held_for_review']:,} duplicate candidates held"
    )
    counts = plan.decision_counts()
    rows = []
    for field in counts.columns:
        cells = {
            label: int(counts.at[d, field]) if d in counts.index else 0
            for d, label in DECISION_COLUMNS
        }
        if any(cells.values()):
            rows.append({"field": field, **{k: f"{v:,}" if v else "" for k, v in cells.items()}})
    if rows:
        out.print("\nDecisions per field (fields with any):")
        print_table(pd.DataFrame(rows))
    out.print("\nFull detail:")
    for file in files:
        out.print(f"  {file}")
    out.print("Nothing was written (plan only).")


# --- status ---------------------------------------------------------------------------------


def cmd_push(args: argparse.Namespace) -> int:
    """What the week's push to Kajabi's API would send, field by field; nothing is sent."""
    from kajabi_sync import settings
    from kajabi_sync.db.connection import open_database
    from kajabi_sync.exports_folder import monday_of
    from kajabi_sync.kajabi.api import settings as api_settings
    from kajabi_sync.kajabi.api.push import load_push_thresholds
    from kajabi_sync.kajabi.api.week_push import describe, dry_run

    week = date.fromisoformat(args.week)
    monday = monday_of(week)
    with open_database(_database_url(args)) as conn:
        plan, note = dry_run(conn, settings.exports_dir(), monday, api_settings.push_new())
    print(f"Push to Kajabi for the week of {monday} (dry run: nothing is sent)")
    if note:
        print(note)
    print("\n".join(describe(plan, load_push_thresholds())))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from kajabi_sync.db.audit import recent_runs
    from kajabi_sync.db.connection import connect

    with connect(_database_url(args)) as conn:
        runs = recent_runs(conn, limit=args.limit)
    print("Last kajabi_sync writes (imports, merges, rollbacks), newest first:")
    if runs.empty:
        print("  none yet")
    else:
        shown = runs.assign(
            applied_at=pd.to_datetime(runs["applied_at"]).dt.strftime("%Y-%m-%d %H:%M"),
            undone=runs["rolled_back_by"].map(lambda r: "" if pd.isna(r) else f"by run {int(r)}"),
        )[
            [
                "id",
                "kind",
                "applied_at",
                "partition_key",
                "file_name",
                "export_rows",
                "fields_changed",
                "contacts_created",
                "contacts_deleted",
                "undone",
            ]
        ]
        print_table(shown.rename(columns={"partition_key": "week", "rolled_back_by": "undone"}))
    print("\nDagster runs that failed or were blocked by a check:")
    from kajabi_sync.defs import operate  # the one part of status that reads Dagster

    history = operate.problem_runs(args.limit)
    if not history.found:
        print(f"(no Dagster run history at {history.home})")
    for run in history.problem_runs:
        print(f"  run {run.run_id[:8]} ({run.job_name}, week {run.week}): {run.status}")
        for check in run.blocked:
            print(f"    blocked by {check.check_name}: {check.why}")
    if history.found and not history.problem_runs:
        print("  none: no recent Dagster run failed or was blocked")
    return EXIT_OK


# --- contact --------------------------------------------------------------------------------


def contact_fields(
    contact: pd.DataFrame, bases: pd.DataFrame, history: pd.DataFrame
) -> pd.DataFrame:
    """One row per contact field: its value, what protects it, the last kajabi_sync write, and
    what Kajabi last sent (the three-way base)."""
    from kajabi_sync.fields import CONTACT_FIELDS
    from kajabi_sync.survivorship.policy import POLICY, protection

    last = history.drop_duplicates("field").set_index("field") if len(history) else pd.DataFrame()
    rows = []
    for field in CONTACT_FIELDS:
        protected, why = protection(POLICY[field], contact)
        written = ""
        if field in last.index:
            change = last.loc[field]
            applied_on = str(change["applied_at"])[:10]
            written = (
                f"run {change['run_id']} ({change['kind']}, {applied_on}): {change['decision']}"
            )
        rows.append(
            {
                "field": field,
                "value": contact[field].iloc[0],
                "provenance": f"protected: {why.iloc[0]}" if bool(protected.iloc[0]) else "",
                "last written by kajabi_sync": written,
                "Kajabi last sent": bases[field].iloc[0] if len(bases) else "",
            }
        )
    return pd.DataFrame(rows)


def cmd_contact(args: argparse.Namespace) -> int:
    from kajabi_sync.db.audit import contact_history
    from kajabi_sync.db.connection import connect
    from kajabi_sync.db.snapshot import load_contact
    from kajabi_sync.review.lookup import UnknownReference, contact_reference

    with connect(_database_url(args)) as conn:
        try:
            reference = contact_reference(conn, args.who)
        except UnknownReference as unknown:
            raise NotFound(str(unknown)) from None
        args.email = reference.email
        if reference.item_line():
            print(reference.item_line())
        record = load_contact(conn, args.email)
        history = contact_history(conn, args.email)
    contact, bases, others = record.contact, record.bases, record.emails
    if contact.empty and history.empty:
        print(f"kajabi-sync: no contact is known by {args.email}", file=sys.stderr)
        return EXIT_FAILED
    if len(contact):
        row = contact.iloc[0]
        state = f", soft-deleted {row['deleted_at']}" if pd.notna(row["deleted_at"]) else ""
        print(
            f"Contact {row['email']}  (id {row['id']}, source_system {row['source_system']}{state})"
        )
        if len(others):  # the primary email is in the heading already
            others = others[others["email"].str.lower() != str(row["email"]).lower()]
        if len(others):
            print(
                "Other addresses: "
                + ", ".join(
                    f"{e} ({s})" for e, s in zip(others["email"], others["source"], strict=False)
                )
            )
        mine = history[history["contact_id"] == row["id"]] if len(history) else history
        print()
        print_table(contact_fields(contact, bases, mine), indent=0)
    else:
        print(f"No live contact has {args.email} now; its recorded history:")
    print("\nHistory of changes (newest first):")
    if history.empty:
        print("  kajabi_sync never changed this contact")
    else:
        shown = history.assign(
            applied_at=pd.to_datetime(history["applied_at"]).dt.strftime("%Y-%m-%d %H:%M")
        )
        print_table(
            shown[
                [
                    "applied_at",
                    "run_id",
                    "kind",
                    "field",
                    "old_value",
                    "new_value",
                    "decision",
                    "reason",
                ]
            ].head(args.limit)
        )
        if len(history) > args.limit:
            print(f"  ... {len(history) - args.limit} older changes (--limit to see more)")
    return EXIT_OK


# --- merge, unmerge, rollback -------------------------------------------------------------


def _contact_id_of(conn: psycopg.Connection, who: str, role: str) -> str:
    """A contact id as given, or the live contact whose primary email or other address it is."""
    from kajabi_sync.review.lookup import UnknownReference, live_contact_id

    try:
        return live_contact_id(conn, who, role)
    except UnknownReference as unknown:
        raise NotFound(str(unknown)) from None


def cmd_merge(args: argparse.Namespace) -> int:
    from kajabi_sync.db.connection import connect
    from kajabi_sync.db.merges import merge_contacts, merge_email_into

    with connect(_database_url(args)) as conn:
        survivor = _contact_id_of(conn, args.survivor, "survivor")
        if args.address_only:
            run = merge_email_into(conn, args.merged, survivor, args.reason)
        else:
            try:
                merged = _contact_id_of(conn, args.merged, "merged contact")
            except NotFound as missing:
                raise NotFound(
                    f"{missing}; to attach an email that has no contact (e.g. a held "
                    "Kajabi address), add --address-only"
                ) from None
            run = merge_contacts(conn, survivor, merged, args.reason)
    print(
        f"merged {args.merged} into {args.survivor}: run {run}. Undo with: kajabi-sync unmerge {run}"
    )
    return EXIT_OK


def cmd_unmerge(args: argparse.Namespace) -> int:
    from kajabi_sync.db.connection import connect
    from kajabi_sync.db.merges import unmerge

    with connect(_database_url(args)) as conn:
        run = unmerge(conn, args.merge_run, args.reason)
    print(f"merge run {args.merge_run} undone: run {run}")
    return EXIT_OK


def _confirmed(question: str, yes: bool) -> bool | None:
    """True/False from --yes or a terminal prompt; None when there is no one to ask."""
    if yes:
        return True
    if not sys.stdin.isatty():
        return None
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def cmd_rollback(args: argparse.Namespace) -> int:
    from kajabi_sync.db.audit import rollback_run
    from kajabi_sync.db.connection import connect

    answer = _confirmed(
        f"Undo import run {args.run} (restores every field it wrote, deletes the "
        "contacts it created)?",
        args.yes,
    )
    if answer is None:
        print(
            "kajabi-sync: rollback needs --yes when not run from a terminal; nothing was written",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not answer:
        print("nothing was written")
        return EXIT_FAILED
    with connect(_database_url(args)) as conn:
        result = rollback_run(conn, args.run, args.note)
    print(
        f"import run {args.run} rolled back by run {result.rollback_run_id}: "
        f"{result.fields_restored} field(s) restored, {result.contacts_deleted} contact(s) deleted, "
        f"{result.bases_restored + result.bases_deleted} Kajabi base(s) put back"
    )
    return EXIT_OK


# --- review, resolve -------------------------------------------------------------------------


def _mask_items(items: pd.DataFrame) -> pd.DataFrame:
    from kajabi_sync.masking import mask_email
    from kajabi_sync.summary import mask_values

    if items.empty:
        return items
    return items.assign(
        email=mask_email(items["email"]),
        database_value=mask_values(items["field"], items["database_value"]).where(
            items["field"] != "(contact)", mask_email(items["database_value"])
        ),
        kajabi_value=mask_values(items["field"], items["kajabi_value"]).where(
            items["field"] != "(contact)", mask_email(items["kajabi_value"])
        ),
    )


def review_file_to_fill(base: Path | None = None) -> Path:
    """The review file of the last applied import. Its open items are that week's, and the copy
    in the week's folder is the one to fill: current/ is replaced by the next applied week."""
    from kajabi_sync import settings
    from kajabi_sync.reports import published_week, week_file_name
    from kajabi_sync.review.items import REVIEW_FILE

    week = published_week(settings.current_dir(base))
    folder = settings.week_reports_dir(week, base) if week else settings.current_dir(base)
    return folder / week_file_name(REVIEW_FILE, week)


def cmd_review(args: argparse.Namespace) -> int:
    from kajabi_sync.db.connection import connect
    from kajabi_sync.review.items import counts_by_kind, load_open_items
    from kajabi_sync.review.kinds import KINDS

    with connect(_database_url(args)) as conn:
        items = load_open_items(conn)
    if args.kind:
        items = items[items["kind"] == args.kind]
    if items.empty:
        print(
            "Nothing needs you: no open review item"
            + (f" of kind {args.kind}" if args.kind else "")
        )
        return EXIT_OK
    counts = counts_by_kind(items)
    split = ", ".join(f"{n:,} {KINDS[k].label}" for k, n in counts.items() if n)
    print(f"Needs you: {len(items):,} ({split})")
    shown = items if args.show_personal_data else _mask_items(items)
    columns = [
        "review_id",
        "kind",
        "email",
        "field",
        "database_value",
        "kajabi_value",
        "suggestion",
    ]
    print_table(shown[columns].head(args.limit))
    if len(items) > args.limit:
        print(f"  ... {len(items) - args.limit:,} more (--limit to see more)")
    review_file = review_file_to_fill()
    print(
        f"\nDecide them in {review_file} (fill resolution; see README, Monday morning), then: "
        f"kajabi-sync resolve {review_file} --yes"
    )
    return EXIT_OK


def cmd_resolve(args: argparse.Namespace) -> int:
    from kajabi_sync.db.connection import connect
    from kajabi_sync.review.decisions import bulk_decisions, read_decision_file
    from kajabi_sync.review.items import load_open_items
    from kajabi_sync.review.resolve import apply_decisions, check_decisions

    bulk = args.kind or args.field or args.resolution
    if args.file and bulk:
        print(
            "kajabi-sync: give either a review FILE or --kind/--field/--resolution, not both",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not args.file and not (args.resolution and (args.kind or args.field)):
        print(
            "kajabi-sync: give a filled review FILE, or a bulk choice: --kind KIND "
            "[--field FIELD] --resolution RESOLUTION",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with connect(_database_url(args)) as conn:
        if args.file:
            decisions = read_decision_file(args.file)
            source = Path(args.file).name
        else:
            decisions = bulk_decisions(
                load_open_items(conn), args.resolution, kind=args.kind, field=args.field
            )
            source = (
                " ".join(
                    f"--{name} {value}"
                    for name, value in (("kind", args.kind), ("field", args.field))
                    if value
                )
                + f" --resolution {args.resolution}"
            )
        planned = check_decisions(conn, decisions)
        print(f"{len(planned):,} decision(s) to apply:")
        for item in planned:
            print("  " + item.describe(args.show_personal_data))
        if not args.yes:
            print("Nothing was written. To apply all of them in one transaction, add --yes.")
            return EXIT_OK
        result = apply_decisions(conn, decisions, source=source, note=args.note)
    print(
        f"Applied as review run {result.review_run_id}: {result.decided} decision(s), "
        f"{result.fields_written} field(s) written, {result.bases_changed} Kajabi value(s) "
        f"recorded as seen, {len(result.merge_run_ids)} merged, {result.released} released.\n"
        f"Undo with: kajabi-sync rollback {result.review_run_id} --yes"
    )
    return EXIT_OK


# --- the parser -------------------------------------------------------------------------------

EPILOG = "Exit codes: 0 done, 1 refused or failed (the reason on stderr), 2 wrong usage."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kajabi-sync",
        description="Safe, visible weekly import of Kajabi contacts into the contacts database.",
        epilog=EPILOG,
    )
    parser.add_argument(
        "--database-url",
        help="contacts database (default: $KAJABI_SYNC_DATABASE_URL, else the embedded server)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], summary: str, details: str = ""
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=details or summary, epilog=EPILOG)
        sub.set_defaults(handler=handler)
        return sub

    status = command(
        "status", cmd_status, "last import runs, what they changed, checks that blocked"
    )
    status.add_argument("--limit", type=int, default=10, help="how many runs to show (default 10)")

    plan = command(
        "plan",
        cmd_plan,
        "the impact plan of an export, without Dagster running",
        "Read and validate FILE, plan it against the database exactly as impact_analysis does "
        "(duplicate candidates held), print the summary and the checks, and write the reports. "
        "Writes no contact (only the idempotent merge memory impact_analysis also records). "
        "Exit 1 when a blocking check would stop the import.",
    )
    plan.add_argument("file", metavar="FILE", help="a Kajabi contacts export (CSV)")
    plan.add_argument("--out", help="folder for the reports (default data/plans/<file name>)")
    for name, allowed in PLAN_SETTINGS_ALLOWED.items():
        plan.add_argument(
            "--" + name.replace("_", "-"),
            choices=allowed,
            help=PLAN_SETTINGS_HELP[name]
            + f" (default: the site's setting, [plan] in kajabi_sync.toml or KAJABI_SYNC_"
            f"{name.upper()}, else {allowed[0]})",
        )

    contact = command(
        "contact", cmd_contact, "a contact's fields, their provenance and history of changes"
    )
    contact.add_argument(
        "who",
        metavar="CONTACT",
        help="a contact id, a review_id (from needs_review.csv or the UI) or any of its emails",
    )
    contact.add_argument("--limit", type=int, default=50, help="history rows to show (default 50)")

    merge = command(
        "merge",
        cmd_merge,
        "merge a duplicate into the contact that stays (undo with unmerge)",
        "Fill SURVIVOR's empty fields from MERGED, move MERGED's emails to SURVIVOR and soft-delete "
        "MERGED, in one audited transaction. Each can be a contact id or an email address.",
    )
    merge.add_argument("survivor", metavar="SURVIVOR", help="the contact that stays (id or email)")
    merge.add_argument("merged", metavar="MERGED", help="the duplicate merged away (id or email)")
    merge.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    merge.add_argument(
        "--address-only",
        action="store_true",
        help="MERGED is an email with no contact (e.g. a held Kajabi address): attach it",
    )

    unmerge_cmd = command(
        "unmerge", cmd_unmerge, "undo a merge exactly (refuses if something changed since)"
    )
    unmerge_cmd.add_argument("merge_run", metavar="MERGE_RUN", type=int, help="the merge's run id")
    unmerge_cmd.add_argument(
        "--reason", default="merge undone by the user", help="why (kept in the audit trail)"
    )

    rollback = command(
        "rollback", cmd_rollback, "undo a whole import run (refuses if anything changed since)"
    )
    rollback.add_argument(
        "run", metavar="RUN", type=int, help="the import run id (see: kajabi-sync status)"
    )
    rollback.add_argument("--note", help="why (kept in the audit trail)")
    rollback.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    review = command(
        "review",
        cmd_review,
        "the open items that need a person (masked unless --show-personal-data)",
        "List what the last applied import left for a person: conflicts, unattributed fields, "
        "held duplicates. Decide them in needs_review.csv and apply it with kajabi-sync resolve.",
    )
    review.add_argument("--kind", help="only items of this kind (conflict, unattributed, ...)")
    review.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
    review.add_argument(
        "--show-personal-data", action="store_true", help="show emails and values unmasked"
    )

    resolve = command(
        "resolve",
        cmd_resolve,
        "apply the decisions of a filled needs_review.csv (or one bulk decision)",
        "Check every decided row (all or nothing) and print what will happen, item by item. With "
        "--yes, apply them in one transaction as a review run (undo: kajabi-sync rollback RUN). "
        "Bulk: --kind unattributed --field city --resolution keep_database.",
    )
    resolve.add_argument("file", metavar="FILE", nargs="?", help="a filled needs_review.csv")
    resolve.add_argument("--kind", help="bulk: every open item of this kind")
    resolve.add_argument("--field", help="bulk: only items of this field")
    resolve.add_argument("--resolution", help="bulk: keep_database, take_kajabi, merge or release")
    resolve.add_argument("--yes", action="store_true", help="apply (without it: only show)")
    resolve.add_argument("--note", help="why (kept in the audit trail)")
    resolve.add_argument(
        "--show-personal-data", action="store_true", help="show emails and values unmasked"
    )

    demo = command("demo", cmd_demo, "generate demo data and run the weekly job on it")
    demo.add_argument(
        "--contacts", type=int, default=6555, help="contacts to generate (default 6555)"
    )
    demo.add_argument(
        "--weeks",
        type=int,
        default=None,
        help="weekly exports to generate and import (default 2; 3 with --kajabi-api)",
    )
    demo.add_argument(
        "--kajabi-api",
        action="store_true",
        help="run the whole loop against a local fake Kajabi API (pull, apply, push) instead "
        "of export files, under data/kajabi_api_demo/",
    )

    push = command(
        "push",
        cmd_push,
        "what the week's push to Kajabi's API would send, field by field",
        "Lists, contact by contact and field by field, the PATCHes (and, with "
        "KAJABI_SYNC_PUSH_NEW=1, the creations) the kajabi_push step would send for the week, "
        "from the week's snapshot and the database. The push itself runs in the weekly job "
        "(KAJABI_SYNC_PUSH=api), after its push_volume check.",
    )
    push.add_argument(
        "week", metavar="WEEK", help="the week's Monday (or any day of it), YYYY-MM-DD"
    )
    push.add_argument(
        "--dry-run", action="store_true", required=True, help="show, send nothing (required)"
    )

    command("migrate", cmd_migrate, "create or update the database's tables (idempotent)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import psycopg

    from kajabi_sync.db.connection import database_error_hint, redact_url

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or wrong usage (2): a code, not an exception
        return int(stop.code or 0)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted: nothing was written by the step in progress", file=sys.stderr)
        return EXIT_FAILED
    except (ValueError, RuntimeError, NotFound, OSError) as error:
        print(f"kajabi-sync: {error}", file=sys.stderr)
        return EXIT_FAILED
    except psycopg.Error as error:
        print(f"kajabi-sync: database error: {redact_url(str(error)).strip()}", file=sys.stderr)
        hint = database_error_hint(error)
        if hint:
            print(f"What to do: {hint}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

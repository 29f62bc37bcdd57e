"""Per-stage timings of the weekly import at N contacts, against the naive import and the floor.

    .venv/bin/python benchmarks/pipeline_benchmark.py --sizes 6555 10000 100000 1000000

For each N (in its own process, so memory figures do not mix): generate the demo (week 1) into a
scratch database, copy it (``CREATE DATABASE ... TEMPLATE``) once per contender, then time

- the pipeline, stage by stage, in-process through the domain modules the assets call;
- the whole weekly job through Dagster (five assets + guard checks), in a fresh process, with
  Dagster's own start-up (imports, definitions) reported separately;
- the floor (``floor.py``): pandas' pyarrow CSV engine + a raw COPY into an unlogged table;
- the naive per-row import (``kajabi_sync.survivorship.naive.naive_import``) up to
  ``--naive-up-to`` contacts; beyond that it is extrapolated linearly from the largest measured
  size (it is linear: two statements a row).

Peak MB is the process's peak resident memory during the stage (``VmHWM``, reset before each
stage through ``/proc/self/clear_refs``), so it includes what earlier stages still hold. Every
scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_PREFIX = "kajabi_sync_bench"
HERE = Path(__file__).resolve().parent
PIPELINE_STAGES = ("read", "validate", "snapshot", "plan", "apply", "enriched export")


# --- measuring ---------------------------------------------------------------------------------


def _reset_peak() -> None:
    gc.collect()
    with open("/proc/self/clear_refs", "w") as handle:  # "5" resets VmHWM to the current RSS
        handle.write("5")


def _peak_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(stages: list[dict], name: str, rows: int, work: Callable[[], Any], group: str) -> Any:
    _reset_peak()
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    seconds = time.perf_counter() - started
    stages.append(
        {
            "group": group,
            "stage": name,
            "seconds": seconds,
            "rows": rows,
            "peak_mb": _peak_mb(),
            "cpu_seconds": time.process_time() - cpu,
            "load": os.getloadavg()[0],
        }
    )
    print(
        f"  {group:9} {name:24} {seconds:8.2f} s  {_peak_mb():7.0f} MB", file=sys.stderr, flush=True
    )
    return result


# --- scratch databases -------------------------------------------------------------------------


def _url(admin_url: str, database: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + database


@contextmanager
def _admin(admin_url: str):
    with psycopg.connect(admin_url, autocommit=True) as conn:
        yield conn


def _recreate(admin_url: str, database: str, template: str | None = None) -> str:
    with _admin(admin_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
        if template:
            statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
        conn.execute(statement)
    return _url(admin_url, database)


def _drop_all(admin_url: str) -> None:
    with _admin(admin_url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (DB_PREFIX + "%",)
            )
        ]
        for name in names:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --- one size ----------------------------------------------------------------------------------


def run_pipeline(stages: list[dict], url: str, export_path: Path, reports: Path) -> None:
    """The five assets' domain calls, in order, on ``url`` (mirrors kajabi_sync/defs/assets.py)."""
    import pandas as pd

    from kajabi_sync.db.apply import ImportRecord, apply_plan
    from kajabi_sync.db.connection import connect
    from kajabi_sync.db.migrate import migrate
    from kajabi_sync.db.snapshot import load_snapshot, read_query
    from kajabi_sync.fields import CONTACT_FIELDS
    from kajabi_sync.kajabi import read_kajabi_export, validate_export
    from kajabi_sync.kajabi.enriched_export import build_enriched_export, write_enriched_export
    from kajabi_sync.reports import write_csv
    from kajabi_sync.survivorship.match import DRIVING_MATCHES
    from kajabi_sync.survivorship.plan import PlanSettings, build_plan
    from kajabi_sync.survivorship.report import write_impact_report

    with connect(url) as conn:
        migrate(conn)
    raw = measure(stages, "read", 0, lambda: read_kajabi_export(export_path), "pipeline")
    rows = len(raw.frame)
    for stage in stages:
        stage["rows"] = stage["rows"] or rows

    def validate():
        validated = validate_export(raw)
        write_csv(validated.rejects, reports / "kajabi_export_rejects.csv")
        write_csv(validated.duplicate_emails, reports / "kajabi_export_duplicate_emails.csv")
        return validated

    validated = measure(stages, "validate", rows, validate, "pipeline")

    def snapshot():
        with connect(url) as conn:
            return load_snapshot(conn)

    snap = measure(stages, "snapshot", rows, snapshot, "pipeline")

    def plan(snap=snap):
        built = build_plan(validated.frame, snap, PlanSettings())
        write_impact_report(built, reports)
        return built

    impact = measure(stages, "plan", rows, plan, "pipeline")
    del snap

    def apply():
        record = ImportRecord(
            file_name=export_path.name,
            file_sha256=raw.sha256,
            export_rows=rows,
            export_date=raw.export_date,
            partition_key="bench",
        )
        with connect(url) as conn:
            return apply_plan(conn, impact, record)

    measure(stages, "apply", rows, apply, "pipeline")

    def enriched():
        with connect(url) as conn:
            contacts = read_query(
                conn,
                "SELECT id::text AS id, email::text AS email, "
                + ", ".join(CONTACT_FIELDS)
                + " FROM contacts WHERE deleted_at IS NULL",
                arrow=True,
            )
        matches = impact.matches
        driving = matches[matches["match_kind"].isin(DRIVING_MATCHES)][["row_number", "contact_id"]]
        linked = pd.concat(
            [driving, impact.new_contacts[["row_number", "contact_id"]]], ignore_index=True
        )
        kajabi = validated.frame.merge(linked, on="row_number")[
            ["contact_id", "email", *CONTACT_FIELDS]
        ]
        return write_enriched_export(build_enriched_export(contacts, kajabi), reports)

    measure(stages, "enriched export", rows, enriched, "pipeline")


def run_dagster_job(url: str, data_dir: Path, partition: str, home: Path) -> dict:
    env = dict(
        os.environ,
        KAJABI_SYNC_DATABASE_URL=url,
        KAJABI_SYNC_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(home),
    )
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--dagster-child", partition],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the Dagster run failed:\n{done.stderr[-4000:]}")
    result = json.loads(lines[-1])
    result["process_wall"] = wall
    return result


def dagster_child(partition: str) -> None:
    """In a fresh process: import Dagster and the definitions, then run the weekly job once."""
    started = time.perf_counter()
    import dagster as dg

    from kajabi_sync.definitions import defs

    job = defs.resolve_job_def("weekly_kajabi_sync")
    loaded = time.perf_counter()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            partition_key=partition, instance=instance, raise_on_error=False, run_config=quiet
        )
        finished = time.perf_counter()
        entries = instance.all_logs(result.run_id)
    steps: dict[str, float] = {}
    begun: dict[str, float] = {}
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            begun[event.step_key] = entry.timestamp
        elif event.event_type in (
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
        ):
            steps[event.step_key] = entry.timestamp - begun.get(event.step_key, entry.timestamp)
    problems = [
        f"{e.step_key}: {e.step_failure_data.error.message.strip()[:300]}"
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data.error is not None
    ]
    print(
        json.dumps(
            {
                "startup": loaded - started,
                "job": finished - loaded,
                "steps": steps,
                "success": result.success,
                "problems": problems,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def one_size(contacts: int, admin_url: str, naive_up_to: int) -> dict:
    from kajabi_sync.demo import DemoSpec, generate_demo

    sys.path.insert(0, str(HERE))
    from floor import floor_copy, floor_read, floor_read_pandas_c

    from kajabi_sync.survivorship.naive import naive_import

    stages: list[dict] = []
    out: dict[str, Any] = {"contacts": contacts, "stages": stages}
    template = f"{DB_PREFIX}_template"
    try:
        with tempfile.TemporaryDirectory(prefix="kajabi_bench_") as tmp:
            data_dir = Path(tmp) / "data"
            started = time.perf_counter()
            summary = generate_demo(
                _recreate(admin_url, template), data_dir, DemoSpec(contacts=contacts, weeks=1)
            )
            out["generate_seconds"] = time.perf_counter() - started
            export = summary.exports[0]
            out["export_rows"], out["export_mb"] = export.rows, export.path.stat().st_size / 2**20
            print(
                f"{contacts:,} contacts: export {export.rows:,} rows, {out['export_mb']:.0f} MB, "
                f"generated in {out['generate_seconds']:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            stage_url = _recreate(admin_url, f"{DB_PREFIX}_stages", template)
            dagster_url = _recreate(admin_url, f"{DB_PREFIX}_dagster", template)
            naive_url = (
                _recreate(admin_url, f"{DB_PREFIX}_naive", template)
                if contacts <= naive_up_to
                else None
            )

            rows = export.rows
            measure(
                stages,
                "read (pandas C engine)",
                rows,
                lambda: floor_read_pandas_c(export.path),
                "reference",
            )
            measure(
                stages, "read (pyarrow -> pandas)", rows, lambda: floor_read(export.path), "floor"
            )
            with psycopg.connect(stage_url) as conn:
                measure(
                    stages, "COPY (unlogged)", rows, lambda: floor_copy(conn, export.path), "floor"
                )
                conn.execute("DROP TABLE floor_export")
                conn.commit()

            reports = Path(tmp) / "stage_reports"
            reports.mkdir()
            run_pipeline(stages, stage_url, export.path, reports)

            print("  dagster   weekly_kajabi_sync ...", file=sys.stderr, flush=True)
            out["dagster"] = run_dagster_job(
                dagster_url, data_dir, export.export_date.isoformat(), Path(tmp) / "dh"
            )
            print(
                f"  dagster   start-up {out['dagster']['startup']:.1f} s, job {out['dagster']['job']:.1f} s, "
                f"peak {out['dagster']['peak_mb']:.0f} MB, success {out['dagster']['success']}",
                file=sys.stderr,
                flush=True,
            )

            if naive_url:
                with psycopg.connect(naive_url) as conn:
                    out["naive_counts"] = measure(
                        stages,
                        "per-row SELECT+UPDATE",
                        rows,
                        lambda: naive_import(conn, export.path),
                        "naive",
                    )
    finally:
        _drop_all(admin_url)
    return out


# --- the table ---------------------------------------------------------------------------------


def _seconds(result: dict, group: str, stage: str | None = None) -> float | None:
    picked = [
        s["seconds"]
        for s in result["stages"]
        if s["group"] == group and (stage is None or s["stage"] == stage)
    ]
    return sum(picked) if picked else None


def table(results: list[dict]) -> str:
    measured_naive = [r for r in results if _seconds(r, "naive")]
    naive_rate = None
    if measured_naive:
        largest = max(measured_naive, key=lambda r: r["contacts"])
        naive_rate = largest["export_rows"] / _seconds(largest, "naive")  # rows per second
    lines = [
        "| contacts | stage | seconds | rows/s | peak MB | Python CPU s | load avg |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    summary = [
        "| contacts | pipeline s | floor s | pipeline/floor | naive s | naive/pipeline | Dagster job s "
        "| Dagster start-up s | Dagster peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        n, rows = f"{r['contacts']:,}", r["export_rows"]
        for s in r["stages"]:
            lines.append(
                f"| {n} | {s['group']}: {s['stage']} | {s['seconds']:.2f} | {rows / s['seconds']:,.0f} "
                f"| {s['peak_mb']:,.0f} | {s['cpu_seconds']:.2f} | {s['load']:.1f} |"
            )
        pipeline, floor = _seconds(r, "pipeline"), _seconds(r, "floor")
        naive = _seconds(r, "naive")
        naive_note = ""
        if naive is None and naive_rate:
            naive, naive_note = rows / naive_rate, " (extrapolated)"
        lines.append(
            f"| {n} | **pipeline total** | **{pipeline:.2f}** | {rows / pipeline:,.0f} | | | |"
        )
        d = r["dagster"]
        lines.append(
            f"| {n} | Dagster: whole weekly job (5 assets + checks) | {d['job']:.2f} | "
            f"{rows / d['job']:,.0f} | {d['peak_mb']:,.0f} | | |"
        )
        lines.append(
            f"| {n} | Dagster: start-up (imports, definitions) | {d['startup']:.2f} | | | | |"
        )
        summary.append(
            f"| {n} | {pipeline:.2f} | {floor:.2f} | {pipeline / floor:.1f}x | "
            f"{'' if naive is None else f'{naive:.1f}{naive_note}'} | "
            f"{'' if naive is None else f'{naive / pipeline:.0f}x'} | {d['job']:.2f} | {d['startup']:.2f} "
            f"| {d['peak_mb']:,.0f} |"
        )
    steps = [
        "| contacts | " + " | ".join(sorted(results[0]["dagster"]["steps"])) + " |",
        "|---:|" + "---:|" * len(results[0]["dagster"]["steps"]),
    ]
    for r in results:
        steps.append(
            f"| {r['contacts']:,} | "
            + " | ".join(
                f"{r['dagster']['steps'].get(k, float('nan')):.2f}"
                for k in sorted(results[0]["dagster"]["steps"])
            )
            + " |"
        )
    return "\n".join(
        ["### Stages", *lines, "", "### Summary", *summary, "", "### Dagster steps (s)", *steps]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[6555, 10_000, 100_000, 1_000_000])
    parser.add_argument("--naive-up-to", type=int, default=100_000)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dagster-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dagster_child:
        dagster_child(args.dagster_child)
        return 0
    if args.one:
        print(json.dumps(one_size(args.one, args.admin_url, args.naive_up_to)))
        return 0
    results = []
    for size in args.sizes:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--admin-url",
                args.admin_url,
                "--naive-up-to",
                str(args.naive_up_to),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        if done.returncode != 0:
            print(f"the {size:,}-contact run failed", file=sys.stderr)
            return 1
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

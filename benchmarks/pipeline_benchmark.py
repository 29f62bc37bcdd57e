"""Per-stage timings of the weekly import at N contacts, week 1 and a steady week 2, against the
floor, the naive import and the issue's targets.

    .venv/bin/python benchmarks/pipeline_benchmark.py --sizes 6555 100000 1000000 --weeks 2 \\
        --json benchmarks/results.json

For each N (in its own process, so memory figures do not mix), the demo generator writes the
demo database (the template) and ``--weeks`` weekly exports: week 1 is the first import (every
matched contact gets its first base); every later week is a **steady week**: about 1% of the
export's rows get a Kajabi-side edit (phone, last name or address), 0.5% are new sign-ups and
0.2% are gone (``SteadySpec``: the demo's own ``advance_week`` and ``new_signups`` at those rates,
seeded). For each week, in this order:

- the **floor** (``floor.py``): pyarrow reads the week's CSV, then a raw COPY into an unlogged
  table of an empty database;
- the **in-process stages**, in a fresh process, through the domain functions the assets call
  (read, validate, plan_week with its snapshot/build_plan/holds parts timed inside it, guards,
  apply, enriched export), on a copy of the database state the Dagster run of the previous week
  left (week 1: a copy of the template), made with ``CREATE DATABASE ... TEMPLATE``;
- the **whole weekly job through Dagster** (assets + guard checks), in a fresh process, with
  the job's own executor (``execute_job`` of the reconstructable job, as a launched run does),
  on the database the previous week's Dagster run left; Dagster's start-up (imports,
  definitions, instance) is reported apart from the job;
- week 1 only: the naive per-row import (``kajabi_sync.survivorship.naive.naive_import``) up
  to ``--naive-up-to`` contacts (beyond that it is extrapolated linearly from the largest
  measured size: two statements a row).

Memory:

- a stage's peak MB is the in-process pipeline's peak resident memory during that stage
  (``VmHWM``, reset before each stage through ``/proc/self/clear_refs``), so it includes what
  earlier stages still hold; the pipeline's peak is the largest of them;
- the Dagster job's **tree peak** is the largest sum of resident memory (RSS) of the job process
  and all its descendants (the step processes a multiprocess executor starts), sampled with
  psutil every ``--sample-interval`` seconds (pages shared between processes are counted in each;
  a peak shorter than the interval can be missed). Beside it, the **largest single process**:
  ``ru_maxrss`` of the job process and of its waited-for children (exact, from the kernel).

Every scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

from kajabi_sync.demo.spec import DemoSpec

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Every database the benchmark makes starts with this (and is dropped at the end): two benchmarks
# running at once on one server each name their own with KAJABI_SYNC_BENCH_DB_PREFIX.
DB_PREFIX = os.environ.get("KAJABI_SYNC_BENCH_DB_PREFIX", "kajabi_sync_bench")
HERE = Path(__file__).resolve().parent
JOB_NAME = "weekly_kajabi_sync"
RESULT_MARK = "BENCHMARK_RESULT "  # the line a child process reports its figures on
# The plan_week parts timed inside it: names looked up in kajabi_sync.weekly_plan at call time.
# From weekly_plan.SEARCH_BESIDE_PLAN_FROM export rows ``score_new_rows`` runs in a process of
# its own beside ``build_plan`` (not timed here): the plan's own wait for its answer is SEARCH_WAIT.
PLAN_PARTS = (
    "load_snapshot",
    "steady_snapshot",
    "match_rows",
    "build_plan",
    "score_new_rows",
    "hold_likely_duplicates",
)
SEARCH_WAIT = "waiting for the duplicate search process"
# Run 13's results (benchmarks/results_run13*.json): the search then ran in a thread, and a part
# timed off the main thread carries this suffix; it overlapped build_plan.
BESIDE = " (in a thread, beside build_plan)"
# A steady week, as fractions of the export's rows (issue 18).
STEADY_RATES = {
    "kajabi_edits_per_week": 0.01,
    "new_signups_per_week": 0.005,
    "gone_per_week": 0.002,
}
# The targets: (label, size, metric, week 1 limit, steady week limit).
TARGETS = (
    ("1M: whole job through Dagster (s)", 1_000_000, "dagster_job", 45.0, 15.0),
    ("1M: peak memory of the job tree (MB)", 1_000_000, "tree_peak_mb", 1536.0, 1024.0),
    ("1M: in-process pipeline / floor", 1_000_000, "pipeline_over_floor", 6.0, 3.0),
    ("6,555 (the demo): whole job, start-up apart (s)", 6_555, "dagster_job", 3.0, 2.0),
)


@dataclass(frozen=True)
class SteadySpec(DemoSpec):
    """The demo, with steady later weeks at ``STEADY_RATES`` of the export's rows."""

    def count(self, category: str) -> int:
        if category in STEADY_RATES:
            rows = super().count("kajabi_contacts")
            return max(1, round(STEADY_RATES[category] * rows))
        return super().count(category)


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


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


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
    _say(f"    {group:9} {name:24} {seconds:8.2f} s  {_peak_mb():7.0f} MB")
    return result


@contextmanager
def timed_parts(module: Any, names: tuple[str, ...]) -> Iterator[dict[str, float]]:
    """Seconds spent in each of ``module``'s functions ``names`` while the block runs (a name the
    module does not have is not reported; a class's methods are timed as its functions). A
    function that returns a context manager is timed in its ``__enter__`` and ``__exit__``, not
    over the block it guards."""
    spent: dict[str, float] = {}
    originals = {name: getattr(module, name) for name in names if hasattr(module, name)}

    def timer(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def add(started: float) -> None:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = function(*args, **kwargs)
            finally:
                add(started)
            if not hasattr(result, "__enter__"):
                return result

            @contextmanager
            def entered() -> Iterator[Any]:
                started = time.perf_counter()
                value = result.__enter__()
                add(started)
                try:
                    yield value
                except BaseException:
                    started = time.perf_counter()
                    if not result.__exit__(*sys.exc_info()):
                        add(started)
                        raise
                    add(started)
                else:
                    started = time.perf_counter()
                    result.__exit__(None, None, None)
                    add(started)

            return entered()

        return timed

    for name, function in originals.items():
        setattr(module, name, timer(name, function))
    try:
        yield spent
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


class TreeMemory:
    """The peak summed RSS of a process and all its descendants, sampled on a thread."""

    def __init__(self, pid: int, interval: float) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.peak_processes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        self.samples += 1
        if total > self.peak:
            self.peak, self.peak_processes = total, len(processes)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_child(
    args: list[str],
    env: dict[str, str] | None,
    interval: float,
    log: Path | None = None,
) -> dict:
    """Run this script with ``args`` in a fresh process; its figures, with the tree's peak.
    ``log``: where the child's stderr goes (else to ours), shown if it fails."""
    started = time.perf_counter()
    with open(log, "w") if log else open(os.devnull) as err:
        child = subprocess.Popen(
            [sys.executable, __file__, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err if log else None,
            text=True,
        )
        with TreeMemory(child.pid, interval) as tree:
            stdout, _ = child.communicate()
    wall = time.perf_counter() - started
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARK)]
    if child.returncode != 0 or not lines:
        tail = log.read_text()[-4000:] if log else ""
        raise RuntimeError(f"{args[0]} failed (exit {child.returncode})\n{tail}")
    result = json.loads(lines[-1][len(RESULT_MARK) :])
    result.update(
        process_wall=wall,
        tree_peak_mb=tree.peak / 2**20,
        tree_peak_processes=tree.peak_processes,
        tree_samples=tree.samples,
    )
    return result


def report(result: dict) -> None:
    print(RESULT_MARK + json.dumps(result), flush=True)


# --- scratch databases -------------------------------------------------------------------------


def _url(admin_url: str, database: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + database


@contextmanager
def _admin(admin_url: str) -> Iterator[psycopg.Connection]:
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


def _generate_analyzed(admin_url: str, database: str, data_dir: Path, spec: DemoSpec) -> Any:
    """``generate_demo`` into a fresh database ``database``, then ``ANALYZE`` it: a real database
    has planner statistics, and autovacuum's analyze may not have run right after the bulk
    load. Every copy made from it (``CREATE DATABASE ... TEMPLATE``) carries them."""
    from kajabi_sync.demo import generate_demo

    url = _recreate(admin_url, database)
    summary = generate_demo(url, data_dir, spec)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return summary


def _drop_all(admin_url: str, prefix: str = DB_PREFIX) -> None:
    """Drop every database whose name starts with ``prefix``."""
    with _admin(admin_url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (prefix + "%",),
            )
        ]
        for name in names:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --- the in-process stages (a child process) ---------------------------------------------------


def stages_child(url: str, export_path: Path, reports: Path, week: str) -> None:
    """The weekly assets' domain calls, in order, on ``url`` (mirrors kajabi_sync/defs/assets.py
    and defs/checks.py; the review-folder step is left out: the folder is empty here)."""
    from kajabi_sync import settings, weekly_plan
    from kajabi_sync.db.apply import ImportRecord, apply_plan
    from kajabi_sync.db.connection import connect
    from kajabi_sync.db.holds import record_holds
    from kajabi_sync.db.migrate import migrate
    from kajabi_sync.exports_folder import monday_of
    from kajabi_sync.guards.thresholds import load_thresholds
    from kajabi_sync.guards.week import check_week
    from kajabi_sync.kajabi import read_kajabi_export, validate_export
    from kajabi_sync.kajabi.enriched_export import (
        write_enriched_export,
    )
    from kajabi_sync.matching.search_process import SearchProcess
    from kajabi_sync.reports import (
        DUPLICATE_CANDIDATES_REPORT,
        DUPLICATE_EMAILS_REPORT,
        REJECTS_REPORT,
        week_file_name,
        write_csv,
    )
    from kajabi_sync.review.items import (
        record_review_items,
        review_items,
        write_review_file,
    )
    from kajabi_sync.survivorship.plan_settings import load_plan_settings
    from kajabi_sync.survivorship.report import write_impact_report

    reports.mkdir(parents=True, exist_ok=True)
    with connect(url) as conn:
        migrate(conn)
    stages: list[dict] = []
    raw = measure(stages, "read", 0, lambda: read_kajabi_export(export_path), "pipeline")
    rows = len(raw.frame)
    stages[0]["rows"] = rows

    def validate(raw: Any) -> Any:
        validated = validate_export(raw)
        write_csv(validated.rejects, reports / week_file_name(REJECTS_REPORT, week))
        write_csv(
            validated.duplicate_emails,
            reports / week_file_name(DUPLICATE_EMAILS_REPORT, week),
        )
        return validated

    # The raw export goes once validated, as it does between the Dagster steps.
    validated = measure(stages, "validate", rows, functools.partial(validate, raw), "pipeline")
    del raw
    parts: dict[str, float] = {}

    def plan() -> Any:
        with (
            connect(url) as conn,
            timed_parts(weekly_plan, PLAN_PARTS) as spent,
            timed_parts(SearchProcess, ("result",)) as waited,
        ):
            planned = weekly_plan.plan_week(conn, validated.frame, load_plan_settings())
        parts.update(spent)
        if "result" in waited:
            parts[SEARCH_WAIT] = waited["result"]
        write_csv(
            planned.candidates,
            reports / week_file_name(DUPLICATE_CANDIDATES_REPORT, week),
        )
        write_impact_report(planned.plan, reports, week)
        write_review_file(review_items(planned.plan), reports, week)
        return planned.plan

    impact = measure(stages, "plan", rows, plan, "pipeline")

    def guards() -> list:
        with connect(url) as conn:
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
            raise RuntimeError(f"the guards blocked week {week}: {', '.join(blocked)}")
        return results

    measure(stages, "guards", rows, guards, "pipeline")

    def apply() -> Any:
        record = ImportRecord.of_export(validated.source, partition_key=week)
        with connect(url) as conn:
            result = apply_plan(conn, impact, record)
            record_holds(conn, impact.held)
            record_review_items(conn, review_items(impact), result.import_run_id)
        return result

    measure(stages, "apply", rows, apply, "pipeline")

    def enriched() -> Any:
        with connect(url) as conn:
            export = weekly_plan.week_enriched_export(conn, impact, validated.frame)
        return write_enriched_export(export, reports, week=week)

    measure(stages, "enriched export", rows, enriched, "pipeline")
    report({"stages": stages, "plan_parts": parts, "rows": rows})


# --- the Dagster job (a child process) ---------------------------------------------------------


def weekly_job() -> Any:
    """The weekly job as the code location defines it (reconstructable: the executor's step
    processes load it again from this module)."""
    from kajabi_sync.definitions import defs

    return defs.resolve_job_def(JOB_NAME)


def dagster_child(partition: str, executor: str) -> None:
    """In a fresh process: import Dagster and the definitions, then run the weekly job once:
    ``job``: with the job's own executor, as a launched run does (``execute_job``);
    ``in_process``: ``execute_in_process`` (one process whatever the job's executor)."""
    started = time.perf_counter()
    import dagster as dg

    definition = weekly_job()
    used = definition.executor_def.name if executor == "job" else "execute_in_process"
    instance = dg.DagsterInstance.get()
    loaded = time.perf_counter()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with instance:
        if executor == "job":
            run_id = dg.execute_job(
                dg.reconstructable(weekly_job),
                instance,
                run_config=quiet,
                tags={"dagster/partition": partition},
            ).run_id
        else:
            run_id = definition.execute_in_process(
                partition_key=partition,
                instance=instance,
                raise_on_error=False,
                run_config=quiet,
            ).run_id
        finished = time.perf_counter()
        run = instance.get_run_by_id(run_id)
        success = run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        entries = instance.all_logs(run_id)
    first: dict[str, float] = {}
    begun: dict[str, float] = {}
    steps: dict[str, float] = {}
    spans: dict[str, float] = {}
    problems: list[str] = []
    for entry in entries:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        key = event.step_key
        if event.event_type in (
            dg.DagsterEventType.STEP_WORKER_STARTING,
            dg.DagsterEventType.STEP_START,
        ):
            first.setdefault(key, entry.timestamp)
        if event.event_type == dg.DagsterEventType.STEP_START:
            begun[key] = entry.timestamp
        elif event.event_type in (
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
        ):
            steps[key] = entry.timestamp - begun.get(key, entry.timestamp)
            spans[key] = entry.timestamp - first.get(key, entry.timestamp)
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            failure = event.step_failure_data
            if failure.error is not None:
                problems.append(f"{key}: {failure.error.message.strip()[:300]}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report(
        {
            "executor": used,
            "startup": loaded - started,
            "job": finished - loaded,
            "steps": steps,
            "step_spans": spans,  # from the step's first event (worker start) to its end
            "success": success,
            "problems": problems,
            "largest_process_mb": max(own, children),
            "job_process_mb": own,
            # CPU seconds of the job process and its waited-for step processes: less bent by
            # a loaded machine than wall seconds.
            "cpu_seconds": sum(
                getattr(resource.getrusage(who), field)
                for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                for field in ("ru_utime", "ru_stime")
            ),
        }
    )


def run_dagster_job(
    url: str, data_dir: Path, partition: str, home: Path, interval: float, executor: str
) -> dict[str, Any]:
    env = dict(
        os.environ,
        KAJABI_SYNC_DATABASE_URL=url,
        KAJABI_SYNC_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(home),
    )
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    result = run_child(
        ["--dagster-child", partition, executor],
        env,
        interval,
        home / f"{partition}.log",
    )
    if not result["success"]:
        raise RuntimeError("the Dagster run failed:\n" + "\n".join(result["problems"]))
    return result


# --- one size ----------------------------------------------------------------------------------


def one_size(
    contacts: int,
    admin_url: str,
    naive_up_to: int,
    weeks: int,
    interval: float,
    executor: str,
    partial: Path | None = None,
) -> dict:
    sys.path.insert(0, str(HERE))
    from floor import floor_copy, floor_read, floor_read_pandas_c

    from kajabi_sync.survivorship.naive import naive_import

    out: dict[str, Any] = {"contacts": contacts, "weeks": []}
    template = f"{DB_PREFIX}_template"
    dagster_db = f"{DB_PREFIX}_dagster"
    try:
        with tempfile.TemporaryDirectory(prefix="kajabi_bench_") as tmp:
            data_dir = Path(tmp) / "data"
            started = time.perf_counter()
            summary = _generate_analyzed(
                admin_url, template, data_dir, SteadySpec(contacts=contacts, weeks=weeks)
            )
            out["generate_seconds"] = time.perf_counter() - started
            _say(f"{contacts:,} contacts: generated in {out['generate_seconds']:.0f} s")
            floor_url = _recreate(admin_url, f"{DB_PREFIX}_floor")
            dagster_url = _recreate(admin_url, dagster_db, template)
            for number, export in enumerate(summary.exports, start=1):
                partition = export.export_date.isoformat()
                week: dict[str, Any] = {
                    "week": number,
                    "partition": partition,
                    "export_rows": export.rows,
                    "export_mb": export.path.stat().st_size / 2**20,
                    "new_signups": export.new_signups,
                    "edits": export.edits,
                    "gone": export.gone,
                }
                out["weeks"].append(week)
                _say(
                    f"  week {number}: {export.rows:,} rows, {week['export_mb']:.0f} MB, "
                    f"{export.new_signups:,} new, {export.edits:,} edited, {export.gone:,} gone"
                )
                stages: list[dict] = []
                rows = export.rows
                measure(
                    stages,
                    "read (pandas C engine)",
                    rows,
                    lambda path=export.path: floor_read_pandas_c(path),
                    "reference",
                )
                measure(
                    stages,
                    "read (pyarrow -> pandas)",
                    rows,
                    lambda path=export.path: floor_read(path),
                    "floor",
                )
                with psycopg.connect(floor_url) as conn:
                    measure(
                        stages,
                        "COPY (unlogged)",
                        rows,
                        lambda conn=conn, path=export.path: floor_copy(conn, path),
                        "floor",
                    )
                    conn.execute("DROP TABLE floor_export")
                    conn.commit()

                # The in-process stages start from the state the previous Dagster run left.
                cloned = time.perf_counter()
                stage_url = _recreate(admin_url, f"{DB_PREFIX}_stages_{number}", dagster_db)
                week["clone_seconds"] = time.perf_counter() - cloned
                pipeline = run_child(
                    [
                        "--stages-child",
                        stage_url,
                        str(export.path),
                        str(Path(tmp) / f"stage_reports_{number}"),
                        partition,
                    ],
                    None,
                    interval,
                )
                stages += pipeline["stages"]
                week["plan_parts"] = pipeline["plan_parts"]
                week["pipeline_peak_mb"] = max(s["peak_mb"] for s in pipeline["stages"])
                week["pipeline_tree_peak_mb"] = pipeline["tree_peak_mb"]
                _drop_database(admin_url, f"{DB_PREFIX}_stages_{number}")

                _say(f"    dagster   {JOB_NAME} week {number} ...")
                week["dagster"] = run_dagster_job(
                    dagster_url,
                    data_dir,
                    partition,
                    Path(tmp) / "dh",
                    interval,
                    executor,
                )
                d = week["dagster"]
                _say(
                    f"    dagster   [{d['executor']}] start-up {d['startup']:.1f} s, job "
                    f"{d['job']:.1f} s, tree peak {d['tree_peak_mb']:.0f} MB "
                    f"({d['tree_peak_processes']} processes), largest process "
                    f"{d['largest_process_mb']:.0f} MB"
                )

                if number == 1 and contacts <= naive_up_to:
                    naive_url = _recreate(admin_url, f"{DB_PREFIX}_naive", template)
                    with psycopg.connect(naive_url) as conn:
                        measure(
                            stages,
                            "per-row SELECT+UPDATE",
                            rows,
                            lambda conn=conn, path=export.path: naive_import(conn, path),
                            "naive",
                        )
                    _drop_database(admin_url, f"{DB_PREFIX}_naive")
                week["stages"] = stages
                if partial:  # what a size has measured so far, should the run be stopped
                    partial.write_text(json.dumps(out, indent=1))
    finally:
        _drop_all(admin_url)
    return out


def _drop_database(admin_url: str, name: str) -> None:
    with _admin(admin_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --- the tables --------------------------------------------------------------------------------


def _seconds(week: dict, group: str, stage: str | None = None) -> float | None:
    picked = [
        s["seconds"]
        for s in week["stages"]
        if s["group"] == group and (stage is None or s["stage"] == stage)
    ]
    return sum(picked) if picked else None


def _maybe(value: float) -> str:
    return "" if value != value else f"{value:.1f}"  # NaN: not measured by that run


def _week_name(number: int) -> str:
    return "1 (first import)" if number == 1 else f"{number} (steady)"


def figures(week: dict) -> dict[str, float]:
    """The figures the targets and the summary talk about, for one week of one size."""
    pipeline, floor = _seconds(week, "pipeline") or 0.0, _seconds(week, "floor") or 0.0
    d = week["dagster"]
    cpu = sum(s["cpu_seconds"] for s in week["stages"] if s["group"] == "pipeline")
    return {
        "pipeline": pipeline,
        "pipeline_cpu": cpu,
        "dagster_cpu": d.get("cpu_seconds", float("nan")),
        "floor": floor,
        "pipeline_over_floor": pipeline / floor if floor else float("nan"),
        "dagster_job": d["job"],
        "dagster_startup": d["startup"],
        "tree_peak_mb": d["tree_peak_mb"],
        "largest_process_mb": d["largest_process_mb"],
        "pipeline_peak_mb": week["pipeline_peak_mb"],
    }


def _stage_rows(week: dict) -> list[tuple[str, float]]:
    """(stage, seconds) of the in-process pipeline, with plan_week's parts and the rest of it."""
    out: list[tuple[str, float]] = []
    for s in week["stages"]:
        if s["group"] != "pipeline":
            continue
        out.append((s["stage"], s["seconds"]))
        if s["stage"] == "plan":
            parts = week.get("plan_parts", {})
            for name in (*PLAN_PARTS, SEARCH_WAIT):
                for label in (name, name + BESIDE):
                    if label in parts:
                        out.append((f"plan: {label}", parts[label]))
            serial = sum(v for k, v in parts.items() if not k.endswith(BESIDE))
            out.append(
                ("plan: the rest (merge memory, holds list, reports)", s["seconds"] - serial)
            )
    return out


def table(results: list[dict]) -> str:
    weeks = sorted({w["week"] for r in results for w in r["weeks"]})
    naive_rate = None
    measured = [(r, r["weeks"][0]) for r in results if _seconds(r["weeks"][0], "naive")]
    if measured:
        largest, week1 = max(measured, key=lambda rw: rw[0]["contacts"])
        naive_rate = week1["export_rows"] / (_seconds(week1, "naive") or 1.0)
    stage_lines = [
        "| contacts | week | stage | seconds | rows/s | peak MB | Python CPU s | load avg |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    summary = [
        "| contacts | week | rows (new / edited / gone) | pipeline s | pipeline CPU s | floor s "
        "| pipeline / floor | Dagster job s | Dagster CPU s | Dagster start-up s "
        "| job tree peak MB | largest process MB | pipeline peak MB | naive s |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    step_names = sorted({k for r in results for w in r["weeks"] for k in w["dagster"]["steps"]})
    steps = [
        "| contacts | week | executor | "
        + " | ".join(step_names)
        + " | sum of steps | job - steps (Dagster's own: processes, events, IO) |",
        "|---:|---|---|" + "---:|" * (len(step_names) + 2),
    ]
    for r in results:
        n = f"{r['contacts']:,}"
        for w in r["weeks"]:
            rows, name = w["export_rows"], _week_name(w["week"])
            for s in w["stages"]:
                stage_lines.append(
                    f"| {n} | {name} | {s['group']}: {s['stage']} | {s['seconds']:.2f} "
                    f"| {rows / s['seconds']:,.0f} | {s['peak_mb']:,.0f} | {s['cpu_seconds']:.2f} "
                    f"| {s['load']:.1f} |"
                )
            for stage, seconds in _stage_rows(w):
                if stage.startswith("plan: "):
                    stage_lines.append(
                        f"| {n} | {name} | pipeline: {stage} | {seconds:.2f} | | | | |"
                    )
            f = figures(w)
            d = w["dagster"]
            stage_lines += [
                f"| {n} | {name} | **pipeline total** | **{f['pipeline']:.2f}** "
                f"| {rows / f['pipeline']:,.0f} | {f['pipeline_peak_mb']:,.0f} | | |",
                f"| {n} | {name} | Dagster: whole weekly job ({d['executor']}) | {d['job']:.2f} "
                f"| {rows / d['job']:,.0f} | {d['tree_peak_mb']:,.0f} (tree) | | |",
                f"| {n} | {name} | Dagster: start-up (imports, definitions, instance) "
                f"| {d['startup']:.2f} | | | | |",
            ]
            naive = _seconds(w, "naive")
            naive_text = "" if naive is None else f"{naive:.1f}"
            if naive is None and naive_rate and w["week"] == 1:
                naive_text = f"{rows / naive_rate:.1f} (extrapolated)"
            summary.append(
                f"| {n} | {name} | {rows:,} ({w['new_signups']:,} / {w['edits']:,} / {w['gone']:,}) "
                f"| {f['pipeline']:.2f} | {f['pipeline_cpu']:.2f} | {f['floor']:.2f} "
                f"| {f['pipeline_over_floor']:.1f}x | {f['dagster_job']:.2f} | {_maybe(f['dagster_cpu'])} "
                f"| {f['dagster_startup']:.2f} | {f['tree_peak_mb']:,.0f} "
                f"| {f['largest_process_mb']:,.0f} | {f['pipeline_peak_mb']:,.0f} | {naive_text} |"
            )
            steps.append(
                f"| {n} | {name} | {d['executor']} | "
                + " | ".join(f"{d['steps'][k]:.2f}" if k in d["steps"] else "" for k in step_names)
                + f" | {sum(d['steps'].values()):.2f} | {d['job'] - sum(d['steps'].values()):.2f} |"
            )
    return "\n".join(
        [
            "#### Stages",
            *stage_lines,
            "",
            "#### Summary",
            *summary,
            "",
            "#### Dagster steps (s, from the step's start to its end; worker start-up excluded)",
            *steps,
            "",
            "#### Growth (in-process stages and the Dagster job)",
            *growth(results, weeks),
            "",
            "#### Targets (issue 18)",
            *targets(results),
        ]
    )


def growth(results: list[dict], weeks: list[int]) -> list[str]:
    """Each stage's seconds per size, and the ratio of each size to the one before it."""
    ordered = sorted(results, key=lambda r: r["contacts"])
    pairs = list(zip(ordered, ordered[1:], strict=False))
    head = (
        "| week | stage | "
        + " | ".join(f"{r['contacts']:,} s" for r in ordered)
        + "".join(f" | {b['contacts']:,} / {a['contacts']:,}" for a, b in pairs)
        + " |"
    )
    lines = [head, "|---|---|" + "---:|" * (len(ordered) + len(pairs))]
    rows_line = "| | export rows | " + " | ".join(
        f"{r['weeks'][0]['export_rows']:,}" for r in ordered
    )
    rows_line += "".join(
        f" | x{b['weeks'][0]['export_rows'] / a['weeks'][0]['export_rows']:.1f} rows"
        for a, b in pairs
    )
    lines.append(rows_line + " |")
    for number in weeks:
        by_size: list[dict[str, float]] = []
        for r in ordered:
            w = next((w for w in r["weeks"] if w["week"] == number), None)
            if w is None:
                by_size.append({})
                continue
            values = dict(_stage_rows(w))
            f = figures(w)
            values["pipeline total"] = f["pipeline"]
            values["floor"] = f["floor"]
            values["Dagster: whole job"] = f["dagster_job"]
            for step, seconds in w["dagster"]["steps"].items():
                values[f"Dagster: {step}"] = seconds
            by_size.append(values)
        names = list(dict.fromkeys(k for values in by_size for k in values))
        for stage in names:
            cells = [f"{v[stage]:.2f}" if stage in v else "" for v in by_size]
            ratios = []
            for i in range(len(pairs)):
                a, b = by_size[i].get(stage), by_size[i + 1].get(stage)
                ratios.append(f"x{b / a:.1f}" if a and b is not None and a > 0 else "")
            lines.append(f"| {_week_name(number)} | {stage} | " + " | ".join(cells + ratios) + " |")
    return lines


def _week_values(week: dict) -> dict[str, float]:
    """Every figure of one week worth comparing between runs, by name."""
    f = figures(week)
    values = {f"pipeline: {stage}": seconds for stage, seconds in _stage_rows(week)}
    values["pipeline total"] = f["pipeline"]
    values["pipeline CPU s"] = f["pipeline_cpu"]
    values["pipeline peak MB"] = f["pipeline_peak_mb"]
    values["floor"] = f["floor"]
    values["Dagster: whole job"] = f["dagster_job"]
    values["Dagster: start-up"] = f["dagster_startup"]
    for step, seconds in sorted(week["dagster"]["steps"].items()):
        values[f"Dagster: {step}"] = seconds
    values["Dagster: job - steps"] = f["dagster_job"] - sum(week["dagster"]["steps"].values())
    values["Dagster: job tree peak MB"] = f["tree_peak_mb"]
    values["Dagster: largest process MB"] = f["largest_process_mb"]
    return values


def compare(before: list[dict], after: list[dict]) -> str:
    """Before -> after, figure by figure, for every size and week both runs measured."""
    lines = [
        "| contacts | week | figure | before | after | after / before |",
        "|---:|---|---|---:|---:|---:|",
    ]
    for old in sorted(before, key=lambda r: r["contacts"]):
        new = next((r for r in after if r["contacts"] == old["contacts"]), None)
        if new is None:
            continue
        for old_week in old["weeks"]:
            new_week = next((w for w in new["weeks"] if w["week"] == old_week["week"]), None)
            if new_week is None or "dagster" not in new_week:
                continue
            a, b = _week_values(old_week), _week_values(new_week)
            for name in dict.fromkeys([*a, *b]):
                x, y = a.get(name), b.get(name)
                ratio = f"x{y / x:.2f}" if x and y is not None and x == x and y == y else ""
                lines.append(
                    f"| {old['contacts']:,} | {_week_name(old_week['week'])} | {name} "
                    f"| {'' if x is None or x != x else f'{x:,.2f}'} "
                    f"| {'' if y is None or y != y else f'{y:,.2f}'} "
                    f"| {ratio} |"
                )
    return "\n".join(lines)


def _load(paths: list[Path]) -> list[dict]:
    loaded: list[dict] = []
    for path in paths:
        data = json.loads(path.read_text())
        loaded += data if isinstance(data, list) else [data]
    return loaded


def targets(results: list[dict]) -> list[str]:
    lines = [
        "| target | week 1: limit | week 1: achieved | met? | steady week: limit | steady week: achieved | met? |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    for label, size, metric, first, steady in TARGETS:
        result = next((r for r in results if r["contacts"] == size), None)
        cells = []
        for number, limit in ((1, first), (2, steady)):
            week = (
                None
                if result is None
                else next((w for w in result["weeks"] if w["week"] == number), None)
            )
            if week is None:
                cells += [f"{limit:g}", "not measured", ""]
                continue
            value = figures(week)[metric]
            extra = ""
            if metric == "dagster_job":
                extra = f" (+{week['dagster']['startup']:.1f} start-up)"
            text = f"{value:.1f}x" if metric == "pipeline_over_floor" else f"{value:,.1f}{extra}"
            cells += [f"{limit:g}", text, "met" if value < limit else "**not met**"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[6555, 100_000, 1_000_000])
    parser.add_argument("--weeks", type=int, default=2, help="week 1, then steady weeks")
    parser.add_argument("--naive-up-to", type=int, default=100_000)
    parser.add_argument("--sample-interval", type=float, default=0.05, help="seconds")
    parser.add_argument(
        "--executor",
        choices=("job", "in_process"),
        default="job",
        help="job: the job's own executor, as a launched run (default); in_process: "
        "execute_in_process, as runs 1 to 3 measured",
    )
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--table-from",
        type=Path,
        nargs="+",
        help="print the tables of results written by --json (or a size's .partial file)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="print the figures of two runs' --json results side by side",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--partial", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dagster-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--stages-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dagster_child:
        dagster_child(*args.dagster_child)
        return 0
    if args.stages_child:
        url, export, reports, week = args.stages_child
        stages_child(url, Path(export), Path(reports), week)
        return 0
    if args.table_from:
        print(table(_load(args.table_from)))
        return 0
    if args.compare:
        print(compare(_load([args.compare[0]]), _load([args.compare[1]])))
        return 0
    if args.one:
        report(
            one_size(
                args.one,
                args.admin_url,
                args.naive_up_to,
                args.weeks,
                args.sample_interval,
                args.executor,
                args.partial,
            )
        )
        return 0
    results = []
    for size in args.sizes:
        child = [
            "--one",
            str(size),
            "--weeks",
            str(args.weeks),
            "--admin-url",
            args.admin_url,
            "--naive-up-to",
            str(args.naive_up_to),
            "--sample-interval",
            str(args.sample_interval),
            "--executor",
            args.executor,
            *(
                ["--partial", str(args.json.with_suffix(f".partial-{size}.json"))]
                if args.json
                else []
            ),
        ]
        done = subprocess.run([sys.executable, __file__, *child], stdout=subprocess.PIPE, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
        if done.returncode != 0 or not lines:
            print(f"the {size:,}-contact run failed", file=sys.stderr)
            return 1
        results.append(json.loads(lines[-1][len(RESULT_MARK) :]))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The weekly job under Dagster's two executors: a process per step, or every step in one.

Runs ``weekly_kajabi_sync`` for one week as the daemon launches it (``execute_job`` on the
persistent instance: the job's own run, not ``execute_in_process``), alternately with the
``multiprocess`` and the ``in_process`` executor, each run in a fresh Python process. Reports per
executor: Dagster's start-up (imports and definitions), the run's wall time, and the time inside
the steps (their STEP_START to STEP_SUCCESS), so what the executor itself costs is the rest.

On the demo (``bash scripts/demo.sh`` first; its weeks are applied already, so a run plans,
checks and writes its reports and files, and its apply finds the export applied):

    DAGSTER_HOME=$PWD/dagster_home .venv/bin/python benchmarks/executor_benchmark.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

EXECUTORS = ("multiprocess", "in_process")  # the job's own is in_process (defs/jobs.py)


def _weekly_job(executor: str):  # noqa: ANN202
    import dagster as dg

    from kajabi_sync.definitions import defs

    job = defs.resolve_job_def("weekly_kajabi_sync")
    chosen = {"multiprocess": dg.multiprocess_executor, "in_process": dg.in_process_executor}
    return job.with_executor_def(chosen[executor])


# Reconstructed by Dagster by name in each step process: one function per executor.
def multiprocess_job():  # noqa: ANN201
    return _weekly_job("multiprocess")


def in_process_job():  # noqa: ANN201
    return _weekly_job("in_process")


JOBS = {"multiprocess": multiprocess_job, "in_process": in_process_job}


def child(executor: str, partition: str) -> None:
    started = time.perf_counter()
    import dagster as dg

    job = dg.reconstructable(JOBS[executor])
    JOBS[executor]()  # the definitions load here, as the run worker loads them
    loaded = time.perf_counter()
    config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.get() as instance:
        with dg.execute_job(
            job, instance, run_config=config, tags={"dagster/partition": partition}
        ) as result:
            finished = time.perf_counter()
            success = result.success
            entries = instance.all_logs(result.run_id)
    begun: dict[str, float] = {}
    steps: dict[str, float] = {}
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
    print(
        json.dumps(
            {
                "startup": loaded - started,
                "run": finished - loaded,
                "steps": sum(steps.values()),
                "step_count": len(steps),
                "success": success,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each executor")
    parser.add_argument("--partition", default="2025-11-17", help="the week to run")
    parser.add_argument(
        "--child", nargs=2, metavar=("EXECUTOR", "PARTITION"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    results: dict[str, list[dict]] = {name: [] for name in EXECUTORS}
    for round_ in range(args.runs):
        for name in EXECUTORS if round_ % 2 == 0 else EXECUTORS[::-1]:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, __file__, "--child", name, args.partition],
                env=os.environ,
                capture_output=True,
                text=True,
                check=False,
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode != 0 or not lines:
                raise SystemExit(f"the {name} run failed:\n{done.stderr[-4000:]}")
            figures = json.loads(lines[-1]) | {"process": time.perf_counter() - started}
            if not figures["success"]:
                raise SystemExit(f"the {name} run did not succeed:\n{done.stderr[-4000:]}")
            figures["load"] = os.getloadavg()[0]
            results[name].append(figures)
            print(name, json.dumps(figures), flush=True)
    print()
    print(
        "| executor | runs | start-up s | run s (median, min-max) | in steps s | executor s | load avg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        run = [r["run"] for r in runs]
        print(
            f"| {name} | {len(runs)} | {statistics.median(r['startup'] for r in runs):.2f} | "
            f"{statistics.median(run):.2f} ({min(run):.2f}-{max(run):.2f}) | "
            f"{statistics.median(r['steps'] for r in runs):.2f} | "
            f"{statistics.median(r['run'] - r['steps'] for r in runs):.2f} | "
            f"{statistics.median(r['load'] for r in runs):.1f} |"
        )


if __name__ == "__main__":
    main()

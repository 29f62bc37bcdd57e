"""The in-process stages only (read -> validate -> plan -> guards -> apply -> enriched export) at
one size, per stage: wall and CPU seconds and peak resident MB. No Dagster job, no floor.

    .venv/bin/python benchmarks/kajabi_stages.py --contacts 100000 --weeks 1 --repeat 2

The demo data and its database are generated once into ``--data`` (kept between invocations,
so before/after runs read the same files) and each run starts from a fresh clone of that
database. The stages are ``pipeline_benchmark.stages_child``'s, in a fresh process each run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pipeline_benchmark as pb  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each week")
    parser.add_argument("--data", type=Path, default=Path("/tmp/kajabi_stages_data"))
    parser.add_argument("--admin-url", default=pb.ADMIN_URL)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)

    prefix = f"{pb.DB_PREFIX}_stages{args.contacts}"
    template = f"{prefix}_template"
    data_dir = args.data / str(args.contacts)
    manifest = data_dir / "exports.json"
    if not manifest.exists():
        summary = pb._generate_analyzed(
            args.admin_url, template, data_dir, pb.SteadySpec(args.contacts, weeks=args.weeks)
        )
        manifest.write_text(
            json.dumps([[str(e.path), e.export_date.isoformat()] for e in summary.exports])
        )
    exports = json.loads(manifest.read_text())[: args.weeks]

    results = []
    with tempfile.TemporaryDirectory(prefix="kajabi_stages_") as tmp:
        for run in range(args.repeat):
            # Week n starts from the database week n-1's stages left.
            source = template
            for number, (path, week) in enumerate(exports, start=1):
                database = f"{prefix}_w{number}"
                url = pb._recreate(args.admin_url, database, source)
                out = pb.run_child(
                    ["--stages-child", url, path, str(Path(tmp) / f"r{run}w{number}"), week],
                    None,
                    0.05,
                )
                source = database
                results.append({"run": run, "week": number, **out})
                for s in out["stages"]:
                    print(
                        f"run {run} week {number} {s['stage']:16} {s['seconds']:7.2f} s wall "
                        f"{s['cpu_seconds']:7.2f} s CPU {s['peak_mb']:7.0f} MB peak "
                        f"(load {s['load']:.1f})",
                        flush=True,
                    )
                print(f"run {run} week {number} tree peak {out['tree_peak_mb']:.0f} MB", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

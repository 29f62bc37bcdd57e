"""Running the weekly job through Dagster on a persistent scratch instance, and reading back
everything Dagster kept: event records, the run (config, tags), and every file under its home."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
from dagster._serdes import serialize_value

from kajabi_sync_tests.factories import kajabi_csv
from kajabi_sync_tests.weekly_job import SMALL_EXPORT_OVERRIDE, run_week

PARTITION = "2025-11-10"
EXPORT_NAME = f"kajabi_contacts_{PARTITION}.csv"


def write_export(
    data_dir: Path, *rows: dict, extra_columns: dict[str, list[str]] | None = None
) -> Path:
    """A Kajabi-layout export for the scenario's week, with optional extra (custom) columns."""
    path = kajabi_csv(data_dir / "kajabi_exports" / EXPORT_NAME, *rows)
    if extra_columns:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        for label, values in extra_columns.items():
            frame[label] = values
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def materialize_week(
    instance: dg.DagsterInstance, run_config: dict = SMALL_EXPORT_OVERRIDE
) -> dg.ExecuteInProcessResult:
    """The weekly job for the scenario's week, as the code location defines it, with resources
    from the environment (``KAJABI_SYNC_DATABASE_URL`` and ``KAJABI_SYNC_DATA_DIR`` through
    ``dg.EnvVar``, read when the definitions are built: after the test has set them)."""
    return run_week(PARTITION, run_config, instance=instance)


def event_records(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Every event record of the run, serialised as Dagster stores it."""
    return [serialize_value(entry) for entry in instance.all_logs(run_id)]


def stored_run(instance: dg.DagsterInstance, run_id: str) -> str:
    """The run as stored: run config, tags, origin."""
    return serialize_value(instance.get_run_by_id(run_id))


def materialization_metadata(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """asset key -> every metadata entry of its materialisation, serialised."""
    return {
        event.asset_key.to_user_string(): serialize_value(event.materialization.metadata)
        for event in result.get_asset_materialization_events()
    }


def files_containing(root: Path, needles: list[str]) -> list[tuple[str, str]]:
    """(file, needle) for every file under ``root`` whose bytes contain a needle."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [(str(path), needle) for needle in needles if needle.encode() in data]
    return found

"""The demo's weeks through Dagster, for the review-loop tests."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd

from kajabi_sync.defs import assets
from kajabi_sync.defs.checks import kajabi_import_guards
from kajabi_sync.defs.resources import ContactsDatabase, DataFolder
from kajabi_sync.review.items import REVIEW_ENCODING, REVIEW_FILE

ALL_ASSETS = dg.load_assets_from_modules([assets])
WEEK_1, WEEK_2 = "2025-11-10", "2025-11-17"


def run_week(db_url: str, data_dir: Path, week: str) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [*ALL_ASSETS, kajabi_import_guards],
        partition_key=week,
        resources={
            "database": ContactsDatabase(url=db_url),
            "data_folder": DataFolder(path=str(data_dir)),
        },
        raise_on_error=False,
    )
    return result


def review_file(data_dir: Path) -> Path:
    """The review file of the week planned last (each week's is in its own report folder)."""
    stem = Path(REVIEW_FILE).stem
    written = list((data_dir / "reports").glob(f"*/{stem}_*.csv"))
    assert written, f"no {stem}_<week>.csv under {data_dir / 'reports'}"
    return max(written, key=lambda path: path.stat().st_mtime_ns)


def read_review(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=REVIEW_ENCODING)

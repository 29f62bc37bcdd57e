"""The demo's weeks and their review files, for the review-loop tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kajabi_sync.review.items import REVIEW_ENCODING, REVIEW_FILE

WEEK_1, WEEK_2 = "2025-11-10", "2025-11-17"


def review_file(data_dir: Path) -> Path:
    """The review file of the week planned last (each week's is in its own report folder)."""
    stem = Path(REVIEW_FILE).stem
    written = list((data_dir / "reports").glob(f"*/{stem}_*.csv"))
    assert written, f"no {stem}_<week>.csv under {data_dir / 'reports'}"
    return max(written, key=lambda path: path.stat().st_mtime_ns)


def read_review(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=REVIEW_ENCODING)

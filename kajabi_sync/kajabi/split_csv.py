"""Writing a frame as CSV files of at most N rows each (Kajabi imports 40,000 contacts a day).

A frame that fits becomes ``name.csv``; a larger one ``name_part01.csv``, ``name_part02.csv``, ...
Files of an earlier run with the same base name that this run did not rewrite are removed, so
the folder never mixes runs. Every file goes through ``write_csv`` (atomic, formula-neutralised,
0600, UTF-8 without a byte-order mark).
"""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from kajabi_sync.reports import write_csv

_WRITERS = 2  # parts written at once


def write_split_csv(
    frame: pd.DataFrame, out_dir: Path, name: str, max_rows_per_file: int
) -> dict[Path, int]:
    """``name.csv`` when ``frame`` fits, else numbered parts; returns path -> rows, in order."""
    if max_rows_per_file < 1:
        raise ValueError("max_rows_per_file must be at least 1")
    out_dir = Path(out_dir)
    part_count = max(1, math.ceil(len(frame) / max_rows_per_file))
    if part_count == 1:
        chunks = {out_dir / f"{name}.csv": frame}
    else:
        width = max(2, len(str(part_count)))
        size = max_rows_per_file
        chunks = {
            out_dir / f"{name}_part{number:0{width}d}.csv": frame.iloc[start : start + size]
            for number, start in enumerate(range(0, len(frame), size), start=1)
        }
    if len(chunks) == 1:
        ((path, chunk),) = chunks.items()
        write_csv(chunk, path)
    else:
        # Two parts at a time: building a part's text is Arrow work that runs without the
        # interpreter lock, and each part waits on its own fsync (benchmarks/RESULTS.md, run 13).
        # Each part is still written whole or not at all; a part that fails is raised once its
        # pair is done, and no later part is started.
        items = list(chunks.items())
        with ThreadPoolExecutor(max_workers=_WRITERS, thread_name_prefix="csv-part") as pool:
            for start in range(0, len(items), _WRITERS):
                pair = [
                    pool.submit(write_csv, chunk, path)
                    for path, chunk in items[start : start + _WRITERS]
                ]
                for future in pair:
                    future.result()
    _remove_stale(out_dir, name, keep=set(chunks))
    return {path: len(chunk) for path, chunk in chunks.items()}


def _remove_stale(out_dir: Path, name: str, keep: set[Path]) -> None:
    same_base = re.compile(rf"^{re.escape(name)}(_part\d+)?\.csv$")
    for path in out_dir.iterdir():
        if same_base.match(path.name) and path not in keep:
            path.unlink()

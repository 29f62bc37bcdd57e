"""The hardware floor: what no pipeline doing this job can beat on this machine.

Reading the export CSV with pandas' fastest engine (pyarrow, Arrow-backed columns), and a raw
``COPY`` of the same bytes into an UNLOGGED table of text columns (no parsing, no WAL, no index).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import psycopg
from psycopg import sql

_COPY_BLOCK = 1 << 20


def floor_read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, engine="pyarrow", dtype_backend="pyarrow", dtype=str)


def floor_copy(conn: psycopg.Connection, path: Path) -> int:
    """COPY the file as-is into a fresh unlogged table; returns the rows loaded."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle))
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(len(header)))
    with conn.transaction():
        conn.execute("DROP TABLE IF EXISTS floor_export")
        conn.execute(sql.SQL("CREATE UNLOGGED TABLE floor_export ({})").format(columns))
        with conn.cursor() as cur:
            with cur.copy("COPY floor_export FROM STDIN (FORMAT csv, HEADER true)") as copy:
                with Path(path).open("rb") as raw:
                    if raw.read(3) != b"\xef\xbb\xbf":
                        raw.seek(0)
                    while block := raw.read(_COPY_BLOCK):
                        copy.write(block)
            return cur.rowcount

"""The hardware floor: what no pipeline doing this job can beat on this machine.

Reading the export CSV with pandas' fastest engine (pyarrow, Arrow-backed columns), and a raw
``COPY`` of the same bytes into an UNLOGGED table of text columns (no parsing, no WAL, no index).

``pd.read_csv(engine="pyarrow")`` cannot read this file: Kajabi's quoted cells hold line breaks
and pandas does not pass pyarrow's ``newlines_in_values`` option ("CSV parser got out of sync
with chunker"). So the floor calls the same pyarrow reader directly with that one option and
hands pandas Arrow-backed columns; ``floor_read_pandas_c`` (pandas' C engine, which does read
it) is reported beside it for reference.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql

_COPY_BLOCK = 1 << 20


def floor_read(path: Path) -> pd.DataFrame:
    table = pa_csv.read_csv(
        path,
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            strings_can_be_null=False, column_types=_all_text(path)
        ),
    )
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def floor_read_pandas_c(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, engine="c", dtype=str, keep_default_na=False)


def _all_text(path: Path) -> dict[str, pa.DataType]:
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        return {label: pa.string() for label in next(csv.reader(handle))}


def floor_copy(conn: psycopg.Connection, path: Path) -> int:
    """COPY the file as-is into a fresh unlogged table; returns the rows loaded."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle))
    columns = sql.SQL(", ").join(
        sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(len(header))
    )
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

"""Reading one Kajabi contacts export CSV into an untouched, all-text DataFrame.

Nothing is parsed or cleaned here (that is ``validate.py``): every cell keeps its exact text so
that nothing is silently altered. What the reader does decide:

- encoding: UTF-8 (with or without BOM); otherwise Windows-1252, with a warning;
- refusals, each a ``KajabiFormatError`` naming the file (and the row where there is one):
  empty file, NUL bytes / UTF-16, semicolon or tab delimiter, missing fixed Kajabi columns
  (PayPal, Zoho or other downloads), duplicated header labels or form handles, and records
  with more or fewer cells than the header (shifted columns, broken quoting);
- card data: a column whose label suggests card numbers, CVV or expiry is never loaded.

A header-only file is a valid, empty export (later checks decide whether to block it).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from kajabi_sync.kajabi.columns import (
    FIXED_COLUMNS,
    looks_like_card_data,
    mapped_columns_by_handle,
)

ROW_NUMBER = "row_number"
# The spreadsheet row of the first record (the header is row 1).
FIRST_RECORD_ROW = 2
# Rows larger than a block cannot be parsed; 16 MiB is far beyond any real contact.
_BLOCK_SIZE = 16 << 20
_EXPORT_NAME = re.compile(r"kajabi_contacts_(\d{4}-\d{2}-\d{2})\.csv$", re.IGNORECASE)
_MAX_ROWS_LISTED = 10


class KajabiFormatError(ValueError):
    """The file is not a readable Kajabi contacts export; the message says which file and why."""

    def __init__(self, path: Path, problem: str, *, row: int | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.row = row
        where = f", row {row}" if row is not None else ""
        super().__init__(f"{self.path}{where}: {problem}")


@dataclass(frozen=True)
class RawExport:
    """One export file as read: every kept column as text, plus ``row_number`` (int64)."""

    path: Path
    sha256: str
    export_date: dt.date | None
    encoding: str
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)

    def file(self) -> ExportFile:
        """What later steps need of the file once its rows are validated: everything but the rows."""
        return ExportFile(
            self.path,
            self.sha256,
            self.export_date,
            self.encoding,
            len(self.frame),
            list(self.warnings),
            list(self.dropped_columns),
        )


@dataclass(frozen=True)
class ExportFile:
    """One export file's identity and what reading it reported, without its rows.

    The validated export carries this instead of the ``RawExport``: Dagster pickles every asset
    output and unpickles it in each later step, and the raw frame was the largest part of it.
    """

    path: Path
    sha256: str
    export_date: dt.date | None
    encoding: str
    rows: int  # records in the file as read, before any was quarantined or dropped
    warnings: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)


def export_date_from_name(path: Path | str) -> dt.date | None:
    """The date in ``kajabi_contacts_YYYY-MM-DD.csv``; None for any other name or an impossible date."""
    match = _EXPORT_NAME.search(Path(path).name)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def read_kajabi_export(path: Path | str) -> RawExport:
    """Read a Kajabi contacts export; raise ``KajabiFormatError`` if it is not one."""
    path = Path(path)
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    warnings: list[str] = []

    utf8, encoding = _to_utf8(path, data, warnings)
    header = _read_header(path, utf8)
    _check_header(path, header)

    dropped = [label for label in header if looks_like_card_data(label)]
    if dropped:
        warnings.append(
            f"dropped {len(dropped)} column(s) whose label suggests card data, CVV or expiry "
            f"(values never read): {', '.join(dropped)}"
        )
    kept = [label for label in header if label not in dropped]

    frame = _parse_records(path, utf8, header, kept)
    frame.insert(0, ROW_NUMBER, pd.RangeIndex(FIRST_RECORD_ROW, FIRST_RECORD_ROW + len(frame)))
    frame[ROW_NUMBER] = frame[ROW_NUMBER].astype("int64")
    _warn_blank_rows(frame, kept, warnings)
    if frame.empty:
        warnings.append("the export has a header but no contacts")

    return RawExport(
        path=path,
        sha256=sha256,
        export_date=export_date_from_name(path),
        encoding=encoding,
        frame=frame,
        warnings=warnings,
        dropped_columns=dropped,
    )


def _to_utf8(path: Path, data: bytes, warnings: list[str]) -> tuple[bytes, str]:
    """The file as UTF-8 bytes without BOM, and the name of the encoding it was read as."""
    if not data.strip():
        raise KajabiFormatError(path, "the file is empty (no header, no contacts)")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise KajabiFormatError(path, "the file is UTF-16; save it as CSV UTF-8 and try again")
    nul = data.find(b"\x00")
    if nul >= 0:
        # Kajabi never writes NUL: it means a damaged download or a non-text file. Stripping
        # it would alter a value without anyone noticing, so refuse.
        line = data.count(b"\n", 0, nul) + 1
        raise KajabiFormatError(
            path,
            f"the file contains NUL bytes (first on line {line}): damaged or not a CSV text file",
        )

    if data.startswith(codecs.BOM_UTF8):
        data, encoding = data[len(codecs.BOM_UTF8) :], "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        # One C-speed validation of the whole buffer, without building a Python str.
        pa.array([data], pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            raise KajabiFormatError(
                path,
                f"the file is neither UTF-8 nor Windows-1252 (undecodable byte on line {line})",
            ) from None
        line = data.count(b"\n", 0, _first_invalid_utf8(data)) + 1
        warnings.append(
            f"the file is not valid UTF-8 (first bad byte on line {line}); "
            "read it as Windows-1252: check accented names"
        )
        data, encoding = text.encode("utf-8"), "cp1252"
    return _trim_trailing_blank_lines(data), encoding


def _first_invalid_utf8(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start
    return 0


def _trim_trailing_blank_lines(data: bytes) -> bytes:
    # Empty lines after the last record are not contacts; keep one line terminator.
    if data.endswith((b"\n\n", b"\r\n\r\n", b"\r\r", b"\n\r\n")):
        return data.rstrip(b"\r\n") + b"\n"
    return data


def _read_header(path: Path, utf8: bytes) -> list[str]:
    text = io.TextIOWrapper(io.BytesIO(utf8), encoding="utf-8", newline="")
    try:
        return next(csv.reader(text, strict=True))
    except (csv.Error, StopIteration) as error:
        raise KajabiFormatError(path, f"the header row is not valid CSV ({error})", row=1) from None


def _check_header(path: Path, header: list[str]) -> None:
    for delimiter, name in ((";", "semicolon"), ("\t", "tab")):
        if sum(label.count(delimiter) for label in header) > len(header) - 1:
            raise KajabiFormatError(
                path,
                f"the file is {name}-separated; a Kajabi export is comma-separated "
                "(download it again from Kajabi rather than re-saving it from a spreadsheet)",
                row=1,
            )
    missing = [column for column in FIXED_COLUMNS if column not in header]
    if missing:
        raise KajabiFormatError(
            path,
            "not a Kajabi contacts export: the header lacks the column(s) "
            f"{', '.join(missing)} (found: {', '.join(header[:8])}{', ...' if len(header) > 8 else ''})",
            row=1,
        )
    seen: set[str] = set()
    duplicated = [label for label in header if label in seen or seen.add(label)]
    if duplicated:
        raise KajabiFormatError(
            path,
            f"the header repeats the column label(s) {', '.join(sorted(set(duplicated)))}",
            row=1,
        )
    if ROW_NUMBER in header:
        raise KajabiFormatError(path, f"the header has a column named {ROW_NUMBER!r}", row=1)
    try:
        mapped_columns_by_handle(header)
    except ValueError as error:
        raise KajabiFormatError(path, str(error), row=1) from None


def _parse_records(path: Path, utf8: bytes, header: list[str], kept: list[str]) -> pd.DataFrame:
    try:
        table = pa_csv.read_csv(
            io.BytesIO(utf8),
            read_options=pa_csv.ReadOptions(block_size=_BLOCK_SIZE),
            # Quoted cells may hold line breaks. A blank line is kept as an all-empty record so
            # that every later record keeps its spreadsheet row number.
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={label: pa.string() for label in kept},
                include_columns=kept,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException:
        # pyarrow's message quotes the offending row (personal data): find the row ourselves.
        raise _diagnose(path, utf8, len(header)) from None
    if table.column_names != kept:
        raise KajabiFormatError(path, "the header could not be read consistently", row=1)
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)


def _diagnose(path: Path, utf8: bytes, width: int) -> KajabiFormatError:
    """The first record that breaks the CSV shape, as an error naming its spreadsheet row."""
    text = io.TextIOWrapper(io.BytesIO(utf8), encoding="utf-8", newline="")
    reader = csv.reader(text, strict=True)
    previous_limit = csv.field_size_limit(_BLOCK_SIZE)
    row = 0
    try:
        for row, cells in enumerate(reader, start=1):
            if cells and len(cells) != width:
                return KajabiFormatError(
                    path,
                    f"this record has {len(cells)} cells but the header has {width} "
                    "(shifted columns or a broken quote)",
                    row=row,
                )
    except csv.Error as error:
        return KajabiFormatError(path, f"broken CSV quoting ({error})", row=row + 1)
    finally:
        csv.field_size_limit(previous_limit)
    return KajabiFormatError(path, "the file could not be parsed as CSV")


def _warn_blank_rows(frame: pd.DataFrame, columns: list[str], warnings: list[str]) -> None:
    if frame.empty or not columns:
        return
    blank = np.ones(len(frame), dtype=bool)
    for column in columns:
        blank &= (frame[column] == "").to_numpy(dtype=bool)
    rows = frame.loc[blank, ROW_NUMBER]
    if len(rows):
        listed = ", ".join(map(str, rows.head(_MAX_ROWS_LISTED)))
        more = ", ..." if len(rows) > _MAX_ROWS_LISTED else ""
        warnings.append(f"{len(rows)} blank row(s) in the file: rows {listed}{more}")

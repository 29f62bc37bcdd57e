"""Reading one Kajabi contacts export CSV into an untouched, all-text DataFrame.

Nothing is parsed or cleaned here (that is ``validate.py``): every cell keeps its exact text so
that nothing is silently altered. What the reader does decide:

- encoding: UTF-8 (with or without BOM). A UTF-8 file with a few damaged bytes stays UTF-8: the
  damaged bytes become U+FFFD and validation quarantines those rows. Only a file with no valid
  UTF-8 character at all is read in a legacy code page (Windows-1252 or Mac Roman), and only when
  exactly one of them reads its accented letters as words; otherwise it is refused. Text showing
  the classic mojibake patterns (``Ã©``, ``â€™``) is refused;
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
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import ftfy.badness
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from kajabi_sync.frames import ARROW_TEXT, as_arrow_text, not_ascii
from kajabi_sync.kajabi.columns import (
    FIXED_COLUMNS,
    PHONE_FALLBACK_HANDLE,
    POLICY_HANDLES,
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
    handles: tuple[str, ...] = ()  # the POLICY_HANDLES the header has

    def missing_handles(self) -> tuple[str, ...]:
        return self.file().missing_handles()

    @property
    def rows(self) -> int:
        """Records in the file as read (every one is in the frame)."""
        return len(self.frame)

    def file(self) -> ExportFile:
        """What later steps need of the file once its rows are validated: everything but the rows."""
        return ExportFile(
            self.path,
            self.sha256,
            self.export_date,
            self.encoding,
            self.rows,
            list(self.warnings),
            list(self.dropped_columns),
            self.handles,
        )


@dataclass(frozen=True)
class ExportFile:
    """One export file's identity and what reading it reported, without its rows: what the
    guards and the import record need of the file once its rows are validated.

    The validated export carries this instead of the ``RawExport``, so it does not keep the raw
    rows alive (nor, stored between steps, a second copy of them) after validation.
    """

    path: Path
    sha256: str
    export_date: dt.date | None
    encoding: str
    rows: int  # records in the file as read, before any was quarantined or dropped
    warnings: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    handles: tuple[str, ...] = ()  # the POLICY_HANDLES the header has

    def missing_handles(self) -> tuple[str, ...]:
        return tuple(handle for handle in POLICY_HANDLES if handle not in self.handles)


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
    del data  # a copy once its byte-order mark is cut off: the file is held once, not twice
    header = _read_header(path, utf8)
    _check_header(path, header)

    dropped = [label for label in header if looks_like_card_data(label)]
    if dropped:
        warnings.append(
            f"dropped {len(dropped)} column(s) whose label suggests card data, CVV or expiry "
            f"(values never read): {', '.join(dropped)}"
        )
    kept = [label for label in header if label not in dropped]
    handles = tuple(h for h in POLICY_HANDLES if h in mapped_columns_by_handle(kept))
    # The fallback phone is only named by the missing_columns check: many forms have none, and
    # Kajabi's API cannot read it, so a warning about it would be noise every week.
    missing = [h for h in POLICY_HANDLES if h not in handles and h != PHONE_FALLBACK_HANDLE]
    if missing:
        warnings.append(
            f"the file has no column for the form field(s) {', '.join(missing)}: those fields are "
            "not imported from it. If Kajabi renamed a form field, its column is there under "
            "another handle: compare the header with the last export"
        )

    frame = _parse_records(path, utf8, header, kept)
    frame.insert(0, ROW_NUMBER, pd.RangeIndex(FIRST_RECORD_ROW, FIRST_RECORD_ROW + len(frame)))
    frame[ROW_NUMBER] = frame[ROW_NUMBER].astype("int64")
    _refuse_mojibake(path, frame, kept)
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
        handles=handles,
    )


def _to_utf8(path: Path, data: bytes, warnings: list[str]) -> tuple[bytes, str]:
    """The file as UTF-8 bytes without BOM, and the name of the encoding it was read as."""
    if _blank(data):
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
        if _blank(data):
            raise KajabiFormatError(
                path,
                "the file holds only a byte-order mark and no header or contacts (what Excel "
                "saves for an empty sheet): download the export again from Kajabi",
            )
    else:
        encoding = "utf-8"
    try:
        # One C-speed validation of the whole buffer, without building a Python str or copying
        # the bytes: one Arrow binary value over the file's own buffer, cast to text.
        offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
        whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        data, encoding = _not_utf8(path, data, warnings)
    return _trim_trailing_blank_lines(data), encoding


def _blank(data: bytes) -> bool:
    """``not data.strip()`` without the copy ``strip`` makes (same ASCII whitespace)."""
    return not data or data.isspace()


def _not_utf8(path: Path, data: bytes, warnings: list[str]) -> tuple[bytes, str]:
    """A file that is not valid UTF-8: UTF-8 with damaged bytes, or wholly a legacy code page.

    A file with any valid multi-byte UTF-8 character is UTF-8: re-decoding it in a code page
    would garble every one of those characters (``José`` -> ``JosÃ©``). Its invalid bytes
    become U+FFFD, and validation quarantines exactly the rows that hold one."""
    text = data.decode("utf-8", errors="replace")
    lines = re.split(r"\r\n|\r|\n", text)
    bad_lines = [number for number, line in enumerate(lines, start=1) if _REPLACEMENT in line]
    if _UTF8_MULTIBYTE.search(text):
        warnings.append(
            f"the file is UTF-8 but {len(bad_lines)} line(s) hold bytes that are not UTF-8 "
            f"(first on line {bad_lines[0]}); the rows holding them are quarantined, "
            "the rest is read as UTF-8"
        )
        return text.encode("utf-8"), "utf-8"
    encoding = _legacy_encoding(path, data)
    warnings.append(
        f"the file is not UTF-8 (first non-UTF-8 byte on line {bad_lines[0]}); read it as "
        f"{_ENCODING_NAMES[encoding]}, the only encoding in which all its accented letters "
        "read as words: check accented names, or save it as CSV UTF-8"
    )
    return data.decode(encoding).encode("utf-8"), encoding


_REPLACEMENT = "\ufffd"
# A non-ASCII character that decoded from a valid UTF-8 sequence.
_UTF8_MULTIBYTE = re.compile(r"[^\x00-\x7f\ufffd]")
# Spreadsheets re-save CSV in these: Excel for Windows, and Excel for Mac (with CR line ends).
_LEGACY_ENCODINGS = ("cp1252", "mac_roman")
_ENCODING_NAMES = {"cp1252": "Windows-1252", "mac_roman": "Mac Roman"}
_QUOTES_INSIDE_WORDS = "\u2019'`\u00b4"


def _legacy_encoding(path: Path, data: bytes) -> str:
    """The one legacy code page in which every accented character reads as part of a word.

    Neither charset-normalizer nor ftfy tells Windows-1252 from Mac Roman on names (both score
    ``JosŽ`` and ``José`` alike), but the wrong one shows in the shape of words: a capital after
    a small letter (``JosŽ``, ``JosÈ``), a capital between a capital and a small letter
    (``MŸller``) or a symbol between letters (``Go–i``, ``M¸ller``). When both or neither read
    cleanly, the file is refused: a guessed decoding is never stored."""
    oddities: dict[str, int] = {}
    for encoding in _LEGACY_ENCODINGS:
        try:
            oddities[encoding] = _odd_characters(data.decode(encoding))
        except UnicodeDecodeError:
            continue  # a byte this code page does not define: the file is not in it
    clean = [encoding for encoding, odd in oddities.items() if odd == 0]
    if len(clean) == 1:
        return clean[0]
    why = (
        "its accented letters read as words both as Windows-1252 and as Mac Roman"
        if clean
        else "its accented letters read as words neither as Windows-1252 nor as Mac Roman"
    )
    raise KajabiFormatError(
        path,
        f"the file is not UTF-8 and its encoding cannot be told for sure ({why}); "
        "download the export again from Kajabi, or save it as 'CSV UTF-8' and try again",
    )


def _odd_characters(text: str) -> int:
    """How many non-ASCII characters break the shape of the word they are in."""
    odd = 0
    for match in re.finditer(r"[^\x00-\x7f]", text):
        i = match.start()
        char = match.group()
        before = text[i - 1] if i > 0 else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if char.isalpha():
            odd += char.isupper() and (before.islower() or (before.isupper() and after.islower()))
        elif unicodedata.category(char).startswith("M"):
            continue
        elif char in _QUOTES_INSIDE_WORDS:
            continue
        else:
            odd += before.isalpha() and (after.isalpha() or char in "\u2018\u201c")
    return odd


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
    if not any(label.strip() for label in header):
        raise KajabiFormatError(
            path,
            "the first line is blank: a Kajabi export starts with its header (Name, First Name, "
            "...). Delete the blank line(s) above the header, or download the export again",
            row=1,
        )
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
    counts = Counter(header)
    duplicated = [label for label, count in counts.items() if count > 1]
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
    return table.to_pandas(types_mapper={pa.string(): ARROW_TEXT}.get)


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


def _refuse_mojibake(path: Path, frame: pd.DataFrame, columns: list[str]) -> None:
    """Refuse text that was garbled by an earlier wrong decoding (``JosÃ©``, ``donâ€™t``).

    Such a file was opened in one encoding and saved in another before it reached us: storing
    it would write the garbled form over good values. ftfy's detector of exactly these patterns
    (designed to avoid false alarms on real text in any script) judges each distinct value."""
    for column in columns:
        text = as_arrow_text(frame[column])
        non_ascii = not_ascii(text)
        if not non_ascii.any():
            continue
        distinct = text[non_ascii].unique()
        garbled = {value for value in distinct if ftfy.badness.is_bad(value)}
        if not garbled:
            continue
        hit = text.isin(garbled).to_numpy(dtype=bool)
        rows = frame.loc[hit, ROW_NUMBER]
        raise KajabiFormatError(
            path,
            f"column {column!r} holds text garbled by a wrong encoding (like 'Ã©' for 'é' or "
            f"'â€™' for an apostrophe) in {len(rows)} row(s): the file was opened and saved in "
            "another encoding on the way; download the export again from Kajabi and use it "
            "unopened",
            row=int(rows.iloc[0]),
        )


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

"""Writing a file in Kajabi's contacts-export layout (the API snapshot, the demo's exports).

Kajabi writes its exports as UTF-8 with a byte-order mark, CRLF line ends and minimal quoting (a
cell holding a comma, a quote or a line break is quoted); the header is the fourteen fixed
columns then the form columns (``kajabi/columns.py``). Such a file is the raw input the weekly
import reads, so nothing is formula-neutralised here (``reports.write_csv`` is for the files a
person opens). The file is written whole or not at all (``reports.atomic_text_file``).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from kajabi_sync.reports import atomic_text_file

EXPORT_ENCODING = "utf-8-sig"
EXPORT_LINE_END = "\r\n"
# Rows are formatted a block at a time: the csv module's C writer over a block, not per row.
_BLOCK_ROWS = 100_000


def write_export_file(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    before_rename: Callable[[str], None] | None = None,
) -> str:
    """Write ``header`` and ``rows`` (``None`` -> an empty cell) at ``path``; return the file's
    SHA-256. ``before_rename(sha256)`` runs once the file is written under its temporary name:
    if it raises, no file appears (an earlier one at ``path`` stays as it was)."""
    digest = hashlib.sha256(codecs.BOM_UTF8)  # what EXPORT_ENCODING writes before the text
    with atomic_text_file(path, encoding=EXPORT_ENCODING) as handle:
        for text in _blocks(header, iter(rows)):
            digest.update(text.encode("utf-8"))
            handle.write(text)
        sha256 = digest.hexdigest()
        if before_rename is not None:
            before_rename(sha256)
    return sha256


def _blocks(header: Sequence[str], rows: Iterator[Sequence[object]]) -> Iterator[str]:
    block = io.StringIO()
    writer = csv.writer(block, lineterminator=EXPORT_LINE_END)
    writer.writerow(header)
    yield block.getvalue()
    while chunk := list(itertools.islice(rows, _BLOCK_ROWS)):
        block = io.StringIO()
        csv.writer(block, lineterminator=EXPORT_LINE_END).writerows(chunk)
        yield block.getvalue()

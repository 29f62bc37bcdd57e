"""Writing CSV reports safely: formula-neutralised, atomic, readable by the owner only.

Every CSV the project writes goes through ``write_csv``: a spreadsheet must never run a
cell as a formula, a crash or a full disk must never leave a truncated file that looks
complete, and the files hold personal data, so they are created ``0600``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kajabi_sync.frames import ARROW_TEXT
from kajabi_sync.normalize import arrow_text_strict

# The reports of a week, as named before ``week_file_name`` adds the week (the impact
# report's is survivorship.report.IMPACT_REPORT).
REJECTS_REPORT = "kajabi_export_rejects.csv"
DUPLICATE_EMAILS_REPORT = "kajabi_export_duplicate_emails.csv"
DUPLICATE_CANDIDATES_REPORT = "duplicate_candidates.csv"

# A spreadsheet treats a cell starting with one of these as a formula (OWASP CSV injection).
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# ... but a plain number or phone (``+13035550101``, ``-12.5``, ``+1 (303) 555-0101``) is data
# that must reach Kajabi exactly as it is, and no spreadsheet runs it.
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d][\d\s().-]*$")


def neutralise_formula(value: object) -> object:
    """Prefix a text cell that a spreadsheet would evaluate with ``'``; leave everything else."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_TRIGGERS):
        return value
    if _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are formula-neutralised (vectorised per column)."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype != object and not pd.api.types.is_string_dtype(series):
            continue
        # The prefix test runs in C on Arrow-backed text over every cell; the Python regex then
        # only sees the few cells that start like a formula.
        starts = series.astype(ARROW_TEXT).str.startswith(_FORMULA_TRIGGERS).fillna(False)
        positions = np.flatnonzero(starts.to_numpy(dtype=bool))
        if not len(positions):
            continue
        candidates = series.iloc[positions].astype("string")
        risky = ~candidates.str.match(_PLAIN_NUMBER.pattern).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            changed = series.copy()
            changed.iloc[positions[risky]] = ("'" + candidates[risky]).to_numpy(dtype=object)
            out[column] = changed
    return out


@contextmanager
def atomic_text_file(path: Path, *, encoding: str = "utf-8") -> Iterator[TextIO]:
    """A text file that is written whole or not at all: a temp file beside ``path`` (mode 0600),
    flushed to disk, then renamed over ``path``; on any error the temp file is removed and an
    earlier ``path`` stays as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_csv(frame: pd.DataFrame, path: Path | str, *, encoding: str = "utf-8") -> Path:
    """Write ``frame`` to ``path`` atomically (temp file + rename), neutralised, mode 0600."""
    path = Path(path)
    safe = neutralise_frame(frame)
    body = text_csv_body(safe) if encoding.replace("-", "").lower() == "utf8" else None
    with atomic_text_file(path, encoding=encoding) as handle:
        if body is None:
            safe.to_csv(handle, index=False)
        else:
            safe.iloc[:0].to_csv(handle, index=False)  # the header, exactly as pandas writes it
            handle.write(str(body, "utf-8"))
    return path


# Python's csv module (pandas' writer, QUOTE_MINIMAL, "\n" line ends) quotes a field holding the
# delimiter, the quote character or a line-terminator character.
_NEEDS_QUOTES = r'[,"\n]'


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def text_csv_body(frame: pd.DataFrame) -> memoryview | None:
    """The UTF-8 bytes ``frame.to_csv(index=False)`` writes after its header, built column-wise by
    Arrow; None unless every column is text (or a plain integer column) and there is one.

    pandas converts each cell to a Python string and quotes it in the csv module, a large part
    of the enriched export's time (benchmarks/RESULTS.md)."""
    if not len(frame.columns):
        return None
    cells = []
    for column in range(frame.shape[1]):
        series = frame.iloc[:, column]
        if series.dtype.kind in "iu":
            cells.append(pc.cast(pa.array(series.to_numpy()), pa.large_string()))
            continue
        if series.dtype != object and not pd.api.types.is_string_dtype(series):
            return None
        try:
            text = arrow_text_strict(series)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: pandas formats it
            return None
        quoted = pc.binary_join_element_wise(
            _text('"'), pc.replace_substring(text, '"', '""'), _text('"'), _text("")
        )
        text = pc.if_else(pc.match_substring_regex(text, _NEEDS_QUOTES), quoted, text)
        cells.append(pc.fill_null(text, _text("")))
    if len(cells) == 1:  # the csv module quotes a row whose only field is empty
        cells[0] = pc.if_else(pc.equal(cells[0], _text("")), _text('""'), cells[0])
    rows = pc.binary_join_element_wise(*cells, _text(","))
    rows = pc.binary_join_element_wise(
        rows, _text(""), _text("\n")
    )  # each row followed by its line end
    if isinstance(rows, pa.ChunkedArray):
        rows = rows.combine_chunks()
    rows = rows.cast(pa.large_string())
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[
        rows.offset : rows.offset + len(rows) + 1
    ]
    if not len(rows):
        return memoryview(b"")
    return memoryview(rows.buffers()[2])[offsets[0] : offsets[-1]]


def week_file_name(name: str, week: str | None) -> str:
    """``import_impact_analysis.csv`` of the week of 2025-11-17 ->
    ``import_impact_analysis_2025-11-17.csv``: a file copied out of its week's folder (into
    Downloads, into Kajabi's import history) still says which week it is. ``week`` None: as is."""
    if not week:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}_{week}.{suffix}" if dot else f"{name}_{week}"


CURRENT_README = "README.txt"
CURRENT_MANIFEST = "manifest.json"
_STAGING_PREFIX = ".current-"


def publish_current(
    current: Path, files: Iterable[Path], manifest: Mapping[str, object], readme: str
) -> Path:
    """Make ``current`` (e.g. ``data/current``) hold exactly ``files`` plus ``README.txt``
    (``readme``) and ``manifest.json`` (``manifest``), replacing what it held in one step.

    ``current`` is a symbolic link to a hidden sibling folder: the new folder is filled first,
    then the link is swapped by one rename, so a reader sees the old week or the new one, never a
    mix and never an empty folder. The files are hard links to the week's reports (copies where
    links are impossible); every report is written by rename, so a later rewrite of the week's
    file never changes what ``current`` holds. A real folder left by an earlier version is moved
    aside once and removed."""
    current = Path(current)
    root = current.parent
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=root))
    try:
        for source in files:
            target = staging / Path(source).name
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)
        _write_text(staging / CURRENT_MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")
        _write_text(staging / CURRENT_README, readme)
        os.chmod(staging, 0o700)
        link = root / f"{staging.name}.link"
        os.symlink(staging.name, link)
        if current.exists() and not current.is_symlink():
            current.rename(root / f"{staging.name}.replaced")
        os.replace(link, current)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # Whatever the link no longer points to: the previous week, an interrupted publication.
    for leftover in root.glob(f"{_STAGING_PREFIX}*"):
        if leftover.name != staging.name:
            if leftover.is_symlink() or leftover.is_file():
                leftover.unlink(missing_ok=True)
            else:
                shutil.rmtree(leftover, ignore_errors=True)
    return current


def publish_week(
    current: Path,
    week_folder: Path,
    *,
    week: str,
    export_file: str,
    import_run_id: int,
    dagster_run_id: str,
) -> Path:
    """Publish an applied week's reports (every file of ``week_folder``) as ``current``, with a
    README.txt and manifest.json naming the week, the export file and the runs."""
    files = sorted(p for p in Path(week_folder).iterdir() if p.is_file() and p.suffix == ".csv")
    published = datetime.now(UTC).replace(microsecond=0).isoformat()
    manifest = {
        "week": week,
        "status": "applied",
        "export_file": export_file,
        "import_run_id": import_run_id,
        "dagster_run_id": dagster_run_id,
        "published_at": published,
        "week_folder": str(week_folder),
        "files": [p.name for p in files],
    }
    readme = "\n".join(
        [
            f"The last APPLIED Kajabi import: the week of {week}.",
            "",
            f"Export file:  {export_file}",
            f"Import run:   {import_run_id}   (undo it: kajabi-sync rollback {import_run_id} --yes)",
            f"Dagster run:  {dagster_run_id}",
            f"Published:    {published}",
            "",
            "This folder is replaced as a whole when the next week is applied; a blocked week",
            f"never touches it. Every week's reports, blocked ones too, stay in {week_folder.parent}/.",
            "",
            "Files:",
            *[f"  {p.name}" for p in files],
            "",
            f"Import kajabi_updates_only_{week}.csv into Kajabi (People -> Import).",
            f"kajabi_new_contacts_only_{week}.csv lists database contacts Kajabi does not have yet",
            "(not Kajabi's new sign-ups, which the import created in the database).",
            "",
        ]
    )
    return publish_current(current, files, manifest, readme)


def published_week(current: Path) -> str | None:
    """The week ``current`` holds (from its manifest), or None before any week was applied."""
    try:
        return str(json.loads((Path(current) / CURRENT_MANIFEST).read_text())["week"])
    except (OSError, ValueError, KeyError):
        return None


def _write_text(path: Path, text: str) -> None:
    with atomic_text_file(path) as handle:
        handle.write(text)

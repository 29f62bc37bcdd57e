"""Guards over the export file itself: truncated, full of rejects, or stale."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from kajabi_sync.guards.facts import ImportFacts
from kajabi_sync.guards.result import GuardResult, pct_to_pass, percent
from kajabi_sync.guards.thresholds import Thresholds
from kajabi_sync.kajabi.columns import PHONE_FALLBACK_HANDLE
from kajabi_sync.kajabi.validate import ValidatedExport


def file_rows(export: ValidatedExport) -> int:
    """The records in the file as read, before any was quarantined or dropped as a duplicate."""
    if export.source is not None:
        return export.source.rows
    return len(export.frame) + len(export.rejects)


def truncated_export(
    export: ValidatedExport, facts: ImportFacts, thresholds: Thresholds
) -> GuardResult:
    """Distinct contacts against those of the last applied export; before any import, against
    the live contacts that carry a Kajabi ID. (After the first import that count only grows, as
    contacts deleted in Kajabi keep their ID here, so it would drift into false alarms.)

    Distinct contacts (usable rows after quarantine and repeated emails), not raw rows: a file
    with two exports pasted together has twice the rows but not twice the contacts, and as a
    baseline it would block every normal export after it."""
    rows = file_rows(export)
    contacts = len(export.frame)
    counted = f"{contacts} distinct contacts" + (f" ({rows} rows)" if rows != contacts else "")
    last = facts.last_import
    if last is not None and (last.get("distinct_contacts") or last.get("export_rows")):
        reference = int(last.get("distinct_contacts") or last["export_rows"])
        unit = "distinct contacts" if last.get("distinct_contacts") else "rows"
        against = f"the last applied export ({last['file_name']}, {reference} {unit})"
    elif facts.live_kajabi_ids:
        reference = facts.live_kajabi_ids
        against = f"the {reference} live contacts that carry a Kajabi ID (no import applied yet)"
    else:
        return GuardResult(
            name="truncated_export",
            passed=True,
            blocking=True,
            value=contacts,
            limit=None,
            threshold=f"a drop of at most {thresholds.max_export_drop_pct}%",
            explanation=f"The file has {counted}. No applied import and no contact with a "
            "Kajabi ID to compare with: passed with nothing to compare.",
            metadata={"file_rows": rows, "distinct_contacts": contacts},
        )
    drop = percent(reference - contacts, reference) if contacts < reference else 0.0
    limit = reference - int(thresholds.max_export_drop_pct / 100 * reference)
    return GuardResult(
        name="truncated_export",
        passed=contacts >= limit,
        blocking=True,
        value=contacts,
        limit=limit,
        threshold=f"a drop of at most {thresholds.max_export_drop_pct}% against {against}",
        explanation=f"The file has {counted}, a drop of {drop}% against {against}. A download "
        "that stopped early, or an export of a filtered list, looks like this.",
        override={"max_export_drop_pct": pct_to_pass(reference - contacts, reference)},
        metadata={
            "file_rows": rows,
            "distinct_contacts": contacts,
            "reference_contacts": reference,
            "drop_pct": drop,
            "live_kajabi_ids": facts.live_kajabi_ids,
        },
    )


def rejected_rows(export: ValidatedExport, thresholds: Thresholds) -> GuardResult:
    rows = file_rows(export)
    count = len(export.rejects)
    limit = int(thresholds.max_rejected_pct / 100 * rows)
    return GuardResult(
        name="rejected_rows",
        passed=count <= limit,
        blocking=True,
        value=count,
        limit=limit,
        threshold=f"{thresholds.max_rejected_pct}% of the file's {rows} rows",
        explanation=f"{count} row(s) ({percent(count, rows)}% of the file) were quarantined by "
        "validation (see kajabi_export_rejects.csv). Many rejects mean a damaged or re-saved "
        "file, or a different kind of download.",
        override={"max_rejected_pct": pct_to_pass(count, rows)},
        metadata={"file_rows": rows},
    )


def stale_export(export: ValidatedExport, facts: ImportFacts, allow_stale: bool) -> GuardResult:
    """An export older than the last applied one, or the same file applied again under another
    week's name. Blocks the write only: the plan and its reports are computed before this check
    runs. A re-run of an applied week with its own file, and a pulled API snapshot identical to
    the last import (a quiet week), pass: their write is skipped, as it would change nothing."""
    source = export.source
    last = facts.last_import
    problems = []
    already = facts.already_applied_run
    if facts.sha256_applied and already is None and not facts.pulled_snapshot:
        problems.append("this very file (same SHA-256) was applied already")
    if (
        already is None
        and last is not None
        and source is not None
        and source.export_date
        and last.get("export_date")
    ):
        if source.export_date < last["export_date"]:
            problems.append(
                f"the file is dated {source.export_date}, older than the last applied export "
                f"({last['file_name']}, {last['export_date']})"
            )
    if last is None:
        explanation = "No import applied yet: nothing to be stale against."
    elif already is not None:
        explanation = (
            f"This content was applied already (import run {already}): a re-run of its week, or "
            "a quiet week identical to the last import. Nothing will be written to the database."
        )
    elif not problems:
        explanation = (
            f"The file is newer than the last applied export ({last['file_name']}) "
            "and was not applied before."
        )
    else:
        said = "; ".join(problems)
        explanation = (
            said[0].upper() + said[1:] + ". Applying it again would roll Kajabi's side back "
            "to an older state. The plan and reports of this run are still there to read."
        )
    if problems and allow_stale:
        explanation += " Allowed for this run by allow_stale_export."
    return GuardResult(
        name="stale_export",
        passed=not problems or allow_stale,
        blocking=True,
        value=len(problems),
        limit=0,
        threshold="newer than the last applied export and not applied before",
        explanation=explanation,
        override={"allow_stale_export": True},
        metadata={
            "export_date": str(source.export_date) if source else "unknown",
            "sha256": source.sha256 if source else "unknown",
            "last_applied_file": last["file_name"] if last else "none",
            "last_applied_export_date": str(last["export_date"]) if last else "none",
            "already_applied_run": "none" if already is None else already,
        },
    )


def earlier_export_pending(
    export: ValidatedExport, pending: list[tuple[dt.date, str]], allow: bool
) -> GuardResult:
    """A week applied before an earlier week's export would skip that week's Kajabi edits and
    leave the earlier file stale for ever. Blocking keeps backfills, in any order, equal to a
    forward run: the earlier weeks apply first, then this one is re-run."""
    names = [name for _, name in pending]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    explanation = (
        f"{len(names)} earlier export(s) not applied yet ({shown}). Apply the weeks in date order "
        "(a backfill re-executes this week after them); the plan and reports of this run are "
        "still there to read."
        if names
        else "No earlier export is waiting to be applied."
    )
    if names and allow:
        explanation += " Allowed for this run by allow_earlier_export_pending: they will be stale."
    return GuardResult(
        name="earlier_export_pending",
        passed=not names or allow,
        blocking=True,
        value=len(names),
        limit=0,
        threshold="every earlier week's export applied first",
        explanation=explanation,
        override={"allow_earlier_export_pending": True},
        metadata={
            "pending_exports": shown or "none",
            "export_date": str(export.source.export_date) if export.source else "unknown",
        },
    )


def pending_earlier_exports(
    dated_files: list[tuple[dt.date, Path]],
    export_date: dt.date | None,
    last_applied_date: dt.date | None,
    applied_sha256: set[str],
    sha256_of: Callable[[Path], str],
) -> list[tuple[dt.date, str]]:
    """Exports dated after the last applied one and before ``export_date`` that were never
    applied. ``dated_files``: each week's newest file, the one its partition reads (an older file
    of the same week is superseded, never pending). Only files in that date window are hashed."""
    if export_date is None:
        return []
    return [
        (day, path.name)
        for day, path in dated_files
        if day < export_date
        and (last_applied_date is None or day > last_applied_date)
        and sha256_of(path) not in applied_sha256
    ]


def missing_columns(export: ValidatedExport, facts: ImportFacts, allow: bool) -> GuardResult:
    """Form columns the policy reads that the file lacks (a renamed handle imports nothing into
    its field). Blocks when the last applied export had one of them: an export that suddenly
    lacks a column is not a full export. Otherwise passes, naming them."""
    source = export.source
    missing = list(source.missing_handles()) if source is not None else []
    last = facts.last_import
    before = set(last.get("handles") or []) if last is not None else set()
    # The fallback phone never blocks: Kajabi's API cannot read it, so an API snapshot lacks it.
    lost = [handle for handle in missing if handle in before and handle != PHONE_FALLBACK_HANDLE]
    if lost:
        explanation = (
            f"The file has no column for {', '.join(lost)}, which the last applied export "
            f"({last['file_name'] if last else ''}) had: those fields would silently stop being "
            "imported. A new Kajabi release may have renamed the form field, or the file was "
            "exported from a filtered view or edited: compare its header with the last export's."
        )
        if allow:
            explanation += " Allowed for this run by allow_missing_columns."
    elif missing:
        explanation = (
            f"The file has no column for {', '.join(missing)}: those fields are not imported from "
            "it. Not blocking, as the last applied export had no such column either (or no "
            "import recorded its columns yet)."
        )
    else:
        explanation = "The file has every form column the import reads."
    return GuardResult(
        name="missing_columns",
        passed=not lost or allow,
        blocking=True,
        value=len(lost),
        limit=0,
        threshold="every form column of the last applied export still present",
        explanation=explanation,
        override={"allow_missing_columns": True},
        metadata={
            "missing_columns": ", ".join(missing) or "none",
            "missing_since_last_import": ", ".join(lost) or "none",
        },
    )

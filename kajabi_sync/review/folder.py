"""Review files dropped into ``data/review/``: applied before the weekly run plans, then moved
to ``data/review/applied/`` so each is applied once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from kajabi_sync.review.decisions import DecisionsRefused, read_decision_file
from kajabi_sync.review.resolve import ReviewResult, apply_decisions

APPLIED_FOLDER = "applied"


@dataclass(frozen=True)
class AppliedFile:
    path: Path  # where the file is now (under applied/)
    result: ReviewResult


def dropped_files(inbox: Path) -> list[Path]:
    """The review files waiting in ``inbox``, oldest name first (hidden and temp files skipped)."""
    if not inbox.is_dir():
        return []
    return sorted(
        p
        for p in inbox.iterdir()
        if p.is_file() and p.suffix.lower() == ".csv" and not p.name.startswith(".")
    )


def apply_file(
    conn: psycopg.Connection, path: Path, *, dagster_run_id: str | None = None
) -> ReviewResult:
    """Apply one filled review file as one review run (DecisionsRefused: nothing written)."""
    try:
        decisions = read_decision_file(path)
        return apply_decisions(conn, decisions, source=path.name, dagster_run_id=dagster_run_id)
    except DecisionsRefused as refused:
        raise DecisionsRefused(f"review file {path}: {refused}") from None


def move_to_applied(path: Path, inbox: Path, review_run_id: int) -> Path:
    """Move an applied file to ``inbox/applied/``, named with its review run."""
    target = inbox / APPLIED_FOLDER / f"{path.stem}.review_run_{review_run_id}{path.suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    path.replace(target)
    return target


def apply_dropped_files(
    conn: psycopg.Connection, inbox: Path, *, dagster_run_id: str | None = None
) -> list[AppliedFile]:
    """Apply every file waiting in ``inbox``, each as its own run, moving each to
    ``inbox/applied/`` once committed. A refused file stays where it is, with its reasons raised
    (DecisionsRefused), and the files after it are not applied."""
    applied = []
    for path in dropped_files(inbox):
        result = apply_file(conn, path, dagster_run_id=dagster_run_id)
        target = (
            inbox / APPLIED_FOLDER / f"{path.stem}.review_run_{result.review_run_id}{path.suffix}"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
        applied.append(AppliedFile(target, result))
    return applied

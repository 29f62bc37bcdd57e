"""Minimal plans and exports for the pure guard functions: only what the guards read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from kajabi_sync.guards.facts import ImportFacts
from kajabi_sync.kajabi.columns import POLICY_HANDLES
from kajabi_sync.kajabi.reader import RawExport
from kajabi_sync.kajabi.validate import ValidatedExport
from kajabi_sync.survivorship.plan import CHANGE_COLUMNS, ImpactPlan


def changes(*rows: dict) -> pd.DataFrame:
    """Change rows; defaults: a written value over a non-empty, unprotected database value."""
    defaults = {"field": "first_name", "decision": "update", "db_value": "Old", "protected": False}
    records = [
        {c: None for c in CHANGE_COLUMNS} | {"contact_id": f"c{i}"} | defaults | row
        for i, row in enumerate(rows)
    ]
    return pd.DataFrame(records, columns=CHANGE_COLUMNS)


def plan(*change_rows: dict, matched: int = 100, new_emails: tuple[str, ...] = ()) -> ImpactPlan:
    empty = pd.DataFrame()
    return ImpactPlan(
        changes=changes(*change_rows),
        matches=empty,
        new_contacts=pd.DataFrame({"email": pd.Series(new_emails, dtype="string")}),
        new_bases=empty,
        naive={},
        export_rows=matched + len(new_emails),
        matched_contacts=matched,
        provenance=empty,
    )


def export(
    rows: int = 100,
    rejects: int = 0,
    sha256: str = "new-sha",
    export_date: date | None = date(2025, 11, 17),
    handles: tuple[str, ...] = POLICY_HANDLES,
) -> ValidatedExport:
    source = RawExport(
        path=Path(f"kajabi_contacts_{export_date}.csv"),
        sha256=sha256,
        export_date=export_date,
        encoding="utf-8",
        frame=pd.DataFrame(index=range(rows)),
        handles=handles,
    ).file()
    return ValidatedExport(
        frame=pd.DataFrame(index=range(rows - rejects)),
        rejects=pd.DataFrame(index=range(rejects)),
        duplicate_emails=pd.DataFrame(),
        source=source,
    )


def facts(
    last_rows: int | None = None,
    last_date: date = date(2025, 11, 10),
    live_kajabi_ids: int = 0,
    sha256_applied: bool = False,
    decisions: dict | None = None,
    handles: list[str] | None = None,
) -> ImportFacts:
    last = None
    if last_rows is not None:
        last = {
            "id": 1,
            "file_name": f"kajabi_contacts_{last_date}.csv",
            "export_rows": last_rows,
            "export_date": last_date,
            "file_sha256": "old-sha",
        }
        if handles is not None:
            last["handles"] = handles
    return ImportFacts(
        last, decisions or {}, live_kajabi_ids, sha256_applied, pd.Series([], dtype="string")
    )

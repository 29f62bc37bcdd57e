"""The week's snapshot: replayed when its file exists, otherwise pulled from the API first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg

from kajabi_sync.db.kajabi_api import known_kajabi_names, record_pull
from kajabi_sync.exports_folder import NoExportForWeek, export_for_week
from kajabi_sync.kajabi.api.client import KajabiClient
from kajabi_sync.kajabi.api.snapshot import NameHint, PulledContacts, pull_snapshot


@dataclass(frozen=True)
class WeekSnapshot:
    path: Path
    pulled: bool  # False: the week's file already existed and is replayed as it was
    contacts: int | None = None
    pages: int | None = None
    site_id: str | None = None
    requests: int | None = None


def snapshot_path(exports_dir: Path, monday: date) -> Path:
    """The week's snapshot is named by its Monday, like the partition it belongs to."""
    return exports_dir / f"kajabi_contacts_{monday:%Y-%m-%d}.csv"


def week_snapshot(
    conn: psycopg.Connection,
    client: KajabiClient,
    site_id: str | None,
    exports_dir: Path,
    monday: date,
    partition_key: str,
    dagster_run_id: str | None = None,
) -> WeekSnapshot:
    """The week's export file: the existing one (never pulled again: a backfill replays the week
    as it was), or a full scan of the site written as ``kajabi_contacts_<Monday>.csv``."""
    try:
        return WeekSnapshot(export_for_week(exports_dir, monday), pulled=False)
    except NoExportForWeek:
        pass
    site = client.resolve_site(site_id)
    hints = {
        kajabi_id: [NameHint(*known) for known in rows]
        for kajabi_id, rows in known_kajabi_names(conn).items()
    }
    conn.commit()  # end the read, so the pull's record below commits on its own
    path = snapshot_path(exports_dir, monday)

    def record(sha256: str, pulled: PulledContacts) -> None:
        # Committed before the rename: a snapshot file on disk is always a recorded pull.
        record_pull(
            conn,
            partition_key=partition_key,
            file_name=path.name,
            file_sha256=sha256,
            site_id=site,
            contacts=len(pulled.contacts),
            pages=pulled.pages,
            dagster_run_id=dagster_run_id,
        )

    pulled, _ = pull_snapshot(client, site, path, hints, record)
    return WeekSnapshot(path, True, len(pulled.contacts), pulled.pages, site, client.requests_sent)

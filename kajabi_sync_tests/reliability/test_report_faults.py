"""A full disk or an unwritable data folder while writing reports: the run fails cleanly."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from kajabi_sync.reports import write_csv
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.reliability.dagster_run import PARTITION, materialize_week, write_export
from kajabi_sync_tests.reliability.scenario import dump_database

OLD_ROWS = pd.DataFrame({"email": ["old@example.com"], "decision": ["fill"]})
NEW_ROWS = pd.DataFrame(
    {"email": [f"p{n}@example.com" for n in range(5_000)], "decision": "update"}
)


class _FillingDisk:
    """A text file that accepts ``budget`` characters, writes part of the next chunk, then fails
    like a full disk does (ENOSPC), as a real partial write would."""

    def __init__(self, handle: io.TextIOBase, budget: int) -> None:
        self._handle, self._budget = handle, budget

    def write(self, text: str) -> int:
        if len(text) > self._budget:
            self._handle.write(text[: self._budget])
            self._handle.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._budget -= len(text)
        return self._handle.write(text)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._handle.close()


def _fill_disk_for(
    monkeypatch: pytest.MonkeyPatch, folder: Path, report: str = "", budget: int = 200
) -> list[str]:
    """Make the files opened through os.fdopen in ``folder`` (only the temp files of ``report``
    when given) hit ENOSPC after ``budget`` characters; return the paths that were hit."""
    real_fdopen, hit = os.fdopen, []

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        target = os.readlink(f"/proc/self/fd/{fd}")
        if Path(target).parent == folder.resolve() and Path(target).name.startswith(f".{report}"):
            hit.append(target)
            return _FillingDisk(handle, budget)
        return handle

    monkeypatch.setattr(os, "fdopen", fdopen)
    return hit


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp")


def test_a_full_disk_mid_write_keeps_the_old_complete_file_and_no_temp_file(tmp_path, monkeypatch):
    report = write_csv(OLD_ROWS, tmp_path / "import_impact_analysis.csv")
    old = report.read_bytes()
    hit = _fill_disk_for(monkeypatch, tmp_path)

    with pytest.raises(OSError) as raised:
        write_csv(NEW_ROWS, report)
    assert raised.value.errno == errno.ENOSPC
    assert len(hit) == 1 and Path(hit[0]).name.endswith(".tmp")  # the fault really hit the write
    assert report.read_bytes() == old
    assert _leftovers(tmp_path) == []


def test_a_full_disk_on_a_first_write_leaves_no_file_at_all(tmp_path, monkeypatch):
    _fill_disk_for(monkeypatch, tmp_path)
    with pytest.raises(OSError):
        write_csv(NEW_ROWS, tmp_path / "kajabi_full_enriched_export.csv")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root ignores directory permissions (the ENOSPC tests cover this)"
)
def test_a_read_only_reports_folder_fails_clearly_and_keeps_the_old_file(tmp_path):
    report = write_csv(OLD_ROWS, tmp_path / "import_impact_analysis.csv")
    old = report.read_bytes()
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            write_csv(NEW_ROWS, report)
    finally:
        tmp_path.chmod(0o700)
    assert report.read_bytes() == old
    assert _leftovers(tmp_path) == []


def test_a_full_disk_during_the_run_fails_it_before_anything_is_applied(
    db_url, data_dir, monkeypatch
):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    insert_contacts(db_url, {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "101"})
    write_export(
        data_dir,
        {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "101", "city": "Denver"},
        {"email": "new@example.com", "first_name": "Nina", "kajabi_id": "103"},
    )
    reports = data_dir / "reports" / PARTITION
    report = f"import_impact_analysis_{PARTITION}.csv"
    previous = write_csv(OLD_ROWS, reports / report).read_bytes()
    before = dump_database(db_url)
    hit = _fill_disk_for(monkeypatch, reports, report)

    with dg.instance_for_test() as instance:
        result = materialize_week(instance)
        failures = [
            e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
    assert not result.success
    assert [e.step_key for e in failures] == ["impact_analysis"]
    assert "No space left on device" in failures[0].step_failure_data.error.to_string()
    assert len(hit) == 1
    assert "protected_contacts" not in {e.step_key for e in result.all_events if e.is_step_success}
    assert dump_database(db_url) == before
    assert (reports / report).read_bytes() == previous
    assert _leftovers(reports) == []

"""Every CSV file the project writes goes through ``reports.write_csv`` (neutralised, atomic, 0600)."""

from __future__ import annotations

import re

from kajabi_sync.settings import REPO_ROOT

PACKAGE = REPO_ROOT / "kajabi_sync"
_WRITES_CSV = re.compile(r"\.to_csv\(|csv\.(writer|DictWriter)\(")
# The only modules allowed to serialise CSV themselves, and why.
ALLOWED = {
    "reports.py": "write_csv itself",
    "db/apply.py": "COPY into PostgreSQL from memory, never a file",
    "kajabi/export_file.py": "Kajabi's export layout (the API snapshot, the demo's exports): raw "
    "input read back by the reader; neutralising it would alter Kajabi's values",
}


def test_no_module_writes_csv_around_write_csv():
    writers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if _WRITES_CSV.search(path.read_text(encoding="utf-8"))
    }
    assert "reports.py" in writers  # the scan does find CSV writing
    assert writers - set(ALLOWED) == set(), "write CSV files through kajabi_sync.reports.write_csv"

"""A generated 1,000,000-row export reads and validates whole (marked slow: CI runs it)."""

import pytest

from kajabi_sync.kajabi.reader import read_kajabi_export
from kajabi_sync.kajabi.validate import validate_export
from kajabi_sync_tests.kajabi.contract import CONTRACT_HEADER

ROWS = 1_000_000

pytestmark = pytest.mark.slow


def _record(i: int) -> str:
    if i == 10:
        email = "not-an-email"
    elif i == 20:
        email = "USER5@example.com "  # repeats row 7's email
    else:
        email = f"user{i}@example.com"
    address = '"12 Main St\nApt 4"' if i % 3 == 0 else ""
    return (
        f'Name {i},Name,{i},{email},"Course A, Course B",quiz,{i},,,2024-05-06 18:01:32 -0700,,1,,,,,'
        f"(303) 555-{i % 10_000:04d},,{address},,Denver,CO,US,80202,,,"
    )


def test_a_million_rows(tmp_path):
    path = tmp_path / "kajabi_contacts_2024-05-06.csv"
    path.write_text(
        CONTRACT_HEADER + "\n" + "\n".join(map(_record, range(ROWS))) + "\n", encoding="utf-8"
    )
    raw = read_kajabi_export(path)
    assert len(raw.frame) == ROWS
    assert raw.frame["row_number"].iloc[-1] == ROWS + 1
    validated = validate_export(raw)
    assert validated.rejects["row_number"].tolist() == [12]
    assert validated.duplicate_emails["email"].tolist() == ["user5@example.com"]
    assert len(validated.frame) == ROWS - 2
    assert validated.frame["tags"].iloc[-1] == ["quiz"]

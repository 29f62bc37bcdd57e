"""Files in Kajabi's export layout: byte for byte as Kajabi writes them, whole or not at all."""

from __future__ import annotations

import hashlib

import pytest

from kajabi_sync.kajabi.export_file import write_export_file


def test_bom_crlf_minimal_quoting_and_empty_cells(tmp_path):
    path = tmp_path / "export.csv"
    sha256 = write_export_file(
        path,
        ["Name", "Email", "Note (custom_1)"],
        [("Jane", "j@example.com", 'a, "b"\nc'), ("Bob", None, "")],
    )
    data = path.read_bytes()
    assert data == (
        b'\xef\xbb\xbfName,Email,Note (custom_1)\r\nJane,j@example.com,"a, ""b""\nc"\r\nBob,,\r\n'
    )
    assert sha256 == hashlib.sha256(data).hexdigest()


def test_rows_in_several_blocks_are_one_file(tmp_path, monkeypatch):
    monkeypatch.setattr("kajabi_sync.kajabi.export_file._BLOCK_ROWS", 2)
    path = tmp_path / "export.csv"
    rows = [(str(i), f"p{i}@example.com") for i in range(5)]
    sha256 = write_export_file(path, ["ID", "Email"], iter(rows))
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines == ["ID,Email", *(f"{i},p{i}@example.com" for i in range(5)), ""]
    assert sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_failing_before_rename_leaves_the_earlier_file(tmp_path):
    path = tmp_path / "export.csv"
    write_export_file(path, ["Email"], [("old@example.com",)])
    seen = []

    def refuse(sha256: str) -> None:
        seen.append(sha256)
        raise RuntimeError("not now")

    with pytest.raises(RuntimeError, match="not now"):
        write_export_file(path, ["Email"], [("new@example.com",)], before_rename=refuse)
    assert len(seen) == 1
    assert path.read_bytes() == b"\xef\xbb\xbfEmail\r\nold@example.com\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["export.csv"]

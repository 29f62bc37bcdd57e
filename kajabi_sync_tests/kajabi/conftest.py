"""Kajabi reader/validator fixtures (the contract's header and CSV bytes: contract.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from kajabi_sync_tests.kajabi.contract import HEADER, csv_bytes


@pytest.fixture
def write_export(tmp_path: Path) -> Callable[..., Path]:
    """Write rows (dicts keyed by header label) as ``kajabi_contacts_2024-05-06.csv``."""

    def write(
        rows: Iterable[dict[str, str]],
        header: list[str] = HEADER,
        name: str = "kajabi_contacts_2024-05-06.csv",
    ) -> Path:
        path = tmp_path / name
        path.write_bytes(csv_bytes(rows, header))
        return path

    return write

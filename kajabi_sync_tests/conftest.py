"""Shared fixtures: real PostgreSQL scratch databases and a scratch data folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kajabi_sync_tests import pg

# A test that asks for one of these fixtures talks to the real PostgreSQL: marked ``db``.
DATABASE_FIXTURES = frozenset({"pg_admin_url", "db_url", "empty_db_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    admin = pg.admin_url()
    pg.build_template(admin)
    yield admin
    pg.drop_database(admin, pg.TEMPLATE)


@pytest.fixture
def db_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, migrated, empty contacts database for one test."""
    name = pg.scratch_name()
    url = pg.create_database(pg_admin_url, name, template=pg.TEMPLATE)
    yield url
    pg.drop_database(pg_admin_url, name)


@pytest.fixture
def empty_db_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with nothing in it (not even the migrations)."""
    name = pg.scratch_name()
    url = pg.create_database(pg_admin_url, name)
    yield url
    pg.drop_database(pg_admin_url, name)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch KAJABI_SYNC_DATA_DIR with its two folders."""
    folder = tmp_path / "data"
    (folder / "kajabi_exports").mkdir(parents=True)
    (folder / "current").mkdir()
    monkeypatch.setenv("KAJABI_SYNC_DATA_DIR", str(folder))
    return folder

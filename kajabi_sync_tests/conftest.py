"""Shared fixtures: real PostgreSQL scratch databases, a scratch data folder, Dagster instances."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from kajabi_sync_tests import pg
from kajabi_sync_tests.guards.weeks import apply_week_1

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


@pytest.fixture(scope="module")
def module_db(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """(url, data folder): a migrated database and a data folder shared by one module's tests,
    for tests that only read what one large build (a demo) made."""
    name = pg.scratch_name()
    url = pg.create_database(pg_admin_url, name, template=pg.TEMPLATE)
    yield url, make_data_dir(tmp_path_factory.mktemp("module") / "data")
    pg.drop_database(pg_admin_url, name)


@pytest.fixture
def empty_db_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with nothing in it (not even the migrations)."""
    name = pg.scratch_name()
    url = pg.create_database(pg_admin_url, name)
    yield url
    pg.drop_database(pg_admin_url, name)


def make_data_dir(folder: Path) -> Path:
    """A data folder with its two folders (what KAJABI_SYNC_DATA_DIR names)."""
    (folder / "kajabi_exports").mkdir(parents=True)
    (folder / "current").mkdir()
    return folder


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch KAJABI_SYNC_DATA_DIR with its two folders."""
    folder = make_data_dir(tmp_path / "data")
    monkeypatch.setenv("KAJABI_SYNC_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A real (temporary) Dagster instance: it keeps every run, event and tick."""
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture(scope="module")
def week_1_applied(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """(database name, data folder): guards/weeks.py's people with their first week applied
    through the weekly job, once per module; tests get copies (``week_1_db_url``)."""
    name = pg.scratch_name()
    url = pg.create_database(pg_admin_url, name, template=pg.TEMPLATE)
    folder = make_data_dir(tmp_path_factory.mktemp("week_1") / "data")
    apply_week_1(url, folder)
    yield name, folder
    pg.drop_database(pg_admin_url, name)


@pytest.fixture
def week_1_db_url(
    pg_admin_url: str, week_1_applied: tuple[str, Path], data_dir: Path
) -> Iterator[str]:
    """A copy of ``week_1_applied`` for one test: its database (``CREATE DATABASE ... TEMPLATE``)
    and its data folder's files in ``data_dir``."""
    template, folder = week_1_applied
    shutil.copytree(folder, data_dir, dirs_exist_ok=True)
    name = pg.scratch_name()
    url = pg.create_database(pg_admin_url, name, template=template)
    yield url
    pg.drop_database(pg_admin_url, name)

"""A large first import checks the bases' foreign keys once, as a set: same rows, same keys,
and a row a key refuses still rolls everything back."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from kajabi_sync.db import bulk
from kajabi_sync.db.bulk import foreign_keys_checked_at_end, worth_checking_at_once
from kajabi_sync_tests import pg
from kajabi_sync_tests.db.test_apply import EXPORT, _contacts
from kajabi_sync_tests.survivorship.steps import apply_rows

BASES = "kajabi_sync.kajabi_base"


def _keys(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname""",
            (BASES,),
        ).fetchall()


@pytest.fixture
def second_db_url(pg_admin_url: str) -> Iterator[str]:
    name = pg.scratch_name()
    yield pg.create_database(pg_admin_url, name, template=pg.TEMPLATE)
    pg.drop_database(pg_admin_url, name)


def _first_import(url: str) -> list[tuple]:
    """Every base after a first import, by its contact's email (ids differ between databases)."""
    _contacts(url)
    apply_rows(url, *EXPORT)
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"""SELECT c.email::text, to_jsonb(b) - '{{contact_id,import_run_id,updated_at}}'::text[]
                FROM {BASES} b JOIN contacts c ON c.id = b.contact_id ORDER BY 1"""
        ).fetchall()


def test_a_first_import_checked_at_once_writes_what_the_row_by_row_checks_write(
    db_url, second_db_url, monkeypatch
):
    keys = _keys(db_url)
    assert [name for name, _ in keys] == [
        "kajabi_base_contact_id_fkey",
        "kajabi_base_import_run_id_fkey",
    ]
    row_by_row = _first_import(db_url)

    added: list[str] = []
    real = foreign_keys_checked_at_end

    def watched(conn, table):
        added.append(table)
        return real(conn, table)

    monkeypatch.setattr(bulk, "BULK_ROWS", 1)  # three new bases are "large" here
    monkeypatch.setattr("kajabi_sync.db.apply.foreign_keys_checked_at_end", watched)
    checked_at_once = _first_import(second_db_url)

    assert added == [BASES]  # the bulk path ran
    assert _keys(second_db_url) == keys  # every key back, same name and definition
    assert len(row_by_row) == 3
    assert checked_at_once == row_by_row


def test_a_second_import_checks_row_by_row(db_url, monkeypatch):
    _first_import(db_url)
    with psycopg.connect(db_url) as conn:
        # The table already holds every base: a few more never re-check the whole table.
        assert not worth_checking_at_once(conn, BASES, 3)
        monkeypatch.setattr(bulk, "BULK_ROWS", 1)
        assert not worth_checking_at_once(conn, BASES, 2)
        assert worth_checking_at_once(conn, BASES, 3)


def test_a_row_the_key_refuses_rolls_back_with_the_keys_intact(db_url):
    _contacts(db_url)
    keys = _keys(db_url)
    with psycopg.connect(db_url) as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            with conn.transaction(), foreign_keys_checked_at_end(conn, BASES):
                conn.execute(
                    f"INSERT INTO {BASES} (contact_id, kajabi_email) "
                    "VALUES ('00000000-0000-0000-0000-000000000001', 'ghost@example.com')"
                )
        assert conn.execute(f"SELECT count(*) FROM {BASES}").fetchone() == (0,)
    assert _keys(db_url) == keys


def test_it_refuses_to_run_outside_a_transaction(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        with pytest.raises(RuntimeError, match="open transaction"):
            with foreign_keys_checked_at_end(conn, BASES):
                pass
    assert len(_keys(db_url)) == 2

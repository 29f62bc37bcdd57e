"""Database errors an operator can fix say what to do, in one line, instead of a raw traceback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import dagster as dg
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from kajabi_sync.cli import main
from kajabi_sync.db.connection import DatabaseProblem
from kajabi_sync.db.migrate import migrate
from kajabi_sync.defs.resources import ContactsDatabase
from kajabi_sync_tests.reliability.dagster_run import materialize_week, write_export
from kajabi_sync_tests.weekly_job import step_failures


@pytest.fixture
def weak_role(pg_admin_url: str, empty_db_url: str) -> Iterator[str]:
    """A login role with no privilege of its own, for ``empty_db_url``."""
    role = f"kajabi_sync_weak_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    yield role
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )
    with psycopg.connect(empty_db_url, autocommit=True) as owner:  # its grants live there
        owner.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _as(url: str, role: str) -> str:
    params = conninfo_to_dict(url)
    params["user"] = role
    return make_conninfo(**params)


def _database_name(url: str) -> sql.Identifier:
    return sql.Identifier(str(conninfo_to_dict(url)["dbname"]))


def test_a_role_without_create_is_told_to_migrate_as_the_owner_and_then_works(
    empty_db_url, weak_role
):
    with psycopg.connect(empty_db_url, autocommit=True) as owner:
        owner.execute(
            sql.SQL("REVOKE CREATE ON DATABASE {} FROM PUBLIC").format(_database_name(empty_db_url))
        )
        owner.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    weak = _as(empty_db_url, weak_role)

    with pytest.raises(DatabaseProblem) as caught:
        with ContactsDatabase(url=weak).connection():
            pass
    message = str(caught.value)
    assert "permission denied" in message
    assert "What to do: the database role lacks a privilege" in message
    assert "Run the migrations once as the owner" in message and "\n" not in message

    with psycopg.connect(empty_db_url) as owner:  # the owner migrates and grants, as told
        migrate(owner)
        owner.execute(
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE ON contacts, contact_emails TO {0}; "
                "GRANT ALL ON SCHEMA kajabi_sync TO {0}; "
                "GRANT ALL ON ALL TABLES IN SCHEMA kajabi_sync TO {0}; "
                "GRANT ALL ON ALL SEQUENCES IN SCHEMA kajabi_sync TO {0}"
            ).format(sql.Identifier(weak_role))
        )
    with psycopg.connect(weak) as conn:
        assert migrate(conn) == []  # up to date: no DDL is attempted


def test_a_missing_contract_column_is_named_with_the_statement_that_adds_it(db_url, capsys):
    with psycopg.connect(db_url) as conn:
        conn.execute("ALTER TABLE contacts DROP COLUMN paypal_phone")

    with pytest.raises(DatabaseProblem) as caught:
        with ContactsDatabase(url=db_url).connection():
            pass
    message = str(caught.value)
    assert "lacks column(s) that the contract (contacts_db.sql) defines: contacts.paypal_phone" in (
        message
    )
    assert "ALTER TABLE contacts ADD COLUMN paypal_phone text" in message

    assert main(["--database-url", db_url, "migrate"]) == 1
    assert "contacts.paypal_phone" in capsys.readouterr().err


def test_a_read_only_database_fails_the_run_with_what_to_do_and_writes_nothing(
    db_url, pg_admin_url, data_dir, monkeypatch
):
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
                _database_name(db_url)
            )
        )
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    write_export(data_dir, {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "1"})

    with dg.instance_for_test() as instance:
        result = materialize_week(instance)

    assert not result.success
    errors = "\n".join(step_failures(result).values())
    assert "read-only transaction" in errors
    assert "What to do: the database accepts no writes" in errors
    assert "point KAJABI_SYNC_DATABASE_URL at the primary server" in errors
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM contacts").fetchone() == (0,)


def test_the_command_line_prints_the_hint_under_the_error(empty_db_url, pg_admin_url, capsys):
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
                _database_name(empty_db_url)
            )
        )
    assert main(["--database-url", empty_db_url, "migrate"]) == 1
    err = capsys.readouterr().err
    assert "read-only transaction" in err
    assert "What to do: the database accepts no writes" in err

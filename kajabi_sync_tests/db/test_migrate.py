from __future__ import annotations

from pathlib import Path

import psycopg

from kajabi_sync.db.migrate import migrate_url, migration_files

# The contract's schema of the production database, kept with the tests as the reference the
# migrations must reproduce.
CONTRACT = Path(__file__).resolve().parents[1] / "fixtures" / "contract_contacts_db.sql"


def _columns(url: str) -> dict[tuple[str, str], tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT table_name, column_name, data_type, udt_name FROM information_schema.columns
               WHERE table_schema = 'public'"""
        ).fetchall()
    return {(t, c): (d, u) for t, c, d, u in rows}


def test_empty_database_gets_the_contract_shape_and_project_tables(empty_db_url, pg_admin_url):
    applied = migrate_url(empty_db_url)
    assert applied == [name for name, _ in migration_files()]
    columns = _columns(empty_db_url)
    assert ("contacts", "paypal_first_name") in columns
    assert ("contact_emails", "is_primary") in columns
    with psycopg.connect(empty_db_url) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'kajabi_sync'"
            )
        }
    assert {
        "import_runs",
        "field_changes",
        "kajabi_base",
        "merged_from",
        "schema_migrations",
    } <= tables


def test_migrations_are_idempotent(empty_db_url):
    migrate_url(empty_db_url)
    before = _columns(empty_db_url)
    assert migrate_url(empty_db_url) == []
    assert _columns(empty_db_url) == before


def test_existing_production_database_keeps_its_shape_and_data(empty_db_url):
    """The contract's own DDL first (as production has it), with data; then our migrations."""
    with psycopg.connect(empty_db_url) as conn:
        conn.execute(CONTRACT.read_text())
        conn.execute(
            "INSERT INTO contacts (email, first_name, phone_source, notes) "
            "VALUES ('Jane@Example.com', 'Jane', 'paypal', 'keep me')"
        )
        # A column production added that we know nothing about must survive untouched.
        conn.execute("ALTER TABLE contacts ADD COLUMN loyalty_tier smallint")
    before = _columns(empty_db_url)
    migrate_url(empty_db_url)
    after = _columns(empty_db_url)
    assert all(after[key] == value for key, value in before.items())  # nothing dropped or retyped
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute("SELECT email, first_name, notes FROM contacts").fetchone()
        assert row == ("Jane@Example.com", "Jane", "keep me")
        # citext from the contract still compares case-insensitively
        assert (
            conn.execute(
                "SELECT count(*) FROM contacts WHERE email = 'jane@example.com'"
            ).fetchone()[0]
            == 1
        )

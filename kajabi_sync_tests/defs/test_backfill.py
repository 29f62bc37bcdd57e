"""Backfills in any order end exactly where a forward run ends.

Three weekly partitions run out of order (newest first): the newest week is blocked while
earlier exports wait (``earlier_export_pending``), the earlier weeks apply in date order, and
re-running the blocked week (what "re-execute failed partitions" does) completes the backfill.
Running an old week again afterwards is refused as stale and changes nothing.
"""

from __future__ import annotations

import psycopg
import pytest

from kajabi_sync.demo import DemoSpec, generate_demo
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync_tests import pg
from kajabi_sync_tests.reliability.scenario import dump_database
from kajabi_sync_tests.weekly_job import checks, run_week

WEEKS = ("2025-11-10", "2025-11-17", "2025-11-24")
SPEC = DemoSpec(contacts=1500, weeks=3)


@pytest.fixture
def forward_db_url(pg_admin_url):
    name = pg.scratch_name()
    yield pg.create_database(pg_admin_url, name, template=pg.TEMPLATE)
    pg.drop_database(pg_admin_url, name)


def contacts_state(url: str) -> list[tuple]:
    """Every contact's content (ids of new contacts are random, so keyed by email)."""
    columns = ", ".join(["email::text", *CONTACT_FIELDS, "source_system", "deleted_at IS NULL"])
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT {columns} FROM contacts ORDER BY 1, 2").fetchall()


def bases_state(url: str) -> list[tuple]:
    columns = ", ".join(f"b.{f}" for f in ["kajabi_email", *CONTACT_FIELDS])
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"SELECT c.email::text, {columns} FROM kajabi_sync.kajabi_base b "
            "JOIN contacts c ON c.id = b.contact_id ORDER BY 1"
        ).fetchall()


@pytest.mark.slow
def test_backfill_out_of_order_ends_as_the_forward_run(db_url, forward_db_url, data_dir, tmp_path):
    forward_dir = tmp_path / "forward"
    generate_demo(forward_db_url, forward_dir, SPEC)
    for week in WEEKS:
        assert run_week(week, db_url=forward_db_url, data_dir=forward_dir).success

    generate_demo(db_url, data_dir, SPEC)
    newest_first = run_week(WEEKS[2], db_url=db_url, data_dir=data_dir)
    assert not newest_first.success
    assert checks(newest_first)["earlier_export_pending"].passed is False
    for week in WEEKS[:2]:
        assert run_week(week, db_url=db_url, data_dir=data_dir).success
    assert run_week(
        WEEKS[2], db_url=db_url, data_dir=data_dir
    ).success  # re-executing the blocked partition

    assert contacts_state(db_url) == contacts_state(forward_db_url)
    assert bases_state(db_url) == bases_state(forward_db_url)

    # An old week run again with its own file is a re-run: it succeeds and the database does
    # not move (its apply is skipped: the file's content is applied already).
    before = dump_database(db_url)
    again = run_week(WEEKS[0], db_url=db_url, data_dir=data_dir)
    assert again.success and checks(again)["stale_export"].passed
    assert dump_database(db_url) == before

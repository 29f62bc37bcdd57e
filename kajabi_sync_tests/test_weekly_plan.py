"""weekly_plan's enriched export: the same files as reading, then building, and no open
transaction left behind while the frames are built."""

from __future__ import annotations

import dataclasses

import pandas as pd
import psycopg

from kajabi_sync.db.snapshot import load_live_contacts
from kajabi_sync.kajabi.enriched_export import build_enriched_export
from kajabi_sync.survivorship.plan import PlanSettings
from kajabi_sync.weekly_plan import kajabi_values, plan_week, week_enriched_export
from kajabi_sync_tests.factories import export_frame, insert_contacts

ANA = {"email": "ana@example.com", "first_name": "Ana", "phone": "+13035550101", "city": "Lyon"}
BEN = {"email": "ben@example.com", "first_name": "Ben", "city": "Oslo"}


def test_week_enriched_export_is_read_then_build_and_leaves_the_connection_idle(db_url):
    insert_contacts(db_url, ANA, {**BEN, "city": None, "last_name": "Berg"})
    export = export_frame(
        {**ANA, "city": None}, BEN, {"email": "new@example.org", "first_name": "Nia"}
    )
    with psycopg.connect(db_url) as conn:
        plan = plan_week(conn, export, PlanSettings()).plan
        expected = build_enriched_export(
            load_live_contacts(conn, arrow=True), kajabi_values(plan, export)
        )
        conn.rollback()
        built = week_enriched_export(conn, plan, export)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE

    assert len(built.full) == 2
    for field in dataclasses.fields(built):
        mine, theirs = getattr(built, field.name), getattr(expected, field.name)
        if isinstance(mine, pd.DataFrame):
            pd.testing.assert_frame_equal(mine, theirs)
        else:
            assert mine == theirs, field.name

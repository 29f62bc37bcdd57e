"""Shared pieces of the fault tests: a few thousand contacts, their weekly export, a database dump."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pandas as pd
import psycopg
from psycopg import sql

from kajabi_sync.db.apply import ApplyResult, ImportRecord, apply_plan
from kajabi_sync.db.snapshot import load_snapshot
from kajabi_sync.survivorship.plan import ImpactPlan, build_plan
from kajabi_sync_tests.factories import export_frame

CONTACTS = 3_000
NEW_CONTACTS = 200
RECORD = ImportRecord(
    file_name="kajabi_contacts_2025-11-10.csv", file_sha256="0" * 64, export_rows=0
)

T = TypeVar("T")


def seed_contacts(url: str, count: int = CONTACTS) -> None:
    """``count`` live contacts person1..N@example.com, Kajabi IDs 1..N, no city yet."""
    with psycopg.connect(url) as conn:
        conn.execute(
            """INSERT INTO contacts (email, first_name, last_name, kajabi_id)
               SELECT 'person' || n || '@example.com', 'First' || n, 'Last' || n, n::text
               FROM generate_series(1, %s) AS n""",
            (count,),
        )


def weekly_export(count: int = CONTACTS, new: int = NEW_CONTACTS) -> pd.DataFrame:
    """Every seeded contact with a city to fill, plus ``new`` contacts the database lacks."""
    known = [
        {
            "email": f"person{n}@example.com",
            "first_name": f"First{n}",
            "last_name": f"Last{n}",
            "kajabi_id": str(n),
            "city": "Denver",
        }
        for n in range(1, count + 1)
    ]
    fresh = [
        {"email": f"new{n}@example.com", "first_name": f"New{n}", "kajabi_id": str(100_000 + n)}
        for n in range(1, new + 1)
    ]
    return export_frame(*known, *fresh)


def plan_for(url: str, export: pd.DataFrame) -> ImpactPlan:
    with psycopg.connect(url) as conn:
        return build_plan(export, load_snapshot(conn))


def apply_url(url: str, plan: ImpactPlan, record: ImportRecord = RECORD) -> ApplyResult:
    with psycopg.connect(url) as conn:
        return apply_plan(conn, plan, record)


def dump_database(url: str) -> dict[str, bytes]:
    """Every row of contacts, contact_emails and every kajabi_sync table, as COPY text, ordered."""
    with psycopg.connect(url) as conn:
        tables = [("public", "contacts"), ("public", "contact_emails")] + conn.execute(
            """SELECT table_schema, table_name FROM information_schema.tables
               WHERE table_schema = 'kajabi_sync' AND table_type = 'BASE TABLE' ORDER BY table_name"""
        ).fetchall()
        dump = {}
        for schema, table in tables:
            name = sql.Identifier(schema, table)
            buffer = bytearray()
            with conn.cursor().copy(
                sql.SQL("COPY (SELECT * FROM {} AS t ORDER BY t::text) TO STDOUT").format(name)
            ) as copy:
                for block in copy:
                    buffer += block
            dump[f"{schema}.{table}"] = bytes(buffer)
    return dump


def count_rows(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table.split(".")))
        ).fetchone()[0]


def wait_for(condition: Callable[[], T], what: str, timeout: float = 120.0) -> T:
    """Poll ``condition`` until it returns something truthy (generous: the CI box has 2 cores)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def backend_alive(url: str, pid: int) -> bool:
    with psycopg.connect(url) as conn:
        return (
            conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[
                0
            ]
            > 0
        )

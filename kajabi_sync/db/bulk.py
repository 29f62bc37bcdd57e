"""Bulk writes: a large insert checks its foreign keys once, as a set, not row by row.

PostgreSQL checks a foreign key with one lookup per inserted row (a trigger per row and key).
For a first import, which creates a base for every contact, those lookups cost more than the
insert itself. Dropping the keys before the insert and adding them back after it (PostgreSQL's
own advice for populating a table) checks every row with one join when the key is added back.
Both happen inside the caller's transaction: a failure, or a row the key refuses, rolls the
drop back with everything else, so no other session ever sees the table without its keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from kajabi_sync.db.connection import scalar

# Below this many rows the per-row checks cost less than checking the whole table again.
BULK_ROWS = 10_000


def worth_checking_at_once(conn: psycopg.Connection, table: str, rows: int) -> bool:
    """Whether inserting ``rows`` into ``table`` should check its foreign keys once afterwards:
    a large insert that at least doubles the table (adding a key back checks every row of the
    table, not only the new ones)."""
    if rows < BULK_ROWS:
        return False
    return rows >= scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(_table(table)))


@contextmanager
def foreign_keys_checked_at_end(conn: psycopg.Connection, table: str) -> Iterator[None]:
    """Within the caller's transaction: drop the foreign keys of ``table`` (schema-qualified),
    and add them back, same names and definitions, when the block ends without error.

    Dropping a key locks ``table`` and the table it references (``contacts``) exclusively until
    the transaction ends: other sessions' reads of them wait for the commit, which follows the
    insert. Hence only for a first import (``worth_checking_at_once``), by the one writer that
    holds the import's write lock. Should another session be writing ``contacts`` meanwhile,
    PostgreSQL may abort one of the two as a deadlock; if it is the import, it rolls back whole."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
        raise RuntimeError("foreign_keys_checked_at_end needs an open transaction")
    keys = conn.execute(
        """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname""",
        (table,),
    ).fetchall()
    name = _table(table)
    for key, _ in keys:
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(name, sql.Identifier(key)))
    yield
    for key, definition in keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                name, sql.Identifier(key), sql.SQL(definition)
            )
        )


def _table(table: str) -> sql.Composable:
    return sql.SQL(".").join(sql.Identifier(part) for part in table.split("."))

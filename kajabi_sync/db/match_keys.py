"""The duplicate finder's keys of the live contacts, kept in ``kajabi_sync.match_keys``.

Holding likely duplicates compares a week's new emails (tens to thousands) with the live
contacts. In memory that means normalising every live contact's fields every week
(``matching.prefilter``). Here each live contact's keys are stored once, as
``prefilter.pass_hashes`` and the counted values give them, and a search

1. brings the table up to date in the caller's transaction (``refresh_match_keys``): rows
   whose fingerprint (``source``: the contact's fields and the code that keyed them) no
   longer matches a live contact are deleted, and the live contacts without a row are keyed;
2. finds the contacts sharing a pass hash with a new row, a superset of those sharing a key;
3. runs the exact pre-filter over the new rows and that superset, which keeps exactly what the
   pre-filter over every live contact keeps: every row sharing an exact key with a new row is
   in the superset, so block sizes are exact too;
4. counts the kept values over every live contact through the text columns' indexes.

The pairs and scores are those of ``holds.search_in`` over every live contact (the property
test ``kajabi_sync_tests/matching/test_match_keys.py`` holds them equal).

Only in a UTF8 database: the normalised text may hold characters another server encoding
cannot store, so elsewhere the search reads every live contact and compares in memory.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import unicodedata
from types import ModuleType

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from kajabi_sync import normalize
from kajabi_sync.db.apply import copy_frame
from kajabi_sync.db.snapshot import read_live_contacts, read_query
from kajabi_sync.frames import ARROW_TEXT
from kajabi_sync.matching import features, prefilter
from kajabi_sync.matching.duplicates import compare_with_existing
from kajabi_sync.matching.holds import PEOPLE_COLUMNS, LiveSearch, in_id_order, search_in
from kajabi_sync.matching.prefilter import (
    COARSE_PARTS,
    EXACT_COUNT_FEATURES,
    EXACT_PASSES,
    key_parts,
    pass_hashes,
    prefilter_existing,
)

TABLE = sql.Identifier("kajabi_sync", "match_keys")
PASS_NAMES: tuple[str, ...] = (*("_".join(names) for names in EXACT_PASSES), *COARSE_PARTS)
PASS_COLUMNS: tuple[str, ...] = tuple(f"pass_{name}" for name in PASS_NAMES)
TEXT_COLUMNS: dict[str, str] = {name: f"{name}_text" for name in EXACT_COUNT_FEATURES}
KEY_COLUMNS: tuple[str, ...] = ("contact_id", "source", *PASS_COLUMNS, *TEXT_COLUMNS.values())
_PHONES = ("phone_all", "phone_main")
# From this many new rows on (a first import) the search reads every live contact and compares
# in memory, as the reference does: the stored hashes would find most contacts anyway, after
# staging every hash of every new row.
IN_MEMORY_FROM = 50_000


def _code_fingerprint(modules: tuple[ModuleType, ...]) -> str:
    """What the stored keys depend on besides the contacts' fields: the code that normalises and
    keys them and the libraries whose behaviour it relies on (pandas' hash, Arrow's RE2, the
    Unicode tables of casefold). Any change recomputes every row once."""
    digest = hashlib.md5(usedforsecurity=False)
    for module in modules:
        try:
            digest.update(inspect.getsource(module).encode("utf-8"))
        except (OSError, TypeError):  # no source to read: never trust an earlier run's keys
            digest.update(str(id(digest)).encode())
    for version in (pd.__version__, pa.__version__, unicodedata.unidata_version):
        digest.update(version.encode())
    return digest.hexdigest()


KEYS_VERSION = _code_fingerprint((normalize, features, prefilter, sys.modules[__name__]))


def _source_sql(alias: str) -> sql.Composable:
    """The fingerprint of a contact's row: the code's, then each field the keys read as its
    length, a colon and its text (NULL as ``~``), so different rows never share one."""
    fields = [
        sql.SQL("{}.{}::text").format(sql.Identifier(alias), sql.Identifier(f))
        for f in PEOPLE_COLUMNS
    ]
    pieces = [sql.SQL("coalesce(length({0})::text || ':' || {0}, '~')").format(f) for f in fields]
    return sql.SQL("md5({} || ',' || {})").format(
        sql.Literal(KEYS_VERSION), sql.SQL(" || ',' || ").join(pieces)
    )


def supported(conn: psycopg.Connection) -> bool:
    """Whether keys can be kept in this database (UTF8: see the module doc)."""
    row = conn.execute("SELECT current_setting('server_encoding')").fetchone()
    return row is not None and row[0] == "UTF8"


def key_rows(contacts: pd.DataFrame) -> pd.DataFrame:
    """The ``match_keys`` rows of ``contacts`` (``id``, ``source`` and ``PEOPLE_COLUMNS``), as
    text (COPY reads the hashes' text as bigint; a row without a key gets NULL)."""
    parts = key_parts(contacts[list(PEOPLE_COLUMNS)].reset_index(drop=True))
    columns = {
        "contact_id": pa.array(contacts["id"].to_numpy(dtype=object), pa.string()),
        "source": pa.array(contacts["source"].to_numpy(dtype=object), pa.string()),
    }
    for name, (key, present) in pass_hashes(parts).items():
        columns[f"pass_{name}"] = pc.cast(pa.array(key, mask=~present), pa.string())
    for name, column in TEXT_COLUMNS.items():
        columns[column] = pa.array(parts[name].text(), pa.string())
    return pa.table(columns).to_pandas(types_mapper={pa.string(): ARROW_TEXT}.get)[
        list(KEY_COLUMNS)
    ]


def refresh_match_keys(conn: psycopg.Connection) -> int:
    """Bring ``match_keys`` to exactly the live contacts' keys, in the caller's transaction;
    returns how many contacts were keyed. Set-based: one statement deletes every row whose
    contact is gone, not live or changed, one reads the contacts without a row."""
    conn.execute(
        sql.SQL(
            """DELETE FROM {table} k WHERE NOT EXISTS (
                   SELECT 1 FROM contacts c
                   WHERE c.id = k.contact_id AND c.deleted_at IS NULL AND k.source = {source})"""
        ).format(table=TABLE, source=_source_sql("c"))
    )
    fields = sql.SQL(", ").join(
        sql.SQL("c.{0}::text AS {0}").format(sql.Identifier(f)) for f in PEOPLE_COLUMNS
    )
    missing = read_query(
        conn,
        sql.SQL(
            """SELECT c.id::text AS id, {source} AS source, {fields} FROM contacts c
               WHERE c.deleted_at IS NULL
                 AND NOT EXISTS (SELECT 1 FROM {table} k WHERE k.contact_id = c.id)"""
        ).format(source=_source_sql("c"), fields=fields, table=TABLE),
        arrow=True,
    )
    if missing.empty:
        return 0
    copy_frame(conn, TABLE, key_rows(missing))
    return len(missing)


def _wanted(people: pd.DataFrame) -> pd.DataFrame:
    """(pass, key): every distinct pass hash of the new rows, the phones' two forms under both."""
    hashes = pass_hashes(key_parts(people))
    frames = []
    phones = np.concatenate([hashes[p][0][hashes[p][1]] for p in _PHONES])
    for name in PASS_NAMES:
        key, present = hashes[name]
        keys = phones if name in _PHONES else key[present]
        frames.append(pd.DataFrame({"pass": name, "key": np.unique(keys)}))
    return pd.concat(frames, ignore_index=True)


def _retrieve(conn: psycopg.Connection, people: pd.DataFrame) -> pd.DataFrame:
    """The live contacts (``id`` and ``PEOPLE_COLUMNS``, as the snapshot reads them) sharing a
    pass hash with a row of ``people``, in id order."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS match_wanted (pass text, key bigint) ON COMMIT DROP"
    )
    conn.execute("TRUNCATE match_wanted")
    wanted = _wanted(people)
    copy_frame(conn, "match_wanted", wanted.astype({"key": "int64"}))
    conn.execute("ANALYZE match_wanted")
    # One scan of match_keys; each condition is a hashed set of the new rows' hashes.
    conditions = sql.SQL(" OR ").join(
        sql.SQL("k.{} IN (SELECT key FROM match_wanted WHERE pass = {})").format(
            sql.Identifier(column), sql.Literal(name)
        )
        for name, column in zip(PASS_NAMES, PASS_COLUMNS, strict=True)
    )
    fields = sql.SQL(", ").join(
        sql.SQL("c.{0}::text AS {0}").format(sql.Identifier(f)) for f in PEOPLE_COLUMNS
    )
    found = read_query(
        conn,
        sql.SQL(
            """SELECT c.id::text AS id, {fields} FROM contacts c
               JOIN {table} k ON k.contact_id = c.id
               WHERE c.deleted_at IS NULL AND ({conditions})"""
        ).format(fields=fields, table=TABLE, conditions=conditions),
        arrow=True,
    )
    return in_id_order(found)


def _population_counts(
    conn: psycopg.Connection, values: dict[str, np.ndarray], new_rows: int
) -> dict[str, np.ndarray]:
    """``prefilter.Prefiltered.counts`` over every live contact: per kept row (the new rows
    first), how many of the new rows and live contacts carry its value (0 when it has none)."""
    counts = {}
    for name, column in TEXT_COLUMNS.items():
        kept = pd.Series(values[name], dtype=object)
        # The database cannot hold a NUL, so no live contact has a value with one.
        distinct = [v for v in kept.dropna().unique().tolist() if "\x00" not in v]
        stored = conn.execute(
            sql.SQL("SELECT {0}, count(*) FROM {1} WHERE {0} = ANY(%s) GROUP BY 1").format(
                sql.Identifier(column), TABLE
            ),
            (distinct,),
        ).fetchall()
        live = pd.Series(dict(stored), dtype="float64")
        among_new = kept.iloc[:new_rows].value_counts().astype("float64")
        total = kept.map(live).fillna(0.0) + kept.map(among_new).fillna(0.0)
        counts[name] = total.to_numpy(dtype=float)
    return counts


def database_search(conn: psycopg.Connection) -> LiveSearch:
    """A ``holds.LiveSearch`` over the live contacts as the caller's transaction sees them,
    through ``match_keys`` (brought up to date first); in a database that cannot keep them,
    the reference search over every live contact."""
    if not supported(conn):
        return search_in(read_live_contacts(conn))
    refresh_match_keys(conn)

    def search(people: pd.DataFrame, threshold: float) -> tuple[pd.DataFrame, pd.DataFrame]:
        row = conn.execute("SELECT count(*) FROM contacts WHERE deleted_at IS NULL").fetchone()
        live_count = int(row[0]) if row else 0
        if len(people) > IN_MEMORY_FROM:
            return search_in(read_live_contacts(conn))(people, threshold)
        found = _retrieve(conn, people)
        if not live_count:
            return compare_with_existing(people, people.iloc[:0], 0, threshold), found
        kept = prefilter_existing(people, found[list(PEOPLE_COLUMNS)])
        compared = found[list(PEOPLE_COLUMNS)].iloc[kept.positions]
        counts = _population_counts(conn, kept.values, len(people))
        pairs = compare_with_existing(
            people, compared, live_count, threshold, population_counts=counts
        )
        return pairs, found

    return search

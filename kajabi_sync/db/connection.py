"""Opening the contacts database, and keeping its password out of every message."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

import psycopg
from psycopg.abc import Params, QueryNoTemplate

from kajabi_sync import settings
from kajabi_sync.db.embedded import embedded_database_url


def resolve_database_url(url: str | None = None) -> str:
    """The explicit URL, else ``KAJABI_SYNC_DATABASE_URL``, else the embedded server's."""
    url = url or os.environ.get(settings.DATABASE_URL_ENV)
    if url:
        return url
    return embedded_database_url(settings.embedded_pgdata())


def connect(url: str, **kwargs: Any) -> psycopg.Connection:
    """A connection in a transaction (autocommit off): every write commits once, or not at all.

    Any failure to connect becomes a ``ConnectionError`` whose text holds no part of the
    password: psycopg's ``ProgrammingError`` for a malformed URL quotes the offending token,
    which is often the password itself. The error is raised outside the ``except`` block so that
    the original exception is not even attached as its context."""
    try:
        return psycopg.connect(url, **kwargs)
    except (psycopg.Error, ValueError) as exc:
        error = ConnectionError(connection_failure(url, exc))
    raise error


@functools.lru_cache(maxsize=8)
def _migrated(url: str) -> bool:
    # Once per process and database: the migrations run before the first step needs them.
    from kajabi_sync.db.migrate import migrate  # migrate imports this module

    with hinted_errors(url), connect(url) as conn:
        migrate(conn)
    return True


def migrated_url(url: str | None = None) -> str:
    """``resolve_database_url(url)``, migrated (once per process) before it is handed out."""
    resolved = resolve_database_url(url)
    _migrated(resolved)
    return resolved


@contextmanager
def open_database(url: str | None = None) -> Iterator[psycopg.Connection]:
    """A connection (see ``connect``) to the migrated contacts database ``url`` resolves to."""
    resolved = migrated_url(url)
    with hinted_errors(resolved), connect(resolved) as conn:
        yield conn


def scalar(conn: psycopg.Connection, query: QueryNoTemplate, params: Params | None = None) -> Any:
    """The first column of the query's only row (a count, an EXISTS, a RETURNING id)."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise LookupError(f"the query returned no row: {query!r}")
    return row[0]


def jit_off(conn: psycopg.Connection) -> None:
    """Turn PostgreSQL's JIT compilation off until the caller's transaction ends (``SET LOCAL``).

    For the one-shot statements that read or join whole tables (the snapshot, the merge-memory
    bootstrap): their plan costs are far above ``jit_above_cost``, so the server compiles their
    expressions, and a statement run once over every row never earns back the compile time.
    Must run inside a transaction (``SET LOCAL`` outside one only warns and does nothing)."""
    conn.execute("SET LOCAL jit = off")


def stable_row_order(conn: psycopg.Connection) -> None:
    """Make the caller's transaction read a table's rows in the same order for the same database
    (``SET LOCAL``: no scan starting where another scan of a large table stopped, as
    ``synchronize_seqscans`` lets it, and no parallel workers interleaving their rows).

    For the snapshot: the plan's frames, and the ties the duplicate finder keeps in row order,
    must not change from one run over the same database to the next. Must run inside a
    transaction, as ``jit_off``."""
    conn.execute("SET LOCAL synchronize_seqscans = off")
    conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def connection_failure(url: str, exc: BaseException) -> str:
    """What to tell the operator when ``url`` did not connect: redacted, with what to do."""
    detail = redact_text(str(exc).strip(), url).rstrip(".")
    where = redact_url(url)
    if isinstance(exc, psycopg.ProgrammingError | ValueError):
        return f"the contacts database URL is malformed ({detail}): {where}. {PERCENT_ENCODE_HINT}"
    message = f"cannot connect to the contacts database {where}: {detail}"
    unencoded = re.sub(r"%[0-9A-Fa-f]{2}", "", _password_of(url)) if "://" in url else ""
    if any(char in unencoded for char in _SPECIAL):
        message += f". If the password holds special characters: {PERCENT_ENCODE_HINT}"
    return message


PERCENT_ENCODE_HINT = (
    "Percent-encode the password in KAJABI_SYNC_DATABASE_URL, e.g. %20 for a space, %25 for %, "
    "%40 for @, %2F for /, %3A for : (Python: urllib.parse.quote(password, safe=''))"
)
_SPECIAL = " %@/:?#'\"\\"

# The password of a URL runs from the colon after the user name to the LAST "@" before the
# host (libpq splits at the first, so an unencoded "@" leaves the rest of the password in the
# host name; redacting up to the last one hides it there too).
_PASSWORD_IN_URL = re.compile(r"(\w+://[^:/@\s]*:)(.*)(@[^@]*)$", re.DOTALL)
_URL_IN_TEXT = re.compile(r"(\w+://[^:/@\s]*:)([^@\s]*)(@)")
_PASSWORD_PARAM = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&]+)", re.IGNORECASE)
# Fragments of a password shorter than this are not worth hiding (and would blank common text).
_MIN_FRAGMENT = 4


def _password_of(url: str) -> str:
    match = _PASSWORD_IN_URL.match(url.strip())
    if match:
        return match.group(2)
    param = _PASSWORD_PARAM.search(url)
    return param.group(2).strip("'") if param else ""


def redact_url(url: str) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db`` (also ``password=`` params)."""
    text = url.strip()
    match = _PASSWORD_IN_URL.match(text)
    if match:
        text = match.group(1) + "***" + match.group(3)
    else:
        text = _URL_IN_TEXT.sub(r"\1***\3", text)
    return _PASSWORD_PARAM.sub(r"\1***", text)


def _secrets(url: str) -> list[str]:
    """The password as written and decoded, and its fragments between URL delimiters."""
    password = _password_of(url)
    if not password:
        return []
    whole = {password, unquote(password)}
    pieces = {p for w in whole for p in re.split(r"[\s@:/?#&%'\"=]+", w)}
    return sorted(
        (s for s in whole | pieces if len(s) >= _MIN_FRAGMENT or s in whole), key=len, reverse=True
    )


def redact_text(text: str, url: str) -> str:
    """Remove the URL's password, and any fragment of it, from any text (errors can echo it)."""
    text = redact_url(text) if "://" in text or "password" in text.lower() else text
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


class DatabaseProblem(RuntimeError):
    """A database error the operator can fix, with one line saying how."""


# SQLSTATE -> what to do. Only states with a fix the operator can make; the rest stay as raised.
_HINTS = {
    "42501": (  # insufficient_privilege
        "the database role lacks a privilege kajabi_sync needs. Run the migrations once as the "
        "owner of the contacts database (KAJABI_SYNC_DATABASE_URL=<owner's URL> kajabi-sync "
        "migrate), then grant this role SELECT, INSERT, UPDATE on contacts and contact_emails "
        "and ALL on schema kajabi_sync and its tables and sequences"
    ),
    "25006": (  # read_only_sql_transaction
        "the database accepts no writes (a read-only replica or standby, or "
        "default_transaction_read_only is on): point KAJABI_SYNC_DATABASE_URL at the primary "
        "server"
    ),
    "42703": (  # undefined_column
        "a table lacks a column the contract (contacts_db.sql) defines; kajabi_sync never alters "
        "existing tables: add the column as the contract has it, or check that "
        "KAJABI_SYNC_DATABASE_URL names the contacts database"
    ),
    "42P01": (  # undefined_table
        "a table is missing: run `kajabi-sync migrate`, and check that KAJABI_SYNC_DATABASE_URL "
        "names the contacts database"
    ),
    "3D000": "the database does not exist: check the database name in KAJABI_SYNC_DATABASE_URL",
    "53100": "the database server's disk is full: free space there, then run again",
}


def database_error_hint(exc: BaseException) -> str | None:
    """What to do about ``exc`` (a psycopg error), or None when there is nothing to say."""
    state = getattr(exc, "sqlstate", None)
    return _HINTS.get(state) if state else None


def with_hint(exc: psycopg.Error, url: str) -> DatabaseProblem | None:
    """``exc`` as a DatabaseProblem whose message says what to do; None without a hint."""
    hint = database_error_hint(exc)
    if hint is None:
        return None
    first_line = redact_text(str(exc).strip().splitlines()[0] if str(exc).strip() else "", url)
    return DatabaseProblem(
        f"the contacts database {redact_url(url)} refused: {first_line}. What to do: {hint}"
    )


@contextmanager
def hinted_errors(url: str) -> Iterator[None]:
    """Re-raise a psycopg error that has a known fix as a DatabaseProblem saying what to do."""
    try:
        yield
    except psycopg.Error as exc:
        problem = with_hint(exc, url)
        if problem is None:
            raise
        raise problem from exc

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

    with connect(url) as conn:
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
    with connect(migrated_url(url)) as conn:
        yield conn


def scalar(conn: psycopg.Connection, query: QueryNoTemplate, params: Params | None = None) -> Any:
    """The first column of the query's only row (a count, an EXISTS, a RETURNING id)."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise LookupError(f"the query returned no row: {query!r}")
    return row[0]


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

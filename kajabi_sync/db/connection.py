"""Opening the contacts database, and keeping its password out of every message."""

from __future__ import annotations

import os
import re

import psycopg

from kajabi_sync import settings
from kajabi_sync.db.embedded import embedded_database_url


def resolve_database_url(url: str | None = None) -> str:
    """The explicit URL, else ``KAJABI_SYNC_DATABASE_URL``, else the embedded server's."""
    url = url or os.environ.get(settings.DATABASE_URL_ENV)
    if url:
        return url
    return embedded_database_url(settings.embedded_pgdata())


def connect(url: str, **kwargs) -> psycopg.Connection:
    """A connection in a transaction (autocommit off): every write commits once, or not at all."""
    try:
        return psycopg.connect(url, **kwargs)
    except psycopg.OperationalError as exc:
        raise ConnectionError(
            f"cannot connect to the contacts database {redact_url(url)}: {redact_text(str(exc), url)}"
        ) from None


_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")
_PASSWORD_PARAM = re.compile(r"(password=)([^\s&]+)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db`` (also ``password=`` params)."""
    return _PASSWORD_PARAM.sub(r"\1***", _PASSWORD_IN_URL.sub(r"\1***\3", url))


def redact_text(text: str, url: str) -> str:
    """Remove the URL's password from any text (error messages can echo it)."""
    match = _PASSWORD_IN_URL.search(url) or _PASSWORD_PARAM.search(url)
    text = redact_url(text)
    if match and match.group(2):
        text = text.replace(match.group(2), "***")
    return text

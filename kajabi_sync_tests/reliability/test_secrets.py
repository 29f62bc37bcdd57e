"""The database password never reaches logs, run config, metadata, stored files or error messages."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import unquote

import dagster as dg
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from kajabi_sync.db.connection import connect
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.reliability.dagster_run import (
    event_records,
    files_containing,
    materialize_week,
    stored_run,
    write_export,
)

PASSWORD = "Zebra-Pw-7731-SECRET"
ENCODED_PASSWORD = "Zebra%2FPw%40-7731-SECRET"  # libpq decodes it to Zebra/Pw@-7731-SECRET

FAILING_URLS = {
    "refused": f"postgresql://kajabi:{PASSWORD}@127.0.0.1:1/contacts?connect_timeout=5",
    "unknown host": f"postgresql://kajabi:{PASSWORD}@contacts-db.invalid:5432/contacts?connect_timeout=5",
    "unknown role": f"postgresql://no_such_role_7731:{PASSWORD}@127.0.0.1:5432/postgres?connect_timeout=5",
    "query parameter": f"postgresql://kajabi@127.0.0.1:1/contacts?password={PASSWORD}&connect_timeout=5",
    "key/value": f"host=127.0.0.1 port=1 user=kajabi password={PASSWORD} dbname=contacts connect_timeout=5",
    "percent-encoded": f"postgresql://kajabi:{ENCODED_PASSWORD}@127.0.0.1:1/contacts?connect_timeout=5",
}
SECRETS = [PASSWORD, ENCODED_PASSWORD, unquote(ENCODED_PASSWORD)]


def _week_export(data_dir) -> None:
    write_export(
        data_dir,
        {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "101", "city": "Denver"},
    )


def _leaks(texts: list[str]) -> list[str]:
    return [secret for secret in SECRETS if any(secret in text for text in texts)]


@pytest.mark.parametrize("url", FAILING_URLS.values(), ids=FAILING_URLS.keys())
def test_a_failing_connection_never_shows_the_password(url, data_dir, monkeypatch, capfd):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", url)
    _week_export(data_dir)
    with dg.instance_for_test() as instance:
        result = materialize_week(instance)
        records = event_records(instance, result.run_id)
        run = stored_run(instance, result.run_id)
        stored = files_containing(Path(instance.root_directory), SECRETS)
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    errors = [e.step_failure_data.error.to_string() for e in failures]
    captured = capfd.readouterr()

    assert not result.success
    assert [e.step_key for e in failures] == ["impact_analysis"]
    assert "cannot connect to the contacts database" in errors[0]  # the error did reach the log
    assert "***" in errors[0]
    assert _leaks(errors + records + [run, captured.out, captured.err]) == []
    assert stored == []
    assert files_containing(data_dir, SECRETS) == []


@pytest.fixture
def password_url(db_url: str, pg_admin_url: str):
    """``db_url`` as a role with a password (the test server trusts 127.0.0.1, so any password
    is accepted: what matters is that the URL carries one, as in production)."""
    params = conninfo_to_dict(db_url)
    if str(params.get("host", "")).startswith("/"):
        pytest.skip("the test server listens on a socket only")
    role = f"kajabi_sync_secret_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(PASSWORD)
            )
        )
    yield f"postgresql://{role}:{PASSWORD}@{params['host']}:{params.get('port', 5432)}/{params['dbname']}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_a_successful_run_with_a_password_in_the_url_stores_it_nowhere(
    password_url, db_url, data_dir, monkeypatch, capfd
):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", password_url)
    insert_contacts(db_url, {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "101"})
    _week_export(data_dir)
    with dg.instance_for_test() as instance:
        result = materialize_week(instance)
        records = event_records(instance, result.run_id)
        run = stored_run(instance, result.run_id)
        stored = files_containing(Path(instance.root_directory), SECRETS)
        pickled = [p for p in Path(instance.storage_directory()).rglob("*") if p.is_file()]
    captured = capfd.readouterr()

    failures = [
        e.step_failure_data.error.to_string()
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE
    ]
    assert result.success, failures
    with psycopg.connect(password_url) as conn:  # the URL really was the one used
        assert conn.execute("SELECT count(*) FROM kajabi_sync.import_runs").fetchone()[0] == 1
    assert len(records) > 20 and len(pickled) >= 5  # there was something to scan
    assert _leaks(records + [run, captured.out, captured.err]) == []
    assert stored == []
    assert files_containing(data_dir, SECRETS) == []


# Passwords that are not percent-encoded: psycopg refuses such a URL with a ProgrammingError
# that quotes the offending token (the password), or libpq reads part of it as the host.
MARK = "7731-SECRET"
MALFORMED_URLS = {
    "space in the password": f"postgresql://kajabi:Zebra Pw {MARK}@127.0.0.1:1/contacts",
    "raw percent": f"postgresql://kajabi:Zebra%Pw-{MARK}@127.0.0.1:1/contacts",
    "raw at sign": f"postgresql://kajabi:Zebra@Pw-{MARK}@127.0.0.1:1/contacts?connect_timeout=5",
    "raw percent in a query parameter": (
        f"postgresql://kajabi@127.0.0.1:1/contacts?password=Zebra%Pw-{MARK}&connect_timeout=5"
    ),
    "key/value, quoted space": (
        f"host=127.0.0.1 port=1 user=kajabi password='Zebra Pw {MARK}' connect_timeout=5"
    ),
    "key/value, unterminated quote": f"host=127.0.0.1 port=1 password='Zebra Pw {MARK}",
}


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


# Each case runs the real dagster and kajabi-sync processes: the first runs by default, every
# case in CI (slow).
REAL_PROCESS_CASES = [
    pytest.param(url, id=name, marks=() if i == 0 else pytest.mark.slow)
    for i, (name, url) in enumerate(MALFORMED_URLS.items())
]


@pytest.mark.parametrize("url", REAL_PROCESS_CASES)
def test_a_malformed_url_s_password_reaches_no_log_storage_report_or_output(url, tmp_path):
    """The real processes: ``dagster asset materialize`` (run and step processes, SQLite event
    log, compute logs) and ``kajabi-sync status``; every file they write and everything they
    print is searched for the password and its distinctive part."""
    home, data = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    (data / "kajabi_exports").mkdir(parents=True)
    _week_export(data)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "KAJABI_SYNC_DATA_DIR": str(data),
        "KAJABI_SYNC_DATABASE_URL": url,
    }
    bin_dir = Path(sys.executable).parent
    job = _run(
        [str(bin_dir / "dagster"), "asset", "materialize", "-m", "kajabi_sync.definitions"]
        + ["--select", "*", "--partition", "2025-11-10"],
        env,
    )
    cli = _run([str(bin_dir / "kajabi-sync"), "status"], env)
    secrets = [MARK, url.split(":", 2)[-1].split("@")[0]] if "://" in url else [MARK]

    assert job.returncode != 0 and cli.returncode == 1
    assert "Percent-encode the password" in cli.stderr or "cannot connect" in cli.stderr
    assert "***" in cli.stderr
    compute_logs = [p for p in home.rglob("*") if p.suffix in (".err", ".out")]
    assert compute_logs, "the step ran in its own process and logged"
    outputs = [job.stdout, job.stderr, cli.stdout, cli.stderr]
    assert [s for s in secrets if any(s in text for text in outputs)] == []
    assert files_containing(home, secrets) == []
    assert files_containing(data, secrets) == []


@pytest.mark.parametrize("url", MALFORMED_URLS.values(), ids=MALFORMED_URLS.keys())
def test_connect_says_what_to_fix_without_the_password(url):
    with pytest.raises(ConnectionError) as caught:
        connect(url)
    message = str(caught.value)
    assert MARK not in message and "Zebra" not in message
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    if "malformed" in message:
        assert "%20 for a space" in message and "%25 for %" in message
    else:
        assert "cannot connect to the contacts database" in message
        # An unencoded "@" splits the password: libpq then names part of it as the host.
        assert "***" in message

"""The duplicate search in a process of its own: the same answer as in the caller, its errors
raised in the caller, and no worker left behind."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection

import pandas as pd
import psycopg
import pytest

from kajabi_sync.db.snapshot import load_snapshot
from kajabi_sync.frames import ARROW_TEXT
from kajabi_sync.matching.holds import score_new_rows
from kajabi_sync.matching.search_process import (
    LIVE_COLUMNS,
    SearchFailed,
    SearchProcess,
    arrow_bytes,
    frame_from_arrow_bytes,
)
from kajabi_sync.survivorship.match import match_rows
from kajabi_sync.survivorship.plan import new_contact_rows, planned_rows
from kajabi_sync_tests.factories import export_frame, insert_contacts

LIVE = (
    {
        "email": "jane@example.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "phone": "(303) 555-1234",
        "address_line_1": "12 Main Street",
        "city": "Denver",
        "state": "CO",
        "postal_code": "80202",
    },
    {
        "email": "zoe.muller@example.de",
        "first_name": "Zoë",
        "last_name": "Müller",
        "address_line_1": "Hauptstraße 5",
        "city": "Köln",
        "postal_code": "50667",
        "country": "Germany",
    },
    {"email": "nina@example.org", "first_name": "Nina", "last_name": "Kowalski"},
)
NEW = (
    {"email": "jd@work.example", "first_name": "Jane", "last_name": "Doe", "phone": "3035551234"},
    {
        "email": "zm@example.net",
        "first_name": "Zoe",
        "last_name": "Mueller",
        "address_line_1": "Hauptstr. 5",
        "postal_code": "50667",
    },
    {"email": "someone.else@example.net", "first_name": "Ola"},
)


@pytest.fixture
def new_and_live(db_url):
    insert_contacts(db_url, *LIVE)
    with psycopg.connect(db_url) as conn:
        snapshot = load_snapshot(conn)
    export = export_frame(*LIVE, *NEW)
    planned = planned_rows(export, None)
    return new_contact_rows(planned, match_rows(planned, snapshot)), snapshot.contacts


def test_the_worker_answers_what_the_search_gives_in_the_caller(new_and_live):
    new, live = new_and_live
    expected = score_new_rows(new, live)
    assert set(expected["email"]) == {"jd@work.example", "zm@example.net"}
    with SearchProcess() as search:
        search.start(new, live)
        got = search.result()
    pd.testing.assert_frame_equal(got, expected)


def test_the_live_contacts_cross_to_the_worker_unchanged(new_and_live):
    _, live = new_and_live
    sent = live[list(LIVE_COLUMNS)].copy()
    sent.loc[0, "address_line_2"] = ""  # an empty string stays one, not NA
    sent["state"] = pd.Series(pd.NA, index=sent.index, dtype=ARROW_TEXT)
    pd.testing.assert_frame_equal(
        frame_from_arrow_bytes(arrow_bytes(sent)), sent.reset_index(drop=True)
    )


def test_an_error_in_the_worker_is_raised_in_the_caller_with_its_traceback(new_and_live):
    new, live = new_and_live
    with SearchProcess() as search:
        search.start(new.drop(columns="first_name"), live)
        with pytest.raises(KeyError, match="first_name") as raised:
            search.result()
    assert "score_new_rows" in str(raised.value.__cause__)


def test_a_worker_killed_before_its_answer_fails_the_search_in_plain_words(new_and_live):
    new, live = new_and_live
    with SearchProcess() as search:
        search.start(new, live)
        search._process.kill()
        with pytest.raises(
            SearchFailed, match=r"ended without an answer \(it was stopped by SIGKILL .*run the job"
        ):
            search.result()


def test_a_worker_gone_while_it_is_handed_the_contacts_fails_in_plain_words(new_and_live):
    # More contacts than the socket holds: the send fails instead of waiting for a reader.
    new, live = new_and_live
    many = pd.DataFrame(
        {c: pd.Series(["x" * 40] * 200_000, dtype=ARROW_TEXT) for c in LIVE_COLUMNS}
    )
    with SearchProcess() as search:
        search._process.kill()
        search._process.wait()
        with pytest.raises(SearchFailed, match="ended without an answer"):
            search.start(new, many)


def test_leaving_the_block_early_kills_the_worker(new_and_live):
    new, live = new_and_live
    with pytest.raises(RuntimeError, match="the plan failed"), SearchProcess() as search:
        search.start(new, live)
        worker = search._process
        raise RuntimeError("the plan failed")
    assert worker.returncode == -signal.SIGKILL
    with pytest.raises(RuntimeError, match="outside its with block"):
        search.result()


def test_the_worker_stops_searching_when_its_caller_is_gone(new_and_live):
    # A caller killed outright never leaves its with block: its worker, handed the rows and
    # searching (here a search that would take a minute), must stop rather than search on for
    # nobody.
    new, live = new_and_live
    ours, theirs = socket.socketpair()
    slow_worker = (
        "import sys, time\n"
        "from kajabi_sync.matching import search_process\n"
        "search_process.score_new_rows = lambda *args: time.sleep(60)\n"
        "search_process.serve_socket(int(sys.argv[1]))\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", slow_worker, str(theirs.fileno())], pass_fds=(theirs.fileno(),)
    )
    theirs.close()
    caller = Connection(ours.detach())
    try:
        caller.send((new, 0.5))
        caller.send_bytes(arrow_bytes(live[list(LIVE_COLUMNS)]))
        time.sleep(0.5)
    finally:
        caller.close()
    try:
        assert worker.wait(timeout=30) == 1
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

"""The duplicate search of a large week (``holds.score_new_rows``) in a process of its own.

``build_plan`` and the search read the same frames and neither needs the other's result. In two
threads of one process they share the interpreter lock, which both hold for much of their time
(pandas as well as Arrow): side by side they took three quarters of their sum. In two processes
each has a core, and the plan waits for the longer of the two (benchmarks/RESULTS.md, run 14).

The worker is a new Python, not a fork: it inherits no thread, lock or database connection of
the caller, and, unlike multiprocessing's spawn, it never runs the caller's main script again.
It imports from the caller's ``sys.path`` (not from whatever folder it starts in), so it runs
the same kajabi_sync as the caller. It gets the new rows pickled and the live contacts
as Arrow IPC, both through a socket pair (no file ever holds the contacts' personal data), and
sends back the candidates or its error.

Its answer is ``score_new_rows``'s, to the value: the frames it gets are equal to the caller's,
column types included (kajabi_sync_tests/matching/test_search_process.py).
"""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from types import TracebackType

import pandas as pd
import pyarrow as pa

from kajabi_sync.frames import frame_from_arrow
from kajabi_sync.matching.duplicates import HOLD_THRESHOLD
from kajabi_sync.matching.holds import PEOPLE_COLUMNS, score_new_rows

# What score_new_rows reads of the live contacts.
LIVE_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(("id", "email", *PEOPLE_COLUMNS)))
# The worker's program: the caller's import path (``-P``: not the folder it starts in), then
# this module's serve_socket, on the socket whose number it is given.
_WORKER = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[2]); "
    "from kajabi_sync.matching.search_process import serve_socket; "
    "serve_socket(int(sys.argv[1]))"
)


class SearchFailed(RuntimeError):
    """The duplicate search process failed, or ended without an answer."""


class _RemoteTraceback(Exception):
    """The worker's traceback, as the cause of the error re-raised in the caller."""

    def __str__(self) -> str:
        return str(self.args[0])


class SearchProcess:
    """``with SearchProcess() as search: search.start(new, live); ...; search.result()``.

    Entering starts the worker, so its imports (about a second) overlap the caller's work until
    ``start``. Leaving stops a worker still running (the caller failed before ``result``): no
    search outlives its plan."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None

    def __enter__(self) -> SearchProcess:
        ours, theirs = socket.socketpair()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-c", _WORKER, str(theirs.fileno()), json.dumps(sys.path)],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # the worker's end: once it exits, reading ours sees the end
        self._connection = Connection(ours.detach())
        return self

    def start(
        self, new: pd.DataFrame, live: pd.DataFrame, threshold: float = HOLD_THRESHOLD
    ) -> None:
        """Hand the worker ``score_new_rows(new, live, threshold)``."""
        connection = self._open()
        try:
            connection.send((new, threshold))
            connection.send_bytes(arrow_bytes(live[list(LIVE_COLUMNS)]))
        except OSError:  # the worker is gone (BrokenPipeError, ConnectionResetError)
            raise self._ended() from None

    def result(self) -> pd.DataFrame:
        """The worker's candidates; its error re-raised (its traceback as the cause)."""
        connection = self._open()
        try:
            outcome, value, remote = connection.recv()
        except (EOFError, OSError):  # OSError: the worker ended in the middle of its answer
            raise self._ended() from None
        if outcome == "error":
            raise value from _RemoteTraceback(remote)
        return value

    def _ended(self) -> SearchFailed:
        """The error for a worker that ended without an answer, naming how it ended."""
        code = self._process.wait() if self._process is not None else None
        if code is not None and code < 0:
            how = f"it was stopped by {signal.Signals(-code).name}"
            if -code == signal.SIGKILL:
                how += " (killed, perhaps for lack of memory)"
        else:
            how = f"exit code {code}; its error, if any, is in the job's standard error"
        return SearchFailed(
            f"the duplicate search process ended without an answer ({how}); nothing was "
            "written, run the job again"
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()  # only reads: nothing of it needs to be finished
            self._process.wait()
        self._process = self._connection = None

    def _open(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("SearchProcess is used outside its with block")
        return self._connection


def arrow_bytes(frame: pd.DataFrame) -> pa.Buffer:
    """``frame``'s columns as one Arrow IPC stream (its index is not kept)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # Measured first, then written into a buffer of that size: a growing buffer copies what it
    # holds at every enlargement, which for a million contacts took longer than the writing.
    measured = pa.MockOutputStream()
    _write_stream(measured, table)
    buffer = pa.allocate_buffer(measured.size())
    _write_stream(pa.FixedSizeBufferWriter(buffer), table)
    return buffer


def _write_stream(sink: pa.NativeFile, table: pa.Table) -> None:
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)


def frame_from_arrow_bytes(data: bytes | pa.Buffer) -> pd.DataFrame:
    """The frame ``arrow_bytes`` wrote, positionally indexed, with its text as ARROW_TEXT."""
    return frame_from_arrow(pa.ipc.open_stream(data).read_all())


def serve_socket(descriptor: int) -> None:
    """The worker's entry point: ``_serve`` on the socket ``descriptor``."""
    # Ctrl-C in a terminal reaches the whole process group: the caller decides, and leaving
    # its with block stops the worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _serve(Connection(descriptor))


def _serve(connection: Connection) -> None:
    """The worker: one search, its answer sent back; it ends when the caller goes away."""
    try:
        new, threshold = connection.recv()
        live = frame_from_arrow_bytes(connection.recv_bytes())
    except (EOFError, OSError):
        return
    # The caller sends nothing more: the socket turns readable only when the caller is gone
    # (killed before leaving its with block), and then the search stops at once.
    threading.Thread(target=_end_with_caller, args=(connection.fileno(),), daemon=True).start()
    try:
        answer: tuple[str, object, str] = ("ok", score_new_rows(new, live, threshold), "")
    except Exception as error:  # every error goes back to the caller, which raises it
        remote = traceback.format_exc()
        try:
            pickle.loads(pickle.dumps(error))
        except Exception:
            error = SearchFailed(f"the duplicate search failed: {error!r}")
        answer = ("error", error, remote)
    try:
        connection.send(answer)
    except OSError:
        pass  # the caller went away: nobody is waiting for the answer


def _end_with_caller(descriptor: int) -> None:
    select.select([descriptor], [], [])
    os._exit(1)

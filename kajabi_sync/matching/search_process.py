"""The duplicate search of a large week (``holds.score_new_rows``) in a process of its own.

``build_plan`` and the search read the same frames and neither needs the other's result. In two
threads of one process they share the interpreter lock, which both hold for much of their time
(pandas as well as Arrow): side by side they took three quarters of their sum. In two processes
each has a core, and the plan waits for the longer of the two (benchmarks/RESULTS.md, run 14).

The worker is a new Python running this module (``python -m``), not a fork: it inherits no
thread, lock or database connection of the caller, and, unlike multiprocessing's spawn, it
never runs the caller's main script again. It gets the new rows pickled and the live contacts
as Arrow IPC, both through a socket pair (no file ever holds the contacts' personal data), and
sends back the candidates or its error.

Its answer is ``score_new_rows``'s, to the value: the frames it gets are equal to the caller's,
column types included (kajabi_sync_tests/matching/test_search_process.py).
"""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
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
                [sys.executable, "-m", __name__, str(theirs.fileno())],
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
        connection.send((new, threshold))
        connection.send_bytes(arrow_bytes(live[list(LIVE_COLUMNS)]))

    def result(self) -> pd.DataFrame:
        """The worker's candidates; its error re-raised (its traceback as the cause)."""
        connection = self._open()
        try:
            outcome, value, remote = connection.recv()
        except (EOFError, ConnectionResetError):
            code = self._process.wait() if self._process is not None else None
            raise SearchFailed(
                f"the duplicate search process ended without an answer (exit code {code}: "
                "killed, or out of memory?); nothing was written, run the job again"
            ) from None
        if outcome == "error":
            raise value from _RemoteTraceback(remote)
        return value

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
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def frame_from_arrow_bytes(data: bytes | pa.Buffer) -> pd.DataFrame:
    """The frame ``arrow_bytes`` wrote, positionally indexed, with its text as ARROW_TEXT."""
    return frame_from_arrow(pa.ipc.open_stream(data).read_all())


def _serve(connection: Connection) -> None:
    """The worker: one search, its answer sent back; it ends when the caller goes away."""
    try:
        new, threshold = connection.recv()
        live = frame_from_arrow_bytes(connection.recv_bytes())
    except (EOFError, OSError):
        return
    try:
        answer: tuple[str, object, str] = ("ok", score_new_rows(new, live, threshold), "")
    except Exception as error:  # every error goes back to the caller, which raises it
        remote = traceback.format_exc()
        try:
            pickle.dumps(error)
        except Exception:
            error = SearchFailed(f"the duplicate search failed: {error!r}")
        answer = ("error", error, remote)
    try:
        connection.send(answer)
    except (BrokenPipeError, OSError):
        pass  # the caller went away: nobody is waiting for the answer


if __name__ == "__main__":
    # Served by the module under its own name, not by this copy run as __main__: an error the
    # worker sends back must unpickle in the caller as kajabi_sync's class, not __main__'s.
    from kajabi_sync.matching.search_process import _serve as serve

    serve(Connection(int(sys.argv[1])))

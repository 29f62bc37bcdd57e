import pandas as pd
import psycopg

from kajabi_sync.db import snapshot
from kajabi_sync.db.connection import scalar
from kajabi_sync.db.snapshot import read_query

QUERY = """SELECT * FROM (VALUES (1, 'plain'), (2, NULL), (3, ''), (4, 'say "hi", ok'),
                                 (5, E'two\\nlines'), (6, '007'), (7, 'Zoë')) v(n, value) ORDER BY n"""


def test_read_query_as_arrow_text_holds_the_same_values(db_url):
    with psycopg.connect(db_url) as conn:
        python = read_query(conn, QUERY)
        arrow = read_query(conn, QUERY, arrow=True)
    assert (python.dtypes == "string").all()
    assert (arrow.dtypes == pd.StringDtype("pyarrow")).all()
    assert python["value"].tolist() == [
        "plain",
        pd.NA,
        pd.NA,
        'say "hi", ok',
        "two\nlines",
        "007",
        "Zoë",
    ]
    pd.testing.assert_frame_equal(arrow.astype("string"), python)


def test_read_query_names_a_repeated_column_as_pandas_does(db_url):
    with psycopg.connect(db_url) as conn:
        frame = read_query(conn, "SELECT 1 AS a, 2 AS b, 3 AS a, 4 AS a")
    assert list(frame.columns) == ["a", "b", "a.1", "a.2"]
    assert frame.iloc[0].tolist() == ["1", "2", "3", "4"]


def test_the_snapshot_is_read_without_jit_and_the_session_keeps_its_own_setting(
    db_url, monkeypatch
):
    seen = []
    read_snapshot = snapshot.read_snapshot

    def spy(conn: psycopg.Connection, left_out: str | None = None) -> snapshot.DatabaseSnapshot:
        seen.append(scalar(conn, "SELECT current_setting('jit')"))
        return read_snapshot(conn, left_out)

    monkeypatch.setattr(snapshot, "read_snapshot", spy)
    with psycopg.connect(db_url) as conn:
        conn.execute("SET jit = on")
        conn.commit()
        snapshot.load_snapshot(conn)
        after = scalar(conn, "SELECT current_setting('jit')")
    assert seen == ["off"]
    assert after == "on"

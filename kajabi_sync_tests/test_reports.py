"""write_csv's Arrow-built body is byte for byte what pandas' to_csv writes."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kajabi_sync.reports import text_csv_body, write_csv

# The characters csv quoting and line ends care about, plus ordinary and non-ASCII text.
_CELL = st.none() | st.text(alphabet=st.sampled_from(list(",\"\r\n\t =+-@'aZ9é€ 😀")), max_size=8)


def _pandas_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(_CELL, min_size=3, max_size=3), max_size=12),
    columns=st.integers(1, 3),
    storage=st.sampled_from(["object", "string", "string[pyarrow]"]),
)
def test_text_body_equals_pandas_to_csv(rows, columns, storage):
    frame = pd.DataFrame([row[:columns] for row in rows], columns=["a", "b,c", 'q"'][:columns])
    frame = frame.astype(storage) if len(rows) else frame.astype("string")
    frame.insert(0, "n", range(2, 2 + len(frame))) if columns == 3 else None
    body = text_csv_body(frame)
    assert body is not None
    assert frame.iloc[:0].to_csv(index=False).encode() + bytes(body) == _pandas_bytes(frame)


def test_frames_that_are_not_all_text_are_left_to_pandas(tmp_path):
    for frame in (
        pd.DataFrame({"x": [1.5]}),
        pd.DataFrame({"x": [["a"]]}),
        pd.DataFrame({"x": [True]}),
        pd.DataFrame({"x": [pd.Timestamp("2025-01-01")]}),
        pd.DataFrame(),
    ):
        assert text_csv_body(frame) is None
        path = write_csv(frame, tmp_path / "f.csv")
        assert path.read_bytes() == _pandas_bytes(frame)


def test_write_csv_writes_neutralised_text_through_the_fast_body(tmp_path):
    frame = pd.DataFrame(
        {"Email": ["a@x.com", None], "First Name": ["=1+1", 'say "hi", ok']}, dtype="string"
    )
    path = write_csv(frame, tmp_path / "f.csv")
    assert (
        path.read_text(encoding="utf-8") == 'Email,First Name\na@x.com,\'=1+1\n,"say ""hi"", ok"\n'
    )

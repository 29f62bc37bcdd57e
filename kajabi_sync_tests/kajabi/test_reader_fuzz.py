"""Property tests: the reader either refuses a file cleanly or reads it exactly."""

import csv
import io
import tempfile
from pathlib import Path

import ftfy.badness
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kajabi_sync.kajabi.reader import KajabiFormatError, RawExport, read_kajabi_export
from kajabi_sync_tests.kajabi.contract import CONTRACT_HEADER, HEADER

_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _read(data: bytes) -> RawExport | KajabiFormatError:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kajabi_contacts_2024-05-06.csv"
        path.write_bytes(data)
        try:
            return read_kajabi_export(path)
        except KajabiFormatError as error:
            assert str(path) in str(error)
            return error


_csv_ish = st.lists(
    st.sampled_from(
        [
            b",",
            b'"',
            b"\n",
            b"\r",
            b"\r\n",
            b"a",
            b"\xe9",
            b"\xc3\xa9",
            b"\x00",
            b";",
            b"\t",
            b"\xef\xbb\xbf",
            b" ",
            b"x@y.com",
            b"\xff",
        ]
    ),
    max_size=60,
).map(b"".join)


@_SETTINGS
@given(body=st.binary(max_size=300) | _csv_ish)
def test_any_bytes_after_a_kajabi_header_give_an_export_or_a_format_error(body):
    result = _read(CONTRACT_HEADER.encode() + b"\n" + body)
    if isinstance(result, RawExport):
        assert list(result.frame.columns) == ["row_number", *HEADER]
        assert result.frame["row_number"].tolist() == list(range(2, 2 + len(result.frame)))


@_SETTINGS
@given(data=st.binary(max_size=300) | _csv_ish | st.text(max_size=200).map(str.encode))
def test_any_bytes_at_all_give_an_export_or_a_format_error(data):
    _read(data)


_cell = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30
)


@pytest.mark.slow
@_SETTINGS
@given(
    rows=st.lists(st.fixed_dictionaries({label: _cell for label in HEADER}), max_size=8),
    # Python's writer leaves a bare "\r" unquoted unless it is part of the line terminator:
    # that file would be ambiguous for any reader, so QUOTE_MINIMAL goes with "\r\n".
    dialect=st.sampled_from(
        [(csv.QUOTE_MINIMAL, "\r\n"), (csv.QUOTE_ALL, "\n"), (csv.QUOTE_ALL, "\r\n")]
    ),
)
def test_a_csv_written_frame_reads_back_identical(rows, dialect):
    quoting, line_end = dialect
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=HEADER, quoting=quoting, lineterminator=line_end)
    writer.writeheader()
    writer.writerows(rows)
    result = _read(buffer.getvalue().encode("utf-8"))
    if any(ftfy.badness.is_bad(cell) for row in rows for cell in row.values()):
        # Text that looks garbled by a wrong decoding (C1 controls, "Ã©") is refused, never read.
        assert isinstance(result, KajabiFormatError) and "garbled" in str(result), result
        return
    assert isinstance(result, RawExport), result
    expected = pd.DataFrame(rows, columns=HEADER).astype(object)
    got = result.frame.drop(columns="row_number").astype(object)
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )

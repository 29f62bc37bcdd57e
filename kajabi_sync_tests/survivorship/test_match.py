import pandas as pd
import pytest

from kajabi_sync.frames import ARROW_TEXT
from kajabi_sync.survivorship.match import _lookup, driving_rows, rows_by_key


def test_lookup_takes_the_first_row_per_key_and_never_matches_na():
    table = pd.DataFrame(
        {"key": ["a", "b", None, "a", "c"], "value": ["1", "2", "3", "4", None]}, dtype="string"
    )
    keys = pd.Series(["a", None, "b", "c", "z", "a"], dtype="string", index=[7, 8, 9, 10, 11, 12])
    found = _lookup(keys, table, "key", "value")
    assert found.index.tolist() == [7, 8, 9, 10, 11, 12]
    assert found.tolist() == ["1", pd.NA, "2", pd.NA, pd.NA, "1"]
    assert found.dtype == "string"
    assert _lookup(keys, table.iloc[:0], "key", "value").isna().all()


def test_lookup_of_arrow_text_takes_in_arrow_what_the_python_path_gives():
    table = pd.DataFrame(
        {"key": ["a", "b", None, "a", "c", "d"], "value": ["1", "2", "3", "4", None, ""]}
    )
    keys = pd.Series(["a", None, "b", "c", "z", "a", "d"], index=[7, 8, 9, 10, 11, 12, 13])
    python = _lookup(keys.astype("string"), table.astype("string"), "key", "value")
    for key_dtype in ("string", ARROW_TEXT):
        arrow = _lookup(keys.astype(key_dtype), table.astype(ARROW_TEXT), "key", "value")
        assert arrow.dtype == ARROW_TEXT
        pd.testing.assert_series_equal(arrow.astype("string"), python)
    empty = _lookup(keys.astype(ARROW_TEXT), table.astype(ARROW_TEXT).iloc[:0], "key", "value")
    assert empty.isna().all() and empty.dtype == ARROW_TEXT


def test_driving_rows_follow_the_index_not_the_order_of_the_matches():
    export = pd.DataFrame({"row_number": [2, 3, 4, 5]}, index=[10, 11, 12, 13])
    matches = pd.DataFrame(
        {
            "contact_id": pd.array(["c1", "c1", None, "c2"], dtype="string"),
            "match_kind": pd.array(["other_email", "email", "new", "kajabi_id"], dtype="string"),
        },
        index=[10, 11, 12, 13],
    )
    expected = driving_rows(export, matches)
    assert expected.index.tolist() == [11, 13]  # c1 by its own email, not its other address
    pd.testing.assert_frame_equal(driving_rows(export, matches.iloc[::-1]), expected)


def test_rows_by_key_gives_what_reindex_gives():
    frame = pd.DataFrame(
        {"id": ["a", "b", "c", "d"], "x": ["1", None, "", "4"], "y": ["p", "q", "r", None]}
    )
    keys = pd.Series(["c", "zz", None, "a", "c"], index=[10, 20, 30, 40, 50])
    expected = frame.set_index("id").reindex(keys.astype("string"))
    expected.index = keys.index
    for frame_dtype, key_dtype in [(ARROW_TEXT, ARROW_TEXT), (ARROW_TEXT, "string")]:
        found = rows_by_key(frame.astype(frame_dtype), "id", keys.astype(key_dtype))
        assert (found.dtypes == ARROW_TEXT).all()
        pd.testing.assert_frame_equal(found.astype("string"), expected.astype("string"))
    # Other dtypes go through reindex itself.
    mixed = frame.assign(n=[1, 2, 3, 4])
    found = rows_by_key(mixed, "id", keys)
    reindexed = mixed.set_index("id").reindex(keys)
    reindexed.index = keys.index
    pd.testing.assert_frame_equal(found, reindexed)
    with pytest.raises(ValueError, match="twice"):
        rows_by_key(frame.astype(ARROW_TEXT).iloc[[0, 0]], "id", keys.astype(ARROW_TEXT))

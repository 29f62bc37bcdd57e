import pandas as pd

from kajabi_sync.survivorship.match import _lookup


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
    from kajabi_sync.frames import ARROW_TEXT

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
    from kajabi_sync.survivorship.match import driving_rows

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

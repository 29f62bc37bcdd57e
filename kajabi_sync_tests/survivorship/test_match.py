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

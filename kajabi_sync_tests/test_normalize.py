"""phone_key's fast path for typed North American numbers must give phonenumbers' own answer."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kajabi_sync.normalize import _phone_to_e164, phone_key

_SEPARATORS = st.sampled_from(["", " ", "-", "."])


@st.composite
def typed_phones(draw) -> str:
    area = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    exchange = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    line = draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    prefix = draw(st.sampled_from(["", "+1", "+1 ", "+1-", "1 ", "1-", "+44 ", "+", "00"]))
    area = draw(st.sampled_from([area, f"({area})", f"({area}", area + ")"]))
    return prefix + area + draw(_SEPARATORS) + exchange + draw(_SEPARATORS) + line


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(typed_phones(), st.text(max_size=16)), min_size=1, max_size=30))
def test_phone_key_matches_phonenumbers_value_by_value(values):
    series = pd.Series(values, dtype="string")
    keys = phone_key(series)
    stripped = series.str.strip()
    for raw, key in zip(stripped, keys, strict=False):
        if raw == "":
            assert pd.isna(key)
        else:
            assert key == _phone_to_e164(raw, "US"), raw


def test_phone_key_keeps_index_name_and_empty_cells():
    series = pd.Series(
        ["(303) 555-1234", "  ", None, "+44 20 7946 0958"], index=[5, 3, 9, 1], name="phone"
    )
    keys = phone_key(series)
    assert keys.name == "phone" and list(keys.index) == [5, 3, 9, 1]
    assert keys.tolist()[0] == "+13035551234" and keys.tolist()[3] == "+442079460958"
    assert keys.isna().tolist() == [False, True, True, False]


def test_same_text_is_exact_positional_equality_with_na_never_equal():
    from kajabi_sync.normalize import same_text

    left = pd.Series(["Ann", "ann", None, "Bo", "", "x"], dtype="string")
    right = pd.Series(
        ["Ann", "Ann", None, pd.NA, "", "x"], dtype=pd.StringDtype("pyarrow"), index=range(5, 11)
    )
    assert same_text(left, right).tolist() == [True, False, False, False, True, True]
    assert same_text(pd.Series([1, None], dtype=object), pd.Series(["1", "2"])).tolist() == [
        True,
        False,
    ]

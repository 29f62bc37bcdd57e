"""The Arrow-backed text helpers give the values of their Python references, value for value."""

import sys

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kajabi_sync.frames import ARROW_TEXT, as_arrow_text, not_ascii, stripped_text
from kajabi_sync.kajabi.schemas import _is_normalised_email
from kajabi_sync.normalize import blank_to_na

# Every code point Python's str.strip removes, and letters whose case Arrow maps otherwise.
_SPACES = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
_TRICKY = ["\u0130", "\u1e9e", "\u2c2f", "\ua7cb", "\u00df", "\u03a3", "\u0345", "\ufb00"]
_CELLS = st.lists(
    st.one_of(
        st.none(),
        st.text(alphabet=st.sampled_from([*_SPACES, *_TRICKY, "a", "B", ",", "é"]), max_size=8),
        st.text(max_size=8),
    ),
    max_size=20,
)


def test_stripped_text_strips_every_python_whitespace():
    cells = [f"{space}x{space}" for space in _SPACES] + ["".join(_SPACES), "", "  "]
    got = stripped_text(pd.Series(cells, dtype=ARROW_TEXT))
    assert got.dtype == ARROW_TEXT
    assert got.tolist() == blank_to_na(pd.Series(cells, dtype="string")).tolist()


@settings(max_examples=300, deadline=None)
@given(_CELLS, st.sampled_from(["string", ARROW_TEXT, object]))
def test_stripped_text_is_blank_to_na(cells, dtype):
    series = pd.Series(cells, dtype=dtype, index=range(10, 10 + len(cells)), name="city")
    got = stripped_text(series)
    expected = _python_blank_to_na(series)
    assert got.dtype == ARROW_TEXT and got.name == "city" and got.index.equals(series.index)
    assert got.isna().tolist() == expected.isna().tolist()
    assert got.dropna().tolist() == expected.dropna().tolist()


@settings(max_examples=300, deadline=None)
@given(_CELLS, st.sampled_from(["string", ARROW_TEXT, object]))
def test_blank_to_na_strips_as_python_whatever_the_text_dtype(cells, dtype):
    # Arrow-backed and object text are stripped by Arrow (stripped_text), Python strings by
    # Python: the result is the same Python-backed text either way.
    series = pd.Series(cells, dtype=dtype, index=range(10, 10 + len(cells)), name="city")
    pd.testing.assert_series_equal(blank_to_na(series), _python_blank_to_na(series))


def _python_blank_to_na(series: pd.Series) -> pd.Series:
    """The reference: Python's str.strip over Python-backed text, blank -> NA."""
    text = series.astype(pd.StringDtype("python")).str.strip()
    return text.mask(text == "")


def test_as_arrow_text_keeps_arrow_text_and_converts_the_rest():
    arrow = pd.Series(["a", None], dtype=ARROW_TEXT)
    assert as_arrow_text(arrow) is arrow
    converted = as_arrow_text(pd.Series(["a", None, 3], dtype=object))
    assert converted.dtype == ARROW_TEXT and converted.tolist()[0] == "a"
    assert converted.tolist()[2] == "3" and converted.isna().tolist() == [False, True, False]


@settings(max_examples=300, deadline=None)
@given(_CELLS)
def test_normalised_email_check_is_pythons(cells):
    for dtype in ("string", ARROW_TEXT):
        series = pd.Series(cells, dtype=dtype)
        got = _is_normalised_email(series)
        python = series.astype(pd.StringDtype("python"))
        expected = (python == python.str.strip().str.lower()).fillna(False).astype(bool)
        assert got.tolist() == expected.tolist()
        assert got.index.equals(series.index)


def test_normalised_email_check_uses_python_case_for_letters_arrow_maps_otherwise():
    # U+A7CB has no lower case in Python 3.11's Unicode tables; Arrow's lower-cases it.
    series = pd.Series(["\ua7cb@example.com", "Jane@example.com", "jane@example.com"])
    assert _is_normalised_email(series.astype(ARROW_TEXT)).tolist() == [True, False, True]


def test_not_ascii_marks_the_values_holding_a_character_beyond_ascii():
    values = pd.Series(["plain", "Zoë", "", None, "\ufffd", "\x7f"], dtype=object)
    assert not_ascii(values).tolist() == [False, True, False, False, True, False]

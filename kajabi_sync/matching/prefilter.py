"""Which existing contacts the blocking could ever pair with a few new rows (cheap, over all of them).

Building comparison features for every live contact costs far more than the week's new rows
(tens to thousands) need (figures: benchmarks/RESULTS.md). Every blocking pass pairs rows
whose key is EQUAL, so an existing row can only be paired with a new row by a pass when each
part of that pass's key equals the new row's. Here each key part gets an integer code over new + existing rows:

- low-cardinality fields (names, postcode, city, state, country, line 2) are normalised exactly
  like ``features.build_features``, once per distinct raw value;
- address line 1 (and line 2's house number) are split exactly like ``features._street_parts``,
  once per distinct value: in Arrow (RE2) for ASCII text, in Python for the rest, so the street
  passes are exact keys and skip blocks above the cap as the blocking does;
- email and phone get a COARSER key, computed in C over Arrow text: a function of the exact
  feature, so equal features always mean equal coarse keys (email: local part without dots or
  +tag; phone: its last 7 digits, with or without an extension).

An existing row is kept when, for some pass, its combined code equals a new row's: a superset of
the rows any blocking pass pairs with a new row, and of the rows whose value equals a new row's
(so term frequencies of the new rows' values count exactly over the kept rows). The population
counts of the exact low-cardinality values are returned too, for the same reason.

Known limits of "coarser": vanity phone numbers written with letters (phonenumbers turns the
letters into digits) and non-ASCII digits in phones may escape the phone part of the filter
(the rows can still be kept by another pass).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kajabi_sync.frames import ARROW_TEXT, as_arrow_text
from kajabi_sync.matching.blocking import MAX_BLOCK_SIZE
from kajabi_sync.matching.features import (
    _letters_only,
    _place,
    _postcode,
    street_parts,
)
from kajabi_sync.normalize import arrow_text

# Frequencies the scoring reads that are exact here over the whole population.
EXACT_COUNT_FEATURES: tuple[str, ...] = ("first", "last", "line2", "postcode", "state", "country")


@dataclass(frozen=True)
class Prefiltered:
    """Existing positions worth comparing (ascending) and, per feature in
    ``EXACT_COUNT_FEATURES``, how many rows of new + existing carry each kept row's value
    (new rows first, then the kept existing rows)."""

    positions: np.ndarray
    counts: dict[str, np.ndarray]


def _column(people: pd.DataFrame, name: str) -> pd.Series:
    if name in people.columns:
        return as_arrow_text(people[name])
    return pd.Series(pd.NA, index=people.index, dtype=ARROW_TEXT)


def _raw(new: pd.DataFrame, existing: pd.DataFrame, name: str) -> pd.Series:
    """New rows then existing ones, as Arrow text (values that are not text as their ``str``,
    as ``blank_to_na`` reads them): a million-row column never becomes Python strings here."""
    return pd.concat([_column(new, name), _column(existing, name)], ignore_index=True)


def _by_distinct(
    raw: pd.Series, normalise: Callable[[pd.Series], pd.Series]
) -> tuple[np.ndarray, pd.Series]:
    """(raw code per row, normalised text per distinct raw value): slow work once per value.
    Factorised by Arrow (``raw`` is Arrow text); the normalisers read the distinct values as
    the ``string`` dtype they are written for."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype="string")
    return np.asarray(codes, dtype=np.intp), normalise(distinct).reset_index(drop=True)


def _codes(
    raw_codes: np.ndarray, values: pd.Series, vocabulary: pd.Index | None = None
) -> np.ndarray:
    """Per row: code of its normalised value (-1 when missing); one shared ``vocabulary`` lets
    two fields (first and last name) compare with each other."""
    vocabulary = pd.Index(values.dropna().unique()) if vocabulary is None else vocabulary
    per_unique = np.append(vocabulary.get_indexer(values.fillna("\x00missing")), -1)
    return per_unique[raw_codes]


def _combine(*parts: np.ndarray) -> np.ndarray:
    """One code per distinct combination of parts; -1 when any part is missing."""
    combined = parts[0]
    for part in parts[1:]:
        valid = (combined >= 0) & (part >= 0)
        key = np.where(valid, combined * (int(part.max()) + 1) + part, -1)
        combined = np.where(valid, pd.factorize(key)[0], -1)
    return combined


def _arrow(raw: pd.Series) -> pa.ChunkedArray:
    # Numbers among the text become their strings, as blank_to_na reads them.
    text = arrow_text(raw).cast(pa.string())
    # Arrow-backed text comes as a ChunkedArray already; wrapping one again in
    # pa.chunked_array would read it back value by value as Python objects.
    if not isinstance(text, pa.ChunkedArray):
        text = pa.chunked_array([text])
    return pc.utf8_trim_whitespace(text)


def _factorized(keys: pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray:
    """Per row: the code of its key, in order of first appearance (as ``pd.factorize``);
    -1 for a missing or empty key. Encoded by Arrow, in C."""
    if isinstance(keys, np.ndarray):
        keys = pa.array(keys, type=pa.string(), from_pandas=True)
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    keys = pc.if_else(pc.equal(keys, ""), pa.scalar(None, keys.type), keys)
    indices = pc.dictionary_encode(keys).indices
    return pc.fill_null(indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _email_codes(raw: pd.Series) -> np.ndarray:
    # canonical email -> its local part without any dot or +tag: equal canonical emails (and
    # equal canonical local parts) always give equal keys.
    text = pc.utf8_lower(_arrow(raw))
    local = pc.replace_substring_regex(text, r"^([^@]*?)(\+[^@]*)?@[^@]*$", r"\1")
    return _factorized(pc.replace_substring(local, ".", ""))


def _phone_codes(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(last 7 digits of all digits, last 7 digits before an extension marker), one code space.
    E.164 keys end with the national number, which a typed phone ends with unless an extension
    follows; an unparseable phone is keyed by all its digits."""
    text = _arrow(raw)
    before_extension = pc.replace_substring_regex(text, r"[A-Za-z#;,].*$", "")
    digits = pc.replace_substring_regex(text, r"\D", "")
    # No digit at all: the phone is keyed by its text.
    all_digits = pc.if_else(
        pc.equal(pc.utf8_length(digits), 0),
        pc.utf8_lower(text),
        pc.utf8_slice_codeunits(digits, -7),
    )
    main_digits = pc.utf8_slice_codeunits(
        pc.replace_substring_regex(before_extension, r"\D", ""), -7
    )
    codes = _factorized(pa.chunked_array(all_digits.chunks + main_digits.chunks))
    return codes[: len(raw)], codes[len(raw) :]


def _address_codes(
    line1_raw: pd.Series, line2_raw: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of the exact ``house_number`` (line 1's, else line 2's), ``street`` and the
    blocking's street word (the street's first word) features."""
    line1_number, street = street_parts(line1_raw)
    line2_number, _ = street_parts(line2_raw)
    house_number = np.where(pd.isna(line1_number), line2_number, line1_number)
    street_codes = _factorized(street)
    street_text = pa.array(street, type=pa.string(), from_pandas=True)
    street_word = pc.replace_substring_regex(street_text, r"(?s) .*$", "")
    return (
        _factorized(house_number),
        street_codes,
        _factorized(street_word),
    )


def _by_distinct_codes(raw: pd.Series, normalise: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    raw_codes, values = _by_distinct(raw, normalise)
    return _codes(raw_codes, values)


def _keep(codes: np.ndarray, new_rows: int, exact: bool = False) -> np.ndarray:
    wanted = codes[:new_rows]
    wanted = wanted[wanted >= 0]
    if exact and wanted.size:
        # An exact key held by more rows than a block may have is skipped by the blocking.
        wanted = wanted[np.bincount(codes[codes >= 0])[wanted] <= MAX_BLOCK_SIZE]
    existing = codes[new_rows:]
    return (existing >= 0) & np.isin(existing, wanted)


def _population_counts(codes: np.ndarray, kept: np.ndarray) -> np.ndarray:
    tally = (
        np.bincount(codes[codes >= 0], minlength=1) if (codes >= 0).any() else np.zeros(1, np.int64)
    )
    return np.where(codes[kept] >= 0, tally[np.clip(codes[kept], 0, None)], 0).astype(float)


def prefilter_existing(new: pd.DataFrame, existing: pd.DataFrame) -> Prefiltered:
    """Existing rows that some blocking pass could pair with a row of ``new`` (see module doc)."""
    n = len(new)
    first_raw, first_text = _by_distinct(_raw(new, existing, "first_name"), _letters_only)
    last_raw, last_text = _by_distinct(_raw(new, existing, "last_name"), _letters_only)
    names = pd.Index(pd.concat([first_text, last_text]).dropna().unique())
    first, last = _codes(first_raw, first_text, names), _codes(last_raw, last_text, names)
    first_initial = _codes(first_raw, first_text.str.slice(0, 1))
    last_prefix = _codes(last_raw, last_text.str.slice(0, 3))
    postcode = _by_distinct_codes(_raw(new, existing, "postal_code"), _postcode)
    city_raw, city_text = _by_distinct(_raw(new, existing, "city"), _place)
    city = _codes(city_raw, city_text)
    city_squeezed = _codes(city_raw, city_text.str.replace(" ", "", regex=False))
    line2_raw = _raw(new, existing, "address_line_2")
    line2 = _by_distinct_codes(line2_raw, _place)
    state = _by_distinct_codes(_raw(new, existing, "state"), _place)
    country = _by_distinct_codes(_raw(new, existing, "country"), _place)
    email_local = _email_codes(_raw(new, existing, "email"))
    phone_all, phone_main = _phone_codes(_raw(new, existing, "phone"))
    number, street, street_word = _address_codes(_raw(new, existing, "address_line_1"), line2_raw)

    unordered_name = _combine(np.minimum(first, last), np.maximum(first, last))
    unordered_name = np.where((first >= 0) & (last >= 0), unordered_name, -1)
    # Every part exact, so a key held by more rows than a block may have is skipped, as the
    # blocking skips it: the same order as blocking.blocking_keys. Each pass's codes are made
    # and dropped in turn: a million rows' codes for every pass at once would be 160 MB.
    exact_parts: list[tuple[np.ndarray, ...]] = [
        (last, postcode),
        (first, postcode),
        (last, street),
        (first, street),
        (number, street),
        (number, postcode),
        (first_initial, last_prefix, city),
        (last_prefix, postcode),
        (street, postcode),
        (line2, postcode),
        (first_initial, last_prefix, street),
        (first, number, city),
        (first, number, postcode),
        (first, city_squeezed),
        (last, city_squeezed),
        (line2, city_squeezed),
        (street_word, number),
        (street_word, last_prefix),
        (last, number, city),
    ]
    keep = _keep(unordered_name, n, exact=True)
    for combined in exact_parts:
        keep |= _keep(_combine(*combined), n, exact=True)
    # Coarse keys: the exact block is smaller than the coarse one, so no cap.
    keep |= _keep(email_local, n)
    # A phone key may show up as either of the two coarse forms on either side.
    wanted_phones = np.concatenate([phone_all[:n], phone_main[:n]])
    wanted_phones = wanted_phones[wanted_phones >= 0]
    keep |= np.isin(phone_all[n:], wanted_phones) | np.isin(phone_main[n:], wanted_phones)

    kept_rows = np.r_[np.arange(n), n + np.flatnonzero(keep)]
    exact = {
        "first": first,
        "last": last,
        "line2": line2,
        "postcode": postcode,
        "state": state,
        "country": country,
    }
    counts = {name: _population_counts(codes, kept_rows) for name, codes in exact.items()}
    return Prefiltered(positions=np.flatnonzero(keep), counts=counts)

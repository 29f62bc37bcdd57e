"""Blocking: which pairs of rows are worth comparing at all.

Comparing every pair grows with the square of the rows. Instead several blocking passes each
group rows by a cheap key (same phone, same surname + postcode, ...) and only rows sharing a
key are paired; the union of all passes is compared. A key that would pair one row with more
than ``MAX_BLOCK_SIZE - 1`` others (a "smith" block, an ``info@`` local part) is skipped for
that pass, so the number of pairs is at most ``passes * rows * MAX_BLOCK_SIZE / 2``: linear.
Sorted-neighbourhood passes add at most ``rows * NEIGHBOURHOOD_WINDOW`` pairs each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kajabi_sync.frames import ARROW_TEXT

MAX_BLOCK_SIZE = 60
# Sorted-neighbourhood passes pair each row with this many rows after it in key order, which
# catches typos late in a key (a "mason"/"masson" pair sorts side by side) at linear cost.
NEIGHBOURHOOD_WINDOW = 3


def _concat(*parts: pd.Series) -> pd.Series:
    """Join key parts with a separator; NA when any part is missing (no block on half a key)."""
    key = _as_text(parts[0])
    for part in parts[1:]:
        key = key + "|" + _as_text(part)
    return key


def _as_text(part: pd.Series) -> pd.Series:
    # Text keeps its storage (Arrow-backed keys stay Arrow, where the joins are C loops).
    return part if isinstance(part.dtype, pd.StringDtype) else part.astype("string")


def blocking_keys(features: pd.DataFrame) -> dict[str, pd.Series]:
    """The blocking passes. Each duplicate only has to survive in ONE of them.

    Keys pair an identifier (phone, email) or two independent fields, so a typo or a missing
    value in any single field still leaves another pass that brings the pair together.
    """
    first, last = features["first"], features["last"]
    first_initial = first.str.slice(0, 1)
    city = features["city"].str.replace(" ", "", regex=False)
    street_word = features["street"].str.split(" ").str[0]
    last_prefix = last.str.slice(0, 3)
    # A name written in either order ("paterson madeleine") gets the same unordered key.
    first_is_lower = (first <= last).fillna(False)
    name_pair = _concat(first.where(first_is_lower, last), last.where(first_is_lower, first))
    return {
        "phone": features["phone"],
        "email": features["email"],
        "email_local": features["email_local"].where(features["email_local"].str.len() >= 5),
        "name": name_pair,
        "last_postcode": _concat(last, features["postcode"]),
        "first_postcode": _concat(first, features["postcode"]),
        "last_street": _concat(last, features["street"]),
        "first_street": _concat(first, features["street"]),
        "number_street": _concat(features["house_number"], features["street"]),
        "number_postcode": _concat(features["house_number"], features["postcode"]),
        "initials_city": _concat(first_initial, last_prefix, features["city"]),
        "last_prefix_postcode": _concat(last_prefix, features["postcode"]),
        "street_postcode": _concat(features["street"], features["postcode"]),
        "line2_postcode": _concat(features["line2"], features["postcode"]),
        "initials_street": _concat(first_initial, last_prefix, features["street"]),
        "first_number_city": _concat(first, features["house_number"], features["city"]),
        "first_number_postcode": _concat(first, features["house_number"], features["postcode"]),
        "first_city": _concat(first, city),
        "last_city": _concat(last, city),
        "line2_city": _concat(features["line2"], city),
        "street_word_number": _concat(street_word, features["house_number"]),
        "street_word_last_prefix": _concat(street_word, last_prefix),
        "last_number_city": _concat(last, features["house_number"], features["city"]),
    }


def neighbourhood_keys(features: pd.DataFrame) -> dict[str, pd.Series]:
    """Sort keys for the sorted-neighbourhood passes: whole-record strings, most telling first."""

    def squeezed(name: str) -> pd.Series:
        return features[name].fillna("").str.replace(" ", "", regex=False)

    def joined(*names: str) -> pd.Series:
        key = squeezed(names[0])
        for name in names[1:]:
            key = key + " " + squeezed(name)
        return key.mask(key.str.strip() == "")

    return {
        "last_first": joined("last", "first", "street"),
        "first_last": joined("first", "last", "city"),
        "street_number": joined("street", "house_number", "last"),
        "line2_city": joined("line2", "city", "first"),
        "city_street": joined("city", "street", "first"),
        "email": joined("email"),
        "phone": joined("phone"),
    }


def _pairs_in_neighbourhood(key: pd.Series, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row paired with the next ``window`` rows in key order (rows without a key skipped)."""
    present = np.flatnonzero(key.notna().to_numpy())
    if present.size < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = present[_stable_order(key.iloc[present])]
    lefts = [order[:-offset] for offset in range(1, min(window, order.size - 1) + 1)]
    rights = [order[offset:] for offset in range(1, min(window, order.size - 1) + 1)]
    left, right = np.concatenate(lefts), np.concatenate(rights)
    return np.minimum(left, right), np.maximum(left, right)


def _stable_order(text: pd.Series) -> np.ndarray:
    """Stable ascending order of text without gaps. Arrow compares UTF-8 bytes, which order
    like Python compares code points, and sorts far faster than an object-array argsort."""
    try:
        array = pa.array(text.astype(ARROW_TEXT).array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return np.argsort(text.to_numpy(dtype=object), kind="stable")
    return pc.sort_indices(array).to_numpy()


def _pairs_within_blocks(codes: np.ndarray, max_block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """All position pairs (i < j) sharing a non-negative code, blocks above the cap skipped."""
    rows = np.flatnonzero(codes >= 0)
    if rows.size < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = rows[np.argsort(codes[rows], kind="stable")]
    sorted_codes = codes[order]
    block_sizes = np.bincount(sorted_codes)
    keep = block_sizes[sorted_codes] <= max_block_size
    order, sorted_codes = order[keep], sorted_codes[keep]
    lefts, rights = [], []
    # Pair each row with the row `offset` places later in the same block; the loop runs at
    # most max_block_size times, each step a vectorised pass over the rows.
    largest = int(block_sizes[sorted_codes].max()) if sorted_codes.size else 0
    for offset in range(1, largest):
        same = sorted_codes[:-offset] == sorted_codes[offset:]
        if not same.any():
            break
        lefts.append(order[:-offset][same])
        rights.append(order[offset:][same])
    if not lefts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    return np.minimum(left, right), np.maximum(left, right)


def candidate_pairs(
    keys: dict[str, pd.Series],
    max_block_size: int = MAX_BLOCK_SIZE,
    side: np.ndarray | None = None,
    sort_keys: dict[str, pd.Series] | None = None,
    window: int = NEIGHBOURHOOD_WINDOW,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct position pairs (left < right) that share a blocking key or sit within ``window``
    of each other in one of the ``sort_keys`` orders.

    ``side`` (0/1 per row), when given, keeps only pairs with one row from each side, for
    comparing new rows against existing ones; the block cap then counts both sides.
    """
    all_keys = list(keys.values()) + list((sort_keys or {}).values())
    row_count = len(all_keys[0]) if all_keys else 0
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for key in keys.values():
        codes, _ = pd.factorize(key, use_na_sentinel=True)
        found.append(_pairs_within_blocks(codes.astype(np.int64), max_block_size))
    for key in (sort_keys or {}).values():
        found.append(_pairs_in_neighbourhood(key, window))
    encoded: list[np.ndarray] = []
    for left, right in found:
        if side is not None:
            crossing = side[left] != side[right]
            left, right = left[crossing], right[crossing]
        encoded.append(left * row_count + right)
    if not encoded:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    distinct = np.unique(np.concatenate(encoded))
    return distinct // max(row_count, 1), distinct % max(row_count, 1)

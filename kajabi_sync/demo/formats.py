"""Vectorised text formats: phones in the styles people type, timestamps, deterministic UUIDs."""

from __future__ import annotations

import numpy as np

STR = np.dtypes.StringDType()
# A missing value as an array, for np.where/np.select: the result is an object array with None.
NULL = np.array(None, dtype=object)


def cat(*parts: object) -> np.ndarray:
    """Concatenate string columns and constants element-wise (numpy's fast string kernels)."""
    arrays = [np.asarray(part, dtype=STR) if not isinstance(part, str) else part for part in parts]
    out = arrays[0]
    for part in arrays[1:]:
        out = np.strings.add(out, part)
    return np.asarray(out, dtype=STR)


# Small integers as text by table lookup (numpy's int -> str cast formats value by value).
_NUMBER_TABLES = {
    width: np.array([f"{i:0{width}d}" for i in range(10_000)], dtype=object)
    for width in (1, 2, 3, 4)
}


def number_text(values: np.ndarray, width: int = 1) -> np.ndarray:
    """Integers in 0..9999 as text (object array), zero-padded to ``width`` digits."""
    return _NUMBER_TABLES[width][np.asarray(values)]


# How people write a US number, over (area, exchange, line) string columns.
US_PHONE_STYLES = (
    lambda a, e, n: cat("+1", a, e, n),
    lambda a, e, n: cat("(", a, ") ", e, "-", n),
    lambda a, e, n: cat(a, ".", e, ".", n),
    lambda a, e, n: cat(a, "-", e, "-", n),
    lambda a, e, n: cat(a, " ", e, " ", n),
    lambda a, e, n: cat("+1 ", a, "-", e, "-", n),
)


def us_phone_text(digits10: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Format 10-digit US numbers (object array out); ``style[i]`` indexes ``US_PHONE_STYLES``."""
    digits = np.asarray(digits10, dtype=STR)
    out = np.empty(len(digits), dtype=object)
    for number, build in enumerate(US_PHONE_STYLES):
        chosen = style == number
        if chosen.any():
            picked = digits[chosen]
            text = build(
                np.strings.slice(picked, 0, 3),
                np.strings.slice(picked, 3, 6),
                np.strings.slice(picked, 6, 10),
            )
            out[chosen] = text.astype(object)
    return out


def other_style(rng: np.random.Generator, style: np.ndarray) -> np.ndarray:
    """A different style than ``style`` for every row (a cosmetic reformat)."""
    shift = rng.integers(1, len(US_PHONE_STYLES), size=len(style))
    return (style + shift) % len(US_PHONE_STYLES)


# Every time of day as text, so a million timestamps cost table lookups, not formatting.
_TIMES_OF_DAY = np.array(
    [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)], dtype=object
)


def _day_and_time(seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    days, inverse = np.unique(seconds // 86_400, return_inverse=True)
    day_text = np.datetime_as_string(days.astype("datetime64[D]")).astype(object)
    return day_text[inverse], _TIMES_OF_DAY[seconds % 86_400]


def utc_text(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds -> ``2024-05-06 18:01:32+00`` (what PostgreSQL reads for timestamptz)."""
    day, time_of_day = _day_and_time(np.asarray(seconds, dtype=np.int64))
    return day + " " + time_of_day + "+00"


def kajabi_time_text(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds -> Kajabi's ``2024-05-06 11:01:32 -0700`` (US Pacific, DST by month)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    month = seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    summer = (month >= 4) & (month <= 10)
    day, time_of_day = _day_and_time(seconds - np.where(summer, 7, 8) * 3600)
    return day + " " + time_of_day + np.where(summer, " -0700", " -0800").astype(object)


def uuids(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` random version-4 UUIDs from ``rng`` (32 hex digits; PostgreSQL adds the dashes)."""
    raw = np.frombuffer(rng.bytes(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return np.frombuffer(raw.tobytes().hex().encode(), dtype="S32").astype("U32").astype(object)


def unique_integers(rng: np.random.Generator, count: int, base: int, mean_gap: int) -> np.ndarray:
    """``count`` distinct increasing integers from ``base`` (random gaps, so they look real)."""
    gaps = rng.integers(1, 2 * mean_gap, size=count, dtype=np.int64)
    return base + np.cumsum(gaps)

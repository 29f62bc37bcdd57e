"""Normalisation for MATCHING and COMPARING, never for storage.

Stored values keep their exact text; these keys only decide whether two values mean the same
thing (``Jane@Example.com `` is ``jane@example.com``; ``(303) 555-1234`` is ``+13035551234``).
All functions work on whole pandas Series; slow per-value parsing (phones) runs once per
distinct value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from kajabi_sync.frames import ARROW_TEXT, stripped_text

DEFAULT_PHONE_REGION = "US"


def blank_to_na(series: pd.Series) -> pd.Series:
    """Strip text and turn empty strings into NA, keeping the original text otherwise
    (``string``, Python-backed)."""
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "python":
        text = series.str.strip()
        return text.mask(text == "")
    # Any other text (Arrow-backed, as the export and the snapshot hold it, or objects) is
    # stripped by Arrow in C, with Python's whitespace (frames.stripped_text): pandas would
    # first copy it into Python strings.
    return stripped_text(series).astype("string")


def email_key(series: pd.Series) -> pd.Series:
    """Emails trimmed, lower-cased (citext's equality) and in Unicode NFC.

    NFC makes ``rené@example.com`` typed with a combining accent (NFD, as macOS and some forms
    send it) the same key as the precomposed one; citext alone tells them apart."""
    return nfc(blank_to_na(series).str.lower())


def nfc(series: pd.Series) -> pd.Series:
    """Text in Unicode NFC (composed form), NA kept; computed in C by Arrow."""
    return unicode_form(series, "NFC")


def unicode_form(series: pd.Series, form: str) -> pd.Series:
    """Text in Unicode normalisation ``form`` (NFC, NFKC, ...), NA kept; computed by Arrow."""
    if len(series) == 0:
        return series
    composed = pc.utf8_normalize(arrow_text(series), form=form)
    out = pd.Series(pd.arrays.ArrowExtensionArray(composed), index=series.index, name=series.name)
    return out.astype(series.dtype if isinstance(series.dtype, pd.StringDtype) else "string")


def text_key(series: pd.Series) -> pd.Series:
    """Comparison key for names and address parts: insensitive to case, spacing, Unicode form
    (a decomposed ``Jose\u0301`` is ``José``) and character width (full-width ``ＡＢ`` is
    ``AB``), under Unicode compatibility normalisation (NFKC). Diacritics stay a difference:
    ``Jose`` is not ``José``."""
    text = unicode_form(blank_to_na(series), "NFKC")
    return text.str.replace(r"\s+", " ", regex=True).str.casefold()


def postal_key(series: pd.Series) -> pd.Series:
    """``text_key``, and a numeric code without its leading zeros: ``02130`` is ``2130``.

    Spreadsheets store a numeric postal code as a number and drop its leading zeros on re-save.
    Numeric codes are fixed-length wherever they are used (US ZIP, German PLZ, Australian and
    Norwegian codes...), so a code that differs only by leading zeros is the same code."""
    key = text_key(series)
    return key.str.replace(r"^0+(?=\d)(?=[\d-]*$)", "", regex=True)


def _phone_to_e164(raw: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return _digits_only(raw)
    if not phonenumbers.is_possible_number(parsed):
        return _digits_only(raw)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _digits_only(raw: str) -> str:
    # An unparseable phone still compares equal to itself whatever its punctuation.
    digits = "".join(ch for ch in raw if ch.isdigit())
    return digits or raw.strip().casefold()


# A North American number in a style people type ("(303) 555-1234", "303.555.1234",
# "+1 303-555-1234", "+13035551234"): phonenumbers would give "+1" and its ten digits, at a
# Python call per value; matched here as a whole column. Anything else is parsed.
_NANP_TYPED = r"(?:\+1[ .-]?)?(?:\([2-9]\d{2}\)|[2-9]\d{2})[ .-]?\d{3}[ .-]?\d{4}"


def phone_key(series: pd.Series, region: str = DEFAULT_PHONE_REGION) -> pd.Series:
    """Phones in E.164 (``+13035551234``) where parseable, else their digits; NA when empty."""
    text = blank_to_na(series)
    key = pd.Series(pd.NA, index=text.index, dtype="string", name=text.name)
    to_parse = text.notna().to_numpy()
    if region == "US" and to_parse.any():
        # Arrow-backed text runs the pattern in C (RE2), not per value in Python.
        arrow = text.astype(ARROW_TEXT)
        typed = arrow.str.fullmatch(_NANP_TYPED).fillna(False).to_numpy(dtype=bool)
        digits = arrow[typed].str.replace(r"\D", "", regex=True).str.slice(-10)
        key.iloc[typed.nonzero()[0]] = ("+1" + digits).astype("string").to_numpy()
        to_parse &= ~typed
    rest = text[to_parse]
    mapping = {raw: _phone_to_e164(raw, region) for raw in rest.unique()}
    key.iloc[to_parse.nonzero()[0]] = rest.map(mapping).astype("string").to_numpy()
    return key


def arrow_text(series: pd.Series) -> pa.Array:
    """``series`` as Arrow text (large_string, as pandas stores it), NA/None as null.

    Comparing and hashing Python-object strings in pandas goes value by value in Python;
    Arrow's compute kernels do it in C once the text is converted."""
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        return pa.array(series.array).cast(pa.large_string())
    try:
        return pa.array(series.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: each value as its string
        return pa.array(series.astype(ARROW_TEXT).array).cast(pa.large_string())


def same_text(left: pd.Series, right: pd.Series, *, missing_equal: bool = False) -> np.ndarray:
    """``left == right`` position by position as plain booleans; an NA on either side is False,
    but NA beside NA is True with ``missing_equal``."""
    left_text, right_text = arrow_text(left), arrow_text(right)
    equal = pc.fill_null(pc.equal(left_text, right_text), False)
    if missing_equal:
        equal = pc.or_(equal, pc.and_(pc.is_null(left_text), pc.is_null(right_text)))
    return equal.to_numpy(zero_copy_only=False)


def arrow_text_strict(series: pd.Series) -> pa.Array:
    """``series`` as Arrow large_string; raises for any value that is not text or missing."""
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        values = pa.array(series.array)
    else:
        values = pa.array(series.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(pa.large_string())

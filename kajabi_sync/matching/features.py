"""Comparison features for duplicate finding: one normalised column per signal.

Every feature is a nullable string Series aligned with the input rows; a column the input
lacks becomes all-NA, so the finder runs on any subset of the contact fields.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kajabi_sync.frames import as_arrow_text, per_distinct
from kajabi_sync.normalize import blank_to_na, email_key, phone_key, text_key

# Domains that deliver to the same mailbox whatever the dots in the local part.
GMAIL_DOMAINS: frozenset[str] = frozenset({"gmail.com", "googlemail.com"})

# Street-type spellings folded to one form so "Main Street" == "main st".
_STREET_TYPES: dict[str, str] = {
    "street": "st",
    "str": "st",
    "road": "rd",
    "avenue": "ave",
    "av": "ave",
    "drive": "dr",
    "boulevard": "blvd",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "crescent": "cres",
    "circuit": "cct",
    "terrace": "tce",
    "highway": "hwy",
    "parade": "pde",
    "close": "cl",
    "square": "sq",
    "apartment": "apt",
    "suite": "ste",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}

FEATURE_COLUMNS: tuple[str, ...] = (
    "first",
    "last",
    "phone",
    "email",
    "email_local",
    "house_number",
    "street",
    "line2",
    "line2_words",
    "city",
    "postcode",
    "state",
    "country",
)


def _column(people: pd.DataFrame, name: str) -> pd.Series:
    if name in people.columns:
        return people[name]
    return pd.Series(pd.NA, index=people.index, dtype="string")


def _letters_only(series: pd.Series) -> pd.Series:
    # Names compare without spaces, hyphens or apostrophes: "O'Brien" == "obrien", "jord an" == "jordan".
    letters = text_key(series).str.replace(r"[^\w]|\d|_", "", regex=True)
    return letters.mask(letters == "")


def canonical_email(series: pd.Series) -> pd.Series:
    """Email keys where Gmail aliases collapse: dots and +tags dropped, googlemail.com -> gmail.com.

    Other domains keep their local part as is (dots can be significant there), but every domain
    loses a ``+tag`` because the major providers all deliver ``user+tag`` to ``user``.
    """
    email = email_key(series)
    parts = email.str.extract(r"^(?P<local>[^@]+)@(?P<domain>[^@]+)$")
    local = parts["local"].str.replace(r"\+.*$", "", regex=True)
    domain = parts["domain"]
    is_gmail = domain.isin(GMAIL_DOMAINS)
    local = local.mask(is_gmail, local.str.replace(".", "", regex=False))
    domain = domain.mask(is_gmail, "gmail.com")
    canonical = (local + "@" + domain).astype("string")
    # Keep unparseable emails as their plain key so they still match themselves.
    return canonical.fillna(email)


def _street_parts(line: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split an address line into house number and street words (types abbreviated)."""
    text = text_key(line).str.replace(r"[.,#]", " ", regex=True)
    number = text.str.extract(r"(\d+[a-z]?)", expand=False).astype("string")
    words = text.str.replace(r"\d+[a-z]?", " ", regex=True)
    # Vectorised abbreviation: one regex pass per street type, over distinct lines only.
    distinct = pd.Series(words.dropna().unique(), dtype="string")
    abbreviated = distinct
    for spelled, short in _STREET_TYPES.items():
        abbreviated = abbreviated.str.replace(rf"\b{spelled}\b", short, regex=True)
    abbreviated = abbreviated.str.replace(r"\s+", " ", regex=True).str.strip()
    street = words.map(dict(zip(distinct, abbreviated, strict=False)), na_action="ignore").astype(
        "string"
    )
    return number.mask(number == ""), street.mask(street == "")


# Python's ``\s`` on ASCII text (RE2's ``\s`` lacks ``\v`` and ``\x1c``-``\x1f``).
_ASCII_SPACE = "[ \t\n\r\x0b\x0c\x1c-\x1f]"
_ASCII_STRIP = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _blank_to_null(text: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _ascii_street_parts(lines: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``_street_parts(blank_to_na(lines))`` for ASCII-only text, in RE2: on ASCII,
    RE2's ``\\b``, ``\\d`` and ``[a-z]`` mean what Python's do, and casefold is lower."""
    text = _blank_to_null(pc.utf8_trim(lines, characters=_ASCII_STRIP))
    text = pc.utf8_lower(pc.replace_substring_regex(text, f"{_ASCII_SPACE}+", " "))
    text = pc.replace_substring_regex(text, r"[.,#]", " ")
    number = pc.struct_field(pc.extract_regex(text, r"(?P<n>\d+[a-z]?)"), [0])
    words = pc.replace_substring_regex(text, r"\d+[a-z]?", " ")
    for spelled, short in _STREET_TYPES.items():
        words = pc.replace_substring_regex(words, rf"\b{spelled}\b", short)
    words = pc.utf8_trim(
        pc.replace_substring_regex(words, f"{_ASCII_SPACE}+", " "), characters=_ASCII_STRIP
    )
    return number, _blank_to_null(words)


def street_parts(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(house number, street) per row of raw address lines, exactly as
    ``_street_parts(blank_to_na(raw))`` gives them (None when missing), computed once per
    distinct value: ASCII values in Arrow (RE2), the rest in Python."""
    # Factorised by Arrow, numbers as their text (as blank_to_na reads them); the distinct
    # values stay Arrow text, and only the non-ASCII ones become Python strings.
    raw_codes, uniques = pd.factorize(as_arrow_text(raw), use_na_sentinel=True)
    arrow = pa.array(uniques.array).cast(pa.string())
    number = np.full(len(arrow) + 1, None, dtype=object)
    street = np.full(len(arrow) + 1, None, dtype=object)
    is_ascii = pc.string_is_ascii(arrow).to_numpy(zero_copy_only=False)
    ascii_at = np.flatnonzero(is_ascii)
    ascii_number, ascii_street = _ascii_street_parts(arrow.take(pa.array(ascii_at)))
    number[ascii_at] = ascii_number.to_numpy(zero_copy_only=False)
    street[ascii_at] = ascii_street.to_numpy(zero_copy_only=False)
    other_at = np.flatnonzero(~is_ascii)
    if other_at.size:
        other = pd.Series(uniques[other_at], dtype="string")
        other_number, other_street = _street_parts(blank_to_na(other))
        number[other_at] = other_number.astype(object).where(other_number.notna(), None).to_numpy()
        street[other_at] = other_street.astype(object).where(other_street.notna(), None).to_numpy()
    return number[raw_codes], street[raw_codes]


def _postcode(series: pd.Series) -> pd.Series:
    # "80202-1234" and "80202" are the same ZIP; spaces and case never matter.
    code = text_key(series).str.replace(r"[\s-]", "", regex=True)
    code = code.mask(code.str.fullmatch(r"\d{9}", na=False), code.str.slice(0, 5))
    return code.mask(code == "")


def _place(series: pd.Series) -> pd.Series:
    place = text_key(series).str.replace(r"[^\w ]", "", regex=True).str.strip()
    return place.mask(place == "")


def build_features(people: pd.DataFrame) -> pd.DataFrame:
    """Normalised comparison columns (see ``FEATURE_COLUMNS``) with the input's index.

    Each feature is a function of one raw value, so it is computed once per distinct value:
    names, places and postal codes repeat a lot across contacts."""
    index = people.index
    first = per_distinct(_letters_only, _column(people, "first_name"))
    last = per_distinct(_letters_only, _column(people, "last_name"))
    email = canonical_email(_column(people, "email"))
    house_number, street = street_parts(_column(people, "address_line_1"))
    # Line 2 as street words too, for addresses whose two lines were entered the other way round.
    line2_number, line2_words = street_parts(_column(people, "address_line_2"))
    return pd.DataFrame(
        {
            "first": first,
            "last": last,
            "phone": phone_key(_column(people, "phone")),
            "email": email,
            "email_local": email.str.extract(r"^([^@]+)@", expand=False).astype("string"),
            "house_number": pd.Series(house_number, index=index, dtype="string").fillna(
                pd.Series(line2_number, index=index, dtype="string")
            ),
            "street": pd.Series(street, index=index, dtype="string"),
            "line2": per_distinct(_place, _column(people, "address_line_2")),
            "line2_words": pd.Series(line2_words, index=index, dtype="string"),
            "city": per_distinct(_place, _column(people, "city")),
            "postcode": per_distinct(_postcode, _column(people, "postal_code")),
            "state": per_distinct(_place, _column(people, "state")),
            "country": per_distinct(_place, _column(people, "country")),
        },
        index=index,
    )

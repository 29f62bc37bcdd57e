"""Comparison features for duplicate finding: one normalised column per signal.

Every feature is a nullable string Series aligned with the input rows; a column the input
lacks becomes all-NA, so the finder runs on any subset of the contact fields.
"""

from __future__ import annotations

import pandas as pd

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


def _postcode(series: pd.Series) -> pd.Series:
    # "80202-1234" and "80202" are the same ZIP; spaces and case never matter.
    code = text_key(series).str.replace(r"[\s-]", "", regex=True)
    code = code.mask(code.str.fullmatch(r"\d{9}", na=False), code.str.slice(0, 5))
    return code.mask(code == "")


def _place(series: pd.Series) -> pd.Series:
    place = text_key(series).str.replace(r"[^\w ]", "", regex=True).str.strip()
    return place.mask(place == "")


def build_features(people: pd.DataFrame) -> pd.DataFrame:
    """Normalised comparison columns (see ``FEATURE_COLUMNS``) with the input's index."""
    first = _letters_only(_column(people, "first_name"))
    last = _letters_only(_column(people, "last_name"))
    email = canonical_email(_column(people, "email"))
    # Distinct-value work (string splitting) only on the distinct address lines.
    line1 = blank_to_na(_column(people, "address_line_1"))
    house_number, street = _street_parts(line1)
    # Line 2 as street words too, for addresses whose two lines were entered the other way round.
    line2_number, line2_words = _street_parts(blank_to_na(_column(people, "address_line_2")))
    return pd.DataFrame(
        {
            "first": first,
            "last": last,
            "phone": phone_key(_column(people, "phone")),
            "email": email,
            "email_local": email.str.extract(r"^([^@]+)@", expand=False).astype("string"),
            "house_number": house_number.fillna(line2_number),
            "street": street,
            "line2": _place(_column(people, "address_line_2")),
            "line2_words": line2_words,
            "city": _place(_column(people, "city")),
            "postcode": _postcode(_column(people, "postal_code")),
            "state": _place(_column(people, "state")),
            "country": _place(_column(people, "country")),
        },
        index=people.index,
    )

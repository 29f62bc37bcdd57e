"""New Kajabi sign-ups the database has never seen, some of them likely duplicates.

The likely duplicates are new Kajabi contacts (own ID and email) that a matcher should tie to
an existing contact: the same phone in another style, a gmail dot or ``+tag`` alias of an
existing gmail address, or the same name and postal code.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from kajabi_sync.demo.formats import STR, US_PHONE_STYLES
from kajabi_sync.demo.merges import Spare
from kajabi_sync.demo.people import phone_text
from kajabi_sync.demo.population import ADDRESS_PARTS, DAY, Chooser, Population, _seconds

DUPLICATE_KINDS = ("same_phone", "gmail_alias", "same_name_postal_code", "gmail_plus_tag")
SIGNUP_COLUMNS = ("email", "first_name", "last_name", "middle_name", "phone", *ADDRESS_PARTS)


def new_signups(
    rng: np.random.Generator, spare: Spare, count: int, export_s: int, week: int
) -> pd.DataFrame:
    """``count`` genuinely new people who signed up in the week before ``export_s``."""
    people = spare.take(count)
    rows = people[list(SIGNUP_COLUMNS)].copy()
    rows.loc[rng.random(count) >= 0.4, "phone"] = None
    no_address = rng.random(count) >= 0.3
    for part in ADDRESS_PARTS:
        rows.loc[no_address, part] = None
    rows["created_s"] = export_s - (rng.uniform(0.05, 7.0, count) * DAY).astype(np.int64)
    rows["week_added"] = week
    rows["role"] = "signup"
    rows["duplicate_of"] = -1
    rows["duplicate_kind"] = None
    return rows


def likely_duplicates(
    rng: np.random.Generator, population: Population, spare: Spare, count: int, export_s: int
) -> pd.DataFrame:
    """``count`` sign-ups that are probably existing live contacts (kinds taken in turn)."""
    live = population.live
    people = population.people
    pick = Chooser(rng, len(live))
    pick.taken |= live["story_survivor"].to_numpy()
    eligible_base = live["story_plain"].to_numpy()
    email = np.asarray(live["email"].to_numpy(), dtype=STR)
    gmail = np.strings.endswith(email, "@gmail.com")
    dotted = gmail & (np.strings.find(email, ".") < np.strings.find(email, "@"))
    eligible = {
        "same_phone": eligible_base & live["phone"].notna().to_numpy(),
        "gmail_alias": eligible_base & dotted,
        "same_name_postal_code": eligible_base & live["postal_code"].notna().to_numpy(),
        "gmail_plus_tag": eligible_base & gmail,
    }
    kinds = np.array(
        [DUPLICATE_KINDS[i % len(DUPLICATE_KINDS)] for i in range(count)], dtype=object
    )
    targets = np.empty(count, dtype=np.int64)
    for kind in DUPLICATE_KINDS:
        slots = np.flatnonzero(kinds == kind)
        targets[slots] = pick.take(eligible[kind], len(slots))
    live["story_duplicate_target"] = _flag(len(live), targets)

    rows = new_signups(rng, spare, count, export_s, week=1)
    rows["first_name"] = live["first_name"].to_numpy()[targets]
    rows["last_name"] = live["last_name"].to_numpy()[targets]
    rows["middle_name"] = None
    rows["phone"] = None
    for part in ADDRESS_PARTS:
        rows[part] = None

    phone = kinds == "same_phone"
    style = (
        people["phone_style"].to_numpy()[targets] + rng.integers(1, len(US_PHONE_STYLES), count)
    ) % len(US_PHONE_STYLES)
    text = phone_text(
        people["phone_kind"].to_numpy()[targets], people["phone_digits"].to_numpy()[targets], style
    )
    same_text = text == live["phone"].to_numpy()[targets]
    style2 = (style + 1) % len(US_PHONE_STYLES)
    text2 = phone_text(
        people["phone_kind"].to_numpy()[targets], people["phone_digits"].to_numpy()[targets], style2
    )
    rows.loc[phone, "phone"] = np.where(same_text, text2, text)[phone]

    local, _, _ = np.char.partition(email[targets].astype(object).astype(str), "@").T
    dot_alias = np.char.add(np.char.replace(local, ".", ""), "@gmail.com")
    plus_alias = np.char.add(
        np.char.add(local, "+"),
        np.char.add(rng.choice(["retreat", "kajabi", "bali"], count), "@gmail.com"),
    )
    alias_rows = np.flatnonzero(kinds == "gmail_alias")
    # A dot alias that is somebody else's real address falls back to a +tag alias.
    clash = pd.Series(dot_alias[alias_rows]).isin(people["email"]).to_numpy()
    rows.loc[alias_rows, "email"] = np.where(
        clash, plus_alias[alias_rows], dot_alias[alias_rows]
    ).astype(object)
    plus_rows = np.flatnonzero(kinds == "gmail_plus_tag")
    rows.loc[plus_rows, "email"] = plus_alias[plus_rows].astype(object)

    postal = np.flatnonzero(kinds == "same_name_postal_code")
    for part in ("city", "state", "postal_code", "country"):
        rows.loc[postal, part] = live[part].to_numpy()[targets[postal]]
    same_street = postal[rng.random(len(postal)) < 0.5]
    rows.loc[same_street, "address_line_1"] = live["address_line_1"].to_numpy()[
        targets[same_street]
    ]

    rows["role"] = "likely_duplicate"
    rows["duplicate_of"] = targets
    rows["duplicate_kind"] = kinds
    return rows


def _flag(size: int, rows: np.ndarray) -> np.ndarray:
    flag = np.zeros(size, dtype=bool)
    flag[rows] = True
    return flag


def export_seconds(first_export: date, week: int) -> int:
    """Midnight UTC of the Monday of export ``week`` (1-based)."""
    return _seconds(first_export) + (week - 1) * 7 * DAY

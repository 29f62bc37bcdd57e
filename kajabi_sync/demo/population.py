"""The contacts database as the first user's looks before any kajabi_sync import.

One frame holds every live contact with its database values and, for Kajabi contacts, the
``k_*`` values Kajabi still shows (stale where the database was enriched or corrected).
Story flags (``story_*``) record who was made what, so the weekly exports and the summary
can say exactly what a correct import must do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from kajabi_sync.demo import vocab
from kajabi_sync.demo.formats import NULL, other_style, unique_integers
from kajabi_sync.demo.people import phone_text
from kajabi_sync.demo.spec import DemoSpec

ADDRESS_PARTS = ("address_line_1", "address_line_2", "city", "state", "postal_code", "country")
KAJABI_VIEW = ("email", "first_name", "last_name", "phone", *ADDRESS_PARTS)
EPOCH_2018 = 1_514_764_800
DAY = 86_400


@dataclass
class Population:
    live: pd.DataFrame  # one row per live contact: database columns, k_* Kajabi view, story_* flags
    people: pd.DataFrame  # the whole draw; rows past len(live) feed merges, sign-ups and spares
    spare_start: int  # first row of ``people`` not yet handed out


class Chooser:
    """Disjoint random subsets: a row handed out once is never handed out again."""

    def __init__(self, rng: np.random.Generator, size: int) -> None:
        self.rng = rng
        self.taken = np.zeros(size, dtype=bool)

    def take(self, eligible: np.ndarray, count: int, keep_free: bool = False) -> np.ndarray:
        candidates = np.flatnonzero(eligible & ~self.taken)
        if count > len(candidates):
            raise ValueError(f"demo needs {count} rows but only {len(candidates)} are eligible")
        chosen = np.sort(self.rng.choice(candidates, size=count, replace=False))
        if not keep_free:
            self.taken[chosen] = True
        return chosen


def _mask(size: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[rows] = True
    return mask


def _restyle_phone(rng: np.random.Generator, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The same numbers as ``frame.phone`` on ``rows``, written in another style."""
    style = other_style(rng, frame["phone_style"].to_numpy()[rows])
    return phone_text(
        frame["phone_kind"].to_numpy()[rows], frame["phone_digits"].to_numpy()[rows], style
    )


def build_population(spec: DemoSpec, rng: np.random.Generator, people: pd.DataFrame) -> Population:
    n = spec.contacts
    live = people.iloc[:n].reset_index(drop=True).copy()
    spare = n  # people rows from here on are handed out by later steps
    in_kajabi = _mask(n, rng.permutation(n)[: spec.count("kajabi_contacts")])
    live["story_in_kajabi"] = in_kajabi
    live["created_s"] = EPOCH_2018 + (
        rng.beta(2.0, 1.2, n) * (_seconds(spec.first_export) - 21 * DAY - EPOCH_2018)
    ).astype(np.int64)

    _blank_unused_fields(rng, live, in_kajabi)
    for column in KAJABI_VIEW:
        live["k_" + column] = live[column].where(in_kajabi, None)

    spare = _phone_stories(spec, rng, live, people, spare)
    _name_stories(spec, rng, live)
    _paypal_and_zoho(spec, rng, live, people)
    _corrected_addresses(spec, rng, live)
    _provenance(rng, live, spec)
    _blank_kajabi_cells(rng, live)
    return Population(live=live, people=people, spare_start=spare)


def _seconds(day: date) -> int:
    return int(pd.Timestamp(day).timestamp())


def _blank_unused_fields(
    rng: np.random.Generator, live: pd.DataFrame, in_kajabi: np.ndarray
) -> None:
    """Who has a phone and an address at all (PayPal buyers: decided by the PayPal stories)."""
    n = len(live)
    has_phone = in_kajabi & (rng.random(n) < 0.33)
    has_address = in_kajabi & (rng.random(n) < 0.55)
    live["phone"] = live["phone"].where(has_phone, None)
    for part in ADDRESS_PARTS:
        live[part] = live[part].where(has_address, None)
    live["story_has_address"] = has_address


def _phone_stories(
    spec: DemoSpec, rng: np.random.Generator, live: pd.DataFrame, people: pd.DataFrame, spare: int
) -> int:
    n = len(live)
    in_kajabi = live["story_in_kajabi"].to_numpy()
    pick = Chooser(rng, n)
    total = spec.count("phone_enriched")
    paypal_only = pick.take(~in_kajabi, min(int((~in_kajabi).sum()), round(total * 0.6)))
    kajabi_with_phone = in_kajabi & live["k_phone"].notna().to_numpy()
    stale_zoho = pick.take(kajabi_with_phone, spec.count("stale_zoho_phones"))
    stale_other = pick.take(kajabi_with_phone, spec.count("stale_other_phones"))
    stale_kajabi_source = pick.take(kajabi_with_phone, spec.count("stale_kajabi_source_phones"))
    rest = pick.take(
        in_kajabi & ~kajabi_with_phone,
        total - len(paypal_only) - len(stale_zoho) - len(stale_other),
    )

    phone_source = np.full(n, None, dtype=object)
    paypal_phone = np.full(n, None, dtype=object)
    own_phone = people["phone"].to_numpy()[:n]

    # PayPal buyers: the phone PayPal gave, written as PayPal does or as typed.
    live.loc[paypal_only, "phone"] = own_phone[paypal_only]
    phone_source[paypal_only] = "paypal"
    paypal_phone[paypal_only] = _restyle_phone(rng, people, paypal_only)

    # Kajabi had an older number; another source gave the current one.
    stale = np.concatenate([stale_zoho, stale_other, stale_kajabi_source])
    newer = np.arange(spare, spare + len(stale))
    spare += len(stale)
    live.loc[stale, "phone"] = people["phone"].to_numpy()[newer]
    phone_source[stale_zoho] = "zoho"
    phone_source[stale_other] = rng.choice(["paypal", "ticket_tailor", "manual"], len(stale_other))
    phone_source[stale_kajabi_source] = "kajabi"  # a hand correction recorded under the old source

    # Kajabi never had a phone (most) or has the same number in another style.
    live.loc[rest, "phone"] = own_phone[rest]
    same_in_kajabi = rest[rng.random(len(rest)) < 0.15]
    live.loc[same_in_kajabi, "k_phone"] = _restyle_phone(rng, people, same_in_kajabi)
    phone_source[rest] = rng.choice(
        ["paypal", "zoho", "ticket_tailor", "manual"], len(rest), p=[0.4, 0.3, 0.15, 0.15]
    )
    unrecorded = rest[rng.random(len(rest)) < 0.06]
    phone_source[unrecorded] = None  # only paypal_phone tells where it came from
    from_paypal = np.concatenate([stale_other, rest])
    from_paypal = from_paypal[
        (phone_source[from_paypal] == "paypal") | np.isin(from_paypal, unrecorded)
    ]
    paypal_phone[from_paypal] = live["phone"].to_numpy()[from_paypal]

    # Everyone else with a Kajabi phone: same number, often typed differently in the database.
    plain = np.flatnonzero(kajabi_with_phone & ~pick.taken)
    restyled = plain[rng.random(len(plain)) < 0.35]
    live.loc[restyled, "phone"] = _restyle_phone(rng, people, restyled)
    phone_source[plain[rng.random(len(plain)) < 0.3]] = "kajabi"

    live["phone_source"] = phone_source
    live["paypal_phone"] = paypal_phone
    live["story_phone_enriched"] = _mask(
        n, np.concatenate([paypal_only, stale_zoho, stale_other, rest])
    )
    live["story_stale_phone"] = _mask(n, np.concatenate([stale_zoho, stale_other]))
    live["story_stale_kajabi_source_phone"] = _mask(n, stale_kajabi_source)
    return spare


def _name_stories(spec: DemoSpec, rng: np.random.Generator, live: pd.DataFrame) -> None:
    n = len(live)
    in_kajabi = live["story_in_kajabi"].to_numpy()
    pick = Chooser(rng, n)
    total = spec.count("paypal_names")
    paypal_only = pick.take(~in_kajabi, min(int((~in_kajabi).sum()), round(total * 0.7)))
    stale = pick.take(in_kajabi, spec.count("stale_names"))
    kajabi_rest = pick.take(in_kajabi, total - len(paypal_only) - len(stale))
    named = np.concatenate([paypal_only, stale, kajabi_rest])
    live["paypal_first_name"] = None
    live["paypal_last_name"] = None
    live.loc[named, "paypal_first_name"] = live["first_name"].to_numpy()[named]
    live.loc[named, "paypal_last_name"] = live["last_name"].to_numpy()[named]

    # Kajabi keeps the pre-PayPal name: a nickname or a former last name.
    nickname = rng.random(len(stale)) < 0.5
    live.loc[stale[nickname], "k_first_name"] = rng.choice(vocab.NICKNAMES, int(nickname.sum()))
    live.loc[stale[~nickname], "k_last_name"] = rng.choice(
        vocab.MAIDEN_NAMES, int((~nickname).sum())
    )
    # Or only differs cosmetically, or has no last name at all.
    kind = rng.random(len(kajabi_rest))
    lower = kajabi_rest[kind < 0.3]
    for column in ("k_first_name", "k_last_name"):
        live.loc[lower, column] = live[column].iloc[lower].str.lower().to_numpy()
    live.loc[kajabi_rest[kind > 0.8], "k_last_name"] = None
    live["story_paypal_name"] = _mask(n, named)
    live["story_stale_name"] = _mask(n, stale)


def _paypal_and_zoho(
    spec: DemoSpec, rng: np.random.Generator, live: pd.DataFrame, people: pd.DataFrame
) -> None:
    n = len(live)
    in_kajabi = live["story_in_kajabi"].to_numpy()
    pick = Chooser(rng, n)
    total = spec.count("shipping_addresses")
    paypal_only = pick.take(~in_kajabi, min(int((~in_kajabi).sum()), round(total * 0.72)))
    kajabi_buyers = pick.take(in_kajabi, total - len(paypal_only))
    shipped = np.concatenate([paypal_only, kajabi_buyers])
    for part in ADDRESS_PARTS:
        drawn = people[part].to_numpy()[:n]
        shipping = np.full(n, None, dtype=object)
        shipping[shipped] = drawn[shipped]
        live["shipping_" + part] = shipping
        # A PayPal buyer's address is the one PayPal shipped to.
        live.loc[paypal_only, part] = drawn[paypal_only]
    # Some other PayPal buyers got an address from an older source.
    legacy = pick.take(~in_kajabi, round(0.4 * (~in_kajabi & ~pick.taken).sum()))
    for part in ADDRESS_PARTS:
        live.loc[legacy, part] = people[part].to_numpy()[legacy]
    live["story_shipping"] = _mask(n, shipped)
    live["story_paypal_only_address"] = _mask(n, paypal_only)
    live["story_legacy_address"] = _mask(n, legacy)

    touched = (
        (~in_kajabi)
        | live["story_paypal_name"].to_numpy()
        | live["paypal_phone"].notna().to_numpy()
    )
    touched |= live["story_shipping"].to_numpy()
    live["paypal_email"] = live["email"].where(touched, None)
    business = touched & (rng.random(n) < 0.03)
    live["paypal_business_name"] = np.where(
        business,
        rng.choice(["StarHouse Healing LLC", "Sound & Breath Co.", "Mesa Yoga Studio"], n),
        NULL,
    )

    zoho_forced = np.flatnonzero(live["phone_source"].to_numpy() == "zoho")
    pick = Chooser(rng, n)
    pick.taken[zoho_forced] = True
    others = pick.take(np.ones(n, dtype=bool), spec.count("zoho_linked") - len(zoho_forced))
    zoho = np.sort(np.concatenate([zoho_forced, others]))
    zoho_id = np.full(n, None, dtype=object)
    zoho_id[zoho] = unique_integers(rng, len(zoho), vocab.ZOHO_ID_BASE, 40_000_000).astype(str)
    live["zoho_id"] = zoho_id


def _corrected_addresses(spec: DemoSpec, rng: np.random.Generator, live: pd.DataFrame) -> None:
    """Hand corrections Kajabi never saw: city capitalisation fixed, junk line 2 cleaned."""
    n = len(live)
    pick = Chooser(rng, n)
    eligible = live["story_in_kajabi"].to_numpy() & live["story_has_address"].to_numpy()
    junk_flagged = pick.take(eligible, spec.count("junk_line2_flagged"))
    junk_unflagged = pick.take(eligible, spec.count("junk_line2_unflagged"))
    city_only = pick.take(
        eligible, spec.count("corrected_addresses") - len(junk_flagged) - len(junk_unflagged)
    )
    junk = np.concatenate([junk_flagged, junk_unflagged])

    line1 = live["address_line_1"].to_numpy()
    line2 = live["address_line_2"].to_numpy()
    has_line2 = pd.notna(line2[junk])
    doubled = junk[has_line2 & (rng.random(len(junk)) < 0.5)]
    live.loc[doubled, "k_address_line_2"] = line2[doubled] + " " + line2[doubled]
    emptied = junk[~np.isin(junk, doubled)]
    live.loc[emptied, "address_line_2"] = None
    junk_text = rng.choice(vocab.LINE2_JUNK, len(emptied)).astype(object)
    copy_line1 = rng.random(len(emptied)) < 0.3
    live.loc[emptied, "k_address_line_2"] = np.where(copy_line1, line1[emptied], junk_text)

    recased = np.concatenate([city_only, junk[rng.random(len(junk)) < 0.2]])
    city = live["city"].to_numpy()[recased].astype(str)
    upper = rng.random(len(recased)) < 0.4
    live.loc[recased, "k_city"] = np.where(upper, np.char.upper(city), np.char.lower(city)).astype(
        object
    )

    flag = np.full(n, None, dtype=object)
    flag[junk_flagged] = "manual"
    flagged_city = city_only[rng.random(len(city_only)) < 0.3]
    flag[flagged_city] = rng.choice(["manual", "paypal", "unknown_legacy"], len(flagged_city))
    live["billing_address_source"] = flag
    live["story_corrected_address"] = _mask(n, np.concatenate([junk, city_only]))
    live["story_corrected_flagged"] = pd.notna(flag)
    live["story_junk_line2"] = _mask(n, junk)


def _provenance(rng: np.random.Generator, live: pd.DataFrame, spec: DemoSpec) -> None:
    n = len(live)
    in_kajabi = live["story_in_kajabi"].to_numpy()
    zoho = live["zoho_id"].notna().to_numpy()
    roll = rng.random(n)
    source = np.where(zoho & (roll < 0.3), "zoho", "kajabi").astype(object)
    source[~zoho & (roll < 0.03)] = "ticket_tailor"
    source[~zoho & (roll >= 0.03) & (roll < 0.05)] = "manual"
    source[~in_kajabi] = "paypal"
    live["source_system"] = source

    billing = live["billing_address_source"].to_numpy().copy()
    unset = pd.isna(billing)
    billing[unset & live["story_paypal_only_address"].to_numpy()] = "paypal"
    billing[unset & live["story_legacy_address"].to_numpy()] = "unknown_legacy"
    plain_address = unset & in_kajabi & live["story_has_address"].to_numpy() & (rng.random(n) < 0.4)
    billing[plain_address] = "kajabi"
    live["billing_address_source"] = billing

    end = _seconds(spec.first_export) - 2 * DAY
    created = live["created_s"].to_numpy()
    live["updated_s"] = created + (rng.random(n) * (end - created)).astype(np.int64)
    live["billing_updated_s"] = np.where(pd.notna(billing), live["updated_s"], -1)
    live["email_subscribed"] = rng.random(n) < 0.7
    live["notes"] = None


def _blank_kajabi_cells(rng: np.random.Generator, live: pd.DataFrame) -> None:
    """Kajabi leaves some cells empty where the database has a value (on untouched contacts)."""
    stories = [c for c in live.columns if c.startswith("story_") and c not in _NOT_A_STORY]
    untouched = live["story_in_kajabi"].to_numpy() & ~live[stories].any(axis=1).to_numpy()
    blanked = np.zeros(len(live), dtype=bool)
    for column in ("first_name", "last_name", "phone", "address_line_1", "city", "postal_code"):
        blank = untouched & (rng.random(len(live)) < 0.006) & live[column].notna().to_numpy()
        live.loc[blank, "k_" + column] = None
        blanked |= blank
    live["story_blank_in_kajabi"] = blanked
    live["story_plain"] = untouched & ~blanked


_NOT_A_STORY = frozenset({"story_in_kajabi", "story_has_address"})

"""Random invented people, drawn as whole columns: names, unique emails, phones, addresses.

Every person gets every field here; the population decides later who keeps which. Phones are
kept as (kind, digits) so any later step can write the same number in another style.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kajabi_sync.demo import vocab
from kajabi_sync.demo.formats import NULL, STR, US_PHONE_STYLES, cat, number_text, us_phone_text

# Real US area codes; with the fictional 555 exchange they give 10,000 numbers each.
_AREA_CODES = np.array(
    """201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 224 225 228 229 231 234
    239 240 248 251 252 253 254 256 260 262 267 269 270 276 281 301 302 303 304 305 307 308 309 310
    312 313 314 315 316 317 318 319 320 321 323 325 330 334 336 337 339 347 351 352 360 361 385 386
    401 402 404 405 406 407 408 409 410 412 413 414 415 417 419 423 425 430 432 434 435 440 443 469
    478 479 480 484 501 502 503 504 505 507 508 509 510 512 513 515 516 517 518 520 530 540 541 551
    559 561 562 563 567 570 571 573 574 575 580 585 586 601 602 603 605 606 607 608 609 610 612 614
    615 616 617 618 619 620 623 626 630 631 636 641 646 650 651 660 661 662 678 682 701 702 703 704
    706 707 708 712 713 714 715 716 717 718 719 720 724 727 731 732 734 740 754 757 760 763 765 770
    772 773 774 775 781 785 786 801 802 803 804 805 806 808 810 812 813 814 815 816 817 818 828 830
    831 832 843 845 847 848 850 856 857 858 859 860 862 863 864 865 870 872 901 903 904 906 907 908
    909 910 912 913 914 915 916 917 918 919 920 925 928 931 936 937 940 941 949 951 952 954 956 970
    971 972 973 978 979 980 985 989""".split()
)
_COUNTRY_CODES = ("US", "CA", "GB", "AU")
_COUNTRY_WEIGHTS = (0.92, 0.03, 0.03, 0.02)
# Fictional ranges: UK 07700 900xxx (Ofcom), Australia 0491 570 xxx (ACMA).
_FOREIGN_PHONE = {
    "GB": (lambda n: cat("+44 7700 900", n), lambda n: cat("07700 900", n)),
    "AU": (lambda n: cat("+61 491 570 ", n), lambda n: cat("0491 570 ", n)),
}


def _pick(
    rng: np.random.Generator, pool: tuple, count: int, weights: tuple[float, ...] | None = None
) -> np.ndarray:
    p = None if weights is None else np.asarray(weights) / np.sum(weights)
    return rng.choice(len(pool), size=count, p=p)


def _names(rng: np.random.Generator, count: int) -> pd.DataFrame:
    first = _pick(rng, vocab.FIRST_NAMES, count)
    last = _pick(rng, vocab.LAST_NAMES, count)
    middle = np.array(vocab.MIDDLE_NAMES, dtype=object)[_pick(rng, vocab.MIDDLE_NAMES, count)]
    first_names = np.array(vocab.FIRST_NAMES, dtype=object)
    last_names = np.array(vocab.LAST_NAMES, dtype=object)
    return pd.DataFrame(
        {
            "first_name": first_names[first, 0],
            "last_name": last_names[last, 0],
            "first_ascii": first_names[first, 1],
            "last_ascii": last_names[last, 1],
            "middle_name": np.where(rng.random(count) < 0.08, middle, NULL),
        }
    )


def _emails(rng: np.random.Generator, names: pd.DataFrame) -> np.ndarray:
    count = len(names)
    first = np.asarray(names["first_ascii"].to_numpy(), dtype=STR)
    last = np.asarray(names["last_ascii"].to_numpy(), dtype=STR)
    digits2 = number_text(rng.integers(1, 100, count))
    year = number_text(rng.integers(1950, 2006, count))
    patterns = (
        lambda i: cat(first[i], ".", last[i]),
        lambda i: cat(first[i], last[i]),
        lambda i: cat(np.strings.slice(first[i], 0, 1), last[i]),
        lambda i: cat(first[i], "_", last[i]),
        lambda i: cat(first[i], ".", last[i], digits2[i]),
        lambda i: cat(first[i], last[i], year[i]),
        lambda i: cat(last[i], ".", first[i]),
        lambda i: cat(first[i], digits2[i], digits2[i]),
    )
    choice = rng.integers(0, len(patterns), count)
    local = np.empty(count, dtype=STR)
    for number, build in enumerate(patterns):
        rows = np.flatnonzero(choice == number)
        local[rows] = build(rows)
    domains = np.array(vocab.EMAIL_DOMAINS, dtype=object)[
        _pick(rng, vocab.EMAIL_DOMAINS, count, vocab.EMAIL_DOMAIN_WEIGHTS)
    ]
    email = cat(local, "@", domains).astype(object)
    # Unique among everyone drawn: a clash gets the row's serial; repeat until none is left.
    serial = np.arange(count)
    while (clash := pd.Series(email).duplicated().to_numpy()).any():
        rows = np.flatnonzero(clash)
        local[rows] = cat(local[rows], (serial[rows] % 9973).astype(str))
        email[rows] = cat(local[rows], "@", domains[rows]).astype(object)
        serial[rows] += 7
    return email


def _phones(rng: np.random.Generator, country: np.ndarray) -> pd.DataFrame:
    count = len(country)
    pool = len(_AREA_CODES) * 10_000
    slots = rng.choice(pool, size=count, replace=count > pool)
    digits = cat(_AREA_CODES[slots // 10_000], "555", number_text(slots % 10_000, 4)).astype(object)
    foreign = np.isin(country, list(_FOREIGN_PHONE))
    digits[foreign] = number_text(rng.integers(0, 1000, foreign.sum()), 3)
    return pd.DataFrame(
        {
            "phone_kind": np.where(foreign, country, "US").astype(object),
            "phone_digits": digits,
            "phone_style": rng.integers(0, len(US_PHONE_STYLES), count),
        }
    )


def phone_text(kind: np.ndarray, digits: np.ndarray, style: np.ndarray) -> np.ndarray:
    """The number (``kind``, ``digits``) written in ``style`` (foreign numbers: two styles)."""
    kind, digits, style = np.asarray(kind), np.asarray(digits), np.asarray(style)
    out = us_phone_text(np.where(kind == "US", digits, "0000000000"), style)
    for country, (international, national) in _FOREIGN_PHONE.items():
        rows = np.flatnonzero(kind == country)
        if len(rows):
            text = np.where(
                style[rows] % 2 == 0, international(digits[rows]), national(digits[rows])
            )
            out[rows] = text.astype(object)
    return out


def _addresses(rng: np.random.Generator, count: int) -> pd.DataFrame:
    country = np.array(_COUNTRY_CODES, dtype=object)[
        _pick(rng, _COUNTRY_CODES, count, _COUNTRY_WEIGHTS)
    ]
    us_places = np.array(vocab.US_PLACES, dtype=object)[
        _pick(rng, vocab.US_PLACES, count, vocab.US_PLACE_WEIGHTS)
    ]
    city, state = us_places[:, 0].copy(), us_places[:, 1].copy()
    zip_code = cat(us_places[:, 2], number_text(rng.integers(0, 100, count), 2)).astype(object)
    foreign_places = np.array(vocab.FOREIGN_PLACES, dtype=object)
    for code in ("CA", "GB", "AU"):
        mask = country == code
        options = foreign_places[foreign_places[:, 2] == code]
        picked = options[rng.integers(0, len(options), mask.sum())]
        city[mask], state[mask], zip_code[mask] = picked[:, 0], picked[:, 1], picked[:, 3]
    number = number_text(np.exp(rng.uniform(0, np.log(9999), count)).astype(int))
    street = np.array(vocab.STREET_NAMES, dtype=object)[_pick(rng, vocab.STREET_NAMES, count)]
    suffix = np.array(vocab.STREET_SUFFIXES, dtype=object)[_pick(rng, vocab.STREET_SUFFIXES, count)]
    unit_prefix = np.array(vocab.UNIT_PREFIXES, dtype=object)[
        _pick(rng, vocab.UNIT_PREFIXES, count)
    ]
    unit = cat(unit_prefix, " ", number_text(rng.integers(1, 400, count))).astype(object)
    return pd.DataFrame(
        {
            "address_line_1": cat(number, " ", street, " ", suffix).astype(object),
            "address_line_2": np.where(rng.random(count) < 0.18, unit, NULL),
            "city": city,
            "state": np.where(state == "", NULL, state),
            "postal_code": zip_code,
            "country": country,
        }
    )


def draw_people(rng: np.random.Generator, count: int) -> pd.DataFrame:
    """``count`` invented people with every field filled (line 2 and middle names sometimes)."""
    names = _names(rng, count)
    addresses = _addresses(rng, count)
    phones = _phones(rng, addresses["country"].to_numpy())
    people = pd.concat([names, addresses, phones], axis=1)
    people["email"] = _emails(rng, names)
    people["phone"] = phone_text(
        people["phone_kind"], people["phone_digits"], people["phone_style"]
    )
    return people

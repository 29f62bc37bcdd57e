"""Scoring candidate pairs: a Fellegi-Sunter match probability from field comparisons.

Each comparison puts a pair on one LEVEL (exact, close, ..., different, or missing). A level
carries two probabilities: ``m``, how often a true duplicate lands there (typos, moves, nicknames),
and ``u``, how often two different people land there by coincidence. The pair's match weight is
the prior log-odds plus the sum of ``log2(m / u)`` over comparisons; a missing value adds 0.
The score is that weight as a probability, so 0.99 means "99 in 100 such pairs are one person".

``m`` values are typical data-entry error rates (set by hand, not fitted to any benchmark).
``u`` values for exact agreement come from the data itself where a value is common (term
frequency: two "Smith"s prove less than two "Sondergeld"s), else from population defaults.
Comparisons are grouped so correlated fields count once: postcode, city and state form one
"locality" comparison; house number and street one "street" comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

# Starting guess for duplicates per contact; the data's own rate is then estimated (EM on the
# prior only) within these bounds, so a clean base and a messy one are both judged fairly.
DUPLICATES_PER_CONTACT = 0.05
DUPLICATE_RATE_BOUNDS = (0.005, 1.0)
# Prior odds assume at least this many possible partners, so a small frame is not credulous.
MIN_POPULATION = 10_000
# A value seen at least this often is "common": its own frequency becomes its coincidence rate.
TERM_FREQUENCY_MIN_COUNT = 5

# Family members share a surname, a phone and an address but not a first name. When the first
# names clearly differ, the shared contact points (phone, street, line 2, locality) may add at
# most this many bits: otherwise their independent weights would add up to a false merge.
HOUSEHOLD_EVIDENCE_CAP = 6.0

NAME_CLOSE = 0.92
NAME_FUZZY = 0.80
PLACE_CLOSE = 0.85
_SCORING_CHUNK = 500_000


@dataclass(frozen=True)
class Level:
    name: str
    m: float
    u: float


MISSING = -1

# Level tables: index = level code. Coincidence rates are for a large contact base.
FIRST_NAME = (
    Level("exact", 0.85, 0.005),
    Level("close", 0.07, 0.002),
    Level("fuzzy", 0.03, 0.02),
    Level("initial", 0.01, 0.03),
    Level("different", 0.04, 0.943),
)
LAST_NAME = (
    Level("exact", 0.88, 0.001),
    Level("close", 0.06, 0.001),
    Level("fuzzy", 0.02, 0.01),
    Level("different", 0.04, 0.988),
)
PHONE = (
    Level("exact", 0.70, 1e-6),
    Level("one edit", 0.05, 1e-5),
    Level("different", 0.25, 1.0 - 1e-5),
)
EMAIL = (
    Level("same mailbox", 0.30, 1e-7),
    Level("same local part", 0.15, 1e-5),
    Level("different", 0.55, 1.0 - 1e-5),
)
STREET = (
    Level("exact", 0.80, 1e-5),
    Level("close", 0.10, 1e-5),
    Level("same street, number missing", 0.03, 1e-3),
    Level("same street, other number", 0.02, 2e-3),
    Level("same number, street missing", 0.03, 0.01),
    Level("same number, other street", 0.02, 0.03),
    Level("different", 0.03, 0.965),
)
LINE2 = (
    Level("exact", 0.80, 1e-3),
    Level("close", 0.10, 1e-3),
    Level("different", 0.10, 0.998),
)
LOCALITY = (
    Level("same postcode and city", 0.85, 1e-4),
    Level("same postcode", 0.06, 1e-4),
    Level("postcode typo, same city", 0.05, 1e-4),
    Level("same city and state", 0.02, 1e-3),
    Level("same state", 0.01, 0.15),
    Level("different", 0.01, 0.85),
)
COUNTRY = (
    Level("same", 0.97, 0.5),
    Level("different", 0.03, 0.5),
)


@dataclass
class PairComparison:
    """Per-pair comparison levels and the measures the evidence text quotes."""

    levels: dict[str, np.ndarray]
    weights: np.ndarray
    name_similarity: np.ndarray
    names_swapped: np.ndarray


def _similarity(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return process.cpdist(left, right, scorer=JaroWinkler.normalized_similarity, workers=-1)


def _edits(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return process.cpdist(left, right, scorer=OSA.distance, workers=-1, dtype=np.int32)


def _select(conditions: list[np.ndarray], missing: np.ndarray) -> np.ndarray:
    """Level code = index of the first true condition, last level otherwise, MISSING if missing."""
    level = np.select(conditions, np.arange(len(conditions)), default=len(conditions))
    return np.where(missing, MISSING, level)


def _weights(
    level: np.ndarray, table: tuple[Level, ...], exact_u: np.ndarray | None = None
) -> np.ndarray:
    m = np.array([lvl.m for lvl in table])
    u = np.array([lvl.u for lvl in table])
    safe = np.clip(level, 0, None)
    pair_u = u[safe]
    if exact_u is not None:
        # Term frequency: a common value agreeing is weaker evidence than the default assumes.
        pair_u = np.where(level == 0, np.maximum(pair_u, exact_u), pair_u)
    return np.where(level == MISSING, 0.0, np.log2(m[safe] / pair_u))


def value_frequencies(
    column: pd.Series, population: int | None = None, counts: np.ndarray | None = None
) -> pd.Series:
    """Per row: the share of rows with its value, when the value is common; else 0.

    ``population`` and ``counts`` (rows with each row's value) describe a larger population the
    frame was taken from; by default both are the frame's own.
    """
    if counts is None:
        per_row = column.map(column.value_counts())
    else:
        per_row = pd.Series(counts, index=column.index, dtype=float).where(column.notna())
    share = per_row / max(len(column) if population is None else population, 1)
    return share.where(per_row >= TERM_FREQUENCY_MIN_COUNT, 0.0).fillna(0.0).astype(float)


class Comparer:
    """Scores position pairs of one features frame; term frequencies are computed once.

    ``population`` and ``population_counts`` (per feature name, per row: rows of the whole
    population with that row's value) let a frame pre-filtered from a larger population score
    as the whole would: frequencies not given are counted within the frame but still shared
    out over ``population``, which is exact for values all of whose rows the frame holds.
    """

    def __init__(
        self,
        features: pd.DataFrame,
        household_guard: bool = False,
        *,
        population: int | None = None,
        population_counts: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.household_guard = household_guard
        # Per-row text as plain arrays ("" for missing), derived once so pair work is only indexing.
        columns = {name: features[name].fillna("") for name in features.columns}
        columns["street_squeezed"] = _squeeze(columns["street"])
        columns["line2_words_squeezed"] = _squeeze(columns["line2_words"])
        columns["city_squeezed"] = _squeeze(columns["city"])
        columns["line2_digits"] = columns["line2"].str.replace(r"\D", "", regex=True)
        columns["first_initial"] = columns["first"].str.slice(0, 1)
        self.arrays = {name: column.to_numpy(dtype=object) for name, column in columns.items()}
        self.first_length = columns["first"].str.len().to_numpy(dtype=np.int64)
        compared = {name: features[name] for name in ("first", "last", "phone", "email_local")}
        compared["street"] = features["house_number"] + " " + features["street"]
        compared.update(
            {name: features[name] for name in ("line2", "postcode", "state", "country")}
        )
        counts = population_counts or {}
        self.frequency = {
            name: value_frequencies(column, population, counts.get(name)).to_numpy()
            for name, column in compared.items()
        }

    def compare(self, left: np.ndarray, right: np.ndarray) -> PairComparison:
        parts = [
            self._compare_chunk(
                left[start : start + _SCORING_CHUNK], right[start : start + _SCORING_CHUNK]
            )
            for start in range(0, max(len(left), 1), _SCORING_CHUNK)
        ]
        return PairComparison(
            levels={key: np.concatenate([p.levels[key] for p in parts]) for key in parts[0].levels},
            weights=np.concatenate([p.weights for p in parts]),
            name_similarity=np.concatenate([p.name_similarity for p in parts]),
            names_swapped=np.concatenate([p.names_swapped for p in parts]),
        )

    def _values(self, name: str, positions: np.ndarray) -> np.ndarray:
        return self.arrays[name][positions]

    def _frequency(self, key: str, left: np.ndarray) -> np.ndarray:
        # Exact agreement means both rows carry the same value, so either row's frequency serves.
        return self.frequency[key][left]

    def _compare_chunk(self, left: np.ndarray, right: np.ndarray) -> PairComparison:
        levels: dict[str, np.ndarray] = {}
        weights = np.zeros(len(left))

        name_levels, name_similarity, swapped = self._compare_names(left, right)
        levels.update(name_levels)
        weights += _weights(levels["first"], FIRST_NAME, self._frequency("first", left))
        weights += _weights(levels["last"], LAST_NAME, self._frequency("last", left))

        phone_l, phone_r = self._values("phone", left), self._values("phone", right)
        phone_missing = (phone_l == "") | (phone_r == "")
        phone_edits = _edits(phone_l, phone_r)
        levels["phone"] = _select([phone_l == phone_r, phone_edits <= 1], phone_missing)
        contact_weights = _weights(levels["phone"], PHONE, self._frequency("phone", left))

        email_l, email_r = self._values("email", left), self._values("email", right)
        local_l, local_r = self._values("email_local", left), self._values("email_local", right)
        levels["email"] = _select(
            [email_l == email_r, (local_l == local_r) & (local_l != "")],
            (email_l == "") | (email_r == ""),
        )
        weights += _weights(levels["email"], EMAIL, self._frequency("email_local", left))

        levels["street"], lines_swapped = self._compare_street(left, right)
        contact_weights += _weights(levels["street"], STREET, self._frequency("street", left))

        line2_l, line2_r = self._values("line2", left), self._values("line2", right)
        # Swapped lines were already matched crosswise in the street comparison; count them once.
        line2_l = np.where(lines_swapped, "", line2_l)
        same_digits = self._values("line2_digits", left) == self._values("line2_digits", right)
        line2_close = (_similarity(line2_l, line2_r) >= PLACE_CLOSE) & same_digits
        levels["line2"] = _select(
            [line2_l == line2_r, line2_close], (line2_l == "") | (line2_r == "")
        )
        contact_weights += _weights(levels["line2"], LINE2, self._frequency("line2", left))

        levels["locality"] = self._compare_locality(left, right)
        contact_weights += _weights(levels["locality"], LOCALITY, self._frequency("postcode", left))
        other_first_name = (levels["first"] == len(FIRST_NAME) - 1) & self.household_guard
        weights += np.where(
            other_first_name, np.minimum(contact_weights, HOUSEHOLD_EVIDENCE_CAP), contact_weights
        )

        country_l, country_r = self._values("country", left), self._values("country", right)
        levels["country"] = _select([country_l == country_r], (country_l == "") | (country_r == ""))
        weights += _weights(levels["country"], COUNTRY, self._frequency("country", left))

        return PairComparison(levels, weights, name_similarity, swapped)

    def _compare_names(
        self, left: np.ndarray, right: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        first_l, first_r = self._values("first", left), self._values("first", right)
        last_l, last_r = self._values("last", left), self._values("last", right)
        first_sim, last_sim = _similarity(first_l, first_r), _similarity(last_l, last_r)
        # One slip (typo, transposition) in a short name scores low on Jaro-Winkler; count it close.
        first_sim = np.where(
            _edits(first_l, first_r) <= 1, np.maximum(first_sim, NAME_CLOSE), first_sim
        )
        last_sim = np.where(_edits(last_l, last_r) <= 1, np.maximum(last_sim, NAME_CLOSE), last_sim)
        # Names entered in the wrong boxes: compare crosswise and keep the better reading.
        cross_first, cross_last = _similarity(first_l, last_r), _similarity(last_l, first_r)
        swapped = (np.minimum(cross_first, cross_last) >= NAME_FUZZY) & (
            np.minimum(cross_first, cross_last) > np.minimum(first_sim, last_sim)
        )
        first_sim = np.where(swapped, cross_first, first_sim)
        last_sim = np.where(swapped, cross_last, last_sim)
        exact_first = np.where(swapped, first_l == last_r, first_l == first_r)
        exact_last = np.where(swapped, last_l == first_r, last_l == last_r)
        first_missing = (first_l == "") | (first_r == "")
        last_missing = (last_l == "") | (last_r == "")
        initial = self._values("first_initial", left) == self._values("first_initial", right)
        one_is_initial = (self.first_length[left] == 1) | (self.first_length[right] == 1)
        levels = {
            "first": _select(
                [
                    exact_first,
                    first_sim >= NAME_CLOSE,
                    first_sim >= NAME_FUZZY,
                    initial & one_is_initial & ~swapped,
                ],
                first_missing,
            ),
            "last": _select(
                [exact_last, last_sim >= NAME_CLOSE, last_sim >= NAME_FUZZY], last_missing
            ),
        }
        both = ~first_missing & ~last_missing
        name_similarity = np.where(
            both, (first_sim + last_sim) / 2, np.where(first_missing, last_sim, first_sim)
        )
        name_similarity = np.where(first_missing & last_missing, np.nan, name_similarity)
        return levels, name_similarity, swapped

    def _compare_street(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Street level and, when the two address lines were swapped, that flag."""
        number_l, number_r = self._values("house_number", left), self._values("house_number", right)
        street_l, street_r = self._values("street", left), self._values("street", right)
        words_l = self._values("line2_words", left)
        # Address lines entered the other way round: both lines match crosswise, not directly.
        squeezed_l, squeezed_r = (
            self._values("street_squeezed", left),
            self._values("street_squeezed", right),
        )
        words_sq_l = self._values("line2_words_squeezed", left)
        words_sq_r = self._values("line2_words_squeezed", right)
        crosswise = np.minimum(
            _similarity(squeezed_l, words_sq_r), _similarity(words_sq_l, squeezed_r)
        )
        direct_street = _similarity(squeezed_l, squeezed_r)
        direct = np.minimum(direct_street, _similarity(words_sq_l, words_sq_r))
        swapped = (
            (crosswise >= PLACE_CLOSE) & (crosswise > direct) & (street_l != "") & (street_r != "")
        )
        street_l = np.where(swapped, words_l, street_l)
        street_similarity = np.where(swapped, _similarity(words_sq_l, squeezed_r), direct_street)
        same_number = (number_l == number_r) & (number_l != "")
        number_missing = (number_l == "") | (number_r == "")
        street_missing = (street_l == "") | (street_r == "")
        street_close = (street_similarity >= PLACE_CLOSE) & ~street_missing
        level = _select(
            [
                same_number & (street_l == street_r) & ~street_missing,
                same_number & street_close,
                street_close & number_missing,
                street_close,
                same_number & street_missing,
                same_number,
            ],
            street_missing & ~same_number,
        )
        return level, swapped

    def _compare_locality(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        post_l, post_r = self._values("postcode", left), self._values("postcode", right)
        city_l, city_r = self._values("city", left), self._values("city", right)
        state_l, state_r = self._values("state", left), self._values("state", right)
        post_missing = (post_l == "") | (post_r == "")
        same_post = (post_l == post_r) & ~post_missing
        post_typo = (_edits(post_l, post_r) <= 1) & ~post_missing
        city_similarity = _similarity(
            self._values("city_squeezed", left), self._values("city_squeezed", right)
        )
        city_close = (city_similarity >= PLACE_CLOSE) & (city_l != "") & (city_r != "")
        same_state = (state_l == state_r) & (state_l != "")
        all_missing = (
            post_missing & ((city_l == "") | (city_r == "")) & ((state_l == "") | (state_r == ""))
        )
        return _select(
            [
                same_post & city_close,
                same_post,
                post_typo & city_close,
                city_close & same_state,
                same_state,
            ],
            all_missing,
        )


def _squeeze(column: pd.Series) -> pd.Series:
    # "rowvil le" and "rowville" are one place: compare without spaces.
    return column.str.replace(" ", "", regex=False)


def prior_log2_odds(partners: int, duplicates_per_contact: float = DUPLICATES_PER_CONTACT) -> float:
    """Log-odds that one particular pair is a duplicate before looking at it."""
    probability = duplicates_per_contact / max(partners, MIN_POPULATION)
    return float(np.log2(probability / (1.0 - probability)))


def estimate_log2_prior(
    weights: np.ndarray, partners: int, rows: int, pairs_per_duplicate: float
) -> float:
    """Prior log-odds with the duplicate rate re-estimated from the scored pairs (a few EM steps).

    Each step: expected duplicates = sum of pair probabilities under the current prior; the rate
    is that per row (``pairs_per_duplicate`` is 2 within one frame: a pair covers two rows).
    Pairs the blocking never proposed are taken as non-duplicates.
    """
    rate = DUPLICATES_PER_CONTACT
    low, high = DUPLICATE_RATE_BOUNDS
    for _ in range(20):
        expected = float(to_probability(weights + prior_log2_odds(partners, rate)).sum())
        rate = float(np.clip(pairs_per_duplicate * expected / max(rows, 1), low, high))
    return prior_log2_odds(partners, rate)


def to_probability(log2_odds: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(log2_odds, -60, 60)))

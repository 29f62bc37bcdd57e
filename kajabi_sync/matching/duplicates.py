"""Likely-duplicate contacts: within one frame, or new rows against existing ones.

Pipeline: normalised features -> blocking passes (near-linear candidate pairs) -> Fellegi-Sunter
scoring of every candidate pair in bulk (rapidfuzz) -> pairs at/above a score, with the evidence
in words. A false merge loses data, so the score is a calibrated-looking probability and the
hold threshold sits high: precision over recall.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kajabi_sync.frames import ARROW_TEXT, concat_rows
from kajabi_sync.matching.blocking import (
    MAX_BLOCK_SIZE,
    blocking_keys,
    candidate_pairs,
    neighbourhood_keys,
)
from kajabi_sync.matching.features import build_features
from kajabi_sync.matching.prefilter import prefilter_existing
from kajabi_sync.matching.scoring import (
    Comparer,
    PairComparison,
    estimate_log2_prior,
    to_probability,
)

# An import holds a new contact for review when it scores at/above this against a live contact.
# 0.9: nine in ten such pairs are expected to be one person; on the FEBRL benchmarks this gives
# precision >= 0.999 (see benchmarks/FEBRL_RESULTS.md). Lower it only with a reviewer in the loop.
HOLD_THRESHOLD = 0.9
# Pairs below this are not reported at all (they are not even worth a reviewer's glance).
REPORT_THRESHOLD = 0.5

DUPLICATE_COLUMNS: tuple[str, ...] = ("left", "right", "score", "evidence")
AGAINST_COLUMNS: tuple[str, ...] = ("new", "existing", "score", "evidence")

_STREET_WORDS = (
    "same street address",
    "similar street address",
    "same street (house number missing)",
    "same street, other house number",
    "same house number",
    "same house number, other street",
    "different street address",
)
_LOCALITY_WORDS = (
    "same postal code and city",
    "same postal code",
    "postal code one character apart, same city",
    "same city and state",
    "same state",
    "different postal code and city",
)


def find_duplicate_candidates(
    people: pd.DataFrame, min_score: float = REPORT_THRESHOLD, *, household_guard: bool = False
) -> pd.DataFrame:
    """Pairs of rows of ``people`` that are probably one person, best first.

    Uses whichever of first_name, last_name, email, phone, address_line_1, address_line_2,
    city, state, postal_code, country the frame has. Returns columns ``left``/``right`` (index
    labels, left < right), ``score`` (0..1) and ``evidence``; ``attrs["pairs_compared"]`` holds
    how many candidate pairs the blocking let through to scoring.

    ``household_guard`` (default off): when on, rows whose first names clearly differ are taken
    for family members or flatmates, so their shared phone/address cannot make them one person.
    Off by default because a candidate is only ever HELD for a person to review, never merged
    automatically: a held spouse costs a review, a missed duplicate recreates a contact. With it
    off the finder meets the FEBRL goal (precision 1.000, recall 0.994/0.966 on febrl1/febrl2);
    on, recall falls to 0.908/0.862 (see benchmarks/FEBRL_RESULTS.md).
    """
    _require_unique_index(people)
    features = build_features(people)
    left, right = candidate_pairs(
        blocking_keys(features), MAX_BLOCK_SIZE, sort_keys=neighbourhood_keys(features)
    )
    comparison = Comparer(features, household_guard).compare(left, right)
    prior = estimate_log2_prior(
        comparison.weights, len(people) - 1, len(people), pairs_per_duplicate=2.0
    )
    scores = to_probability(comparison.weights + prior)
    keep = scores >= min_score
    left_labels = people.index.to_numpy()[left[keep]]
    right_labels = people.index.to_numpy()[right[keep]]
    left_labels, right_labels = _ordered(left_labels, right_labels)
    result = pd.DataFrame(
        {
            "left": left_labels,
            "right": right_labels,
            "score": scores[keep],
            "evidence": _evidence(features, left[keep], right[keep], _subset(comparison, keep)),
        }
    )
    return _finish(result, ["left", "right"], len(left))


def find_candidates_against(
    new: pd.DataFrame,
    existing: pd.DataFrame,
    min_score: float = REPORT_THRESHOLD,
    *,
    household_guard: bool = False,
    prefilter: bool = True,
) -> pd.DataFrame:
    """Pairs (new row, existing row) that are probably one person, best first.

    For the import: a new Kajabi email whose row scores at/above ``HOLD_THRESHOLD`` against a live
    contact is held for review instead of inserted. Columns ``new``/``existing`` (index labels
    of each input), ``score``, ``evidence``; same scoring as ``find_duplicate_candidates``.

    ``prefilter`` (default on): features are built only for the existing rows that some blocking
    pass could pair with a new row (``prefilter.prefilter_existing``), with term frequencies and
    the prior still taken over all of ``existing``; blocking pairs and scores are those of the
    unfiltered run. The sorted-neighbourhood passes then see only those rows, so a neighbour
    that shares no blocking key with the new row may differ from the unfiltered run's.
    """
    _require_unique_index(new)
    _require_unique_index(existing)
    if prefilter:
        kept = prefilter_existing(new, existing)
        positions, population_counts = kept.positions, kept.counts
        compared = existing.iloc[positions]
    else:
        positions, population_counts, compared = np.arange(len(existing)), None, existing
    combined = concat_rows([new, compared])
    side = np.r_[np.zeros(len(new), np.int8), np.ones(len(compared), np.int8)]
    features = build_features(combined)
    # Keys built in Arrow (same values): their joins, slices and factorizing are C loops.
    arrow_features = features.astype(ARROW_TEXT)
    first, second = candidate_pairs(
        blocking_keys(arrow_features),
        MAX_BLOCK_SIZE,
        side=side,
        sort_keys=neighbourhood_keys(arrow_features),
    )
    # Pairs come back as (lower, higher) positions and new rows come first in the frame.
    comparer = Comparer(
        features,
        household_guard,
        population=len(new) + len(existing),
        population_counts=population_counts,
    )
    comparison = comparer.compare(first, second)
    prior = estimate_log2_prior(
        comparison.weights, len(existing), len(new), pairs_per_duplicate=1.0
    )
    scores = to_probability(comparison.weights + prior)
    keep = scores >= min_score
    result = pd.DataFrame(
        {
            "new": new.index.to_numpy()[first[keep]],
            "existing": existing.index.to_numpy()[positions[second[keep] - len(new)]],
            "score": scores[keep],
            "evidence": _evidence(features, first[keep], second[keep], _subset(comparison, keep)),
        }
    )
    return _finish(result, ["new", "existing"], len(first))


def _require_unique_index(frame: pd.DataFrame) -> None:
    if not frame.index.is_unique:
        raise ValueError(
            "duplicate finding needs a unique index: pairs are reported by index label"
        )


def _ordered(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    try:
        swap = left > right
    except TypeError:  # labels of mixed types cannot be ordered; keep input order
        return left, right
    return np.where(swap, right, left), np.where(swap, left, right)


def _subset(comparison: PairComparison, keep: np.ndarray) -> PairComparison:
    return PairComparison(
        levels={key: level[keep] for key, level in comparison.levels.items()},
        weights=comparison.weights[keep],
        name_similarity=comparison.name_similarity[keep],
        names_swapped=comparison.names_swapped[keep],
    )


def _finish(result: pd.DataFrame, label_columns: list[str], pairs_compared: int) -> pd.DataFrame:
    result = result.sort_values(
        ["score", *label_columns], ascending=[False, True, True], kind="stable"
    )
    result = result.reset_index(drop=True)
    result["score"] = result["score"].astype(float)
    result["evidence"] = result["evidence"].astype("string")
    result.attrs["pairs_compared"] = int(pairs_compared)
    return result


def _phrase(condition: np.ndarray, text: np.ndarray | str) -> np.ndarray:
    return np.where(condition, np.asarray(text, dtype=object), "")


def _evidence(
    features: pd.DataFrame, left: np.ndarray, right: np.ndarray, comparison: PairComparison
) -> np.ndarray:
    """One short sentence per pair naming what agrees (and the worst disagreement)."""
    if len(left) == 0:
        return np.empty(0, dtype=object)
    levels = comparison.levels
    phone = features["phone"].fillna("").to_numpy(dtype=object)[left]
    email = features["email"].fillna("").to_numpy(dtype=object)[left]
    local = features["email_local"].fillna("").to_numpy(dtype=object)[left]
    similarity = np.nan_to_num(comparison.name_similarity)
    exact_name = (levels["first"] == 0) & (levels["last"] == 0)
    rounded = np.round(similarity, 2).astype(str).astype(object)
    name_text = np.where(exact_name, "same name", "name " + rounded)
    name_text = np.where(comparison.names_swapped, name_text + " (first/last swapped)", name_text)
    phrases = [
        _phrase(levels["phone"] == 0, "same phone " + phone),
        _phrase(levels["phone"] == 1, "phone one digit apart"),
        _phrase(levels["email"] == 0, "same mailbox " + email),
        _phrase(levels["email"] == 1, "same email name " + local),
        _phrase(~np.isnan(comparison.name_similarity), name_text),
        _phrase(
            levels["street"] >= 0,
            np.asarray(_STREET_WORDS, dtype=object)[np.clip(levels["street"], 0, None)],
        ),
        _phrase(levels["line2"] == 0, "same address line 2"),
        _phrase(
            levels["locality"] >= 0,
            np.asarray(_LOCALITY_WORDS, dtype=object)[np.clip(levels["locality"], 0, None)],
        ),
    ]
    text = np.full(len(left), "", dtype=object)
    for piece in phrases:
        text = np.where((text != "") & (piece != ""), text + "; " + piece, text + piece)
    return text

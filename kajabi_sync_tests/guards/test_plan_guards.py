from __future__ import annotations

import pandas as pd

from kajabi_sync.guards.plan_guards import (
    conflicts_for_review,
    divergence_growth,
    duplicate_recreation,
    new_contact_surge,
    overwrite_volume,
    protected_overwrites,
)
from kajabi_sync.guards.thresholds import Thresholds
from kajabi_sync_tests.guards.builders import plan

DEFAULTS = Thresholds()


def updates(count: int, **row) -> list[dict]:
    return [dict(row) for _ in range(count)]


def test_overwrite_volume_floor_of_25_applies_to_small_databases():
    assert overwrite_volume(plan(*updates(25), matched=100), DEFAULTS).passed
    blocked = overwrite_volume(plan(*updates(26), matched=100), DEFAULTS)
    assert not blocked.passed and blocked.blocks and blocked.limit == 25


def test_overwrite_volume_is_two_percent_of_matched_contacts_on_large_ones():
    assert overwrite_volume(plan(*updates(100), matched=5_000), DEFAULTS).passed
    blocked = overwrite_volume(plan(*updates(101), matched=5_000), DEFAULTS)
    assert not blocked.passed and blocked.limit == 100
    # The suggested override lets exactly this value pass.
    suggested = DEFAULTS.with_overrides(blocked.override)
    assert overwrite_volume(plan(*updates(101), matched=5_000), suggested).passed


def test_overwrite_volume_counts_only_replaced_non_empty_values():
    harmless = [
        {"decision": "fill", "db_value": None},
        {"decision": "conflict"},
        {"decision": "kept_db"},
    ]
    result = overwrite_volume(plan(*harmless * 20, *updates(3)), DEFAULTS)
    assert result.value == 3


def test_any_protected_overwrite_blocks_but_a_protected_fill_does_not():
    fill = {"decision": "fill", "db_value": None, "protected": True}
    assert protected_overwrites(plan(fill, *updates(5))).passed
    blocked = protected_overwrites(plan(fill, {"protected": True, "field": "phone"}))
    assert blocked.blocks and blocked.value == 1 and blocked.override == {}


def test_new_contact_surge_is_twenty_percent_of_the_file():
    assert new_contact_surge(plan(), 100, DEFAULTS.with_overrides({})).limit == 20
    assert new_contact_surge(
        plan(new_emails=tuple(f"n{i}@x.com" for i in range(20))), 100, DEFAULTS
    ).passed
    assert new_contact_surge(
        plan(new_emails=tuple(f"n{i}@x.com" for i in range(21))), 100, DEFAULTS
    ).blocks


def test_duplicate_recreation_blocks_above_zero():
    known = pd.Series(["old@example.com"], dtype="string")
    assert duplicate_recreation(plan(), pd.Series([], dtype="string"), DEFAULTS).passed
    assert duplicate_recreation(plan(new_emails=("old@example.com",)), known, DEFAULTS).blocks


def test_conflicts_warn_and_never_block():
    result = conflicts_for_review(plan({"decision": "conflict"}), DEFAULTS)
    assert not result.passed and not result.blocks
    assert conflicts_for_review(plan({"decision": "update"}), DEFAULTS).passed


def test_divergence_growth_compares_with_the_last_import():
    kept = [{"decision": "kept_db"}] * 11
    assert divergence_growth(plan(*kept), {"kept_db": 10}, DEFAULTS).passed  # +10 %
    grown = divergence_growth(plan(*kept, {"decision": "protected"}), {"kept_db": 10}, DEFAULTS)
    assert not grown.passed and not grown.blocks
    # Fills and updates are not divergence; neither is an import with nothing to compare to.
    assert divergence_growth(plan(*updates(50)), {"kept_db": 10}, DEFAULTS).value == 0
    first = divergence_growth(plan(*kept), {}, DEFAULTS)
    assert first.passed and first.limit is None


def test_divergence_growth_compares_like_with_like_over_contacts_in_both_systems():
    from kajabi_sync.guards.plan_guards import kajabi_converged

    # Last import: 100 real differences over 1,000 matched contacts. A file cut in half matches
    # 500: 60 real differences there are more per contact (0.12 against 0.10), not convergence.
    half = plan(*[{"decision": "kept_db"}] * 60, *[{"decision": "cosmetic"}] * 40, matched=500)
    grown = divergence_growth(half, {"kept_db": 100}, DEFAULTS, last_matched=1000, absent=500)
    assert not grown.passed and grown.limit == 55 and grown.value == 60
    assert "500 contact(s) linked to Kajabi are absent" in grown.explanation
    assert "40 more differ only in format" in grown.explanation
    same_rate = plan(*[{"decision": "kept_db"}] * 50, matched=500)
    assert divergence_growth(same_rate, {"kept_db": 100}, DEFAULTS, last_matched=1000).passed
    # Cosmetic differences are never counted as divergence.
    assert divergence_growth(
        plan(*[{"decision": "cosmetic"}] * 500, matched=1000), {"kept_db": 100}, DEFAULTS
    ).passed
    # kajabi_converged says how far Kajabi still is and whether that shrinks.
    shrinking = kajabi_converged(plan(*[{"decision": "kept_db"}] * 80), DEFAULTS, {"kept_db": 100})
    assert "Shrinking: 20 fewer than at the last import (100)" in shrinking.explanation
    assert "80 real, 0 format only" in shrinking.explanation
    stuck = kajabi_converged(plan(*[{"decision": "kept_db"}] * 100), DEFAULTS, {"kept_db": 100})
    assert "Not shrinking" in stuck.explanation


def test_the_advice_on_converging_follows_the_push_setting():
    from kajabi_sync.guards.plan_guards import kajabi_converged

    differing = plan(*[{"decision": "kept_db"}] * 30)
    by_file = "import kajabi_updates_only.csv into Kajabi (People → Import)"
    by_push = "the push (KAJABI_SYNC_PUSH=api) sends the database's values to Kajabi"
    for pushing, said, not_said in ((False, by_file, by_push), (True, by_push, by_file)):
        converged = kajabi_converged(differing, DEFAULTS, {"kept_db": 10}, pushing=pushing)
        grown = divergence_growth(differing, {"kept_db": 10}, DEFAULTS, pushing=pushing)
        for result in (converged, grown):
            assert said in result.explanation and not_said not in result.explanation


def test_a_protected_overwrite_is_allowed_only_as_an_edit_after_the_systems_agreed():
    edit = {"protected": True, "db_value": "Janet", "base_value": "janet", "kajabi_value": "Jen"}
    assert protected_overwrites(plan(edit)).passed
    # Kajabi never held the database's value: a stale Kajabi value, whatever the decision says.
    stale = edit | {"base_value": "Jan"}
    assert protected_overwrites(plan(stale)).blocks
    assert protected_overwrites(plan(edit | {"base_value": None})).blocks
    # Kajabi sends its base again: not an edit at all.
    assert protected_overwrites(plan(edit | {"kajabi_value": "JANET"})).blocks

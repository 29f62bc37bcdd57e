"""One decision vocabulary: the plan only makes decisions the enum names, and every consumer
groups them by the sets declared in ``survivorship.decisions``."""

from __future__ import annotations

from kajabi_sync import summary
from kajabi_sync.survivorship.decisions import (
    DIVERGENT_DECISIONS,
    EMAIL_DECISIONS,
    FIELD_DECISIONS,
    NEEDS_PERSON_DECISIONS,
    WRITE_DECISIONS,
    Decision,
)
from kajabi_sync.survivorship.report import plan_figures
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.survivorship.steps import plan_rows


def test_the_sets_partition_the_field_decisions():
    assert set(WRITE_DECISIONS).isdisjoint(DIVERGENT_DECISIONS)
    assert {*WRITE_DECISIONS, *DIVERGENT_DECISIONS, Decision.UNCHANGED} == set(FIELD_DECISIONS)
    assert set(EMAIL_DECISIONS).isdisjoint(FIELD_DECISIONS)
    assert set(NEEDS_PERSON_DECISIONS) <= {*DIVERGENT_DECISIONS, *EMAIL_DECISIONS}
    assert all(d.label for d in Decision)


def test_decisions_are_stored_as_their_plain_names():
    assert Decision.FILL == "fill" and str(Decision.PROTECTED_EDIT) == "protected_edit"


def test_the_summary_counts_divergence_with_the_same_set():
    assert summary.DIVERGENCE_DECISIONS == tuple(d.value for d in DIVERGENT_DECISIONS)


def test_a_plan_uses_only_the_vocabulary_and_its_figures_name_every_decision(db_url):
    insert_contacts(
        db_url,
        dict(email="ann@example.com", first_name="Ann", paypal_first_name="Ann", city="Denver"),
        dict(email="bo@example.com", first_name="Bo", kajabi_id="7"),
    )
    plan = plan_rows(
        db_url,
        dict(email="ann@example.com", first_name="Anne", city="DENVER", phone="303 555 0101"),
        dict(email="bo.new@example.com", first_name="Bo", kajabi_id="7"),
    )
    made = set(plan.changes["decision"])
    assert made <= {d.value for d in Decision}
    assert all(type(d) is str for d in plan.changes["decision"])  # plain text, not enum objects
    figures = plan_figures(plan)
    for decision in (*FIELD_DECISIONS[1:], *EMAIL_DECISIONS):
        assert decision.value in figures
    assert figures["fields_to_write"] == sum(figures[d] for d in WRITE_DECISIONS)

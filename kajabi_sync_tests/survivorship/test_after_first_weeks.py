"""Survivorship after the first weeks, on hand-written multi-week cases against the real
database: protection that ends once Kajabi holds the enriched value, Unicode forms, and
partial addresses completed as one unit (issue 14, points 2 to 4)."""

from __future__ import annotations

import unicodedata

from kajabi_sync.guards.plan_guards import protected_overwrites
from kajabi_sync.survivorship.plan import PlanSettings
from kajabi_sync.survivorship.report import divergence_by_field
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.survivorship.steps import apply_rows, contact, count, execute, plan_rows

REVIEW_EDITS = PlanSettings(protected_edit="review")
FULL_BOULDER = dict(
    address_line_1="1 Pearl St",
    address_line_2="Unit 4",
    city="Boulder",
    state="CO",
    postal_code="80302",
    country="US",
)


def _reasons(plan, email: str) -> dict[str, str]:
    rows = plan.changes[plan.changes["email"] == email]
    return dict(zip(rows["field"], rows["reason"], strict=True))


def _decisions(plan, email: str) -> dict[str, str]:
    rows = plan.changes[plan.changes["email"] == email]
    return dict(zip(rows["field"], rows["decision"], strict=True))


# --- 2. protection ends, per field, once the two systems agree


JAN = dict(email="jan@example.com", kajabi_id="9")


def _paypal_janet(db_url: str) -> None:
    insert_contacts(
        db_url,
        dict(JAN, first_name="Janet", paypal_first_name="Janet"),
    )


def test_a_kajabi_edit_of_a_protected_name_flows_in_once_kajabi_held_the_enriched_name(db_url):
    _paypal_janet(db_url)
    week_1, _ = apply_rows(db_url, dict(JAN, first_name="Jan"), name="w1")
    assert _decisions(week_1, "jan@example.com") == {"first_name": "protected"}
    # Kajabi re-imported the enriched file: it now holds the database's name.
    week_2, written = apply_rows(db_url, dict(JAN, first_name="Janet"), name="w2")
    assert week_2.changes.empty and written.fields_written == 0
    # The person edits their own name in Kajabi.
    week_3, written = apply_rows(db_url, dict(JAN, first_name="Jen"), name="w3")
    assert _decisions(week_3, "jan@example.com") == {"first_name": "update"}
    reason = _reasons(week_3, "jan@example.com")["first_name"]
    assert "paypal_first_name is set" in reason and "Kajabi held the database's value" in reason
    assert protected_overwrites(week_3).passed
    assert written.fields_written == 1 and contact(db_url, "jan@example.com")["first_name"] == "Jen"
    # Re-running the week changes nothing.
    week_3_again, written = apply_rows(db_url, dict(JAN, first_name="Jen"), name="w3-again")
    assert week_3_again.changes.empty and written.fields_written == 0


def test_before_the_systems_agree_a_stale_kajabi_name_never_overwrites_the_enriched_one(db_url):
    _paypal_janet(db_url)
    apply_rows(db_url, dict(JAN, first_name="Jan"), name="w1")
    week_2, written = apply_rows(db_url, dict(JAN, first_name="Jane"), name="w2")
    assert _decisions(week_2, "jan@example.com") == {"first_name": "protected"}
    assert written.fields_written == 0
    assert contact(db_url, "jan@example.com")["first_name"] == "Janet"


def test_a_cosmetic_agreement_counts_as_agreement(db_url):
    insert_contacts(
        db_url, dict(email="pp@example.com", phone="(303) 555-0101", paypal_phone="+13035550101")
    )
    apply_rows(db_url, dict(email="pp@example.com", phone="303-555-0101"), name="w1")
    week_2, _ = apply_rows(db_url, dict(email="pp@example.com", phone="303-555-0199"), name="w2")
    assert _decisions(week_2, "pp@example.com") == {"phone": "update"}
    assert contact(db_url, "pp@example.com")["phone"] == "303-555-0199"


def test_review_setting_lists_the_edit_keeps_the_database_and_keeps_listing_it(db_url):
    _paypal_janet(db_url)
    apply_rows(db_url, dict(JAN, first_name="Janet"), name="w1")
    edit = dict(JAN, first_name="Jen")
    week_2, written = apply_rows(db_url, edit, settings=REVIEW_EDITS, name="w2")
    assert _decisions(week_2, "jan@example.com") == {"first_name": "protected_edit"}
    row = week_2.changes.iloc[0]
    assert (row["db_value"], row["kajabi_value"], row["base_value"]) == ("Janet", "Jen", "Janet")
    assert "listed for review" in row["reason"]
    assert (
        written.fields_written == 0 and contact(db_url, "jan@example.com")["first_name"] == "Janet"
    )
    assert divergence_by_field(week_2)["first_name"] == 1
    # The base is kept, so the edit stays listed the next week instead of turning into kept_db.
    week_3, _ = apply_rows(db_url, edit, settings=REVIEW_EDITS, name="w3")
    assert _decisions(week_3, "jan@example.com") == {"first_name": "protected_edit"}
    # A site that switches to update takes it in.
    week_4, _ = apply_rows(db_url, edit, name="w4")
    assert _decisions(week_4, "jan@example.com") == {"first_name": "update"}
    assert contact(db_url, "jan@example.com")["first_name"] == "Jen"


def test_a_protected_address_edited_in_kajabi_after_agreement_is_written_as_one_unit(db_url):
    insert_contacts(
        db_url, dict(email="ad@example.com", billing_address_source="paypal", **FULL_BOULDER)
    )
    apply_rows(db_url, dict(email="ad@example.com", **FULL_BOULDER), name="w1")
    moved = FULL_BOULDER | dict(address_line_1="9 Walnut St", address_line_2=None, city="Lyons")
    week_2, _ = apply_rows(db_url, dict(email="ad@example.com", **moved), name="w2")
    assert _decisions(week_2, "ad@example.com") == {
        "address_line_1": "update",
        "address_line_2": "keep_db_kajabi_blank",
        "city": "update",
    }
    stored = contact(db_url, "ad@example.com")
    assert (stored["address_line_1"], stored["city"]) == ("9 Walnut St", "Lyons")


def test_a_protected_address_kajabi_never_held_stays_whole(db_url):
    insert_contacts(
        db_url, dict(email="ad@example.com", billing_address_source="paypal", **FULL_BOULDER)
    )
    # Kajabi's address differs in one part: the systems never agreed on the address.
    stale = FULL_BOULDER | dict(postal_code="80301")
    apply_rows(db_url, dict(email="ad@example.com", **stale), name="w1")
    week_2, written = apply_rows(
        db_url, dict(email="ad@example.com", **stale | dict(city="Lyons")), name="w2"
    )
    assert set(_decisions(week_2, "ad@example.com").values()) == {"protected"}
    assert written.fields_written == 0
    assert contact(db_url, "ad@example.com")["city"] == "Boulder"


def test_a_protected_address_edit_under_review_holds_every_part(db_url):
    insert_contacts(
        db_url, dict(email="ad@example.com", billing_address_source="paypal", **FULL_BOULDER)
    )
    apply_rows(db_url, dict(email="ad@example.com", **FULL_BOULDER), name="w1")
    moved = FULL_BOULDER | dict(address_line_1="9 Walnut St", city="Lyons")
    week_2, written = apply_rows(
        db_url, dict(email="ad@example.com", **moved), settings=REVIEW_EDITS, name="w2"
    )
    assert set(_decisions(week_2, "ad@example.com").values()) == {"protected_edit"}
    assert written.fields_written == 0


# --- 3. Unicode


def test_a_decomposed_name_is_the_same_name_every_week(db_url):
    composed = unicodedata.normalize("NFC", "José")
    decomposed = unicodedata.normalize("NFD", "José")
    assert composed != decomposed
    insert_contacts(db_url, dict(email="jo@example.com", first_name=composed))
    for week in ("w1", "w2"):
        plan, written = apply_rows(
            db_url, dict(email="jo@example.com", first_name=decomposed), name=week
        )
        assert plan.changes.empty, plan.changes[["field", "decision", "reason"]]
        assert written.fields_written == 0
        assert sum(divergence_by_field(plan).values()) == 0
    assert contact(db_url, "jo@example.com")["first_name"] == composed


def test_the_database_bytes_are_kept_whatever_their_form(db_url):
    decomposed = unicodedata.normalize("NFD", "Zoë")
    insert_contacts(db_url, dict(email="zo@example.com", first_name=decomposed))
    plan, _ = apply_rows(
        db_url, dict(email="zo@example.com", first_name=unicodedata.normalize("NFC", "Zoë"))
    )
    assert plan.changes.empty
    assert contact(db_url, "zo@example.com")["first_name"] == decomposed


def test_fills_and_new_contacts_are_stored_composed(db_url):
    insert_contacts(db_url, dict(email="mu@example.com", first_name="Ana"))
    decomposed = unicodedata.normalize("NFD", "Muñoz")
    plan, _ = apply_rows(
        db_url,
        dict(email="mu@example.com", first_name="Ana", last_name=decomposed),
        dict(email="new@example.com", first_name=decomposed),
    )
    composed = unicodedata.normalize("NFC", "Muñoz")
    assert contact(db_url, "mu@example.com")["last_name"] == composed
    assert contact(db_url, "new@example.com")["first_name"] == composed
    again = plan_rows(
        db_url,
        dict(email="mu@example.com", first_name="Ana", last_name=decomposed),
        dict(email="new@example.com", first_name=decomposed),
    )
    assert again.changes.empty and again.new_contacts.empty


def test_full_width_letters_compare_as_their_plain_form(db_url):
    insert_contacts(db_url, dict(email="fw@example.com", last_name="Lee"))
    plan = plan_rows(db_url, dict(email="fw@example.com", last_name="ＬＥＥ"))
    assert _decisions(plan, "fw@example.com") == {"last_name": "cosmetic"}


def test_names_that_differ_only_in_diacritics_stay_a_real_difference(db_url):
    insert_contacts(db_url, dict(email="jd@example.com", first_name="Jose"))
    week_1, _ = apply_rows(db_url, dict(email="jd@example.com", first_name="José"), name="w1")
    assert _decisions(week_1, "jd@example.com") == {"first_name": "unattributed"}
    week_2, _ = apply_rows(db_url, dict(email="jd@example.com", first_name="José"), name="w2")
    assert _decisions(week_2, "jd@example.com") == {"first_name": "kept_db"}
    assert contact(db_url, "jd@example.com")["first_name"] == "Jose"


# --- 4. partial addresses


def test_a_partial_address_that_agrees_is_completed_as_one_unit(db_url):
    insert_contacts(db_url, dict(email="bo@example.com", city="Boulder"))
    week_1, written = apply_rows(
        db_url, dict(email="bo@example.com", **FULL_BOULDER | dict(city="BOULDER")), name="w1"
    )
    assert _decisions(week_1, "bo@example.com") == {
        "address_line_1": "fill",
        "address_line_2": "fill",
        "city": "cosmetic",
        "state": "fill",
        "postal_code": "fill",
        "country": "fill",
    }
    assert "completes the database's address" in _reasons(week_1, "bo@example.com")["state"]
    assert written.fields_written == 5
    stored = contact(db_url, "bo@example.com")
    assert {f: stored[f] for f in FULL_BOULDER} == FULL_BOULDER
    week_2, written = apply_rows(
        db_url, dict(email="bo@example.com", **FULL_BOULDER | dict(city="BOULDER")), name="w2"
    )
    assert set(_decisions(week_2, "bo@example.com").values()) == {"cosmetic"}
    assert written.fields_written == 0


def test_a_partial_address_that_disagrees_is_kept_whole_with_true_reasons_every_week(db_url):
    insert_contacts(db_url, dict(email="bo@example.com", city="Boulder"))
    denver = FULL_BOULDER | dict(city="Denver", postal_code="80202")
    week_1, _ = apply_rows(db_url, dict(email="bo@example.com", **denver), name="w1")
    assert set(_decisions(week_1, "bo@example.com").values()) == {"unattributed"}
    for week in ("w2", "w3"):
        plan, written = apply_rows(db_url, dict(email="bo@example.com", **denver), name=week)
        reasons = _reasons(plan, "bo@example.com")
        assert written.fields_written == 0
        assert _decisions(plan, "bo@example.com")["state"] == "kept_db"
        assert "holds another address" in reasons["state"]
        assert not any("emptied" in reason for reason in reasons.values()), reasons
    assert contact(db_url, "bo@example.com")["state"] is None
    # A person corrects the city by hand to Kajabi's: the address now agrees and is completed.
    execute(db_url, "UPDATE contacts SET city = 'Denver' WHERE email = 'bo@example.com'")
    week_4, _ = apply_rows(db_url, dict(email="bo@example.com", **denver), name="w4")
    assert _decisions(week_4, "bo@example.com")["state"] == "fill"
    stored = contact(db_url, "bo@example.com")
    assert {f: stored[f] for f in denver} == denver


def test_a_part_kajabi_does_not_have_is_a_disagreement(db_url):
    insert_contacts(db_url, dict(email="bo@example.com", address_line_2="Unit 4", city="Boulder"))
    without_unit = FULL_BOULDER | dict(address_line_2=None)
    plan, written = apply_rows(db_url, dict(email="bo@example.com", **without_unit))
    assert written.fields_written == 0
    assert _decisions(plan, "bo@example.com")["address_line_1"] == "unattributed"


def test_a_part_the_database_emptied_is_not_filled_again_and_says_so(db_url):
    insert_contacts(db_url, dict(email="bo@example.com", **FULL_BOULDER))
    apply_rows(db_url, dict(email="bo@example.com", **FULL_BOULDER), name="w1")
    execute(db_url, "UPDATE contacts SET address_line_2 = NULL WHERE email = 'bo@example.com'")
    week_2, written = apply_rows(db_url, dict(email="bo@example.com", **FULL_BOULDER), name="w2")
    assert _decisions(week_2, "bo@example.com") == {"address_line_2": "kept_db"}
    assert "emptied since" in _reasons(week_2, "bo@example.com")["address_line_2"]
    assert written.fields_written == 0
    assert contact(db_url, "bo@example.com")["address_line_2"] is None


def test_a_protected_partial_address_is_not_completed(db_url):
    insert_contacts(
        db_url, dict(email="bo@example.com", city="Boulder", billing_address_source="paypal")
    )
    for week in ("w1", "w2"):
        plan, written = apply_rows(db_url, dict(email="bo@example.com", **FULL_BOULDER), name=week)
        assert set(_decisions(plan, "bo@example.com").values()) == {"protected"}
        assert written.fields_written == 0
    assert count(db_url, "SELECT count(*) FROM contacts WHERE state IS NOT NULL") == 0

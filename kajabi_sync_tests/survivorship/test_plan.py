"""Each survivorship decision on small hand-written cases, planned (and applied) on real Postgres."""

from __future__ import annotations

from kajabi_sync.fields import ADDRESS_FIELDS
from kajabi_sync.survivorship.plan import PlanSettings
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.survivorship.steps import (
    apply_rows,
    contact,
    count,
    decisions,
    execute,
    plan_rows,
)

TRUST_KAJABI = PlanSettings(first_import="trust_kajabi")
FULL_ADDRESS = dict(
    address_line_1="5 Oak Ave",
    address_line_2="Apt 3",
    city="Denver",
    state="CO",
    postal_code="80202",
    country="US",
)


def test_case_spacing_and_phone_format_are_cosmetic_and_keep_the_database_form(db_url):
    insert_contacts(
        db_url,
        dict(email="ann@example.com", first_name="Mary Ann", phone="+13035550101", city="Denver"),
    )
    plan, result = apply_rows(
        db_url,
        dict(
            email="ann@example.com", first_name="mary  ann", phone="(303) 555-0101", city="DENVER"
        ),
    )
    assert decisions(plan) == {
        ("ann@example.com", "first_name"): "cosmetic",
        ("ann@example.com", "phone"): "cosmetic",
        ("ann@example.com", "city"): "cosmetic",
    }
    assert result.fields_written == 0
    stored = contact(db_url, "ann@example.com")
    assert (stored["first_name"], stored["phone"], stored["city"]) == (
        "Mary Ann",
        "+13035550101",
        "Denver",
    )


def test_unflagged_correction_made_before_the_first_import_is_kept_on_the_second(db_url):
    insert_contacts(db_url, dict(email="cy@example.com", city="Boulder"))
    stale = dict(email="cy@example.com", city="Bolder")
    first, _ = apply_rows(db_url, stale)
    assert decisions(first) == {("cy@example.com", "city"): "unattributed"}
    second, result = apply_rows(db_url, stale)
    assert decisions(second) == {("cy@example.com", "city"): "kept_db"}
    assert result.fields_written == 0
    assert contact(db_url, "cy@example.com")["city"] == "Boulder"


def test_unflagged_correction_made_between_imports_is_kept(db_url):
    insert_contacts(db_url, dict(email="cy@example.com", city="Bolder"))
    stale = dict(email="cy@example.com", city="Bolder")
    first, _ = apply_rows(db_url, stale)
    assert decisions(first) == {}
    execute(db_url, "UPDATE contacts SET city = 'Boulder'")  # a hand correction, no flag
    second, _ = apply_rows(db_url, stale)
    assert decisions(second) == {("cy@example.com", "city"): "kept_db"}
    assert contact(db_url, "cy@example.com")["city"] == "Boulder"


def test_kajabi_side_phone_edit_is_applied_on_the_second_import(db_url):
    insert_contacts(
        db_url,
        dict(email="pat@example.com", phone="(303) 555-0101"),
        dict(email="kim@example.com", phone="(303) 555-0102", phone_source="kajabi"),
    )
    first, _ = apply_rows(
        db_url,
        dict(email="pat@example.com", phone="303-555-0101"),
        dict(email="kim@example.com", phone="3035550102"),
    )
    assert set(decisions(first).values()) == {"cosmetic"}
    second, result = apply_rows(
        db_url,
        dict(email="pat@example.com", phone="303-555-0199"),
        dict(email="kim@example.com", phone="3035550188"),
    )
    assert decisions(second) == {
        ("pat@example.com", "phone"): "update",
        ("kim@example.com", "phone"): "update",
    }
    assert result.fields_written == 2
    assert contact(db_url, "pat@example.com")["phone"] == "303-555-0199"
    assert contact(db_url, "kim@example.com")["phone"] == "3035550188"


def test_a_kajabi_edit_of_a_protected_phone_is_not_applied_before_convergence(db_url):
    # Kajabi has never held the enriched phones (its base is stale): whatever it sends next is
    # not known to be a person's edit, and the enriched value stays.
    insert_contacts(
        db_url,
        dict(email="pp@example.com", phone="(303) 555-0101", paypal_phone="+13035550101"),
        dict(email="zo@example.com", phone="(303) 555-0102", phone_source="zoho"),
    )
    apply_rows(
        db_url,
        dict(email="pp@example.com", phone="303-555-0111"),
        dict(email="zo@example.com", phone="303-555-0112"),
    )
    second, _ = apply_rows(
        db_url,
        dict(email="pp@example.com", phone="303-555-0199"),
        dict(email="zo@example.com", phone="303-555-0198"),
    )
    assert decisions(second) == {
        ("pp@example.com", "phone"): "protected",
        ("zo@example.com", "phone"): "protected",
    }
    assert contact(db_url, "pp@example.com")["phone"] == "(303) 555-0101"
    assert contact(db_url, "zo@example.com")["phone"] == "(303) 555-0102"


def test_conflict_is_kept_and_listed_every_week_until_the_sides_agree(db_url):
    insert_contacts(db_url, dict(email="co@example.com", city="Denver"))
    apply_rows(db_url, dict(email="co@example.com", city="Denver"))
    execute(db_url, "UPDATE contacts SET city = 'Boulder'")
    for _week in range(2):
        plan, result = apply_rows(db_url, dict(email="co@example.com", city="Aurora"))
        assert decisions(plan) == {("co@example.com", "city"): "conflict"}
        assert plan.changes.loc[0, "base_value"] == "Denver"
        assert result.fields_written == 0
        assert contact(db_url, "co@example.com")["city"] == "Boulder"
    agreed, _ = apply_rows(db_url, dict(email="co@example.com", city="boulder"))
    assert decisions(agreed) == {("co@example.com", "city"): "cosmetic"}
    # Once they agree the base moves on, and the next Kajabi edit is a plain update.
    later, _ = apply_rows(db_url, dict(email="co@example.com", city="Aurora"))
    assert decisions(later) == {("co@example.com", "city"): "update"}


def test_merged_away_email_is_never_inserted_and_only_fills_empty_fields(db_url):
    (ann,) = insert_contacts(db_url, dict(email="ann@example.com", first_name="Ann", kajabi_id="1"))
    execute(
        db_url,
        "INSERT INTO contact_emails (contact_id, email) VALUES (%s, 'Ann.Old@Example.com')",
        (ann,),
    )
    (bo,) = insert_contacts(db_url, dict(email="bo@example.com", first_name="Bo"))
    execute(
        db_url,
        "INSERT INTO kajabi_sync.merged_from (merged_email, surviving_contact_id, reason)"
        " VALUES ('bo.old@example.com', %s, 'hand merge')",
        (bo,),
    )
    rows = (
        dict(email="ann.old@example.com", first_name="Annie", city="Denver", kajabi_id="9"),
        dict(email="BO.OLD@example.com", first_name="Bob", phone="303-555-0101"),
    )
    for _week in range(2):
        plan, result = apply_rows(db_url, *rows)
        assert set(plan.matches["match_kind"]) == {"other_email"}
        assert plan.new_contacts.empty and result.contacts_created == 0
        assert decisions(plan)[("ann.old@example.com", "first_name")] == "kept_db"
        assert decisions(plan)[("ann.old@example.com", "kajabi_id")] == "kept_db"
        assert decisions(plan)[("bo.old@example.com", "first_name")] == "kept_db"
    assert count(db_url, "SELECT count(*) FROM contacts") == 2
    ann_now = contact(db_url, "ann@example.com")
    assert (ann_now["first_name"], ann_now["city"], ann_now["kajabi_id"]) == ("Ann", "Denver", "1")
    bo_now = contact(db_url, "bo@example.com")
    assert (bo_now["first_name"], bo_now["phone"]) == ("Bo", "303-555-0101")


def test_soft_deleted_contact_is_never_resurrected_nor_recreated(db_url):
    insert_contacts(
        db_url,
        dict(email="gone@example.com", first_name="Gone", kajabi_id="7", deleted_at="2026-01-01"),
    )
    plan, result = apply_rows(
        db_url,
        dict(email="Gone@Example.com", first_name="Back"),
        dict(email="other@example.com", kajabi_id="7"),
    )
    assert list(plan.matches["match_kind"]) == ["deleted", "deleted"]
    assert result.contacts_created == 0 and result.fields_written == 0
    assert count(db_url, "SELECT count(*) FROM contacts") == 1
    gone = contact(db_url, "gone@example.com")
    assert gone["deleted"] and gone["first_name"] == "Gone"


def test_another_address_of_a_soft_deleted_contact_is_not_a_new_contact(db_url):
    (gone,) = insert_contacts(db_url, dict(email="gone@example.com", deleted_at="2026-01-01"))
    execute(
        db_url,
        "INSERT INTO contact_emails (contact_id, email) VALUES (%s, 'Gone.Work@Example.com')",
        (gone,),
    )
    plan, result = apply_rows(db_url, dict(email="gone.work@example.com", first_name="Back"))
    assert list(plan.matches["match_kind"]) == ["deleted"]
    assert result.contacts_created == 0
    assert count(db_url, "SELECT count(*) FROM contacts") == 1


def test_match_by_kajabi_id_when_the_email_differs(db_url):
    insert_contacts(db_url, dict(email="old@example.com", first_name="Kay", kajabi_id="42"))
    plan, result = apply_rows(
        db_url, dict(email="new@example.com", first_name="Kay", last_name="Lee", kajabi_id="42")
    )
    assert list(plan.matches["match_kind"]) == ["kajabi_id"]
    # The new email is recorded under the contact (see test_email_change.py).
    assert decisions(plan) == {
        ("new@example.com", "last_name"): "fill",
        ("new@example.com", "email"): "email_change",
    }
    assert result.contacts_created == 0
    assert contact(db_url, "old@example.com")["last_name"] == "Lee"


def test_case_and_space_variants_of_an_email_match(db_url):
    jo, lu = insert_contacts(
        db_url, dict(email="Jo.Doe@Example.com", first_name="Jo"), dict(email="lu@example.com")
    )
    execute(
        db_url,
        "INSERT INTO contact_emails (contact_id, email) VALUES (%s, 'Lu@Work.Example.com')",
        (lu,),
    )
    plan, result = apply_rows(
        db_url,
        dict(email="  JO.DOE@example.COM ", first_name="Jo", city="Denver"),
        dict(email="lu@WORK.example.com", city="Lyon"),
    )
    assert list(plan.matches["match_kind"]) == ["email", "other_email"]
    assert list(plan.matches["contact_id"]) == [jo, lu]
    assert result.contacts_created == 0
    assert contact(db_url, "jo.doe@example.com")["city"] == "Denver"
    assert contact(db_url, "lu@example.com")["city"] == "Lyon"


def test_blank_kajabi_cells_never_blank_the_database(db_url):
    full = dict(
        first_name="Al",
        last_name="Ng",
        phone="303-555-0101",
        **FULL_ADDRESS,
        kajabi_id="3",
        kajabi_member_id="m3",
    )
    insert_contacts(db_url, dict(email="al@example.com", **full))
    for settings in (PlanSettings(), TRUST_KAJABI, PlanSettings()):
        plan, result = apply_rows(db_url, dict(email="al@example.com"), settings=settings)
        assert set(decisions(plan).values()) == {"keep_db_kajabi_blank"}
        assert len(plan.changes) == len(full)
        assert result.fields_written == 0
    stored = contact(db_url, "al@example.com")
    assert {f: stored[f] for f in full} == full


def test_address_with_a_non_kajabi_source_is_one_protected_unit(db_url):
    insert_contacts(db_url, dict(email="ad@example.com", billing_address_source="paypal"))
    plan, result = apply_rows(
        db_url,
        dict(email="ad@example.com", first_name="Ada", **FULL_ADDRESS),
        settings=TRUST_KAJABI,
    )
    found = decisions(plan)
    assert {found[("ad@example.com", f)] for f in ADDRESS_FIELDS} == {"protected"}
    assert found[("ad@example.com", "first_name")] == "fill"
    assert result.fields_written == 1
    assert all(contact(db_url, "ad@example.com")[f] is None for f in ADDRESS_FIELDS)


def test_first_import_does_not_glue_a_kajabi_address_part_to_the_database_address(db_url):
    insert_contacts(db_url, dict(email="ln@example.com", address_line_1="5 Oak Ave"))
    plan, result = apply_rows(
        db_url, dict(email="ln@example.com", address_line_1="7 Elm St", address_line_2="Apt 3")
    )
    assert decisions(plan) == {
        ("ln@example.com", "address_line_1"): "unattributed",
        ("ln@example.com", "address_line_2"): "unattributed",
    }
    assert result.fields_written == 0
    assert contact(db_url, "ln@example.com")["address_line_2"] is None


def test_an_empty_database_address_is_filled_whole(db_url):
    insert_contacts(db_url, dict(email="em@example.com"))
    plan, _ = apply_rows(db_url, dict(email="em@example.com", **FULL_ADDRESS))
    assert set(decisions(plan).values()) == {"fill"}
    stored = contact(db_url, "em@example.com")
    assert {f: stored[f] for f in ADDRESS_FIELDS} == FULL_ADDRESS


def test_a_source_column_naming_kajabi_protects_nothing(db_url):
    insert_contacts(
        db_url,
        dict(
            email="ks@example.com",
            phone="303-555-0101",
            phone_source="kajabi",
            city="Denver",
            billing_address_source="Kajabi",
            source_system="kajabi",
        ),
    )
    plan, _ = apply_rows(
        db_url,
        dict(email="ks@example.com", phone="303-555-0199", city="Aurora", state="CO"),
        settings=TRUST_KAJABI,
    )
    assert decisions(plan) == {
        ("ks@example.com", "phone"): "update",
        ("ks@example.com", "city"): "update",
        ("ks@example.com", "state"): "fill",
    }
    assert not plan.changes["protected"].any()
    stored = contact(db_url, "ks@example.com")
    assert (stored["phone"], stored["city"], stored["state"]) == ("303-555-0199", "Aurora", "CO")


def test_source_system_paypal_protects_every_field_but_empty_non_address_fields_fill(db_url):
    insert_contacts(
        db_url,
        dict(email="pp@example.com", first_name="Jo", phone="303-555-0101", source_system="paypal"),
    )
    plan, result = apply_rows(
        db_url,
        dict(
            email="pp@example.com",
            first_name="Joe",
            phone="303-555-0199",
            last_name="Ray",
            city="Denver",
        ),
        settings=TRUST_KAJABI,
    )
    assert decisions(plan) == {
        ("pp@example.com", "first_name"): "protected",
        ("pp@example.com", "phone"): "protected",
        ("pp@example.com", "last_name"): "fill",
        ("pp@example.com", "city"): "protected",
    }
    assert result.fields_written == 1
    stored = contact(db_url, "pp@example.com")
    assert (stored["first_name"], stored["phone"], stored["last_name"], stored["city"]) == (
        "Jo",
        "303-555-0101",
        "Ray",
        None,
    )


def test_paypal_name_columns_protect_a_name_but_an_empty_name_is_filled(db_url):
    insert_contacts(
        db_url,
        dict(
            email="nm@example.com",
            first_name="Bea",
            paypal_first_name="Bea",
            paypal_last_name="Cole",
        ),
    )
    plan, _ = apply_rows(
        db_url,
        dict(email="nm@example.com", first_name="Beatrice", last_name="Cole"),
        settings=TRUST_KAJABI,
    )
    assert decisions(plan) == {
        ("nm@example.com", "first_name"): "protected",
        ("nm@example.com", "last_name"): "fill",
    }
    assert (
        "paypal_first_name"
        in plan.changes.loc[plan.changes["field"] == "first_name", "reason"].iloc[0]
    )


def test_trust_kajabi_updates_an_unprotected_difference_on_the_first_import(db_url):
    insert_contacts(db_url, dict(email="tk@example.com", last_name="Smith"))
    row = dict(email="tk@example.com", last_name="Smyth")
    assert decisions(plan_rows(db_url, row)) == {("tk@example.com", "last_name"): "unattributed"}
    plan, _ = apply_rows(db_url, row, settings=TRUST_KAJABI)
    assert decisions(plan) == {("tk@example.com", "last_name"): "update"}
    assert contact(db_url, "tk@example.com")["last_name"] == "Smyth"


def test_a_field_the_database_emptied_since_the_last_import_is_not_refilled(db_url):
    insert_contacts(db_url, dict(email="em@example.com", last_name="Old"))
    row = dict(email="em@example.com", last_name="Old")
    apply_rows(db_url, row)
    execute(db_url, "UPDATE contacts SET last_name = NULL")
    plan, _ = apply_rows(db_url, row)
    assert decisions(plan) == {("em@example.com", "last_name"): "kept_db"}
    assert contact(db_url, "em@example.com")["last_name"] is None


def test_new_email_becomes_a_new_contact_with_kajabis_values(db_url):
    plan, result = apply_rows(
        db_url, dict(email=" New@Example.com", first_name="Nia", kajabi_id="77")
    )
    assert list(plan.matches["match_kind"]) == ["new"]
    assert result.contacts_created == 1
    stored = contact(db_url, "new@example.com")
    assert (stored["first_name"], stored["kajabi_id"]) == ("Nia", "77")
    assert (
        count(
            db_url,
            "SELECT count(*) FROM contacts WHERE email::text = 'New@Example.com' AND source_system = 'kajabi'",
        )
        == 1
    )
    assert count(db_url, "SELECT count(*) FROM contact_emails WHERE is_primary") == 1


def test_a_later_import_does_not_glue_a_kajabi_address_part_to_a_conflicting_database_address(
    db_url,
):
    insert_contacts(db_url, dict(email="gl@example.com", address_line_1="1 Main St"))
    apply_rows(
        db_url, dict(email="gl@example.com", address_line_1="5 Oak Ave", address_line_2="Apt 3")
    )
    plan, _ = apply_rows(
        db_url, dict(email="gl@example.com", address_line_1="7 Elm St", address_line_2="Apt 9")
    )
    assert decisions(plan)[("gl@example.com", "address_line_1")] == "conflict"
    # The database never held a line 2: it is not a conflict, but Kajabi's is not glued to the
    # database's (conflicting) line 1 either.
    assert decisions(plan)[("gl@example.com", "address_line_2")] == "kept_db"
    line_2 = plan.changes[plan.changes["field"] == "address_line_2"]
    assert line_2["reason"].str.contains("holds another address").all()
    assert contact(db_url, "gl@example.com")["address_line_2"] is None


def test_spacing_is_any_unicode_space_not_only_ascii(db_url):
    # The keys follow Python's whitespace (a line separator, a next-line control), whatever
    # storage the frames' text has.
    insert_contacts(
        db_url,
        dict(email="ann@example.com", first_name="Mary\u2028Ann", city="Fort\x85Collins"),
    )
    plan = plan_rows(
        db_url, dict(email="ann@example.com", first_name="Mary Ann", city="Fort Collins")
    )
    assert decisions(plan) == {
        ("ann@example.com", "first_name"): "cosmetic",
        ("ann@example.com", "city"): "cosmetic",
    }

"""Properties of plan + apply over random small databases and exports (hypothesis).

The protection rules are restated here independently of ``policy.py``, so a mistake there
shows up as a failing example rather than being checked against itself.
"""

from __future__ import annotations

import re

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kajabi_sync.db.apply import ImportRecord, apply_plan
from kajabi_sync.db.snapshot import load_snapshot
from kajabi_sync.fields import ADDRESS_FIELDS
from kajabi_sync.survivorship.plan import PlanSettings, build_plan
from kajabi_sync_tests.factories import export_frame, insert_contacts
from kajabi_sync_tests.survivorship.steps import RESET

# A few fields are enough to exercise every kind of protection and the address unit.
FIELDS = ("first_name", "last_name", "phone", "address_line_1", "address_line_2", "city")
VALUES = {
    "first_name": ["Ann", "ann", "Anne"],
    "last_name": ["Lee", "LEE", "Li"],
    "phone": ["303-555-0101", "(303) 555-0101", "+1 303 555 0199"],
    "address_line_1": ["5 Oak Ave", "5  oak ave", "7 Elm St"],
    "address_line_2": ["Apt 3", "apt 3", "Unit 9"],
    "city": ["Denver", "DENVER", "Aurora"],
}


def _field_value(field: str, with_empty_string: bool):
    options = [st.none(), st.sampled_from(VALUES[field])]
    if with_empty_string:
        options.append(st.just(""))  # legacy rows hold '' where they mean empty
    return st.one_of(*options)


@st.composite
def databases(draw) -> list[dict]:
    contacts = []
    for i in range(draw(st.integers(1, 4))):
        row = {"email": f"c{i}@example.com", "kajabi_id": draw(st.sampled_from([f"k{i}", None]))}
        row |= {f: draw(_field_value(f, True)) for f in FIELDS}
        row["paypal_first_name"] = draw(st.sampled_from([None, "Ann"]))
        row["paypal_last_name"] = draw(st.sampled_from([None, "Lee"]))
        row["paypal_phone"] = draw(st.sampled_from([None, "+13035550101"]))
        row["phone_source"] = draw(st.sampled_from([None, "kajabi", "paypal", "zoho"]))
        row["billing_address_source"] = draw(
            st.sampled_from([None, "kajabi", "Kajabi", "paypal", "manual"])
        )
        row["source_system"] = draw(st.sampled_from(["kajabi", "kajabi", "paypal", "zoho"]))
        row["deleted_at"] = draw(st.sampled_from([None, None, None, "2026-01-01"]))
        contacts.append(row)
    return contacts


@st.composite
def exports(draw, contacts: list[dict]) -> list[dict]:
    """One row per Kajabi contact at most, by its own email (or a case variant), a merged-away
    address, or a new address under its Kajabi ID; Kajabi IDs are stable, as in Kajabi."""
    rows = []
    for i, contact in enumerate(contacts):
        email = draw(
            st.sampled_from(
                [
                    None,
                    contact["email"],
                    contact["email"].upper(),
                    f"old{i}@example.com",
                    f"moved{i}@example.com",
                ]
            )
        )
        if email is not None:
            row = {"email": email, "kajabi_id": draw(st.sampled_from([f"k{i}", None]))}
            rows.append(row | {f: draw(_field_value(f, False)) for f in FIELDS})
    for j in range(draw(st.integers(0 if rows else 1, 2))):
        row = {"email": f"n{j}@example.com", "kajabi_id": draw(st.sampled_from([None, f"n{j}"]))}
        rows.append(row | {f: draw(_field_value(f, False)) for f in FIELDS})
    return draw(st.permutations(rows))


def _protected(contact: dict, field: str) -> bool:
    def set_(column: str) -> bool:
        return (contact[column] or "").strip() != ""

    def other_source(column: str) -> bool:
        return set_(column) and contact[column].strip().casefold() != "kajabi"

    if other_source("source_system"):
        return True
    if field == "first_name":
        return set_("paypal_first_name")
    if field == "last_name":
        return set_("paypal_last_name")
    if field == "phone":
        return other_source("phone_source") or set_("paypal_phone")
    return field in ADDRESS_FIELDS and other_source("billing_address_source")


def _same(field: str, left, right) -> bool:
    """The policy's equality, restated: phones by their last ten digits, text up to case and
    spacing; two empty values are the same."""
    if _blank(left) or _blank(right):
        return _blank(left) and _blank(right)
    if field == "phone":
        return re.sub(r"\D", "", left)[-10:] == re.sub(r"\D", "", right)[-10:]
    return " ".join(left.split()).casefold() == " ".join(right.split()).casefold()


def _agreed(old: dict, base: dict | None, field: str) -> bool:
    """Whether Kajabi held the database's value at the last import (the whole address, for an
    address part): the only case where a protected value may change."""
    if base is None:
        return False
    if field in ADDRESS_FIELDS:
        return all(_same(f, old[f], base[f]) for f in ADDRESS_FIELDS if f in FIELDS)
    return not _blank(old[field]) and _same(field, old[field], base[field])


def _bases(conn: psycopg.Connection) -> dict[str, dict]:
    cur = conn.execute(f"SELECT contact_id, {', '.join(FIELDS)} FROM kajabi_sync.kajabi_base")
    return {str(row[0]): dict(zip(FIELDS, row[1:], strict=True)) for row in cur.fetchall()}


def _read(conn: psycopg.Connection) -> dict[str, dict]:
    columns = [
        "id",
        "email",
        "deleted_at",
        *FIELDS,
        "paypal_first_name",
        "paypal_last_name",
        "paypal_phone",
        "phone_source",
        "billing_address_source",
        "source_system",
    ]
    cur = conn.execute(f"SELECT {', '.join(columns)} FROM contacts")
    return {str(row[0]): dict(zip(columns, row, strict=False)) for row in cur.fetchall()}


def _blank(value) -> bool:
    return value is None or value == ""


def _apply_and_check(
    conn: psycopg.Connection, rows: list[dict], plan_settings: PlanSettings
) -> None:
    before = _read(conn)
    bases = _bases(conn)
    known = {c["email"].lower() for c in before.values()} | {
        e for (e,) in conn.execute("SELECT lower(email::text) FROM contact_emails")
    }
    plan = build_plan(export_frame(*rows), load_snapshot(conn), plan_settings)
    apply_plan(conn, plan, ImportRecord("export.csv", "sha", len(rows)))
    after = _read(conn)
    for contact_id, old in before.items():
        new = after[contact_id]
        for field in FIELDS:
            if not _blank(old[field]):
                assert not _blank(new[field]), f"{old['email']}: {field} was blanked"
            agreed = _agreed(old, bases.get(contact_id), field)
            if _protected(old, field) and not _blank(old[field]) and not agreed:
                assert new[field] == old[field], f"{old['email']}: protected {field} changed"
            if _protected(old, field) and field in ADDRESS_FIELDS and not agreed:
                assert new[field] == old[field], (
                    f"{old['email']}: protected address part {field} filled"
                )
        if old["deleted_at"] is not None:
            assert new == old, f"soft-deleted {old['email']} was touched"
    created = {c["email"].lower() for i, c in after.items() if i not in before}
    assert not created & known, "a known (live, merged-away or deleted) email became a new contact"
    replanned = build_plan(export_frame(*rows), load_snapshot(conn), plan_settings)
    assert replanned.writes().empty, replanned.writes()[["email", "field", "decision"]].to_string()
    assert replanned.new_contacts.empty


@pytest.mark.slow
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), trust=st.booleans())
def test_random_imports_keep_protections_never_blank_and_are_idempotent(db_url, data, trust):
    plan_settings = PlanSettings(first_import="trust_kajabi" if trust else "keep_database")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(RESET)
    contacts = data.draw(databases())
    ids = insert_contacts(db_url, *contacts)
    with psycopg.connect(db_url, autocommit=True) as conn:
        for i, contact_id in enumerate(ids):
            if data.draw(st.booleans()):  # a merged-away address of this contact
                conn.execute(
                    "INSERT INTO contact_emails (contact_id, email) VALUES (%s, %s)",
                    (contact_id, f"old{i}@example.com"),
                )
        for week in range(2):
            _apply_and_check(
                conn, data.draw(exports(contacts), label=f"week {week + 1}"), plan_settings
            )

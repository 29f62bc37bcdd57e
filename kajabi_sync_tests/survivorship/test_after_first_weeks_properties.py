"""Two-week properties of points 2 and 4 of issue 14 (hypothesis, real database): protection
that ends only once Kajabi held the enriched value, and partial addresses that are completed
as one unit or kept whole, never glued, with reasons that say what is true.

The rules are restated here from the issue, not from ``plan.py``."""

from __future__ import annotations

import unicodedata

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kajabi_sync.db.apply import ImportRecord, apply_plan
from kajabi_sync.db.snapshot import load_snapshot
from kajabi_sync.survivorship.plan import PlanSettings, build_plan
from kajabi_sync_tests.factories import export_frame, insert_contacts
from kajabi_sync_tests.survivorship.steps import RESET

EMAIL = "p@example.com"
NAMES = [None, "Ann", "ANN", "Anne", "Annie"]
ADDRESSES = [
    dict(address_line_1="1 Pearl St", city="Boulder", state="CO", postal_code="80302"),
    dict(address_line_1="9 Elm St", city="Denver", state="CO", postal_code="80202"),
]
PARTS = ("address_line_1", "city", "state", "postal_code")


def _blank(value) -> bool:
    return value is None or value == ""


def _same(left, right) -> bool:
    if _blank(left) or _blank(right):
        return _blank(left) and _blank(right)
    return " ".join(left.split()).casefold() == " ".join(right.split()).casefold()


@st.composite
def addresses(draw, allow_missing: bool) -> dict:
    """One of two addresses, in any case, with some parts missing when allowed."""
    chosen = draw(st.sampled_from(ADDRESSES))
    out = {}
    for part in PARTS:
        value = draw(st.sampled_from([chosen[part], chosen[part].upper()]))
        missing = allow_missing and draw(st.booleans())
        out[part] = None if missing else value
    return out


def _state(conn: psycopg.Connection) -> tuple[dict, dict | None]:
    columns = ["first_name", *PARTS]
    row = conn.execute(f"SELECT {', '.join(columns)} FROM contacts").fetchone()
    base = conn.execute(f"SELECT {', '.join(columns)} FROM kajabi_sync.kajabi_base").fetchone()
    return dict(zip(columns, row, strict=True)), (
        None if base is None else dict(zip(columns, base, strict=True))
    )


def _check_name(before, base, after, kajabi, protected, review, plan) -> None:
    old, sent, new = before["first_name"], kajabi["first_name"], after["first_name"]
    decided = plan.changes[plan.changes["field"] == "first_name"]["decision"].tolist()
    if not protected or _blank(old):
        return
    agreed = base is not None and _same(base["first_name"], old)
    edited = not _blank(sent) and base is not None and not _same(sent, base["first_name"])
    if agreed and edited and not _same(sent, old):
        if review:
            assert new == old and decided == ["protected_edit"]
        else:
            assert new == unicodedata.normalize("NFC", sent) and decided == ["update"]
    else:
        assert new == old, f"a protected name changed without a Kajabi-side edit: {old} -> {new}"


def _check_address(before, base, after, kajabi, protected, review, held_ever, plan) -> None:
    if protected:
        # Only a Kajabi-side edit of an address Kajabi held whole may change it, and then
        # every changed part is Kajabi's.
        agreed = base is not None and all(_same(before[p], base[p]) for p in PARTS)
        changed = [p for p in PARTS if after[p] != before[p]]
        if not agreed or review:
            assert not changed, f"protected address changed: {before} -> {after}"
        for part in changed:
            assert after[part] == kajabi[part] and not _same(kajabi[part], base[part])
        return
    filled = [p for p in PARTS if _blank(before[p]) and not _blank(after[p])]
    if filled:  # never glued: every part the database has afterwards is Kajabi's
        assert all(_blank(after[p]) or _same(after[p], kajabi[p]) for p in PARTS), (before, after)

    def agrees(part: str) -> bool:
        if _blank(before[part]):
            return True
        if _same(before[part], kajabi[part]):
            return True
        edited = base is not None and _same(before[part], base[part])
        return edited and not _blank(kajabi[part]) and not _same(kajabi[part], base[part])

    held = [p for p in PARTS if not _blank(before[p])]
    if held and all(agrees(p) for p in PARTS):
        for part in PARTS:
            untaken = base is None or _blank(base[part]) or not _same(base[part], kajabi[part])
            if _blank(before[part]) and not _blank(kajabi[part]) and untaken:
                assert after[part] == kajabi[part], f"{part} not completed: {before} {kajabi}"
    emptied = plan.changes[plan.changes["reason"].fillna("").str.contains("emptied")]
    for part in emptied["field"]:
        assert held_ever[part], f"{part}: 'emptied' said of a part the database never held"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_two_weeks_of_protection_and_partial_addresses(db_url, data):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(RESET)
    name_protected = data.draw(st.booleans(), label="paypal name")
    address_protected = data.draw(st.booleans(), label="paypal address")
    review = data.draw(st.booleans(), label="protected_edit: review")
    plan_settings = PlanSettings(protected_edit="review" if review else "update")
    start = {"first_name": data.draw(st.sampled_from(NAMES[1:]), label="database name")}
    start |= data.draw(addresses(allow_missing=True), label="database address")
    insert_contacts(
        db_url,
        dict(
            email=EMAIL,
            paypal_first_name="Ann" if name_protected else None,
            billing_address_source="paypal" if address_protected else None,
            **start,
        ),
    )
    held_ever = {p: not _blank(start[p]) for p in PARTS}
    with psycopg.connect(db_url, autocommit=True) as conn:
        for week in (1, 2):
            kajabi = {"first_name": data.draw(st.sampled_from(NAMES), label=f"week {week} name")}
            kajabi |= data.draw(addresses(allow_missing=False), label=f"week {week} address")
            before, base = _state(conn)
            row = dict(email=EMAIL, **kajabi)
            plan = build_plan(export_frame(row), load_snapshot(conn), plan_settings)
            apply_plan(conn, plan, ImportRecord(f"w{week}.csv", f"sha-{week}", 1))
            after, _ = _state(conn)
            _check_name(before, base, after, kajabi, name_protected, review, plan)
            _check_address(before, base, after, kajabi, address_protected, review, held_ever, plan)
            for part in PARTS:
                held_ever[part] |= not _blank(after[part])
            again = build_plan(export_frame(row), load_snapshot(conn), plan_settings)
            assert again.writes().empty, again.writes()[["field", "decision", "reason"]]

"""The steady path (``db.steady``: rows proven unchanged in SQL are not planned in Python) gives
the plan of the full comparison, decision for decision (issue 18).

The property test plays random multi-week histories against the real database (Kajabi-side
edits, database edits, protected fields, sign-ups, deletions, email changes, merged-away
addresses) and compares, week after week, ``plan_week`` with its reference (``reference=True``).
The unit tests pin the edges of the steady predicate."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kajabi_sync.db.apply import ImportRecord, PlanOutdated, apply_plan
from kajabi_sync.db.audit import rollback_run
from kajabi_sync.db.merges import MergeRefused, merge_email_into
from kajabi_sync.db.steady import steady_snapshot
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.survivorship import plan as plan_module
from kajabi_sync.survivorship.plan import PlanSettings
from kajabi_sync.weekly_plan import WeekPlan, plan_week
from kajabi_sync_tests.factories import export_frame, insert_contacts
from kajabi_sync_tests.survivorship.test_properties import RESET

VALUES = {
    "first_name": ["Ann", "ANN", "Bob", "José"],
    "last_name": ["Lee", "Smith"],
    "phone": ["(303) 555-0101", "+13035550101", "303-555-0199"],
    "address_line_1": ["1 Pearl St", "9 Elm St"],
    "address_line_2": ["Apt 2"],
    "city": ["Boulder", "Denver"],
    "state": ["CO"],
    "postal_code": ["80302", "02130", "2130"],
    "country": ["US"],
    "kajabi_member_id": ["m1", "m2"],
}
FIELDS = tuple(VALUES)


def _frame(frame: pd.DataFrame, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """``frame`` as plain Python values (NA as None), for comparing values, not dtypes."""
    out = frame.drop(columns=[c for c in drop if c in frame.columns]).reset_index(drop=True)
    return out.astype(object).where(out.notna(), None)


def _sorted(frame: pd.DataFrame, by: list[str], drop: tuple[str, ...] = ()) -> pd.DataFrame:
    plain = _frame(frame, drop)
    return plain.sort_values(by, kind="stable").reset_index(drop=True) if len(plain) else plain


def _new_ids(week: WeekPlan) -> dict[str, str]:
    """The new contacts' (random) ids, by the row that creates or holds them."""
    plan = week.plan
    frames = [plan.new_contacts] + ([plan.held] if len(plan.held) else [])
    return {
        cid: f"row {row}"
        for frame in frames
        for cid, row in zip(frame["contact_id"], frame["row_number"], strict=True)
    }


def assert_same_plan(
    conn: psycopg.Connection, full: WeekPlan, steady: WeekPlan, every_base: WeekPlan | None = None
) -> int:
    """The steady path's week plan equals the reference's, new bases included.

    With ``every_base`` (the reference planned with no base left out, ``_every_base``): the
    bases the reference leaves out are exactly those already stored as they would be written
    (not distinct in SQL, as the apply compares them); returns how many."""
    a, b = full.plan, steady.plan
    by = ["row_number", "field"]
    pd.testing.assert_frame_equal(_sorted(a.changes, by), _sorted(b.changes, by))
    pd.testing.assert_frame_equal(_frame(a.matches), _frame(b.matches))
    pd.testing.assert_frame_equal(
        _sorted(a.new_contacts, ["row_number"], ("contact_id",)),
        _sorted(b.new_contacts, ["row_number"], ("contact_id",)),
    )
    held_a = _sorted(a.held, ["row_number"], ("contact_id",)) if len(a.held) else a.held
    held_b = _sorted(b.held, ["row_number"], ("contact_id",)) if len(b.held) else b.held
    pd.testing.assert_frame_equal(held_a, held_b)
    pd.testing.assert_frame_equal(_frame(full.candidates), _frame(steady.candidates))
    pd.testing.assert_frame_equal(_sorted(a.provenance, ["id"]), _sorted(b.provenance, ["id"]))
    assert (a.export_rows, a.matched_contacts, a.naive) == (
        b.export_rows,
        b.matched_contacts,
        b.naive,
    )
    assert b.decision_counts().equals(a.decision_counts())
    pd.testing.assert_frame_equal(_bases(full), _bases(steady))
    if every_base is None:
        return 0
    written = _bases(every_base)
    left_out = written.merge(_bases(full), how="left", indicator=True)
    left_out = left_out[left_out["_merge"] == "left_only"].drop(columns="_merge")
    assert set(_bases(full)["contact_id"]) <= set(written["contact_id"])
    assert set(left_out["contact_id"]) == _stored_as_written(conn, written)
    return len(left_out)


def _bases(week: WeekPlan) -> pd.DataFrame:
    """The plan's new bases, a new contact's by the row that creates it, sorted."""
    frame = _frame(week.plan.new_bases)
    frame["contact_id"] = frame["contact_id"].replace(_new_ids(week))
    return _sorted(frame, ["contact_id"])


def _stored_as_written(conn: psycopg.Connection, bases: pd.DataFrame) -> set[str]:
    """The contacts among ``bases`` whose stored base the row equals in SQL (IS NOT DISTINCT
    FROM over every column), as ``apply.write_bases`` compares them."""
    fields = ["kajabi_email", *CONTACT_FIELDS]
    stored = conn.execute(
        f"SELECT contact_id::text, {', '.join(fields)} FROM kajabi_sync.kajabi_base"
    ).fetchall()
    by_id = {row[0]: row[1:] for row in stored}
    same = set()
    for row in bases.itertuples(index=False):
        values = tuple(getattr(row, f) for f in fields)
        if by_id.get(row.contact_id) == values:
            same.add(row.contact_id)
    return same


def _every_base(conn: psycopg.Connection, export: pd.DataFrame, plan_settings: PlanSettings):
    """The reference plan with no base left out, as if every stored base differed."""
    with mock.patch.object(plan_module, "_stored_as_is", _nothing_stored_as_is):
        return plan_week(conn, export, plan_settings, reference=True)


def _nothing_stored_as_is(new_base: pd.DataFrame, bases: pd.DataFrame, has_base) -> np.ndarray:
    return np.zeros(len(new_base), dtype=bool)


def _plans(conn: psycopg.Connection, rows: list[dict], plan_settings: PlanSettings):
    export = export_frame(*rows)
    full = plan_week(conn, export, plan_settings, reference=True)
    steady = plan_week(conn, export, plan_settings, reference=False)
    return full, steady, _every_base(conn, export, plan_settings)


@st.composite
def _values(draw, with_empty_string: bool = False) -> dict:
    options = {f: [None, *VALUES[f]] + ([""] if with_empty_string else []) for f in FIELDS}
    return {f: draw(st.sampled_from(options[f])) for f in FIELDS}


@st.composite
def _edit(draw, row: dict) -> dict:
    """A Kajabi-side edit of one field (or none)."""
    field = draw(st.sampled_from(FIELDS))
    return row | {field: draw(st.sampled_from([None, "", *VALUES[field]]))}


_PROPERTY = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(max_examples=12, **_PROPERTY)
@given(data=st.data())
def test_steady_path_plans_what_the_full_comparison_plans(db_url, data):
    _random_history(db_url, data)


@pytest.mark.slow
@settings(max_examples=200, **_PROPERTY)
@given(data=st.data())
def test_steady_path_plans_what_the_full_comparison_plans_many_histories(db_url, data):
    _random_history(db_url, data)


def _random_history(db_url: str, data: st.DataObject) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM kajabi_sync.merge_moves; DELETE FROM kajabi_sync.merges; " + RESET
        )
    plan_settings = PlanSettings(
        first_import=data.draw(st.sampled_from(["keep_database", "trust_kajabi"])),
        email_change=data.draw(st.sampled_from(["keep_secondary", "make_primary"])),
        protected_edit=data.draw(st.sampled_from(["update", "review"])),
    )
    contacts = []
    for i in range(data.draw(st.integers(1, 5), label="contacts")):
        contact = {
            "email": data.draw(st.sampled_from([f"c{i}@example.com", f"C{i}@Example.com"])),
            "kajabi_id": data.draw(st.sampled_from([f"k{i}", None])),
            "paypal_first_name": data.draw(st.sampled_from([None, "Ann"])),
            "billing_address_source": data.draw(st.sampled_from([None, "kajabi", "paypal"])),
        }
        contacts.append(contact | data.draw(_values(with_empty_string=True)))
    ids = insert_contacts(db_url, *contacts)
    # Kajabi's rows: one per contact at first (by its email, or not there), plus sign-ups.
    rows: dict[int, dict] = {}
    for i, contact in enumerate(contacts):
        if data.draw(st.booleans()):
            values = data.draw(st.sampled_from(["same", "other"]))
            own = {f: contact[f] or None for f in FIELDS} if values == "same" else None
            rows[i] = {
                "email": contact["email"].lower(),
                "kajabi_id": f"k{i}",
                **(own or data.draw(_values())),
            }
    signups = 0
    left_out = 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        for week in range(data.draw(st.integers(2, 4), label="weeks")):
            least = 0 if rows else 1  # an export has a row at least
            for _ in range(data.draw(st.integers(least, 2), label=f"week {week} sign-ups")):
                email = f"n{signups}@example.com"
                like = data.draw(st.sampled_from([None, *range(len(contacts))]))
                values = data.draw(_values()) if like is None else dict(rows.get(like, {}))
                values = {f: values.get(f) for f in FIELDS}
                rows[100 + signups] = {"email": email, "kajabi_id": f"n{signups}", **values}
                signups += 1
            export = list(rows.values())
            full, steady, every_base = _plans(conn, export, plan_settings)
            left_out += assert_same_plan(conn, full, steady, every_base)
            chosen = data.draw(st.sampled_from([full, steady]), label="applied plan")
            apply_plan(conn, chosen.plan, ImportRecord(f"w{week}.csv", f"sha-{week}", len(export)))
            # After the import: the same export again plans the same both ways.
            left_out += assert_same_plan(conn, *_plans(conn, export, plan_settings))

            # Between imports: database edits, deletions, merged-away addresses ...
            for _ in range(data.draw(st.integers(0, 2), label=f"week {week} db edits")):
                i = data.draw(st.integers(0, len(ids) - 1))
                field = data.draw(st.sampled_from(FIELDS))
                value = data.draw(st.sampled_from([None, "", *VALUES[field]]))
                conn.execute(f"UPDATE contacts SET {field} = %s WHERE id = %s", (value, ids[i]))
            if data.draw(st.integers(0, 5), label=f"week {week} deletion") == 0:
                i = data.draw(st.integers(0, len(ids) - 1))
                conn.execute("UPDATE contacts SET deleted_at = now() WHERE id = %s", (ids[i],))
            if data.draw(st.integers(0, 3), label=f"week {week} merge") == 0:
                i = data.draw(st.integers(0, len(ids) - 1))
                try:
                    merge_email_into(conn, f"old{i}@example.com", ids[i], "test merge")
                except MergeRefused:
                    pass
            # ... and Kajabi-side edits, removals, email changes, rows of merged-away emails.
            for key in list(rows):
                action = data.draw(
                    st.sampled_from(["keep"] * 6 + ["edit", "drop", "email", "old", "accent"]),
                    label=f"week {week} row {key}",
                )
                if action == "edit":
                    rows[key] = data.draw(_edit(rows[key]))
                elif action == "drop":
                    del rows[key]
                elif action == "email":
                    rows[key] = rows[key] | {"email": f"moved{key}.{week}@example.com"}
                elif action == "accent":
                    rows[key] = rows[key] | {"email": f"rené{key}.{week}@example.com"}
                elif action == "old" and key < 100:
                    rows[key] = rows[key] | {"email": f"old{key}@example.com"}
    event(f"bases stored as they would be written, left out: {'some' if left_out else 'none'}")


def _week(url: str, *contacts: dict, rows: list[dict]) -> tuple[list[str], list[dict]]:
    """Contacts imported once from ``rows`` (their first import, applied)."""
    ids = insert_contacts(url, *contacts)
    with psycopg.connect(url, autocommit=True) as conn:
        week = plan_week(conn, export_frame(*rows), PlanSettings(), reference=True)
        apply_plan(conn, week.plan, ImportRecord("w1.csv", "sha-1", len(rows)))
    return ids, rows


def _steady(url: str, rows: list[dict]) -> set[int]:
    """The row numbers the steady predicate proves unchanged (row numbers start at 2)."""
    with psycopg.connect(url) as conn:
        with steady_snapshot(conn, export_frame(*rows)) as steady:
            return set(steady.steady["row_number"])


def _check(url: str, rows: list[dict]) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return assert_same_plan(conn, *_plans(conn, rows, PlanSettings()))


ANN = {"email": "ann@example.com", "kajabi_id": "k1", "first_name": "Ann", "city": "Boulder"}
BOB = {"email": "bob@example.com", "kajabi_id": "k2", "first_name": "Bob", "city": "Denver"}


def test_an_unchanged_row_of_a_contact_with_a_base_is_steady(db_url):
    _week(db_url, ANN, BOB, rows=[ANN, BOB])
    assert _steady(db_url, [ANN, BOB]) == {2, 3}
    assert _check(db_url, [ANN, BOB]) == 2


def test_no_base_no_steady_row(db_url):
    insert_contacts(db_url, ANN)
    assert _steady(db_url, [ANN]) == set()


def test_an_empty_string_in_the_database_is_empty_as_the_plan_reads_it(db_url):
    _week(db_url, ANN | {"last_name": ""}, rows=[ANN])
    assert _steady(db_url, [ANN]) == {2}
    assert _check(db_url, [ANN]) == 1


def test_a_stored_base_holding_an_empty_string_is_written_again(db_url):
    # The snapshot reads '' as empty, as the row's missing value: only SQL can tell the two
    # apart, so the plan keeps that base and the apply rewrites it to NULL.
    (ann,), _ = _week(db_url, ANN, rows=[ANN])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE kajabi_sync.kajabi_base SET last_name = '' WHERE contact_id = %s", (ann,)
        )
        full, steady, every_base = _plans(conn, [ANN], PlanSettings())
        assert full.plan.new_bases["contact_id"].tolist() == [ann]
        assert assert_same_plan(conn, full, steady, every_base) == 0
        apply_plan(conn, full.plan, ImportRecord("w2.csv", "sha-2", 1))
        stored = conn.execute(
            "SELECT last_name FROM kajabi_sync.kajabi_base WHERE contact_id = %s", (ann,)
        ).fetchone()
        assert stored == (None,)
        assert _check(db_url, [ANN]) == 1


def test_a_base_changed_between_plan_and_apply_refuses_the_plan(db_url):
    # The plan leaves out Ann's base, found stored as it would be written: a change to the
    # bases before the apply (here a rollback of the import that wrote them) must not slip by.
    (ann,), _ = _week(db_url, ANN, rows=[ANN])
    with psycopg.connect(db_url, autocommit=True) as conn:
        week = plan_week(conn, export_frame(ANN), PlanSettings(), reference=True)
        assert week.plan.new_bases.empty
        (first_run,) = conn.execute("SELECT max(id) FROM kajabi_sync.import_runs").fetchone()
        rollback_run(conn, first_run)
        stored = _stored(conn)
        with pytest.raises(PlanOutdated, match="bases"):
            apply_plan(conn, week.plan, ImportRecord("w2.csv", "sha-2", 1))
        assert _stored(conn) == stored
        # Planned again, the week writes Ann's base back.
        week = plan_week(conn, export_frame(ANN), PlanSettings(), reference=True)
        assert week.plan.new_bases["contact_id"].tolist() == [ann]
        apply_plan(conn, week.plan, ImportRecord("w2.csv", "sha-2", 1))
        assert conn.execute(
            "SELECT city FROM kajabi_sync.kajabi_base WHERE contact_id = %s", (ann,)
        ).fetchone() == ("Boulder",)


def _stored(conn: psycopg.Connection) -> tuple:
    return tuple(
        conn.execute(
            f"SELECT (SELECT count(*) FROM kajabi_sync.import_runs), "
            f"(SELECT count(*) FROM kajabi_sync.field_changes), "
            f"(SELECT array_agg(contact_id::text || kajabi_email || coalesce({column}, '~') "
            "ORDER BY contact_id) FROM kajabi_sync.kajabi_base)"
        ).fetchone()
        for column in CONTACT_FIELDS
    )


def test_an_empty_string_from_kajabi_is_never_steady(db_url):
    _week(db_url, ANN, rows=[ANN])
    assert _steady(db_url, [ANN | {"last_name": ""}]) == set()
    _check(db_url, [ANN | {"last_name": ""}])


def test_a_database_edit_with_kajabi_unchanged_is_planned(db_url):
    (ann, _), rows = _week(db_url, ANN, BOB, rows=[ANN, BOB])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE contacts SET city = 'Lyons' WHERE id = %s", (ann,))
    assert _steady(db_url, rows) == {3}
    with psycopg.connect(db_url, autocommit=True) as conn:
        full, steady, every_base = _plans(conn, rows, PlanSettings())
    assert steady.plan.changes[["email", "field", "decision"]].values.tolist() == [
        ["ann@example.com", "city", "kept_db"]
    ]
    with psycopg.connect(db_url, autocommit=True) as conn:
        # Kajabi sent Ann's city as before: her base stays as stored, like Bob's.
        assert assert_same_plan(conn, full, steady, every_base) == 2


def test_a_kajabi_edit_is_planned(db_url):
    _week(db_url, ANN, BOB, rows=[ANN, BOB])
    assert _steady(db_url, [ANN | {"city": "Lyons"}, BOB]) == {3}
    assert _check(db_url, [ANN | {"city": "Lyons"}, BOB]) == 1


def test_a_contact_reached_by_two_rows_is_planned(db_url):
    _week(db_url, ANN, BOB, rows=[ANN, BOB])
    # Another row carries Ann's Kajabi ID.
    rows = [ANN, BOB, {"email": "ann.new@example.com", "kajabi_id": "k1", "first_name": "Ann"}]
    assert _steady(db_url, rows) == {3}
    _check(db_url, rows)


@pytest.mark.parametrize(
    "other",
    [
        {"email": "x@example.com", "kajabi_id": "k1", "last_name": ""},
        {"email": "rené@example.com", "kajabi_id": "k1"},
    ],
)
def test_a_row_that_cannot_be_steady_still_keeps_the_contact_it_reaches_planned(db_url, other):
    _week(db_url, ANN, BOB, rows=[ANN, BOB])
    assert _steady(db_url, [ANN, BOB, other]) == {3}
    _check(db_url, [ANN, BOB, other])


def test_a_row_of_a_merged_away_email_keeps_its_contact_planned(db_url):
    (ann, _), _ = _week(db_url, ANN, BOB, rows=[ANN, BOB])
    with psycopg.connect(db_url, autocommit=True) as conn:
        merge_email_into(conn, "ann.old@example.com", ann, "same person")
    rows = [ANN, BOB, {"email": "ann.old@example.com", "first_name": "Annie"}]
    assert _steady(db_url, rows) == {3}
    _check(db_url, rows)
    # Without that row, the merged-away address reaches nobody: Ann is steady again.
    assert _steady(db_url, [ANN, BOB]) == {2, 3}


def test_a_changed_email_is_planned(db_url):
    _week(db_url, ANN, rows=[ANN])
    moved = ANN | {"email": "ann.moved@example.com"}
    assert _steady(db_url, [moved]) == set()
    _check(db_url, [moved])


def test_a_base_sent_under_another_email_is_not_steady(db_url):
    (ann,), _ = _week(db_url, ANN, rows=[ANN])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE kajabi_sync.kajabi_base SET kajabi_email = 'ann.before@example.com' "
            "WHERE contact_id = %s",
            (ann,),
        )
    assert _steady(db_url, [ANN]) == set()
    _check(db_url, [ANN])


@pytest.mark.parametrize("email", [" ann@example.com", "ann@example.com\u00a0"])
def test_a_contact_whose_email_only_the_plan_folds_to_the_rows_keeps_it_planned(db_url, email):
    """A live contact whose email SQL does not fold to the row's (surrounding spaces, a no-break
    space, that the plan's key strips) still reaches the row in the plan: not steady."""
    row = ANN | {"email": email.strip().lower()}
    _week(db_url, row, rows=[row])
    insert_contacts(db_url, {"email": email, "first_name": "Other"})
    assert _steady(db_url, [row]) == set()
    _check(db_url, [row])


def test_a_soft_deleted_contact_is_not_steady(db_url):
    (ann,), _ = _week(db_url, ANN, rows=[ANN])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE contacts SET deleted_at = now() WHERE id = %s", (ann,))
    assert _steady(db_url, [ANN]) == set()
    _check(db_url, [ANN])


def test_the_base_fingerprint_follows_every_write_of_the_base(db_url):
    (ann,), _ = _week(db_url, ANN, rows=[ANN])
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE kajabi_sync.kajabi_base SET city = NULL WHERE contact_id = %s", (ann,))
        assert _steady(db_url, [ANN]) == set()
        conn.execute("UPDATE kajabi_sync.kajabi_base SET city = '' WHERE contact_id = %s", (ann,))
        assert _steady(db_url, [ANN]) == set()  # '' is not what Kajabi sent
        conn.execute(
            "UPDATE kajabi_sync.kajabi_base SET city = 'Boulder' WHERE contact_id = %s", (ann,)
        )
    assert _steady(db_url, [ANN]) == {2}

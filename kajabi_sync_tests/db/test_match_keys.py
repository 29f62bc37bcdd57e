"""The duplicate finder's stored keys (db/match_keys.py): the search through them finds exactly
what the reference search over every live contact finds, and the table follows the contacts."""

from __future__ import annotations

import pandas as pd
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from kajabi_sync.db import match_keys
from kajabi_sync.db.apply import copy_frame
from kajabi_sync.db.snapshot import load_snapshot
from kajabi_sync.matching import prefilter
from kajabi_sync.matching.holds import PEOPLE_COLUMNS, search_in
from kajabi_sync_tests.factories import insert_contacts
from kajabi_sync_tests.guards.test_facts import latin1_db_url  # noqa: F401 (a fixture)

# Few values per field, in several spellings, so keys are shared often and normalisation
# (case, spaces, punctuation, ZIP+4, phone formats, email tags and dots) decides the matches.
VALUES = {
    "email": ["ann@x.org", "Ann.Lee+shop@x.org", "annlee@y.org", "bo@x.org", "BO@Z.ORG"],
    "first_name": ["Ann", "ann ", "Bo", "Lee", "Zoë", "O'Neil"],
    "last_name": ["Lee", "LEE", "Ann", "Smith", "oneil", "Zoë"],
    "phone": ["303-555-1234", "+1 (303) 555 1234", "303 555 1234 ext 9", "555-9999", "n/a"],
    "address_line_1": ["12 Main St", "12 main street", "7 Elm Ave", "PO Box 4", "Main St"],
    "address_line_2": ["Apt 4", "apt. 4", "12", "Suite 100"],
    "city": ["Denver", "denver ", "San Francisco", "SanFrancisco", "Zürich"],
    "state": ["CO", "co", "CA", "ZH"],
    "postal_code": ["80202", "80202-1234", "94110", "8001"],
    "country": ["US", "us", "United States", "CH"],
}
FIELDS = tuple(f for f in PEOPLE_COLUMNS)


@st.composite
def _person(draw) -> dict:
    return {f: draw(st.sampled_from([None, "", *VALUES[f]])) for f in FIELDS}


def _insert(url: str, people: list[dict], deleted: list[bool] | None = None) -> list[str]:
    rows = [
        {**p, "email": f"{i}.{p['email'] or 'none@x.org'}"}
        | ({"deleted_at": "2026-01-01"} if gone else {})
        for i, (p, gone) in enumerate(zip(people, deleted or [False] * len(people), strict=True))
    ]
    return insert_contacts(url, *rows)


def _new_frame(people: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(people, columns=list(FIELDS)).astype("string")


def _found(search, new: pd.DataFrame, threshold: float = 0.0) -> pd.DataFrame:
    """Pairs with the existing side named by contact id, as the hold step reads them."""
    pairs, live = search(new, threshold)
    ids = live["id"].to_numpy()[pairs["existing"].to_numpy(dtype=int)]
    frame = pairs.assign(existing=ids).reset_index(drop=True)
    frame["score"] = frame["score"].round(12)
    return frame


def _assert_same_search(url: str, new: pd.DataFrame) -> None:
    with psycopg.connect(url) as conn:
        reference = _found(search_in(load_snapshot(conn).contacts), new)
    with psycopg.connect(url) as conn, conn.transaction():
        through_keys = _found(match_keys.database_search(conn), new)
    pd.testing.assert_frame_equal(reference, through_keys)


def _stored(conn: psycopg.Connection) -> pd.DataFrame:
    columns = sql.SQL(", ").join(
        sql.SQL("{}::text").format(sql.Identifier(c)) for c in match_keys.KEY_COLUMNS
    )
    rows = conn.execute(
        sql.SQL("SELECT {} FROM {} ORDER BY 1").format(columns, match_keys.TABLE)
    ).fetchall()
    return pd.DataFrame(rows, columns=list(match_keys.KEY_COLUMNS)).astype(object)


def _rebuilt(conn: psycopg.Connection) -> pd.DataFrame:
    """What the table holds when every live contact is keyed from scratch."""
    conn.execute(sql.SQL("DELETE FROM {}").format(match_keys.TABLE))
    match_keys.refresh_match_keys(conn)
    return _stored(conn)


_PROPERTY = dict(
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(**_PROPERTY)
@given(
    existing=st.lists(st.tuples(_person(), st.booleans()), min_size=0, max_size=25),
    new=st.lists(_person(), min_size=1, max_size=6),
    edits=st.lists(st.tuples(st.integers(0, 24), _person()), max_size=5),
)
def test_the_search_through_stored_keys_finds_what_the_reference_finds(
    db_url, existing, new, edits
):
    with psycopg.connect(db_url) as conn:
        conn.execute("TRUNCATE contacts CASCADE")
        conn.execute(sql.SQL("TRUNCATE {}").format(match_keys.TABLE))
    ids = _insert(db_url, [p for p, _ in existing], [gone for _, gone in existing])
    frame = _new_frame(new)
    _assert_same_search(db_url, frame)
    # Edits after the keys were stored: the next search keys the edited contacts again.
    with psycopg.connect(db_url) as conn:
        for position, person in edits:
            if position < len(ids):
                assignments = sql.SQL(", ").join(
                    sql.SQL("{} = {}").format(sql.Identifier(f), sql.Literal(person[f]))
                    for f in FIELDS
                    if f != "email"
                )
                conn.execute(
                    sql.SQL("UPDATE contacts SET {} WHERE id = {}").format(
                        assignments, sql.Literal(ids[position])
                    )
                )
    _assert_same_search(db_url, frame)
    with psycopg.connect(db_url) as conn, conn.transaction():
        match_keys.refresh_match_keys(conn)
        kept = _stored(conn)
        assert len(kept) == sum(not gone for _, gone in existing)
        pd.testing.assert_frame_equal(kept, _rebuilt(conn))


def _planted(existing_count: int, new_count: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from kajabi_sync_tests.matching.test_duplicates import _planted_people

    new, existing = _planted_people(existing_count, new_count)
    # More rows share a name and postcode than a block may hold: that pass must skip them.
    crowd = existing.iloc[:80].copy()
    crowd["first_name"], crowd["last_name"], crowd["postal_code"] = "Maria", "Garcia", "10001"
    existing = pd.concat(
        [existing, crowd.assign(email="crowd" + crowd["email"])], ignore_index=True
    )
    new.loc[0, ["first_name", "last_name", "postal_code"]] = ["maria", "GARCIA", "10001-0001"]
    return new, existing


def _copy_contacts(url: str, people: pd.DataFrame) -> None:
    with psycopg.connect(url) as conn:
        copy_frame(
            conn, "contacts", people[list(FIELDS)].astype(object).where(people.notna(), None)
        )
        conn.execute("ANALYZE contacts")


def test_the_search_through_stored_keys_equals_the_reference_on_planted_people(db_url):
    new, existing = _planted(3000, 120)
    _copy_contacts(db_url, existing)
    with psycopg.connect(db_url) as conn:
        reference = _found(search_in(load_snapshot(conn).contacts), new)
    with psycopg.connect(db_url) as conn, conn.transaction():
        through_keys = _found(match_keys.database_search(conn), new)
    assert len(reference) > 50
    pd.testing.assert_frame_equal(reference, through_keys)


def test_colliding_hashes_only_widen_what_is_checked_exactly(db_url, monkeypatch):
    # Hashes with 8 values: almost every contact shares one with a new row. The exact
    # pre-filter over what they find still keeps only the rows sharing a key.
    real = prefilter.pass_hashes

    def weak(parts):
        return {name: (key % 8, present) for name, (key, present) in real(parts).items()}

    new, existing = _planted(1500, 60)
    _copy_contacts(db_url, existing)
    with psycopg.connect(db_url) as conn:
        reference = _found(search_in(load_snapshot(conn).contacts), new)
    monkeypatch.setattr(match_keys, "pass_hashes", weak)
    with psycopg.connect(db_url) as conn, conn.transaction():
        searched = match_keys.database_search(conn)
        assert len(match_keys._retrieve(conn, new)) > 0.9 * len(existing)
        through_keys = _found(searched, new)
    pd.testing.assert_frame_equal(reference, through_keys)


def test_a_large_batch_of_new_rows_is_compared_in_memory_with_the_same_result(db_url, monkeypatch):
    new, existing = _planted(1000, 40)
    _copy_contacts(db_url, existing)
    with psycopg.connect(db_url) as conn, conn.transaction():
        through_keys = _found(match_keys.database_search(conn), new)
    monkeypatch.setattr(match_keys, "IN_MEMORY_FROM", 10)
    with psycopg.connect(db_url) as conn, conn.transaction():
        in_memory = _found(match_keys.database_search(conn), new)
    assert len(through_keys) > 10
    pd.testing.assert_frame_equal(through_keys, in_memory)


def test_the_keys_follow_edits_deletions_and_the_code(db_url, monkeypatch):
    ann, bo, _cy = insert_contacts(
        db_url,
        {"email": "ann@x.org", "first_name": "Ann"},
        {"email": "bo@x.org", "first_name": "Bo"},
        {"email": "cy@x.org", "deleted_at": "2026-01-01"},
    )
    with psycopg.connect(db_url) as conn:
        assert match_keys.refresh_match_keys(conn) == 2
        assert match_keys.refresh_match_keys(conn) == 0  # nothing changed: nothing keyed
        conn.execute("UPDATE contacts SET first_name = 'Anne' WHERE id = %s", (ann,))
        conn.execute("UPDATE contacts SET deleted_at = now() WHERE id = %s", (bo,))
        assert match_keys.refresh_match_keys(conn) == 1
        stored = _stored(conn)
        assert stored["contact_id"].tolist() == [ann]
        assert stored["first_text"].tolist() == ["anne"]
        conn.commit()
    monkeypatch.setattr(match_keys, "KEYS_VERSION", "another version of the code")
    with psycopg.connect(db_url) as conn:
        assert match_keys.refresh_match_keys(conn) == 1


def test_outside_utf8_the_search_compares_in_memory(latin1_db_url):  # noqa: F811
    insert_contacts(
        latin1_db_url,
        {"email": "ann@x.org", "first_name": "Ann", "last_name": "Lee", "phone": "303-555-1234"},
    )
    new = _new_frame(
        [{"email": "al@y.org", "first_name": "Ann", "last_name": "Lee", "phone": "3035551234"}]
    )
    with psycopg.connect(latin1_db_url) as conn, conn.transaction():
        assert not match_keys.supported(conn)
        found = _found(match_keys.database_search(conn), new)
        stored = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(match_keys.TABLE)
        ).fetchone()
    assert len(found) == 1
    assert stored == (0,)


def test_the_table_has_a_column_for_every_key(db_url):
    with psycopg.connect(db_url) as conn:
        columns = conn.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = 'kajabi_sync' AND table_name = 'match_keys'
               ORDER BY ordinal_position"""
        ).fetchall()
    assert [c for (c,) in columns] == list(match_keys.KEY_COLUMNS)
    assert len(match_keys.PASS_COLUMNS) == len(prefilter.EXACT_PASSES) + len(prefilter.COARSE_PARTS)

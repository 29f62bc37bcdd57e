from collections.abc import Iterable

import pandas as pd
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from kajabi_sync.db import snapshot
from kajabi_sync.db.connection import scalar
from kajabi_sync.db.snapshot import read_query
from kajabi_sync_tests import pg

QUERY = """SELECT * FROM (VALUES (1, 'plain'), (2, NULL), (3, ''), (4, 'say "hi", ok'),
                                 (5, E'two\\nlines'), (6, '007'), (7, 'Zoë')) v(n, value) ORDER BY n"""


def test_read_query_as_arrow_text_holds_the_same_values(db_url):
    with psycopg.connect(db_url) as conn:
        python = read_query(conn, QUERY)
        arrow = read_query(conn, QUERY, arrow=True)
    assert (python.dtypes == "string").all()
    assert (arrow.dtypes == pd.StringDtype("pyarrow")).all()
    assert python["value"].tolist() == [
        "plain",
        pd.NA,
        pd.NA,
        'say "hi", ok',
        "two\nlines",
        "007",
        "Zoë",
    ]
    pd.testing.assert_frame_equal(arrow.astype("string"), python)


def test_read_query_names_a_repeated_column_as_pandas_does(db_url):
    with psycopg.connect(db_url) as conn:
        frame = read_query(conn, "SELECT 1 AS a, 2 AS b, 3 AS a, 4 AS a")
    assert list(frame.columns) == ["a", "b", "a.1", "a.2"]
    assert frame.iloc[0].tolist() == ["1", "2", "3", "4"]


def test_the_snapshot_is_read_without_jit_and_the_session_keeps_its_own_setting(
    db_url, monkeypatch
):
    seen = []
    read_snapshot = snapshot.read_snapshot

    def spy(conn: psycopg.Connection, left_out: str | None = None) -> snapshot.DatabaseSnapshot:
        seen.append(scalar(conn, "SELECT current_setting('jit')"))
        return read_snapshot(conn, left_out)

    monkeypatch.setattr(snapshot, "read_snapshot", spy)
    with psycopg.connect(db_url) as conn:
        conn.execute("SET jit = on")
        conn.commit()
        snapshot.load_snapshot(conn)
        after = scalar(conn, "SELECT current_setting('jit')")
    assert seen == ["off"]
    assert after == "on"


# The condition the snapshot's query of other addresses had before it tested byte-equal copies
# first: a copy is left out when its key is exactly the plan key of its contact's primary email.
REFERENCE_OTHER_ADDRESSES = """
    SELECT lower(e.email::text) AS email_key, e.contact_id::text AS contact_id
    FROM contact_emails e JOIN contacts c ON c.id = e.contact_id
    WHERE c.deleted_at IS NULL
      AND NOT (c.email::text ~ '^[!-~]+$'
               AND lower(e.email::text) = lower(c.email::text COLLATE "C"))"""

# Capitals, the characters around them in ASCII, the bracket and backslash the query's pattern
# names, a space and letters beyond ASCII (a dotted capital I, a dotless i, a Kelvin sign).
EMAIL_CHARACTERS = "aAzZiI@.[\\]^`{~!- éİı\u212a"
# How a contact's address in contact_emails is made from its primary email.
COPY_VARIANTS = {"same": str, "lower": str.lower, "upper": str.upper, "other": lambda e: e + "x"}


def _pairs(drawn: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(primary email, address) per (text, COPY_VARIANTS name), numbered, so no two contacts
    share an email whatever the texts (digits have no case)."""
    return [
        (f"{n}{text}", COPY_VARIANTS[kind](f"{n}{text}")) for n, (text, kind) in enumerate(drawn)
    ]


def _other_addresses(conn: psycopg.Connection, pairs: list[tuple[str, str]]) -> tuple[set, set]:
    """(the snapshot's other addresses, the reference's) for contacts with these (primary email,
    address in contact_emails) pairs, inserted in the caller's transaction."""
    for primary, address in pairs:
        contact = conn.execute(
            "INSERT INTO contacts (email) VALUES (%s) RETURNING id::text", (primary,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO contact_emails (contact_id, email) VALUES (%s, %s)", (contact, address)
        )
    got = snapshot.read_snapshot(conn).emails
    reference = read_query(conn, REFERENCE_OTHER_ADDRESSES, arrow=True)
    reference["email_key"] = snapshot.nfc(reference["email_key"])
    return (
        set(zip(got["email_key"], got["contact_id"], strict=True)),
        set(zip(reference["email_key"], reference["contact_id"], strict=True)),
    )


def test_other_addresses_leave_out_only_copies_keyed_as_their_primary_email(db_url):
    pairs = [
        ("ann@example.com", "ann@example.com"),  # a byte-equal copy: left out
        ("[a]\\b@example.com", "[a]\\b@example.com"),  # brackets, a backslash: left out
        ("Bob@Example.com", "Bob@Example.com"),  # capitals, lowered alike: left out
        ("Cy@Example.com", "cy@example.com"),  # the same key: left out
        ("zoë@example.com", "zoë@example.com"),  # beyond ASCII: kept
        ("d d@example.com", "d d@example.com"),  # a space: kept
        ("eve@example.com", "eve.old@example.com"),  # another address: kept
    ]
    with psycopg.connect(db_url) as conn:
        got, reference = _other_addresses(conn, pairs)
    assert got == reference
    assert {key for key, _ in got} == {"zoë@example.com", "d d@example.com", "eve.old@example.com"}


# Each example's rows are rolled back: the database the fixture made is empty for the next one.
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(
            st.text(EMAIL_CHARACTERS, min_size=1, max_size=6),
            st.sampled_from(list(COPY_VARIANTS)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_other_addresses_match_the_reference_condition(db_url, drawn):
    with psycopg.connect(db_url) as conn:
        got, reference = _other_addresses(conn, _pairs(drawn))
        conn.rollback()
    assert got == reference


def test_other_addresses_match_the_reference_condition_in_a_turkish_collation(pg_admin_url):
    # lower() of a capital I is a dotless i in Turkish: a byte-equal copy with capitals is then
    # not keyed as its primary email, and the shortcut must leave it to the full condition.
    name = pg.scratch_name()
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        try:
            admin.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' "
                    "LOCALE_PROVIDER icu ICU_LOCALE 'tr-TR'"
                ).format(sql.Identifier(name))
            )
        except psycopg.errors.FeatureNotSupported as error:  # the embedded server's build
            pytest.skip(f"this PostgreSQL has no ICU collations: {error}")
    try:
        url = pg.with_database(pg_admin_url, name)
        pg.migrate_url(url)
        strings = [a + b for a in EMAIL_CHARACTERS for b in ("", *EMAIL_CHARACTERS)]
        pairs = _pairs((text, kind) for text in strings for kind in COPY_VARIANTS)
        with psycopg.connect(url) as conn:
            got, reference = _other_addresses(conn, pairs + [("I@x.com", "I@x.com")])
        assert got == reference
        assert "ı@x.com" in {key for key, _ in got}
    finally:
        pg.drop_database(pg_admin_url, name)

"""The plan decides fields only for rows that differ from their contact (``build_plan``): a row
whose every Kajabi field equals its contact's, byte for byte or empty on both sides, is left
``unchanged`` without being decided. These properties hold that shortcut to deciding every
row: over random rows, contacts, bases, protections and settings, deciding all rows at once
gives ``unchanged`` for every field of such a row, and the same decisions, reasons and
not-taken address parts for the other rows as deciding them alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.frames import ARROW_TEXT
from kajabi_sync.normalize import same_text
from kajabi_sync.survivorship.decisions import Decision
from kajabi_sync.survivorship.plan import PlanSettings, _decide_fields
from kajabi_sync.survivorship.policy import MANUAL_FIELDS_COLUMN, POLICY, PROVENANCE_COLUMNS

VALUES = {
    "first_name": ["Ann", "ann", "José", "Jose\u0301"],
    "last_name": ["Lee", "LEE"],
    "phone": ["303-555-0101", "+13035550101", "303-555-0199"],
    "address_line_1": ["5 Oak Ave", "5  oak ave", "7 Elm St"],
    "address_line_2": ["Apt 3"],
    "city": ["Denver", "DENVER"],
    "state": ["CO"],
    "postal_code": ["80202", "02130", "2130"],
    "country": ["US"],
    "kajabi_id": ["k1", "k2"],
    "kajabi_member_id": ["m1"],
}
assert tuple(VALUES) == CONTACT_FIELDS
PROVENANCE = {
    "source_system": ["kajabi", "paypal"],
    "paypal_first_name": ["Ann"],
    "paypal_last_name": ["Lee"],
    "paypal_phone": ["+13035550101"],
    "phone_source": ["kajabi", "zoho"],
    "billing_address_source": ["Kajabi", "paypal"],
}
MANUAL = [",first_name,", ",city,phone,"]


def _value(options: list[str]):
    return st.one_of(st.none(), st.sampled_from(options))


@st.composite
def plan_inputs(draw):
    """(rows, db, bases, fill_only) aligned on one index, as build_plan hands them over."""
    n = draw(st.integers(1, 12))
    db = {f: [draw(_value(v)) for _ in range(n)] for f, v in VALUES.items()}
    # Kajabi's row: often the contact's values exactly (a quiet row), else drawn field by field.
    quiet = [draw(st.booleans()) for _ in range(n)]
    kajabi = {
        f: [db[f][i] if quiet[i] or draw(st.booleans()) else draw(_value(v)) for i in range(n)]
        for f, v in VALUES.items()
    }
    has_base = [draw(st.booleans()) for _ in range(n)]
    base = {
        f: [
            (kajabi[f][i] if draw(st.booleans()) else draw(_value(v))) if has_base[i] else None
            for i in range(n)
        ]
        for f, v in VALUES.items()
    }
    index = pd.Index(draw(st.permutations(range(100, 100 + n))))
    text = lambda values: pd.Series(values, index=index, dtype=ARROW_TEXT)  # noqa: E731
    missing = [c for c in PROVENANCE_COLUMNS if c not in PROVENANCE]
    assert not missing, f"a provenance column the test does not draw: {missing}"
    contacts = pd.DataFrame(
        {
            **{f: text(db[f]) for f in CONTACT_FIELDS},
            **{c: text([draw(_value(v)) for _ in range(n)]) for c, v in PROVENANCE.items()},
            MANUAL_FIELDS_COLUMN: text([draw(_value(MANUAL)) for _ in range(n)]),
        },
        index=index,
    )
    kinds = [
        draw(st.sampled_from(["email", "email", "kajabi_id", "other_email"])) for _ in range(n)
    ]
    rows = pd.DataFrame(
        {
            "email": text([f"c{i}@example.com" for i in range(n)]),
            **{f: text(kajabi[f]) for f in CONTACT_FIELDS},
            "match_kind": pd.Series(kinds, index=index, dtype="string"),
        },
        index=index,
    )
    bases = pd.DataFrame(
        {
            "kajabi_email": text([f"c{i}@example.com" if has_base[i] else None for i in range(n)]),
            **{f: text(base[f]) for f in CONTACT_FIELDS},
        },
        index=index,
    )
    fill_only = rows["match_kind"] == "other_email"
    return rows, contacts, bases, fill_only.astype(bool)


@settings(max_examples=60, deadline=None)
@given(
    inputs=plan_inputs(),
    first_import=st.sampled_from(["keep_database", "trust_kajabi"]),
    protected_edit=st.sampled_from(["update", "review"]),
)
def test_deciding_only_the_rows_that_differ_decides_as_deciding_every_row(
    inputs, first_import, protected_edit
):
    rows, db, bases, fill_only = inputs
    plan_settings = PlanSettings(first_import=first_import, protected_edit=protected_edit)
    equal = {name: same_text(db[name], rows[name]) for name in POLICY}
    quiet = np.logical_and.reduce(
        [equal[f] | (db[f].isna().to_numpy() & rows[f].isna().to_numpy()) for f in POLICY]
    )
    every, every_untaken = _decide_fields(rows, db, bases, fill_only, equal, plan_settings)
    loud = ~quiet
    alone, alone_untaken = _decide_fields(
        rows[loud],
        db[loud],
        bases[loud],
        fill_only[loud],
        {f: e[loud] for f, e in equal.items()},
        plan_settings,
    )
    quiet_index = rows.index[quiet]
    for name in POLICY:
        decision, reason, protected = every[name]
        assert (decision[quiet_index] == Decision.UNCHANGED.value).all(), name
        assert reason[quiet_index].isna().all(), name
        pd.testing.assert_series_equal(decision[alone[name][0].index], alone[name][0])
        pd.testing.assert_series_equal(reason[alone[name][1].index], alone[name][1])
        pd.testing.assert_series_equal(protected[alone[name][2].index], alone[name][2])
    assert not every_untaken.loc[quiet_index].to_numpy().any()
    pd.testing.assert_frame_equal(every_untaken.loc[alone_untaken.index], alone_untaken)

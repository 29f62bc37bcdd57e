"""Matching each export row to a contact, in the order the user trusts.

1. a live contact whose primary email is the row's email;
2. a live contact that holds the email as another address (``contact_emails``) or that the
   email was merged into (``merged_from``): a merged-away address is never a new contact;
3. a live contact with the same Kajabi ``ID``.
Another address that Kajabi itself sent for the contact at the last import (its base: an email
recorded when the person changed it in Kajabi, see ``plan.email_changes``) is the contact's own
row: it decides the fields like its primary email does (``secondary_email``), where another
address may only fill empty fields.
A row whose email or Kajabi ID belongs only to a soft-deleted contact is NOT a new contact
(soft-deleted contacts are never resurrected, nor recreated); anything else is new.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kajabi_sync.db.snapshot import DatabaseSnapshot
from kajabi_sync.frames import ARROW_TEXT, concat_rows
from kajabi_sync.normalize import arrow_text, email_key

MatchKind = Literal["email", "secondary_email", "other_email", "kajabi_id", "deleted", "new"]

# How much a match may change the contact it found (see plan.py).
DRIVING_MATCHES = ("email", "secondary_email", "kajabi_id")


def _positions(keys: pd.Series, stored: pd.Series) -> pa.Array:
    """Per key the position of the first equal value in ``stored`` (null when none, and for a
    missing key), hashed by Arrow."""
    return pc.index_in(arrow_text(keys), value_set=arrow_text(stored), skip_nulls=True)


def _lookup(keys: pd.Series, table: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Map keys through ``table`` (the first row's value per key, deterministic).

    Hashed by Arrow: pandas' dropna/drop_duplicates/map over Python strings were a large part
    of the plan's time (benchmarks/RESULTS.md)."""
    position = _positions(keys, table[key])
    column = table[value]
    if column.dtype == ARROW_TEXT:
        # Taken in Arrow (a key not found takes null): no Python string per row.
        taken = pc.take(arrow_text(column), position)
        if not isinstance(taken, pa.ChunkedArray):
            taken = pa.chunked_array([taken])
        return pd.Series(pd.arrays.ArrowStringArray(taken), index=keys.index, dtype=ARROW_TEXT)
    found = pc.is_valid(position).to_numpy(zero_copy_only=False)
    values = np.full(len(keys), None, dtype=object)
    rows = pc.drop_null(position).to_numpy()
    values[found] = column.to_numpy(dtype=object)[rows]
    return pd.Series(values, index=keys.index, dtype=column.dtype)


def rows_by_key(frame: pd.DataFrame, key: str, keys: pd.Series) -> pd.DataFrame:
    """``frame.set_index(key).reindex(keys)`` with ``keys``' index: per key the row of ``frame``
    holding it (all NA when none, and for a missing key). ``frame``'s keys must be unique, as
    reindex requires.

    A frame of Arrow-backed text only is taken by Arrow, without hashing its keys into a pandas
    index or copying each column through one: every other frame goes through reindex."""
    if not all(dtype == ARROW_TEXT for dtype in frame.dtypes):
        aligned = frame.set_index(key).reindex(keys)
        aligned.index = keys.index
        return aligned
    if frame[key].nunique(dropna=False) < len(frame):
        raise ValueError(f"rows_by_key: {key} holds a key twice (reindex would refuse it)")
    others = pa.Table.from_pandas(frame.drop(columns=key), preserve_index=False)
    aligned = others.take(_positions(keys, frame[key])).to_pandas(
        types_mapper={pa.large_string(): ARROW_TEXT, pa.string(): ARROW_TEXT}.get
    )
    aligned.index = keys.index
    return aligned


def match_rows(export: pd.DataFrame, snapshot: DatabaseSnapshot) -> pd.DataFrame:
    """Per export row: ``contact_id`` (NA for new/deleted) and ``match_kind``, index as export."""
    contacts = pd.DataFrame(
        {
            "email_key": email_key(snapshot.contacts["email"]),
            "id": snapshot.contacts["id"],
            "kajabi_id": snapshot.contacts["kajabi_id"],
        }
    )
    by_email = _lookup(export["email"], contacts, "email_key", "id")
    other = concat_rows([snapshot.emails, snapshot.merged])
    by_other = _lookup(export["email"], other, "email_key", "contact_id")
    by_kajabi_id = _lookup(export["kajabi_id"], contacts, "kajabi_id", "id")
    deleted_email = export["email"].isin(snapshot.deleted["email_key"].dropna())
    deleted_id = export["kajabi_id"].isin(snapshot.deleted["kajabi_id"].dropna())

    contact_id = by_email.combine_first(by_other).combine_first(by_kajabi_id).astype("string")
    kind = pd.Series("new", index=export.index, dtype="string")
    kind = kind.mask((deleted_email | deleted_id) & contact_id.isna(), "deleted")
    kind = kind.mask(by_kajabi_id.notna(), "kajabi_id")
    kind = kind.mask(by_other.notna(), "other_email")
    # The address Kajabi itself sent for the contact at the last import (its base): the
    # contact's own Kajabi row, e.g. after the person changed their email in Kajabi.
    base_email = _lookup(by_other.astype("string"), snapshot.bases, "contact_id", "kajabi_email")
    own = by_other.notna() & (base_email.astype("string").str.lower() == export["email"])
    kind = kind.mask(own.fillna(False).astype(bool), "secondary_email")
    kind = kind.mask(by_email.notna(), "email")
    return pd.DataFrame({"contact_id": contact_id, "match_kind": kind}, index=export.index)


def driving_rows(export: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """One export row per matched contact: the row that decides its fields.

    A contact can be reached by several rows (its own email and a merged-away one). Its own
    email wins, then its Kajabi ID (with or without one of its own addresses), then another
    address; among equals the earlier row.
    """
    if not matches.index.equals(export.index):  # positions below are the export's
        matches = matches.reindex(export.index)
    rank = matches["match_kind"].map(
        {"email": 0, "secondary_email": 1, "kajabi_id": 1, "other_email": 2}
    )
    # Ordered and deduplicated on the three columns it needs, then the chosen rows taken once:
    # joining, filtering and sorting every column of the export would copy each one thrice.
    matched = np.flatnonzero(matches["contact_id"].notna().to_numpy())
    order = np.lexsort(
        (
            export["row_number"].to_numpy()[matched],
            rank.to_numpy(dtype="float64", na_value=np.inf)[matched],
        )
    )
    ranked = matched[order]
    first = ~pd.Series(matches["contact_id"].to_numpy()[ranked]).duplicated().to_numpy()
    chosen = ranked[first]
    return export.iloc[chosen].join(matches.iloc[chosen])

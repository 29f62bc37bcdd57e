"""The naive import kajabi_sync replaces, defined once: what it does, and what it would destroy.

The old import read the export row by row: a row whose email is a live contact's primary email
ran ``UPDATE contacts SET f = COALESCE(NULLIF(kajabi, ''), f)`` for every contact field; any
other email was INSERTed as a new contact. So every non-blank Kajabi cell replaced the
database's value, whatever the database knew better (an enriched phone, a corrected address),
and a merged-away or deleted contact's email came back as a new contact.

Three users, one definition:

- the plan counts what it would have done to this week's export (``naive_import_impact``);
- the demo measures its damage on generated data, by kind of contact (``naive_damage``);
- the benchmark times it as the baseline (``naive_import``, row by row on purpose: that is the
  cost being measured; never called by the pipeline).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.kajabi.columns import (
    EMAIL_COLUMN,
    FIELD_FROM_FIXED_COLUMN,
    FIELD_FROM_HANDLE,
    mapped_columns_by_handle,
)
from kajabi_sync.normalize import blank_to_na, same_text
from kajabi_sync.survivorship.decisions import DIVERGENT_DECISIONS
from kajabi_sync.survivorship.policy import POLICY, comparison_key

# The fields its UPDATE overwrites and its INSERT fills.
NAIVE_FIELDS: tuple[str, ...] = CONTACT_FIELDS
# Provenance flags that mark a value as another source's or a person's.
_OTHER_SOURCES = ("manual", "paypal", "unknown_legacy", "ticket_tailor", "zoho")
_CORRECTED_ADDRESS = ("manual", "paypal", "unknown_legacy")


def overwritten_cells(
    kajabi: pd.DataFrame,
    db: pd.DataFrame,
    recognised: np.ndarray,
    fields: tuple[str, ...] = NAIVE_FIELDS,
    db_is_kajabi: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Per field, the cells the naive UPDATE would change: the row's contact ``recognised`` (by
    its primary email), Kajabi's cell not blank, and the database's value not the same text.

    ``kajabi`` and ``db`` are aligned row by row; ``db_is_kajabi``: per field,
    ``normalize.same_text(db[f], kajabi[f])`` where already known."""
    known = db_is_kajabi or {}
    out = {}
    for field in fields:
        same = known[field] if field in known else same_text(db[field], kajabi[field])
        # Most cells are byte-equal: blank-testing only the others keeps this cheap.
        rows = np.flatnonzero(recognised & ~same)
        written = np.zeros(len(kajabi), dtype=bool)
        written[rows] = blank_to_na(kajabi[field].iloc[rows]).notna().to_numpy()
        out[field] = written
    return pd.DataFrame(out, index=kajabi.index)


def _paypal_enriched(db: pd.DataFrame) -> np.ndarray:
    return (
        db[["paypal_first_name", "paypal_last_name", "paypal_phone", "shipping_address_line_1"]]
        .notna()
        .any(axis=1)
        | db["source_system"].astype("string").str.casefold().eq("paypal").fillna(False)
    ).to_numpy()


def naive_import_impact(
    matches: pd.DataFrame,
    rows: pd.DataFrame,
    db: pd.DataFrame,
    changes: pd.DataFrame,
    db_is_kajabi: Mapping[str, np.ndarray] | None = None,
) -> dict[str, int]:
    """What the naive import would have done with this week's export, in the plan's terms.

    ``matches``: every export row's ``match_kind``; ``rows``, ``db``: the matched rows and their
    contacts, aligned; ``changes``: the plan's decisions."""
    # The naive import only recognised a contact by its primary email.
    by_email = (rows["match_kind"] == "email").to_numpy()
    overwritten = overwritten_cells(rows, db, by_email, db_is_kajabi=db_is_kajabi)
    overwritten.index = pd.Index(rows["contact_id"].to_numpy(), name="contact_id")
    touched = overwritten.any(axis=1)
    # The (contact, field) cells written, read off the boolean matrix at once.
    contact_at, field_at = np.nonzero(overwritten.to_numpy())
    hits = pd.DataFrame(
        {
            "contact_id": overwritten.index.to_numpy()[contact_at],
            "field": np.asarray(overwritten.columns, dtype=object)[field_at],
        }
    )
    lost = changes.merge(hits, on=["contact_id", "field"], how="inner")
    protected = lost["protected"].astype(bool)
    enriched_ids = set(lost.loc[protected, "contact_id"])
    # An unprotected value the database keeps while Kajabi holds another (no source column
    # explains it, and it is not a Kajabi-side edit): a correction the naive import would lose.
    corrected_ids = set(
        lost.loc[~protected & lost["decision"].isin(DIVERGENT_DECISIONS), "contact_id"]
    )

    paypal = _paypal_enriched(db)
    zoho = db["zoho_id"].notna().to_numpy()
    enriched = touched.index.isin(list(enriched_ids))
    kinds = matches["match_kind"]
    return {
        "contacts_overwritten": int(touched.sum()),
        "values_overwritten": int(overwritten.to_numpy().sum()),
        "contacts_with_enriched_data_overwritten": len(enriched_ids),
        "contacts_with_corrected_data_lost": len(corrected_ids),
        "paypal_enriched_contacts_overwritten": int((touched.to_numpy() & paypal & enriched).sum()),
        "zoho_linked_contacts_overwritten": int((touched.to_numpy() & zoho).sum()),
        "merged_duplicates_recreated": int((kinds == "other_email").sum()),
        "deleted_contacts_recreated": int((kinds == "deleted").sum()),
        "duplicates_by_kajabi_id_created": int(kinds.isin(["kajabi_id", "secondary_email"]).sum()),
        "contacts_inserted": int((kinds != "email").sum()),
    }


def naive_damage(
    db: pd.DataFrame, kajabi: pd.DataFrame, fields: tuple[str, ...] = NAIVE_FIELDS
) -> dict[str, int]:
    """Contacts whose database value the naive import would replace, by what the database knows
    of them. ``db`` and ``kajabi``: the contacts it recognises and their export rows, aligned.

    A difference in text is counted apart from one in meaning (not case, spacing or phone
    style: the plan's comparison keys); the flags tell enriched and corrected contacts from
    those no source column explains."""
    written = overwritten_cells(kajabi, db, np.ones(len(db), dtype=bool), fields)
    meaning = np.zeros(len(db), dtype=bool)
    for field in fields:
        rows = np.flatnonzero(written[field].to_numpy())
        comparison = POLICY[field].comparison
        new = comparison_key(kajabi[field].iloc[rows], comparison).reset_index(drop=True)
        old = comparison_key(db[field].iloc[rows], comparison).reset_index(drop=True)
        meaning[rows] |= (new != old).fillna(True).to_numpy(dtype=bool)

    paypal = _paypal_enriched(db)
    zoho = db["zoho_id"].notna().to_numpy()
    flagged_phone = db["phone_source"].isin(_OTHER_SOURCES).to_numpy()
    flagged_address = db["billing_address_source"].isin(_CORRECTED_ADDRESS).to_numpy()
    enriched = paypal | zoho | flagged_phone | flagged_address
    return {
        "contacts_with_any_difference": int(written.to_numpy().any(axis=1).sum()),
        "contacts_with_real_overwrite": int(meaning.sum()),
        "enriched": int((meaning & enriched).sum()),
        "corrected_flagged": int((meaning & flagged_address).sum()),
        "paypal_enriched": int((meaning & paypal).sum()),
        "zoho_linked": int((meaning & zoho).sum()),
        "invisible_to_source_columns": int((meaning & ~enriched).sum()),
    }


def _column_of_field(header: list[str]) -> dict[str, str]:
    by_handle = mapped_columns_by_handle(header)
    columns = dict(FIELD_FROM_FIXED_COLUMN)
    columns.update(
        {
            field: by_handle[handle]
            for field, handle in FIELD_FROM_HANDLE.items()
            if handle in by_handle
        }
    )
    return {field: columns[field] for field in NAIVE_FIELDS if field in columns}


_SELECT = "SELECT id FROM contacts WHERE email = %s AND deleted_at IS NULL"


def naive_import(conn: psycopg.Connection, path: Path) -> dict[str, int]:
    """Run the naive import of ``path`` (one statement per row, in ONE transaction: the most
    favourable setting for it); returns how many rows it updated and inserted. It reads the file
    with the ``csv`` module, as the old script did. For the benchmark's throwaway database only."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        column_of = _column_of_field(header)
        fields = list(column_of)
        positions = [header.index(column_of[f]) for f in fields]
        email_at = header.index(EMAIL_COLUMN)
        update = sql.SQL("UPDATE contacts SET {}, updated_at = now() WHERE id = %s").format(
            sql.SQL(", ").join(
                sql.SQL("{0} = COALESCE(NULLIF(%s, ''), {0})").format(sql.Identifier(f))
                for f in fields
            )
        )
        insert = sql.SQL("INSERT INTO contacts (email, {}) VALUES (%s, {})").format(
            sql.SQL(", ").join(sql.Identifier(f) for f in fields),
            sql.SQL(", ").join(sql.SQL("NULLIF(%s, '')") for _ in fields),
        )
        updated = inserted = 0
        with conn.transaction(), conn.cursor() as cur:
            for cells in reader:
                email = cells[email_at].strip()
                if not email:
                    continue
                values = [cells[i].strip() for i in positions]
                found = cur.execute(_SELECT, (email,)).fetchone()
                if found:
                    cur.execute(update, (*values, found[0]))
                    updated += 1
                else:
                    # The old import had no savepoints: a clashing email would abort it. Skip those.
                    cur.execute(
                        sql.SQL("{} ON CONFLICT DO NOTHING").format(insert), (email, *values)
                    )
                    inserted += 1
    return {"updated": updated, "inserted": inserted}

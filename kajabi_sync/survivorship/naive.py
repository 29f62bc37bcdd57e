"""What the old import (``UPDATE ... SET f = COALESCE(kajabi, f)`` by primary email, INSERT for
every other email) WOULD have done with the same export, in the seed document's terms, so the
user sees what the protection saved."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.normalize import same_text
from kajabi_sync.survivorship.decisions import DIVERGENT_DECISIONS


def naive_import_impact(
    matches: pd.DataFrame,
    rows: pd.DataFrame,
    db: pd.DataFrame,
    changes: pd.DataFrame,
    db_is_kajabi: dict[str, np.ndarray] | None = None,
) -> dict[str, int]:
    """``db_is_kajabi``: per field, ``normalize.same_text(db[f], rows[f])`` if already known."""
    # The naive import only recognised a contact by its primary email.
    by_email = (rows["match_kind"] == "email").to_numpy()
    equal = db_is_kajabi or {}
    overwritten = pd.DataFrame(
        {
            f: by_email
            & rows[f].notna().to_numpy()
            & ~(equal[f] if f in equal else same_text(rows[f], db[f]))
            for f in CONTACT_FIELDS
        },
        index=pd.Index(rows["contact_id"].to_numpy(), name="contact_id"),
    )
    touched = overwritten.any(axis=1)
    hits = overwritten.stack()
    hits = hits[hits].index.to_frame(index=False).set_axis(["contact_id", "field"], axis=1)
    lost = changes.merge(hits, on=["contact_id", "field"], how="inner")
    protected = lost["protected"].astype(bool)
    enriched_ids = set(lost.loc[protected, "contact_id"])
    # An unprotected value the database keeps while Kajabi holds another (no source column
    # explains it, and it is not a Kajabi-side edit): a correction the naive import would lose.
    corrected_ids = set(
        lost.loc[~protected & lost["decision"].isin(DIVERGENT_DECISIONS), "contact_id"]
    )

    paypal = (
        db[["paypal_first_name", "paypal_last_name", "paypal_phone", "shipping_address_line_1"]]
        .notna()
        .any(axis=1)
        | db["source_system"].astype("string").str.casefold().eq("paypal").fillna(False)
    ).to_numpy()
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

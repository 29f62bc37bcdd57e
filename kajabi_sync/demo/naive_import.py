"""What a naive ``COALESCE(kajabi, db)`` import of week 1 would overwrite, by kind of contact.

This is the damage kajabi_sync exists to prevent, measured on the demo so the README and the
tests can quote it. A difference only counts when it changes meaning (not case or phone style).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kajabi_sync.fields import ADDRESS_FIELDS, NAME_FIELDS, PHONE_FIELDS
from kajabi_sync.normalize import blank_to_na, text_key

# The fields a naive import would overwrite: every contact field but Kajabi's own ids.
FIELDS = NAME_FIELDS + PHONE_FIELDS + ADDRESS_FIELDS
_PROVENANCE = ("manual", "paypal", "unknown_legacy", "ticket_tailor", "zoho")


def _phone_digits(series: pd.Series) -> pd.Series:
    digits = blank_to_na(series).str.replace(r"\D", "", regex=True)
    return digits.str[-10:]


def naive_overwrites(contacts: pd.DataFrame, kajabi_rows: pd.DataFrame) -> dict[str, int]:
    """Contacts whose database value a naive import would replace with a different one."""
    matched = kajabi_rows[kajabi_rows["role"] == "contact"]
    db = contacts.iloc[matched["db_row"].to_numpy()].reset_index(drop=True)
    kajabi = matched.reset_index(drop=True)
    exact_any = np.zeros(len(db), dtype=bool)
    meaning_any = np.zeros(len(db), dtype=bool)
    for field in FIELDS:
        # Cheap exact comparison first; normalised keys only for the rows that differ.
        new, old = kajabi[field].to_numpy(dtype=object), db[field].to_numpy(dtype=object)
        rows = np.flatnonzero(pd.notna(new) & (new != old))
        new, old = pd.Series(new[rows]), pd.Series(old[rows])
        differs = blank_to_na(new).notna().to_numpy()
        rows, new, old = rows[differs], new[differs], old[differs]
        exact_any[rows] = True
        if field == "phone":
            key_new, key_old = _phone_digits(new), _phone_digits(old)
        else:
            key_new, key_old = text_key(new), text_key(old)
        meaning_any[rows] |= (key_new != key_old).fillna(True).to_numpy()

    paypal = (
        db[["paypal_first_name", "paypal_phone", "shipping_address_line_1", "paypal_email"]]
        .notna()
        .any(axis=1)
        .to_numpy()
    )
    zoho = db["zoho_id"].notna().to_numpy()
    flagged_phone = db["phone_source"].isin(_PROVENANCE).to_numpy()
    flagged_address = (
        db["billing_address_source"].isin(["manual", "paypal", "unknown_legacy"]).to_numpy()
    )
    enriched = paypal | zoho | flagged_phone | flagged_address
    return {
        "contacts_with_any_difference": int(exact_any.sum()),
        "contacts_with_real_overwrite": int(meaning_any.sum()),
        "enriched": int((meaning_any & enriched).sum()),
        "corrected_flagged": int((meaning_any & flagged_address).sum()),
        "paypal_enriched": int((meaning_any & paypal).sum()),
        "zoho_linked": int((meaning_any & zoho).sum()),
        "invisible_to_source_columns": int((meaning_any & ~enriched).sum()),
    }

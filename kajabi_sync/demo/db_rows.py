"""The demo's rows for ``contacts`` and ``contact_emails``, in the contract's column names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kajabi_sync.demo.formats import utc_text, uuids
from kajabi_sync.demo.population import ADDRESS_PARTS, Population

CONTACT_COLUMNS: tuple[str, ...] = (
    "id", "email", "first_name", "last_name", "phone", *ADDRESS_PARTS, "email_subscribed",
    "source_system", "kajabi_id", "kajabi_member_id", "zoho_id", "paypal_email", "paypal_first_name",
    "paypal_last_name", "paypal_phone", "paypal_business_name", "shipping_address_line_1",
    "shipping_address_line_2", "shipping_city", "shipping_state", "shipping_postal_code",
    "shipping_country", "phone_source", "billing_address_source", "billing_address_updated_at",
    "notes", "deleted_at", "created_at", "updated_at",
)
CONTACT_EMAIL_COLUMNS: tuple[str, ...] = ("id", "contact_id", "email", "is_primary", "source", "created_at")


def contact_table(rng: np.random.Generator, population: Population, merged: pd.DataFrame, kajabi: pd.DataFrame) -> pd.DataFrame:
    """Live contacts then merged-away (soft-deleted) ones; Kajabi IDs taken from ``kajabi``."""
    live = population.live.copy()
    live["id"] = uuids(rng, len(live))
    from_db = kajabi[kajabi["db_row"] >= 0]
    for column in ("kajabi_id", "kajabi_member_id"):
        values = np.full(len(live), None, dtype=object)
        values[from_db["db_row"].to_numpy()] = from_db[column].to_numpy()
        live[column] = values
    live["deleted_s"] = -1

    away = merged.copy()
    away["id"] = uuids(rng, len(away))
    away_ids = kajabi[kajabi["role"] == "merged_away"].sort_values("merged_row")
    away["kajabi_id"] = away_ids["kajabi_id"].to_numpy()
    away["kajabi_member_id"] = away_ids["kajabi_member_id"].to_numpy()
    away["source_system"] = "kajabi"
    away["email_subscribed"] = False
    away["updated_s"] = away["deleted_s"]
    away["billing_updated_s"] = -1
    away["notes"] = "Merged by hand into another contact"

    table = pd.concat([live, away], ignore_index=True)
    for column in ("created", "updated", "deleted", "billing_updated"):
        seconds = table[f"{column}_s"].to_numpy()
        stamps = utc_text(np.maximum(seconds, 0)).astype(object)
        target = "billing_address_updated_at" if column == "billing_updated" else f"{column}_at"
        table[target] = np.where(seconds >= 0, stamps, None)
    for column in CONTACT_COLUMNS:
        if column not in table:
            table[column] = None
    return table[list(CONTACT_COLUMNS)]


def contact_email_table(rng: np.random.Generator, contacts: pd.DataFrame, merged: pd.DataFrame, live_count: int) -> pd.DataFrame:
    """Every live contact's primary email, and each merged-away email under its survivor."""
    live = contacts.iloc[:live_count]
    source = live["source_system"].to_numpy()
    primary = pd.DataFrame(
        {
            "contact_id": live["id"].to_numpy(),
            "email": live["email"].to_numpy(),
            "is_primary": True,
            "source": source,
            "created_at": live["created_at"].to_numpy(),
        }
    )
    moved = pd.DataFrame(
        {
            "contact_id": live["id"].to_numpy()[merged["survivor"].to_numpy()],
            "email": merged["email"].to_numpy(),
            "is_primary": False,
            "source": "merge",
            "created_at": contacts["deleted_at"].to_numpy()[live_count:],
        }
    )
    table = pd.concat([primary, moved], ignore_index=True)
    table.insert(0, "id", uuids(rng, len(table)))
    return table[list(CONTACT_EMAIL_COLUMNS)]

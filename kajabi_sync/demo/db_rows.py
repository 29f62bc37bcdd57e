"""The demo's rows for ``contacts`` and ``contact_emails``, in the contract's column names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kajabi_sync.db.migrate import contract_columns
from kajabi_sync.demo.formats import NULL, utc_text, uuids
from kajabi_sync.demo.population import ADDRESS_PARTS, Population
from kajabi_sync.frames import concat_rows

# The contract's own column lists (the shape migration 0001 creates), in table order.
CONTACT_COLUMNS: tuple[str, ...] = tuple(contract_columns()["contacts"])
CONTACT_EMAIL_COLUMNS: tuple[str, ...] = tuple(contract_columns()["contact_emails"])


def contact_table(
    rng: np.random.Generator, population: Population, merged: pd.DataFrame, kajabi: pd.DataFrame
) -> pd.DataFrame:
    """Live contacts then merged-away (soft-deleted) ones; Kajabi IDs taken from ``kajabi``."""
    live = population.live
    n, m = len(live), len(merged)
    from_db = kajabi[kajabi["db_row"] >= 0]
    away_ids = kajabi[kajabi["role"] == "merged_away"].sort_values("merged_row")

    def stacked(live_values: object, away_values: object) -> np.ndarray:
        return np.concatenate([_column(live_values, n), _column(away_values, m)])

    columns: dict[str, np.ndarray] = {"id": uuids(rng, n + m)}
    for column in ("email", "first_name", "last_name", "phone", *ADDRESS_PARTS):
        columns[column] = stacked(live[column].to_numpy(), merged[column].to_numpy())
    for column in ("kajabi_id", "kajabi_member_id"):
        values = np.full(n, None, dtype=object)
        values[from_db["db_row"].to_numpy()] = from_db[column].to_numpy()
        columns[column] = stacked(values, away_ids[column].to_numpy())
    columns["email_subscribed"] = stacked(live["email_subscribed"].to_numpy(), False)
    columns["source_system"] = stacked(live["source_system"].to_numpy(), "kajabi")
    columns["notes"] = stacked(live["notes"].to_numpy(), "Merged by hand into another contact")
    seconds = {
        "created_at": stacked(live["created_s"].to_numpy(), merged["created_s"].to_numpy()),
        "updated_at": stacked(live["updated_s"].to_numpy(), merged["deleted_s"].to_numpy()),
        "deleted_at": stacked(np.full(n, -1), merged["deleted_s"].to_numpy()),
        "billing_address_updated_at": stacked(live["billing_updated_s"].to_numpy(), -1),
    }
    for column, values in seconds.items():
        values = values.astype(np.int64)
        columns[column] = np.where(values >= 0, utc_text(np.maximum(values, 0)), NULL)
    # Every other column (other sources' data, provenance flags) only a live contact holds.
    for column in CONTACT_COLUMNS:
        if column not in columns:
            columns[column] = stacked(live[column].to_numpy(), None)
    return pd.DataFrame({column: columns[column] for column in CONTACT_COLUMNS})


def _column(values: object, length: int) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.astype(object)
    return np.full(length, values, dtype=object)


def contact_email_table(
    rng: np.random.Generator, contacts: pd.DataFrame, merged: pd.DataFrame, live_count: int
) -> pd.DataFrame:
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
    table = concat_rows([primary, moved])
    table.insert(0, "id", uuids(rng, len(table)))
    return table[list(CONTACT_EMAIL_COLUMNS)]

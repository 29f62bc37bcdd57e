"""What changes in Kajabi from one weekly export to the next.

Each new week: the new sign-ups appear, a few contacts are deleted in Kajabi, and about 0.5%
of contacts get a genuine Kajabi-side edit (a new phone, a corrected last name, a move).
Most edits land on fields nobody else touched; a few on fields the database protects, and a
few on fields whose database value also changed (a true conflict). Every other row stays
byte-identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kajabi_sync.demo import vocab
from kajabi_sync.demo.merges import Spare
from kajabi_sync.demo.population import ADDRESS_PARTS, Chooser
from kajabi_sync.demo.spec import DemoSpec
from kajabi_sync.frames import concat_rows

EDIT_COLUMNS = ("week", "kajabi_id", "field", "pool")
_PLAIN_FIELDS = ("phone", "last_name", "address")
_POOL_FIELD = {
    "protected_phone": "phone",
    "protected_name": "last_name",
    "protected_address": "address",
    "db_changed_phone": "phone",
    "db_changed_address": "address",
}


def present(rows: pd.DataFrame, week: int) -> np.ndarray:
    """Rows in Kajabi's export of ``week``."""
    gone = rows["gone_week"].to_numpy()
    return (rows["week_added"].to_numpy() <= week) & ((gone == 0) | (gone > week))


def advance_week(
    spec: DemoSpec, rng: np.random.Generator, rows: pd.DataFrame, week: int, spare: Spare
) -> pd.DataFrame:
    """Apply week ``week``'s deletions and edits to ``rows`` in place; return the edits made."""
    total = spec.count("kajabi_edits_per_week")
    protected = max(1, round(total * 0.15))
    conflicting = max(1, round(total * 0.15))
    pools_wanted = _cycle(("protected_phone", "protected_name", "protected_address"), protected)
    pools_wanted += _cycle(("db_changed_phone", "db_changed_address"), conflicting)
    plain_fields = _cycle(_PLAIN_FIELDS, total - protected - conflicting)

    pool = rows["edit_pool"].to_numpy()
    editable = present(rows, week - 1) & (rows["role"].to_numpy() == "contact")
    pick = Chooser(rng, len(rows))
    pick.taken |= rows["edited"].to_numpy()
    edits: list[tuple[np.ndarray, str, str]] = []
    for pool_name, field in _POOL_FIELD.items():
        wanted = pools_wanted.count(pool_name)
        available = int((editable & (pool == pool_name) & ~pick.taken).sum())
        if wanted and available:
            edits.append(
                (
                    pick.take(editable & (pool == pool_name), min(wanted, available)),
                    field,
                    pool_name,
                )
            )
    for field in _PLAIN_FIELDS:
        wanted = plain_fields.count(field)
        edits.append((pick.take(editable & (pool == "plain"), wanted), field, "plain"))
    gone = pick.take(editable & (pool == "plain"), spec.count("gone_per_week"))
    rows.loc[gone, "gone_week"] = week

    records = []
    for targets, field, pool_name in edits:
        _edit(rng, rows, targets, field, spare)
        rows.loc[targets, "edited"] = True
        records.append(
            pd.DataFrame(
                {
                    "week": week,
                    "kajabi_id": rows["kajabi_id"].to_numpy()[targets],
                    "field": field,
                    "pool": pool_name,
                }
            )
        )
    return concat_rows(records) if records else pd.DataFrame(columns=list(EDIT_COLUMNS))


def _cycle(values: tuple[str, ...], count: int) -> list[str]:
    return [values[i % len(values)] for i in range(count)]


def _edit(
    rng: np.random.Generator, rows: pd.DataFrame, targets: np.ndarray, field: str, spare: Spare
) -> None:
    if not len(targets):
        return
    if field == "phone":
        rows.loc[targets, "phone"] = spare.take(len(targets))["phone"].to_numpy()
    elif field == "last_name":
        names = np.array([name for name, _ in vocab.LAST_NAMES], dtype=object)
        current = rows["last_name"].to_numpy()[targets]
        index = rng.integers(0, len(names), len(targets))
        index = np.where(names[index] == current, (index + 1) % len(names), index)
        rows.loc[targets, "last_name"] = names[index]
    else:
        moved = spare.take(len(targets))
        for part in ADDRESS_PARTS:
            rows.loc[targets, part] = moved[part].to_numpy()

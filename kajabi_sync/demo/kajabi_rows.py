"""Everything Kajabi holds, one row per Kajabi contact, in database field names.

Rows: the live Kajabi contacts (their ``k_*`` view), the merged-away duplicates, and the
sign-ups of every week (``week_added``). Kajabi IDs grow with creation time, as Kajabi's do.
The Kajabi-only cells (tags, products, sign-ins, custom fields) are drawn once per row here,
so a contact's row is byte-identical from one week to the next unless a story edits it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kajabi_sync.demo import vocab
from kajabi_sync.demo.formats import NULL, cat, kajabi_time_text, number_text, unique_integers
from kajabi_sync.demo.population import ADDRESS_PARTS, DAY, Population

# Which pool a contact's row belongs to when a later week picks Kajabi-side edits.
EDIT_POOLS = (
    "plain",
    "protected_phone",
    "protected_name",
    "protected_address",
    "db_changed_phone",
    "db_changed_address",
)


def contact_rows(
    population: Population, changed_email: np.ndarray, new_emails: np.ndarray
) -> pd.DataFrame:
    """The live Kajabi contacts as Kajabi shows them (``changed_email`` rows get ``new_emails``)."""
    live = population.live
    rows = np.flatnonzero(live["story_in_kajabi"].to_numpy())
    frame = pd.DataFrame(
        {
            column: live["k_" + column].to_numpy()[rows]
            for column in ("email", "first_name", "last_name", "phone", *ADDRESS_PARTS)
        }
    )
    frame["middle_name"] = live["middle_name"].to_numpy()[rows]
    frame["created_s"] = live["created_s"].to_numpy()[rows]
    frame["week_added"] = 1
    frame["role"] = "contact"
    frame["db_row"] = rows
    position = np.searchsorted(rows, changed_email)
    frame.loc[position, "email"] = new_emails
    frame["edit_pool"] = _edit_pool(live, rows)
    frame.loc[position, "edit_pool"] = None
    return frame


def _edit_pool(live: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    def flag(column: str) -> np.ndarray:
        return live[column].to_numpy()[rows] if column in live else np.zeros(len(rows), dtype=bool)

    corrected = flag("story_corrected_address")
    flagged = flag("story_corrected_flagged")
    busy = flag("story_survivor") | flag("story_duplicate_target")
    conditions = [
        flag("story_plain") & ~busy,
        flag("story_phone_enriched"),
        flag("story_paypal_name"),
        corrected & flagged,
        flag("story_stale_kajabi_source_phone"),
        corrected & ~flagged,
    ]
    return np.select(conditions, list(EDIT_POOLS), default=NULL).astype(object)


def assign_ids(rng: np.random.Generator, rows: pd.DataFrame) -> None:
    """Kajabi ``ID`` and ``Member ID`` in creation order; sign-ups are members half the time."""
    order = np.lexsort((np.arange(len(rows)), rows["created_s"].to_numpy()))
    ids = np.empty(len(rows), dtype=np.int64)
    ids[order] = unique_integers(rng, len(rows), vocab.KAJABI_ID_BASE, 9)
    rows["kajabi_id"] = ids.astype(str).astype(object)
    member = (rows["role"].to_numpy() != "signup") & (rows["role"].to_numpy() != "likely_duplicate")
    member |= rng.random(len(rows)) < 0.5
    member_ids = np.empty(len(rows), dtype=np.int64)
    member_ids[order] = unique_integers(rng, len(rows), vocab.KAJABI_MEMBER_ID_BASE, 5)
    rows["kajabi_member_id"] = np.where(member, member_ids.astype(str), NULL).astype(object)


def add_kajabi_cells(rng: np.random.Generator, rows: pd.DataFrame, first_export_s: int) -> None:
    """The cells only Kajabi has, plus cosmetic email variants; fixed per row for every week."""
    n = len(rows)
    rows["kajabi_email"] = _email_variants(rng, rows["email"].to_numpy())
    rows["products"] = _combinations(rng, n, vocab.PRODUCTS, vocab.PRODUCT_PROBABILITIES)
    rows["tags"] = _combinations(rng, n, vocab.TAGS, vocab.TAG_PROBABILITIES)
    rows["external_user_id"] = np.where(
        rng.random(n) < 0.02, cat("ext-", number_text(rng.integers(1000, 10_000, n))), NULL
    ).astype(object)

    created = rows["created_s"].to_numpy()
    export_s = first_export_s + (rows["week_added"].to_numpy() - 1) * 7 * DAY
    member = rows["kajabi_member_id"].notna().to_numpy()
    member_created = np.minimum(created + (rng.random(n) * 3 * DAY).astype(np.int64), export_s - 60)
    sign_ins = np.where(member, rng.geometric(0.08, n) - 1, 0)
    last_activity = created + (rng.random(n) * (export_s - created)).astype(np.int64)
    last_sign_in = np.maximum(created, last_activity - (rng.random(n) * 30 * DAY).astype(np.int64))
    rows["created_at"] = kajabi_time_text(created).astype(object)
    rows["member_created_at"] = np.where(member, kajabi_time_text(member_created), NULL).astype(
        object
    )
    rows["sign_in_count"] = number_text(np.minimum(sign_ins, 9999))
    rows["last_activity"] = np.where(
        rng.random(n) < 0.9, kajabi_time_text(last_activity), NULL
    ).astype(object)
    rows["last_sign_in_at"] = np.where(sign_ins > 0, kajabi_time_text(last_sign_in), NULL).astype(
        object
    )

    rows["form_name"] = np.where(rng.random(n) < 0.4, rows["first_name"], NULL)
    rows["form_email"] = np.where(rng.random(n) < 0.35, rows["email"], NULL)
    rows["mobile_phone"] = np.where(
        rows["phone"].notna() & (rng.random(n) < 0.03), rows["phone"], None
    )
    business = cat("(303) 555-01", number_text(rng.integers(0, 100, n), 2))
    rows["business_number"] = np.where(rng.random(n) < 0.01, business, NULL).astype(object)
    sources = np.array(vocab.SOURCES, dtype=object)[
        rng.choice(
            len(vocab.SOURCES), n, p=np.array(vocab.SOURCE_WEIGHTS) / sum(vocab.SOURCE_WEIGHTS)
        )
    ]
    rows["custom_1"] = np.where(sources == "", NULL, sources)
    rows["custom_2"] = np.where(rng.random(n) < 0.15, rows["last_name"], NULL)


def _email_variants(rng: np.random.Generator, email: np.ndarray) -> np.ndarray:
    """Kajabi shows some emails capitalised and some with stray spaces around them."""
    text = pd.Series(email, dtype=object)
    roll = rng.random(len(email))
    capitalised = roll < 0.04
    parts = text[capitalised].str.partition("@")
    text[capitalised] = parts[0].str.capitalize() + "@" + parts[2].str.capitalize()
    leading = (roll >= 0.04) & (roll < 0.05)
    trailing = (roll >= 0.05) & (roll < 0.06)
    text[leading] = " " + text[leading]
    text[trailing] = text[trailing] + " "
    return text.to_numpy()


def _combinations(
    rng: np.random.Generator, n: int, items: tuple[str, ...], probabilities: tuple[float, ...]
) -> np.ndarray:
    """Each row holds each item with its probability, written ``"a, b"`` (one quoted cell)."""
    bits = rng.random((n, len(items))) < np.asarray(probabilities)
    codes = bits @ (1 << np.arange(len(items)))
    table = np.array(
        [
            ", ".join(item for i, item in enumerate(items) if code >> i & 1) or None
            for code in range(1 << len(items))
        ],
        dtype=object,
    )
    return table[codes]

"""Duplicates merged by hand before kajabi_sync: the merged-away rows, soft-deleted.

Each merged-away contact keeps its own email and Kajabi IDs in ``contacts`` (``deleted_at``
set); its email now belongs to the surviving live contact in ``contact_emails``. Kajabi still
holds it as a separate contact, so a naive import would bring it back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kajabi_sync.demo import vocab
from kajabi_sync.demo.formats import NULL, other_style
from kajabi_sync.demo.people import phone_text
from kajabi_sync.demo.population import ADDRESS_PARTS, DAY, Chooser, Population, _seconds
from kajabi_sync.demo.spec import DemoSpec


class Spare:
    """Hands out unused rows of the people draw, in order (so runs stay reproducible)."""

    def __init__(self, people: pd.DataFrame, start: int) -> None:
        self.people = people
        self.next = start

    def take(self, count: int) -> pd.DataFrame:
        if self.next + count > len(self.people):
            raise ValueError("the people draw is too small for this demo spec")
        rows = self.people.iloc[self.next : self.next + count].reset_index(drop=True)
        self.next += count
        return rows


def build_merges(
    spec: DemoSpec, rng: np.random.Generator, population: Population, spare: Spare
) -> pd.DataFrame:
    """One row per merged-away contact: its own values, ``survivor`` (a live row) and ``deleted_s``."""
    live = population.live
    count = spec.count("merged_duplicates")
    pick = Chooser(rng, len(live))
    plain = live["story_plain"].to_numpy()
    from_kajabi = pick.take(plain, round(count * 0.85))
    from_paypal = pick.take(~live["story_in_kajabi"].to_numpy(), count - len(from_kajabi))
    survivors = np.sort(np.concatenate([from_kajabi, from_paypal]))
    live["story_survivor"] = pick.taken

    own = spare.take(count)
    merged = pd.DataFrame({"survivor": survivors, "email": own["email"].to_numpy()})
    merged["first_name"] = live["first_name"].to_numpy()[survivors]
    nickname = rng.random(count) < 0.2
    merged.loc[nickname, "first_name"] = rng.choice(vocab.NICKNAMES, int(nickname.sum()))
    merged["last_name"] = live["last_name"].to_numpy()[survivors]
    merged["middle_name"] = None

    survivor_has_phone = live["phone"].notna().to_numpy()[survivors]
    same_phone = survivor_has_phone & (rng.random(count) < 0.5)
    people = population.people
    restyled = phone_text(
        people["phone_kind"].to_numpy()[survivors],
        people["phone_digits"].to_numpy()[survivors],
        other_style(rng, people["phone_style"].to_numpy()[survivors]),
    )
    merged["phone"] = np.where(same_phone, restyled, NULL)
    same_address = live["address_line_1"].notna().to_numpy()[survivors] & (rng.random(count) < 0.4)
    for part in ADDRESS_PARTS:
        merged[part] = np.where(same_address, live[part].to_numpy()[survivors], NULL)

    start = np.minimum(
        live["created_s"].to_numpy()[survivors], _seconds(spec.first_export) - 400 * DAY
    )
    merged["created_s"] = start - (rng.random(count) * 300 * DAY).astype(np.int64)
    last_merge = _seconds(spec.first_export) - 7 * DAY
    merged["deleted_s"] = merged["created_s"] + (
        rng.uniform(0.5, 1.0, count) * (last_merge - merged["created_s"].to_numpy())
    ).astype(np.int64)
    return merged

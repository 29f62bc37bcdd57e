"""``generate_demo``: the demo database plus its weekly Kajabi exports, and what they contain."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from kajabi_sync import settings
from kajabi_sync.db.connection import redact_url
from kajabi_sync.demo.database import load_demo
from kajabi_sync.demo.db_rows import contact_email_table, contact_table
from kajabi_sync.demo.exports import export_path, write_export
from kajabi_sync.demo.kajabi_rows import add_kajabi_cells, assign_ids, contact_rows
from kajabi_sync.demo.merges import Spare, build_merges
from kajabi_sync.demo.people import draw_people
from kajabi_sync.demo.population import Chooser, Population, build_population
from kajabi_sync.demo.signups import export_seconds, likely_duplicates, new_signups
from kajabi_sync.demo.spec import DemoSpec
from kajabi_sync.demo.weekly import EDIT_COLUMNS, advance_week, present
from kajabi_sync.frames import concat_rows
from kajabi_sync.survivorship.naive import naive_damage

_PROVENANCE = ("paypal", "zoho", "ticket_tailor", "manual")


@dataclass(frozen=True)
class ExportWeek:
    export_date: date
    path: Path
    rows: int
    new_signups: int  # rows first seen this week (likely duplicates included)
    likely_duplicates: int
    gone: int  # contacts deleted in Kajabi since last week
    edits: int  # genuine Kajabi-side edits since last week
    edits_by_pool: dict[str, int]


@dataclass(frozen=True)
class DemoSummary:
    spec: DemoSpec
    database: str  # URL without its password
    live_contacts: int
    kajabi_contacts: int
    database_only: int
    phone_enriched: int
    kajabi_source_phones: int
    paypal_names: int
    shipping_addresses: int
    zoho_linked: int
    corrected_addresses: int
    corrected_flagged: int
    merged_duplicates: int
    contact_emails: int
    stale_names: int
    stale_phones: int
    changed_emails: int
    naive_overwrites: dict[str, int]
    exports: tuple[ExportWeek, ...]
    seconds: float
    # Row-level truth for tests: Kajabi ID -> what it is.
    likely_duplicates: pd.DataFrame = field(
        repr=False
    )  # kajabi_id, email, duplicate_kind, existing_email
    changed_email_ids: tuple[str, ...] = field(repr=False)
    edits: pd.DataFrame = field(repr=False)  # week, kajabi_id, field, pool

    def lines(self) -> list[str]:
        """A short human summary (printed by ``python -m kajabi_sync.demo``)."""
        out = [
            f"demo database {self.database}: {self.live_contacts:,} live contacts "
            f"({self.kajabi_contacts:,} in Kajabi, {self.database_only:,} database-only), "
            f"{self.merged_duplicates:,} merged duplicates soft-deleted",
            f"  enrichments: {self.phone_enriched:,} phones from other sources, {self.paypal_names:,} PayPal names, "
            f"{self.shipping_addresses:,} shipping addresses, {self.zoho_linked:,} Zoho links, "
            f"{self.corrected_addresses:,} corrected addresses ({self.corrected_flagged:,} flagged)",
            "  a naive COALESCE(kajabi, db) import of week 1 would overwrite: "
            + ", ".join(
                f"{key.replace('_', ' ')} {value:,}" for key, value in self.naive_overwrites.items()
            ),
        ]
        for week in self.exports:
            out.append(
                f"  {week.path.name}: {week.rows:,} rows, {week.new_signups:,} new sign-ups "
                f"({week.likely_duplicates:,} likely duplicates), {week.edits:,} Kajabi edits, {week.gone:,} gone"
            )
        out.append(f"  done in {self.seconds:.1f} s")
        return out


def _spare_needed(spec: DemoSpec) -> int:
    later_weeks = spec.weeks - 1
    stale = sum(
        spec.count(c)
        for c in ("stale_zoho_phones", "stale_other_phones", "stale_kajabi_source_phones")
    )
    return (
        spec.count("merged_duplicates")
        + spec.count("new_signups_first_week")
        + spec.count("changed_emails")
        + stale
        + later_weeks * (spec.count("new_signups_per_week") + spec.count("kajabi_edits_per_week"))
    )


def generate_demo(
    url: str, data_dir: Path | None = None, spec: DemoSpec | None = None, reset: bool = True
) -> DemoSummary:
    """Load the demo database (one transaction) and write its weekly exports under ``data_dir``."""
    spec = spec or DemoSpec()
    started = time.perf_counter()
    exports_dir = settings.exports_dir(Path(data_dir) if data_dir else None)
    rng = np.random.default_rng(spec.seed)
    people = draw_people(rng, spec.contacts + _spare_needed(spec))
    population = build_population(spec, rng, people)
    spare = Spare(people, population.spare_start)
    merged = build_merges(spec, rng, population, spare)
    rows, changed = _kajabi_rows(spec, rng, population, spare, merged)
    contacts = contact_table(rng, population, merged, rows)
    emails = contact_email_table(rng, contacts, merged, spec.contacts)
    naive = _naive_damage(contacts, rows)

    load_demo(
        url,
        contacts,
        emails,
        contacts_wanted=spec.contacts,
        weeks=spec.weeks,
        seed=spec.seed,
        reset=reset,
    )

    weeks: list[ExportWeek] = []
    edits: list[pd.DataFrame] = []
    for week in range(1, spec.weeks + 1):
        week_edits = (
            advance_week(spec, rng, rows, week, spare)
            if week > 1
            else pd.DataFrame(columns=list(EDIT_COLUMNS))
        )
        export_date = spec.first_export + timedelta(weeks=week - 1)
        path = export_path(exports_dir, export_date)
        count = write_export(rows, np.flatnonzero(present(rows, week)), path)
        added = rows["week_added"].to_numpy() == week
        weeks.append(
            ExportWeek(
                export_date=export_date,
                path=path,
                rows=count,
                new_signups=int(
                    (
                        added
                        & (rows["role"].to_numpy() != "contact")
                        & (rows["role"].to_numpy() != "merged_away")
                    ).sum()
                ),
                likely_duplicates=int(
                    (added & (rows["role"].to_numpy() == "likely_duplicate")).sum()
                ),
                gone=int((rows["gone_week"].to_numpy() == week).sum()),
                edits=len(week_edits),
                edits_by_pool={
                    k: int(v) for k, v in week_edits["pool"].value_counts().sort_index().items()
                },
            )
        )
        edits.append(week_edits)
    return _summary(
        spec, url, contacts, emails, population, rows, changed, naive, weeks, edits, started
    )


def _kajabi_rows(
    spec: DemoSpec,
    rng: np.random.Generator,
    population: Population,
    spare: Spare,
    merged: pd.DataFrame,
) -> tuple[pd.DataFrame, np.ndarray]:
    first_s = export_seconds(spec.first_export, 1)
    duplicate_count = min(
        spec.count("likely_duplicate_signups"), spec.count("new_signups_first_week")
    )
    duplicates = likely_duplicates(rng, population, spare, duplicate_count, first_s)
    fresh = new_signups(
        rng, spare, spec.count("new_signups_first_week") - duplicate_count, first_s, week=1
    )
    later = [
        new_signups(
            rng, spare, spec.count("new_signups_per_week"), export_seconds(spec.first_export, w), w
        )
        for w in range(2, spec.weeks + 1)
    ]

    live = population.live
    pick = Chooser(rng, len(live))
    pick.taken |= live["story_survivor"].to_numpy() | live["story_duplicate_target"].to_numpy()
    changed = pick.take(live["story_plain"].to_numpy(), spec.count("changed_emails"))
    contacts = contact_rows(population, changed, spare.take(len(changed))["email"].to_numpy())

    away = merged.drop(columns=["survivor", "deleted_s"]).assign(
        week_added=1, role="merged_away", merged_row=np.arange(len(merged))
    )
    rows = concat_rows([contacts, away, duplicates, fresh, *later])
    rows["db_row"] = rows["db_row"].fillna(-1).astype(np.int64)
    rows["merged_row"] = rows["merged_row"].fillna(-1).astype(np.int64)
    rows["duplicate_of"] = rows["duplicate_of"].fillna(-1).astype(np.int64)
    rows["gone_week"] = 0
    rows["edited"] = False
    assign_ids(rng, rows)
    add_kajabi_cells(rng, rows, first_s)
    return rows, changed


def _naive_damage(contacts: pd.DataFrame, rows: pd.DataFrame) -> dict[str, int]:
    """What the naive import of week 1 would overwrite: the Kajabi rows of live contacts (the
    naive import recognised a contact by its primary email, as these rows carry it)."""
    matched = rows[rows["role"] == "contact"]
    db = contacts.iloc[matched["db_row"].to_numpy()].reset_index(drop=True)
    return naive_damage(db, matched.reset_index(drop=True))


def _summary(
    spec: DemoSpec,
    url: str,
    contacts: pd.DataFrame,
    emails: pd.DataFrame,
    population: Population,
    rows: pd.DataFrame,
    changed: np.ndarray,
    naive: dict[str, int],
    weeks: list[ExportWeek],
    edits: list[pd.DataFrame],
    started: float,
) -> DemoSummary:
    live = contacts[contacts["deleted_at"].isna()]
    live_story = population.live
    enriched = live["phone_source"].isin(_PROVENANCE) | live["paypal_phone"].notna()
    duplicates = rows[rows["role"] == "likely_duplicate"]
    return DemoSummary(
        spec=spec,
        database=redact_url(url),
        live_contacts=len(live),
        kajabi_contacts=int(live["kajabi_id"].notna().sum()),
        database_only=int(live["kajabi_id"].isna().sum()),
        phone_enriched=int(enriched.sum()),
        kajabi_source_phones=int((live["phone_source"] == "kajabi").sum()),
        paypal_names=int(live["paypal_first_name"].notna().sum()),
        shipping_addresses=int(live["shipping_address_line_1"].notna().sum()),
        zoho_linked=int(live["zoho_id"].notna().sum()),
        corrected_addresses=int(live_story["story_corrected_address"].sum()),
        corrected_flagged=int(live_story["story_corrected_flagged"].sum()),
        merged_duplicates=int(contacts["deleted_at"].notna().sum()),
        contact_emails=len(emails),
        stale_names=int(live_story["story_stale_name"].sum()),
        stale_phones=int(
            live_story["story_stale_phone"].sum()
            + live_story["story_stale_kajabi_source_phone"].sum()
        ),
        changed_emails=len(changed),
        naive_overwrites=naive,
        exports=tuple(weeks),
        seconds=time.perf_counter() - started,
        likely_duplicates=pd.DataFrame(
            {
                "kajabi_id": duplicates["kajabi_id"].to_numpy(),
                "email": duplicates["kajabi_email"].to_numpy(),
                "duplicate_kind": duplicates["duplicate_kind"].to_numpy(),
                "existing_email": live["email"].to_numpy()[duplicates["duplicate_of"].to_numpy()],
            }
        ),
        changed_email_ids=tuple(
            rows.loc[rows["db_row"].isin(changed) & (rows["role"] == "contact"), "kajabi_id"]
        ),
        edits=concat_rows(edits) if edits else pd.DataFrame(columns=list(EDIT_COLUMNS)),
    )

"""Planning one week's import: the steps ``impact_analysis`` and ``kajabi-sync plan`` share.

One function so the asset and the command line can never drift apart: merge memory first,
then the snapshot, the three-way plan, and the held likely duplicates.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import pandas as pd
import psycopg

from kajabi_sync.db.audit import recent_runs
from kajabi_sync.db.holds import load_holds
from kajabi_sync.db.merge_memory import bootstrap_merged_from
from kajabi_sync.db.snapshot import DatabaseSnapshot, load_live_contacts, load_snapshot
from kajabi_sync.db.steady import steady_snapshot
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.frames import concat_rows
from kajabi_sync.kajabi.enriched_export import EnrichedExport, build_enriched_export
from kajabi_sync.matching.holds import hold_likely_duplicates, score_new_rows
from kajabi_sync.matching.search_process import SearchProcess
from kajabi_sync.survivorship.match import DRIVING_MATCHES, driving_rows, match_rows
from kajabi_sync.survivorship.plan import (
    ImpactPlan,
    PlanSettings,
    build_plan,
    new_contact_rows,
    planned_rows,
)


@dataclass(frozen=True)
class WeekPlan:
    plan: ImpactPlan
    candidates: pd.DataFrame  # likely duplicates found among the new emails (see holds.py)
    recent_runs: pd.DataFrame  # for "this week vs last week"
    merge_memory_added: int  # hand merges turned into merge memory by this plan


def plan_week(
    conn: psycopg.Connection,
    export: pd.DataFrame,
    settings: PlanSettings,
    *,
    reference: bool = True,
) -> WeekPlan:
    """Plan a validated export against the database behind ``conn`` (writes only merge memory).

    ``reference`` (the default): every row against the whole snapshot, the full comparison.
    ``reference=False``: the rows SQL proves steady (``db.steady``) are not planned in Python;
    the plan is the same decision for decision (test_steady_rows.py), but on the 100,000-contact
    demo it was not yet faster as a whole (benchmarks/steady_plan_benchmark.py), so it is not
    the default."""
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    # A large week's duplicate search gets its process first: its start-up overlaps the
    # bootstrap, the snapshot and the matching.
    with _search_process(len(export)) as search:
        # Idempotent, committed before the read-only snapshot: merges made by hand since the
        # last run become merge memory, so their addresses are never created as new contacts.
        remembered = bootstrap_merged_from(conn)
        decisions = load_holds(conn)
        if reference:
            snapshot = load_snapshot(conn)
            live = snapshot.contacts
            plan, scored = _plan_and_score(export, snapshot, settings, None, live, search)
        else:
            with steady_snapshot(conn, export) as steady:
                # The duplicate finder compares new rows with every live contact, steady or not.
                live = steady.live
                plan, scored = _plan_and_score(
                    export, steady.snapshot, settings, steady.steady, live, search
                )
    runs = recent_runs(conn, limit=50)
    if idle:
        # Only reads since the bootstrap's commit: the connection goes back idle, as it came, so
        # an apply on it next owns its commit (apply_plan).
        conn.rollback()
    # New emails that look like a live contact wait for the user instead of being inserted.
    plan, candidates = hold_likely_duplicates(plan, live, decisions=decisions, scored=scored)
    return WeekPlan(plan, candidates, runs, remembered)


# From this many export rows the duplicate search runs in a process of its own beside
# build_plan (matching.search_process), started when planning starts. Below it the worker's
# start (about a second of imports) costs more than the search it would take off the plan
# (benchmarks/RESULTS.md, run 15).
SEARCH_BESIDE_PLAN_FROM = 60_000


def _search_process(rows: int) -> AbstractContextManager[SearchProcess | None]:
    """A started SearchProcess for a week of ``rows`` export rows, from SEARCH_BESIDE_PLAN_FROM;
    None below it (the search then runs after build_plan, in this process)."""
    return SearchProcess() if rows >= SEARCH_BESIDE_PLAN_FROM else nullcontext()


def _plan_and_score(
    export: pd.DataFrame,
    snapshot: DatabaseSnapshot,
    settings: PlanSettings,
    steady: pd.DataFrame | None,
    live: pd.DataFrame,
    search: SearchProcess | None,
) -> tuple[ImpactPlan, pd.DataFrame]:
    """``build_plan``, and ``score_new_rows`` of its new contacts against ``live``: in
    ``search``'s process while build_plan runs, or after it here when ``search`` is None.

    The two only read what they share (the export, the snapshot, ``live``) and neither reads
    the other's result: the new rows are known once the rows are matched. Each gives what it
    gives alone, either way; an error in either is raised here, and the search stops with the
    plan (leaving the SearchProcess's with block)."""
    planned = planned_rows(export, steady)
    matches = match_rows(planned, snapshot)
    new = new_contact_rows(planned, matches)
    if search is None:
        plan = build_plan(export, snapshot, settings, steady, matches=matches)
        return plan, score_new_rows(new, live)
    search.start(new, live)
    plan = build_plan(export, snapshot, settings, steady, matches=matches)
    return plan, search.result()


def kajabi_values(
    plan: ImpactPlan, export: pd.DataFrame, extra_columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """What Kajabi sent for each contact that now exists in both systems (the row that decided
    it, or the row that created it): ``contact_id``, ``email``, the Kajabi fields and any
    ``extra_columns`` of the export (e.g. Kajabi's full ``name``).

    One row per contact: when several rows reach one contact (its email on one row, its Kajabi
    ID on another), the row that decided its fields in the plan (``driving_rows``) is used."""
    matches = plan.matches
    matched = export[["row_number"]].merge(matches, on="row_number")
    driving = driving_rows(matched[["row_number"]], matched.drop(columns="row_number"))
    driving = driving[driving["match_kind"].isin(DRIVING_MATCHES)][["row_number", "contact_id"]]
    created = plan.new_contacts[["row_number", "contact_id"]]
    linked = concat_rows([driving, created])
    columns = ["contact_id", "email", *CONTACT_FIELDS, *extra_columns]
    # Only the columns returned are joined: the merge copies every column it is given.
    wanted = ["row_number", *dict.fromkeys(c for c in columns if c != "contact_id")]
    return export[wanted].merge(linked, on="row_number")[columns]


def week_enriched_export(
    conn: psycopg.Connection, plan: ImpactPlan, export: pd.DataFrame
) -> EnrichedExport:
    """The week's enriched export (``build_enriched_export``): the live contacts as the database
    holds them now, against Kajabi's values of this week's plan (``kajabi_values``).

    A connection that came idle goes back idle before the frames are built, as it came.

    One after the other: gathering Kajabi's values in a thread while the contacts were read
    saved too little (benchmarks/RESULTS.md, run 13) for pandas running in two threads in
    every weekly run (its internal ``warnings.catch_warnings`` is not thread-safe on 3.11)."""
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    contacts = load_live_contacts(conn, arrow=True)
    if idle:
        conn.rollback()  # only read: no transaction stays open through the build
    kajabi = kajabi_values(plan, export)
    return build_enriched_export(contacts, kajabi)

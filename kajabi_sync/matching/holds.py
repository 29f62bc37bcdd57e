"""Holding likely duplicates out of an import plan (pure: no database).

A new Kajabi email whose row looks like a live contact (same phone, same name and postal code,
a close name at the same address, the same mailbox at an alias domain, ...) is not inserted
blindly: it moves from ``plan.new_contacts`` to ``plan.held`` with its best candidate, score and
evidence, and waits for the user (``db.holds``): release it (created by the next import) or
merge it into the candidate. An email held earlier stays held until decided, even if it no
longer scores as high; a released email is never held again.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.frames import concat_rows
from kajabi_sync.masking import mask_email, mask_one_email
from kajabi_sync.matching.duplicates import HOLD_THRESHOLD, find_candidates_against
from kajabi_sync.survivorship.plan import ImpactPlan

# The fields the duplicate finder reads (it ignores the Kajabi IDs).
PEOPLE_COLUMNS: tuple[str, ...] = (
    "email",
    *(f for f in CONTACT_FIELDS if not f.startswith("kajabi")),
)

CANDIDATE_COLUMNS: tuple[str, ...] = (
    "email",
    "row_number",
    "existing_contact_id",
    "existing_email",
    "score",
    "evidence",
    "why_held",
)
HOLD_COLUMNS: tuple[str, ...] = (
    "existing_contact_id",
    "existing_email",
    "score",
    "evidence",
    "why_held",
)

# What the plan reads of the holds table (``db.holds.load_holds``).
DECISION_COLUMNS: tuple[str, ...] = (
    "email",
    "status",
    "candidate_contact_id",
    "candidate_email",
    "score",
    "evidence",
)

HELD_NOW = "scored at/above the hold threshold against a live contact"
HELD_EARLIER = "held in an earlier import; waiting for the user's decision"


def empty_candidates() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="float64" if c == "score" else "string") for c in CANDIDATE_COLUMNS}
    )


def score_new_rows(
    new: pd.DataFrame, live: pd.DataFrame, threshold: float = HOLD_THRESHOLD
) -> pd.DataFrame:
    """Every pair of a new row and a live contact scoring at/above ``threshold``
    (``CANDIDATE_COLUMNS``, ``why_held`` HELD_NOW), in the duplicate finder's order.

    ``new``: the plan's new contacts, or the same rows before they get their ids
    (``plan.new_contact_rows``): ``row_number``, ``email`` and the contact fields. ``live``: as
    ``hold_likely_duplicates`` takes it. Pure, and reads its inputs only: ``weekly_plan`` runs
    it beside ``build_plan``."""
    if new.empty or live.empty:
        return empty_candidates()
    # The finder's frames are this function's own, positionally indexed: no copy of the
    # million-row ``live`` (``reset_index`` copies every column).
    new_people, live_people = new[list(PEOPLE_COLUMNS)], live[list(PEOPLE_COLUMNS)]
    new_people.index = pd.RangeIndex(len(new_people))
    live_people.index = pd.RangeIndex(len(live_people))
    pairs = find_candidates_against(new_people, live_people, min_score=threshold)
    return pd.DataFrame(
        {
            "email": new["email"].to_numpy()[pairs["new"].to_numpy(int)],
            "row_number": new["row_number"].to_numpy()[pairs["new"].to_numpy(int)],
            "existing_contact_id": live["id"].to_numpy()[pairs["existing"].to_numpy(int)],
            "existing_email": live["email"].to_numpy()[pairs["existing"].to_numpy(int)],
            "score": pairs["score"].to_numpy(float),
            "evidence": pairs["evidence"].to_numpy(object),
            "why_held": HELD_NOW,
        }
    )


def _held_earlier(new: pd.DataFrame, pending: pd.DataFrame, already: pd.Series) -> pd.DataFrame:
    rows = new[new["email"].isin(pending["email"]) & ~new["email"].isin(already)]
    stored = pending.drop_duplicates("email").set_index("email")
    return pd.DataFrame(
        {
            "email": rows["email"].to_numpy(),
            "row_number": rows["row_number"].to_numpy(),
            "existing_contact_id": rows["email"].map(stored["candidate_contact_id"]).to_numpy(),
            "existing_email": rows["email"].map(stored["candidate_email"]).to_numpy(),
            "score": rows["email"].map(stored["score"]).astype("float64").to_numpy(),
            "evidence": rows["email"].map(stored["evidence"]).to_numpy(),
            "why_held": HELD_EARLIER,
        }
    )


def hold_likely_duplicates(
    plan: ImpactPlan,
    snapshot_contacts: pd.DataFrame,
    threshold: float = HOLD_THRESHOLD,
    *,
    decisions: pd.DataFrame | None = None,
    scored: pd.DataFrame | None = None,
) -> tuple[ImpactPlan, pd.DataFrame]:
    """(plan without the held new contacts, candidates).

    ``snapshot_contacts``: live contacts (``id``, ``email`` and the contact fields, as
    ``DatabaseSnapshot.contacts``). ``decisions``: the holds table (``db.holds.load_holds``):
    ``released`` emails are exempt, ``held`` ones stay held. The candidates frame
    (``CANDIDATE_COLUMNS``) lists every pair at/above ``threshold`` plus earlier holds, best
    first, for the CSV and the UI; ``plan.held`` gets one row per held new contact (its
    new-contact columns plus ``HOLD_COLUMNS`` of its best candidate), and its rows leave
    ``new_contacts`` and ``new_bases``. ``scored``: ``score_new_rows`` of these new contacts
    against ``snapshot_contacts`` at ``threshold``, when the caller has it already.
    """
    new = plan.new_contacts
    if new.empty:
        return plan, empty_candidates()
    decisions = (pd.DataFrame() if decisions is None else decisions).reindex(
        columns=list(DECISION_COLUMNS)
    )
    released = decisions.loc[decisions["status"] == "released", "email"]
    pending = decisions[decisions["status"] == "held"]

    if scored is None:
        scored = score_new_rows(new, snapshot_contacts, threshold)
    scored = scored[~scored["email"].isin(released)]
    candidates = concat_rows([scored, _held_earlier(new, pending, scored["email"])])
    candidates = candidates.sort_values(
        ["score", "email"], ascending=[False, True], kind="stable", na_position="last"
    )
    candidates = candidates.reset_index(drop=True).astype({"score": "float64"})

    held_mask = new["email"].isin(candidates["email"])
    best = candidates.drop_duplicates("email").set_index("email")[list(HOLD_COLUMNS)]
    held = new[held_mask].join(best, on="email").reset_index(drop=True)
    held_ids = held["contact_id"]
    new_plan = replace(
        plan,
        new_contacts=new[~held_mask].reset_index(drop=True),
        new_bases=plan.new_bases[~plan.new_bases["contact_id"].isin(held_ids)].reset_index(
            drop=True
        ),
        held=concat_rows([plan.held, held]) if not plan.held.empty else held,
    )
    return new_plan, candidates[list(CANDIDATE_COLUMNS)]


def candidates_for_display(candidates: pd.DataFrame) -> pd.DataFrame:
    """Candidates with emails and phones masked (also inside the evidence), for the UI and logs."""
    evidence = candidates["evidence"].astype("string")
    evidence = evidence.str.replace(
        r"[\w.+-]+@[\w.-]+", lambda m: mask_one_email(m.group(0)), regex=True
    )
    evidence = evidence.str.replace(r"(same email name [^\s;]{0,2})[^\s;]*", r"\1***", regex=True)
    evidence = evidence.str.replace(r"\+?\d{5,}(\d{4})", r"***\1", regex=True)
    return candidates.assign(
        email=mask_email(candidates["email"]),
        existing_email=mask_email(candidates["existing_email"]),
        evidence=evidence,
    )

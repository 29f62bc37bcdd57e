"""The impact plan: for every matched contact and Kajabi field, one decision with a reason.

Three-way, not two-way. Kajabi only sends full snapshots, so the plan compares the database
value with Kajabi's value AND with the base (what Kajabi sent in the last applied import):

- Kajabi value == base: Kajabi did not edit it; whatever the database did since is kept.
- Kajabi value != base: a real Kajabi-side edit; applied where the field is not protected and
  the database still holds the base, a conflict where the database moved too.
- No base yet (first import): a difference cannot be told from a stale value overwriting an
  unflagged correction, so by default it is kept and listed (``unattributed``).

Everything is computed column-wise over all contacts at once; keys are computed only for the
rows whose raw values differ (the vast majority are byte-equal week after week).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from kajabi_sync.db.snapshot import DatabaseSnapshot
from kajabi_sync.fields import ADDRESS_FIELDS, CONTACT_FIELDS
from kajabi_sync.frames import concat_rows
from kajabi_sync.normalize import arrow_text_strict, same_text
from kajabi_sync.survivorship.decisions import FIELD_DECISIONS, WRITE_DECISIONS, Decision
from kajabi_sync.survivorship.match import DRIVING_MATCHES, driving_rows, match_rows
from kajabi_sync.survivorship.naive import naive_import_impact

if TYPE_CHECKING:
    from kajabi_sync.kajabi.validate import ValidatedExport
from kajabi_sync.survivorship.plan_settings import PlanSettings
from kajabi_sync.survivorship.policy import (
    POLICY,
    PROVENANCE_COLUMNS,
    FieldPolicy,
    comparison_key,
    protection,
)

__all__ = [
    "CHANGE_COLUMNS",
    "WRITE_DECISIONS",
    "Decision",
    "ImpactPlan",
    "PlanSettings",
    "build_plan",
]

CHANGE_COLUMNS = [
    "row_number",
    "email",
    "contact_id",
    "field",
    "db_value",
    "kajabi_value",
    "base_value",
    "decision",
    "reason",
    "protected",
]


@dataclass(frozen=True)
class ImpactPlan:
    changes: pd.DataFrame  # CHANGE_COLUMNS, one row per (contact, field) not unchanged
    matches: pd.DataFrame  # row_number, email, contact_id, match_kind: every export row
    new_contacts: pd.DataFrame  # contact_id (new uuid), row_number, email, CONTACT_FIELDS
    new_bases: pd.DataFrame  # contact_id, kajabi_email, CONTACT_FIELDS: the base after apply
    naive: dict[str, int]  # what COALESCE(kajabi, db) would have done
    export_rows: int
    matched_contacts: int
    provenance: pd.DataFrame  # id + PROVENANCE_COLUMNS of written contacts, as planned
    held: pd.DataFrame = field(default_factory=pd.DataFrame)  # new rows held for review
    # The planned export without its rows (ValidatedExport.without_rows), for the steps after the
    # plan that need only its file, rejects and row count: they need not load the whole export.
    export_summary: ValidatedExport | None = None

    def writes(self) -> pd.DataFrame:
        return self.changes[self.changes["decision"].isin(WRITE_DECISIONS)]

    def decision_counts(self) -> pd.DataFrame:
        """Decisions (rows) by field (columns), every decision and field present."""
        table = pd.crosstab(self.changes["decision"], self.changes["field"])
        return table.reindex(
            index=[d.value for d in FIELD_DECISIONS[1:]], columns=list(CONTACT_FIELDS), fill_value=0
        )


def _reason(text: str, index: pd.Index) -> pd.Series:
    return pd.Series(text, index=index, dtype="string")


def decide_field(
    policy: FieldPolicy,
    db: pd.Series,
    kajabi: pd.Series,
    base: pd.Series,
    has_base: pd.Series,
    protected: pd.Series,
    protected_why: pd.Series,
    address_elsewhere: pd.Series,
    fill_only: pd.Series,
    settings: PlanSettings,
    db_is_kajabi: np.ndarray | None = None,
) -> tuple[pd.Series, pd.Series]:
    """(decision, reason) for one field over aligned Series (NA = empty).

    ``db_is_kajabi``: ``normalize.same_text(db, kajabi)`` when the caller has it already."""
    index = db.index
    decision = pd.Series(Decision.UNCHANGED.value, index=index, dtype=object)
    reason = pd.Series(pd.NA, index=index, dtype="string")

    kajabi_blank = kajabi.isna()
    db_blank = db.isna()
    keep_blank = kajabi_blank & ~db_blank
    decision[keep_blank] = Decision.KEEP_DB_KAJABI_BLANK.value
    reason[keep_blank] = "Kajabi's cell is empty; an empty cell never blanks the database"

    if db_is_kajabi is None:
        db_is_kajabi = same_text(db, kajabi)
    differs = ~kajabi_blank & ~pd.Series(db_is_kajabi, index=index)
    rows = differs[differs].index
    if len(rows) == 0:
        return decision, reason

    d, k, b = db[rows], kajabi[rows], base[rows]
    d_key = comparison_key(d, policy.comparison)
    k_key = comparison_key(k, policy.comparison)
    b_key = comparison_key(b, policy.comparison)
    hb = has_base[rows].to_numpy(bool)
    prot = protected[rows].to_numpy(bool)
    blank = db_blank[rows].to_numpy(bool)
    same_meaning = (d_key == k_key).fillna(False).to_numpy(bool)
    kajabi_is_base = hb & (k_key == b_key).fillna(False).to_numpy(bool)
    db_is_base = hb & (
        (d_key == b_key).fillna(False).to_numpy(bool) | (blank & b.isna().to_numpy())
    )
    first_import_keeps = settings.first_import == "keep_database"
    other_parts = (
        address_elsewhere[rows].to_numpy(bool) if policy.address_unit else np.zeros(len(rows), bool)
    )

    why = protected_why[rows].fillna("").to_numpy(object)
    conditions = [
        same_meaning,
        # --- the database is empty: fill, unless something says not to
        blank & prot & policy.address_unit,
        blank & kajabi_is_base,
        blank & other_parts & ~hb & first_import_keeps,
        blank,
        # --- both hold different values
        prot,
        kajabi_is_base,
        hb & db_is_base,
        hb,
        np.full(len(rows), not first_import_keeps),
    ]
    choices = [
        Decision.COSMETIC,
        Decision.PROTECTED,
        Decision.KEPT_DB,
        Decision.UNATTRIBUTED,
        Decision.FILL,
        Decision.PROTECTED,
        Decision.KEPT_DB,
        Decision.UPDATE,
        Decision.CONFLICT,
        Decision.UPDATE,
    ]
    reasons = [
        "same value up to case, spacing, phone format or a postal code's leading zeros: "
        "the database's form is kept",
        "the address is protected as one unit (" + why + "): no part of it is filled from Kajabi",
        "the database emptied this since the last import and Kajabi did not edit it",
        "first import: the database holds other address parts, and a Kajabi part glued to them "
        "could make a wrong address",
        "the database is empty and Kajabi has a value",
        "protected: " + why,
        "Kajabi still sends what it sent at the last import; the database's newer value is kept",
        "Kajabi-side edit since the last import, and the database still held Kajabi's old value",
        "both sides changed since the last import: kept as the database has it, listed for review",
        "first import, trusting Kajabi: the field is not protected",
    ]
    chosen = np.select(conditions, choices, default=Decision.UNATTRIBUTED)
    chosen_reason = np.select(
        conditions,
        [np.broadcast_to(np.asarray(r, dtype=object), len(rows)) for r in reasons],
        default="first import: Kajabi's value differs and no earlier import tells whether the "
        "database's value is a correction; the database's value is kept and sent to Kajabi",
    )
    # A row reached through a merged-away email may only fill empty fields.
    demoted = fill_only[rows].to_numpy(bool) & np.isin(
        chosen, (Decision.UPDATE, Decision.CONFLICT, Decision.UNATTRIBUTED)
    )
    chosen = np.where(demoted, Decision.KEPT_DB, chosen)
    chosen_reason = np.where(
        demoted, "Kajabi row of a merged-away email: it may only fill empty fields", chosen_reason
    )
    decision[rows] = chosen
    reason[rows] = chosen_reason
    return decision, reason


# Address decisions that keep the database's address while Kajabi's differs: no other part
# of the same address may then be written from Kajabi.
_ADDRESS_HOLDS = (Decision.CONFLICT, Decision.UNATTRIBUTED)


def hold_address_as_unit(decided: dict[str, tuple[pd.Series, pd.Series, pd.Series]]) -> None:
    """The address is one unit: where one part is held (a conflict, or unattributed), a fill or
    update of another part would glue a Kajabi part to the database's address. Such writes take
    the held part's decision instead (conflict first), in place."""
    parts = [f for f in ADDRESS_FIELDS if f in decided]
    for held in _ADDRESS_HOLDS:
        holding = pd.concat([decided[f][0] == held for f in parts], axis=1).any(axis=1)
        if not holding.any():
            continue
        for name in parts:
            decision, reason, protected = decided[name]
            demote = holding & decision.isin(WRITE_DECISIONS)
            if demote.any():
                decision = decision.mask(demote, held.value)
                reason = reason.mask(
                    demote,
                    f"the address is one unit and another part of it is a {held}: "
                    "no part is written from Kajabi",
                )
                decided[name] = (decision, reason, protected)


def build_plan(
    export: pd.DataFrame,
    snapshot: DatabaseSnapshot,
    settings: PlanSettings | None = None,
) -> ImpactPlan:
    """Plan an import of a validated export (see ``kajabi.validate``) against a snapshot
    (``settings``: the defaults when None)."""
    settings = PlanSettings() if settings is None else settings
    matches = match_rows(export, snapshot)
    rows = driving_rows(export, matches)
    contacts = snapshot.contacts.set_index("id")
    db = contacts.reindex(rows["contact_id"])
    db.index = rows.index
    bases = snapshot.bases.set_index("contact_id").reindex(rows["contact_id"])
    bases.index = rows.index
    has_base = bases["kajabi_email"].notna()
    fill_only = ~rows["match_kind"].isin(DRIVING_MATCHES)
    address_parts = db[list(ADDRESS_FIELDS)].notna()

    # Fields sharing their protection rules (the six address parts) share one evaluation:
    # re-evaluating per field was a third of the plan's profile.
    protections: dict[tuple, tuple[pd.Series, pd.Series]] = {}
    verdicts: dict = {}  # each rule once, whichever fields it protects
    decided: dict[str, tuple[pd.Series, pd.Series, pd.Series]] = {}
    # Byte-equal database and Kajabi values, once per field: the decisions and the naive
    # comparison both need them (pandas' == on Python strings is paid again at each use).
    db_is_kajabi: dict[str, np.ndarray] = {}
    for name, policy in POLICY.items():
        if policy.protections not in protections:
            protections[policy.protections] = protection(policy, db, verdicts)
        protected, why = protections[policy.protections]
        address_elsewhere = address_parts.drop(columns=name, errors="ignore").any(axis=1)
        db_is_kajabi[name] = same_text(db[name], rows[name])
        decision, reason = decide_field(
            policy,
            db[name].astype("string"),
            rows[name].astype("string"),
            bases[name].astype("string"),
            has_base,
            protected,
            why,
            address_elsewhere,
            fill_only,
            settings,
            db_is_kajabi[name],
        )
        decided[name] = (decision, reason, protected)
    hold_address_as_unit(decided)

    frames = []
    new_base = pd.DataFrame(
        {"contact_id": rows["contact_id"], "kajabi_email": rows["email"]}, index=rows.index
    )
    for name, (decision, reason, protected) in decided.items():
        # A conflict keeps its old base, so it stays listed until the two sides agree.
        new_base[name] = rows[name].where(decision != Decision.CONFLICT, bases[name])
        listed = decision != Decision.UNCHANGED
        if listed.any():
            frames.append(
                pd.DataFrame(
                    {
                        "row_number": rows.loc[listed, "row_number"],
                        "email": rows.loc[listed, "email"],
                        "contact_id": rows.loc[listed, "contact_id"],
                        "field": name,
                        "db_value": db.loc[listed, name],
                        "kajabi_value": rows.loc[listed, name],
                        "base_value": bases.loc[listed, name],
                        "decision": decision[listed].astype(str),
                        "reason": reason[listed],
                        "protected": protected[listed].astype(bool),
                    }
                )
            )
    changes = (
        concat_rows(frames)
        if frames
        else pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS})
    )
    changes = changes.sort_values(["row_number", "field"], kind="stable").reset_index(drop=True)
    # Rows reached only through another address keep no base of their own.
    new_base = new_base[~fill_only]

    new = export[matches["match_kind"] == "new"]
    new_contacts = new[["row_number", "email", "email_raw", *CONTACT_FIELDS]].copy()
    new_contacts.insert(0, "contact_id", [str(uuid.uuid4()) for _ in range(len(new_contacts))])
    new_bases = concat_rows(
        [
            new_base,
            new_contacts[["contact_id", "email", *CONTACT_FIELDS]].rename(
                columns={"email": "kajabi_email"}
            ),
        ]
    )
    written_ids = changes.loc[changes["decision"].isin(WRITE_DECISIONS), "contact_id"].unique()
    provenance = snapshot.contacts.loc[
        snapshot.contacts["id"].isin(written_ids), ["id", *PROVENANCE_COLUMNS]
    ].reset_index(drop=True)
    return ImpactPlan(
        changes=changes,
        matches=_arrow_backed(export[["row_number", "email"]].join(matches)),
        new_contacts=new_contacts.reset_index(drop=True),
        new_bases=_arrow_backed(new_bases),
        naive=naive_import_impact(matches, rows, db, changes, db_is_kajabi),
        export_rows=len(export),
        matched_contacts=len(rows),
        provenance=provenance,
    )


def _arrow_backed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns as Arrow-backed strings (same values).

    The plan's two largest frames (a row per export row, a base per matched contact) travel
    through Dagster's pickling into three later steps: as Python strings they take several
    times the time and memory to pickle and unpickle (benchmarks/RESULTS.md)."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            try:
                column = pd.Series(
                    pd.arrays.ArrowStringArray(arrow_text_strict(column)),
                    index=frame.index,
                    name=name,
                )
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                pass
        out[name] = column
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)

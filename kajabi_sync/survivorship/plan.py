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

import numpy as np
import pandas as pd

from kajabi_sync.db.snapshot import DatabaseSnapshot
from kajabi_sync.fields import ADDRESS_FIELDS, CONTACT_FIELDS
from kajabi_sync.frames import as_arrow_text, concat_rows
from kajabi_sync.normalize import nfc, same_text
from kajabi_sync.survivorship.decisions import (
    EMAIL_DECISIONS,
    FIELD_DECISIONS,
    WRITE_DECISIONS,
    Decision,
)
from kajabi_sync.survivorship.match import DRIVING_MATCHES, driving_rows, match_rows, rows_by_key
from kajabi_sync.survivorship.naive import naive_import_impact
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
    # contact_id, kajabi_email, CONTACT_FIELDS: the base after apply, for every planned row
    # whose base this import changes or creates (a base already stored exactly as it would be
    # written is left out: see build_plan)
    new_bases: pd.DataFrame
    naive: dict[str, int]  # what COALESCE(kajabi, db) would have done
    export_rows: int
    matched_contacts: int
    provenance: pd.DataFrame  # id + PROVENANCE_COLUMNS of written contacts, as planned
    held: pd.DataFrame = field(default_factory=pd.DataFrame)  # new rows held for review
    # snapshot.bases_version of the bases the plan read, which the apply requires unchanged
    # (new_bases leaves out the bases found stored as they would be written). None only for a
    # plan built by hand, not from a snapshot; a stored plan without it does not load.
    bases_version: str | None = None

    def writes(self) -> pd.DataFrame:
        """The contact fields to write (``fill``, ``update``)."""
        return self.changes[self.changes["decision"].isin(WRITE_DECISIONS)]

    def email_writes(self) -> pd.DataFrame:
        """The new emails to record (field ``email``: ``email_change``, ``email_promoted``):
        ``db_value`` the contact's primary email as planned, ``kajabi_value`` the new one."""
        return self.changes[self.changes["decision"].isin(EMAIL_DECISIONS)]

    def decision_counts(self) -> pd.DataFrame:
        """Decisions (rows) by field (columns), every decision and field present."""
        table = pd.crosstab(self.changes["decision"], self.changes["field"])
        return table.reindex(
            index=[d.value for d in FIELD_DECISIONS[1:]], columns=list(CONTACT_FIELDS), fill_value=0
        )


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
    address_converged: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series]:
    """(decision, reason) for one field over aligned Series (NA = empty).

    ``db_is_kajabi``: ``normalize.same_text(db, kajabi)`` when the caller has it already.
    ``address_converged`` (address parts): per contact, whether the whole database address
    equalled its base, i.e. Kajabi held the database's address at the last import.
    A blank address part next to other database parts comes back as ``ADDRESS_PART_PENDING``,
    for ``complete_addresses`` to decide over the whole address."""
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
    # The same text in another Unicode form (a decomposed "José") is the same value: unchanged.
    same_form = same_text(nfc(db[rows]), nfc(kajabi[rows]))
    rows = rows[~same_form]
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
    review_edits = settings.protected_edit == "review"
    other_parts = (
        address_elsewhere[rows].to_numpy(bool) if policy.address_unit else np.zeros(len(rows), bool)
    )
    # Protection ends once the two systems agree: when Kajabi held the database's value at the
    # last import (the whole address, for an address part), a new Kajabi value is an edit made
    # in Kajabi after the enriched data reached it, not a stale value.
    if policy.address_unit:
        converged = hb & (
            address_converged[rows].to_numpy(bool)
            if address_converged is not None
            else np.zeros(len(rows), bool)
        )
    else:
        converged = hb & ~blank & db_is_base
    protected_edit = prot & converged & ~kajabi_is_base

    why = protected_why[rows].fillna("").to_numpy(object)
    rules: list[tuple[np.ndarray, str, object]] = [
        (
            same_meaning,
            Decision.COSMETIC,
            "same value up to case, spacing, Unicode form, phone format or a postal code's "
            "leading zeros: the database's form is kept",
        ),
        (
            protected_edit & review_edits,
            Decision.PROTECTED_EDIT,
            "protected (" + why + "), but Kajabi held the database's value at the last import and "
            "it was changed in Kajabi since: kept as the database has it and listed for review "
            "(protected_edit: review)",
        ),
        (
            protected_edit & blank,
            Decision.FILL,
            "protected (" + why + "), but Kajabi held the database's address at the last import "
            "and it was changed in Kajabi since: a Kajabi-side edit of the whole address, written",
        ),
        (
            protected_edit,
            Decision.UPDATE,
            "protected (" + why + "), but Kajabi held the database's value at the last import and "
            "it was changed in Kajabi since: a Kajabi-side edit, written",
        ),
        # --- the database is empty: fill, unless something says not to
        (
            blank & prot & policy.address_unit,
            Decision.PROTECTED,
            "the address is protected as one unit (" + why + "): no part of it is filled from "
            "Kajabi",
        ),
        (
            blank & kajabi_is_base,
            Decision.KEPT_DB,
            "the database held a value at an earlier import and it was emptied since; Kajabi has "
            "not edited it: kept empty",
        ),
        (blank & other_parts, ADDRESS_PART_PENDING, ""),
        (blank, Decision.FILL, "the database is empty and Kajabi has a value"),
        # --- both hold different values
        (prot, Decision.PROTECTED, "protected: " + why),
        (
            kajabi_is_base,
            Decision.KEPT_DB,
            "Kajabi still sends what it sent at the last import, so it is not a Kajabi edit: the "
            "database's value is kept",
        ),
        (
            db_is_base,
            Decision.UPDATE,
            "Kajabi-side edit since the last import, and the database still held Kajabi's old "
            "value",
        ),
        (
            hb,
            Decision.CONFLICT,
            "both sides changed since the last import: kept as the database has it, listed for "
            "review",
        ),
        (
            np.full(len(rows), not first_import_keeps),
            Decision.UPDATE,
            "first import, trusting Kajabi: the field is not protected",
        ),
    ]
    chosen = np.select(
        [condition for condition, _, _ in rules],
        [str(choice) for _, choice, _ in rules],
        default=Decision.UNATTRIBUTED.value,
    ).astype(object)
    chosen_reason = np.select(
        [condition for condition, _, _ in rules],
        [np.broadcast_to(np.asarray(text, dtype=object), len(rows)) for _, _, text in rules],
        default="first import: Kajabi's value differs and no earlier import tells whether the "
        "database's value is a correction; the database's value is kept and sent to Kajabi",
    )
    # A row reached through a merged-away email may only fill empty fields.
    demoted = fill_only[rows].to_numpy(bool) & np.isin(chosen, _FILL_ONLY_DEMOTED)
    chosen = np.where(demoted, Decision.KEPT_DB.value, chosen)
    chosen_reason = np.where(
        demoted, "Kajabi row of a merged-away email: it may only fill empty fields", chosen_reason
    )
    decision[rows] = chosen
    reason[rows] = chosen_reason
    return decision, reason


# A blank address part whose fate depends on the rest of the database's address.
ADDRESS_PART_PENDING = "(address part)"
_FILL_ONLY_DEMOTED = tuple(
    d.value
    for d in (Decision.UPDATE, Decision.CONFLICT, Decision.UNATTRIBUTED, Decision.PROTECTED_EDIT)
)
# After the import, the database's address part equals Kajabi's.
_AGREES_AFTER = tuple(d.value for d in (Decision.UNCHANGED, Decision.COSMETIC, Decision.UPDATE))

Decided = dict[str, tuple[pd.Series, pd.Series, pd.Series]]


def complete_addresses(decided: Decided, db: pd.DataFrame, has_base: pd.Series) -> pd.DataFrame:
    """Decide the blank address parts next to other database parts, per contact, in place.

    When every part the database holds agrees with Kajabi's after this import (equal, the same
    up to format, or a Kajabi-side update), Kajabi's address is a completion of it: the empty
    parts are filled, as one unit. Otherwise the database holds another address and no Kajabi
    part is glued to it. Returns, per field, the parts left empty that way: their Kajabi value
    was not taken, so it is not recorded as the base (next week decides them afresh, and no
    reason claims the database emptied them)."""
    parts = [f for f in ADDRESS_FIELDS if f in decided]
    held = db[parts].notna()
    agrees = pd.concat([~held[f] | decided[f][0].isin(_AGREES_AFTER) for f in parts], axis=1).all(
        axis=1
    )
    untaken = pd.DataFrame(False, index=db.index, columns=parts)
    for name in parts:
        decision, reason, protected = decided[name]
        pending = decision == ADDRESS_PART_PENDING
        if not pending.any():
            continue
        fill = pending & agrees
        keep = pending & ~agrees
        decision = decision.mask(fill, Decision.FILL.value).mask(
            keep & has_base, Decision.KEPT_DB.value
        )
        decision = decision.mask(keep & ~has_base, Decision.UNATTRIBUTED.value)
        reason = reason.mask(
            fill,
            "completes the database's address: every part it holds agrees with Kajabi's, so the "
            "missing parts are filled from Kajabi as one unit",
        ).mask(
            keep,
            "the database holds another address (a part it holds differs from Kajabi's, or "
            "Kajabi has none): the database's address is kept whole, no Kajabi part is glued to it",
        )
        decided[name] = (decision, reason, protected)
        untaken[name] = keep
    return untaken


# Decisions that keep the previous base: the field stays listed until the sides agree.
_KEEPS_OLD_BASE = tuple(d.value for d in (Decision.CONFLICT, Decision.PROTECTED_EDIT))

# Address decisions that keep the database's address while Kajabi's differs: no other part
# of the same address may then be written from Kajabi.
_ADDRESS_HOLDS = (Decision.CONFLICT, Decision.UNATTRIBUTED, Decision.PROTECTED_EDIT)


def hold_address_as_unit(decided: Decided) -> None:
    """The address is one unit: where one part is held (a conflict, unattributed, or a
    protected edit waiting for review), a fill or update of another part would glue a Kajabi
    part to the database's address. Such writes take the held part's decision instead
    (conflict first), in place."""
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


def address_convergence(db: pd.DataFrame, bases: pd.DataFrame, candidates: pd.Series) -> pd.Series:
    """Per contact: whether every part of the database's address equals its base (both empty
    counts), on the ``candidates`` rows only (False elsewhere); keys only where needed."""
    out = pd.Series(False, index=db.index)
    rows = candidates[candidates].index
    if len(rows) == 0:
        return out
    equal = np.ones(len(rows), dtype=bool)
    for name in ADDRESS_FIELDS:
        d, b = db.loc[rows, name], bases.loc[rows, name]
        d_key = comparison_key(d.astype("string"), POLICY[name].comparison)
        b_key = comparison_key(b.astype("string"), POLICY[name].comparison)
        equal &= same_text(d_key, b_key, missing_equal=True)
    out[rows] = equal
    return out


EMAIL_FIELD = "email"  # the change rows of a new email (plan.changes["field"])
EMAIL_CHANGE_REASON = (
    "Kajabi sends a new email for this contact (matched by its Kajabi ID): recorded as a "
    "secondary address, so later exports match it too; the primary email, which PayPal and "
    "Zoho may key on, is kept. To review: make it the primary email if the person changed "
    "address (setting email_change: make_primary does this for every such change)"
)
FIRST_IMPORT_EMAIL_REASON = (
    "first import: Kajabi sends another email for this contact (matched by its Kajabi ID) and "
    "nothing yet tells which side changed it, so it is recorded as a secondary address, not "
    "made primary; the primary email is kept. To review: make it the primary email if the "
    "person changed address"
)
EMAIL_PROMOTED_REASON = (
    "Kajabi sends a new email for this contact (matched by its Kajabi ID): made the primary "
    "email (email_change: make_primary); the previous primary email stays as a secondary address"
)


def email_changes(
    rows: pd.DataFrame, db: pd.DataFrame, bases: pd.DataFrame, settings: PlanSettings
) -> pd.DataFrame:
    """CHANGE_COLUMNS rows (field ``email``) for the contacts whose Kajabi row matched by Kajabi
    ID alone: an email the database does not know for the contact, changed in Kajabi since the
    last import (or first seen). When Kajabi still sends the email it sent at the last import,
    the database's primary email moved, not Kajabi's, and nothing is recorded."""
    by_id = (rows["match_kind"] == "kajabi_id") & rows["email"].notna()
    sent_before = bases["kajabi_email"].astype("string").str.lower() == rows["email"]
    changed = (by_id & ~sent_before.fillna(False)).astype(bool)
    if not changed.any():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS})
    picked = rows[changed]
    # Promoted only when Kajabi changed it since the last import: on a first import the
    # database's email may be the correction and Kajabi's the stale one.
    promote = (settings.email_change == "make_primary") & bases.loc[changed, "kajabi_email"].notna()
    new_email = picked["email_raw"].astype("string").str.strip() if "email_raw" in picked else None
    if new_email is None:
        new_email = picked["email"].astype("string")
    return pd.DataFrame(
        {
            "row_number": picked["row_number"],
            "email": picked["email"],
            "contact_id": picked["contact_id"],
            "field": EMAIL_FIELD,
            "db_value": db.loc[changed, "email"].astype("string"),
            "kajabi_value": nfc(new_email.fillna(picked["email"])),
            "base_value": bases.loc[changed, "kajabi_email"].astype("string"),
            "decision": np.where(
                promote, Decision.EMAIL_PROMOTED.value, Decision.EMAIL_CHANGE.value
            ),
            "reason": np.where(
                promote,
                EMAIL_PROMOTED_REASON,
                np.where(
                    settings.email_change == "make_primary",
                    FIRST_IMPORT_EMAIL_REASON,
                    EMAIL_CHANGE_REASON,
                ),
            ),
            "protected": False,
        }
    )[CHANGE_COLUMNS]


def _stored_as_is(new_base: pd.DataFrame, bases: pd.DataFrame, has_base: pd.Series) -> np.ndarray:
    """Per row: its new base equals the stored one in every column, byte for byte (NA for NA).

    Only where the stored base reads as it is stored (no empty string in it, ``stored_blank``):
    elsewhere the write decides, comparing in SQL."""
    same = has_base.to_numpy() & bases["stored_blank"].isna().to_numpy()
    for name in ("kajabi_email", *CONTACT_FIELDS):
        same &= same_text(new_base[name], bases[name], missing_equal=True)
    return same


def build_plan(
    export: pd.DataFrame,
    snapshot: DatabaseSnapshot,
    settings: PlanSettings | None = None,
    steady: pd.DataFrame | None = None,
    *,
    matches: pd.DataFrame | None = None,
) -> ImpactPlan:
    """Plan an import of a validated export (see ``kajabi.validate``) against a snapshot
    (``settings``: the defaults when None).

    ``steady``: export rows proven in SQL to plan as all ``unchanged`` with their base as it
    is (``db.steady``: ``row_number``, ``contact_id``), whose contacts the snapshot leaves out.
    They are not planned again: they count in ``matches``, ``matched_contacts`` and
    ``export_rows`` as the full plan counts them and they list no change. Without it (the
    reference) every row is planned.

    ``new_bases`` leaves out every base the import would store exactly as it is stored (byte
    for byte in every column, a stored base holding no empty string), a steady row's among
    them: ``apply.write_bases`` writes only the bases that differ, so the import writes the
    same, and a steady week stages only the bases it changes.

    ``matches``: ``match_rows(planned_rows(export, steady), snapshot)``, when the caller has it
    already (``weekly_plan`` needs the new rows before the plan is built)."""
    settings = PlanSettings() if settings is None else settings
    planned = planned_rows(export, steady)
    if matches is None:
        matches = match_rows(planned, snapshot)
    rows = driving_rows(planned, matches)
    db = rows_by_key(snapshot.contacts, "id", rows["contact_id"])
    bases = rows_by_key(snapshot.bases, "contact_id", rows["contact_id"])
    has_base = bases["kajabi_email"].notna()
    fill_only = ~rows["match_kind"].isin(DRIVING_MATCHES)
    address_parts = db[list(ADDRESS_FIELDS)].notna()

    # Fields sharing their protection rules (the six address parts) share one evaluation, so
    # each rule runs once per plan however many fields it protects.
    protections: dict[tuple, tuple[pd.Series, pd.Series]] = {}
    verdicts: dict = {}  # each rule once, whichever fields it protects
    decided: dict[str, tuple[pd.Series, pd.Series, pd.Series]] = {}
    # Byte-equal database and Kajabi values, once per field: the decisions and the naive
    # comparison both need them (pandas' == on Python strings is paid again at each use).
    db_is_kajabi = {name: same_text(db[name], rows[name]) for name in POLICY}
    # Whether Kajabi held the whole database address at the last import, read only where it
    # matters: a protected address with a base that Kajabi now sends differently.
    address_differs = np.zeros(len(rows), dtype=bool)
    for name in ADDRESS_FIELDS:
        address_differs |= ~db_is_kajabi[name] & rows[name].notna().to_numpy()
    address_converged: pd.Series | None = None
    for name, policy in POLICY.items():
        if policy.protections not in protections:
            protections[policy.protections] = protection(policy, db, verdicts)
        protected, why = protections[policy.protections]
        address_elsewhere = address_parts.drop(columns=name, errors="ignore").any(axis=1)
        if policy.address_unit and address_converged is None:
            address_converged = address_convergence(
                db, bases, protected.fillna(False) & has_base & address_differs
            )
        decision, reason = decide_field(
            policy,
            # Arrow text as the frames hold it: whole-column Python strings would be made for
            # every row and field, while decide_field reads only the differing rows' text.
            as_arrow_text(db[name]),
            as_arrow_text(rows[name]),
            as_arrow_text(bases[name]),
            has_base,
            protected,
            why,
            address_elsewhere,
            fill_only,
            settings,
            db_is_kajabi[name],
            address_converged if policy.address_unit else None,
        )
        decided[name] = (decision, reason, protected)
    untaken = complete_addresses(decided, db, has_base)
    hold_address_as_unit(decided)

    frames = []
    new_base = pd.DataFrame(
        {"contact_id": rows["contact_id"], "kajabi_email": rows["email"]}, index=rows.index
    )
    for name, (decision, reason, protected) in decided.items():
        # A conflict or a protected edit waiting for review keeps its old base, so it stays
        # listed until the two sides agree (or a person decides).
        base_kept = decision.isin(_KEEPS_OLD_BASE)
        new_base[name] = rows[name].where(~base_kept, bases[name])
        # A Kajabi value left out of an empty database field, not knowing whether it belongs
        # there (unattributed, another address), is not taken as the base: the next import
        # decides it afresh instead of treating the empty field as one the database emptied.
        not_taken = db[name].isna() & (decision == Decision.UNATTRIBUTED)
        if name in untaken:
            not_taken |= untaken[name]
        new_base[name] = new_base[name].mask(not_taken)
        listed = decision != Decision.UNCHANGED
        if listed.any():
            kajabi_value = rows.loc[listed, name].astype("string")
            # Kajabi's text is stored in composed Unicode form (NFC), as the database's is.
            written = decision[listed].isin(WRITE_DECISIONS)
            kajabi_value = kajabi_value.mask(written, nfc(kajabi_value))
            frames.append(
                pd.DataFrame(
                    {
                        "row_number": rows.loc[listed, "row_number"],
                        "email": rows.loc[listed, "email"],
                        "contact_id": rows.loc[listed, "contact_id"],
                        "field": name,
                        "db_value": db.loc[listed, name],
                        "kajabi_value": kajabi_value,
                        "base_value": bases.loc[listed, name],
                        "decision": decision[listed].astype(str),
                        "reason": reason[listed],
                        "protected": protected[listed].astype(bool),
                    }
                )
            )
    emails = email_changes(rows, db, bases, settings)
    if len(emails):
        frames.append(emails)
    changes = (
        concat_rows(frames)
        if frames
        else pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS})
    )
    changes = changes.sort_values(["row_number", "field"], kind="stable").reset_index(drop=True)
    # Rows reached only through another address keep no base of their own; a base the import
    # would store exactly as it is stored is left out (the apply writes only bases that differ).
    new_base = new_base[~fill_only & ~_stored_as_is(new_base, bases, has_base)]

    new_contacts = new_contact_rows(planned, matches)
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
        matches=export[["row_number", "email"]].join(_with_steady(matches, export, steady)),
        new_contacts=new_contacts.reset_index(drop=True),
        new_bases=new_bases,
        # A steady row adds nothing to the naive figures: matched by its primary email, it
        # would overwrite no value (every one is byte-equal) and insert nothing.
        naive=naive_import_impact(matches, rows, db, changes, db_is_kajabi),
        export_rows=len(export),
        matched_contacts=len(rows) + (0 if steady is None else len(steady)),
        provenance=provenance,
        bases_version=snapshot.bases_version,
    )


def planned_rows(export: pd.DataFrame, steady: pd.DataFrame | None) -> pd.DataFrame:
    """The export rows ``build_plan`` plans: all of them, or those that are not ``steady``."""
    if steady is None or not len(steady):
        return export
    return export[~export["row_number"].isin(steady["row_number"]).to_numpy()]


def new_contact_rows(planned: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``planned`` that become new contacts (``matches``: ``match_rows`` of them),
    as ``plan.new_contacts`` holds them before their ids: ``row_number``, ``email``,
    ``email_raw`` and the contact fields, stored in composed Unicode form (NFC), as fills are."""
    new = planned[matches["match_kind"] == "new"]
    rows = new[["row_number", "email", "email_raw", *CONTACT_FIELDS]].copy()
    for name in CONTACT_FIELDS:
        rows[name] = nfc(rows[name].astype("string"))
    return rows


def _with_steady(
    matches: pd.DataFrame, export: pd.DataFrame, steady: pd.DataFrame | None
) -> pd.DataFrame:
    """``matches`` of the planned rows and the steady ones (each matched by its primary email
    to its contact), in the export's order and index."""
    if steady is None or not len(steady):
        return matches
    rows = export.loc[export["row_number"].isin(steady["row_number"]).to_numpy(), ["row_number"]]
    contact = rows["row_number"].map(steady.set_index("row_number")["contact_id"])
    steady_matches = pd.DataFrame(
        {
            "contact_id": contact.astype(matches["contact_id"].dtype),
            "match_kind": pd.Series("email", index=rows.index, dtype=matches["match_kind"].dtype),
        },
        index=rows.index,
    )
    return pd.concat([matches, steady_matches]).reindex(export.index)

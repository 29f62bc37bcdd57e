"""One week's push plan, as the ``kajabi_push_plan`` asset and ``kajabi-sync push --dry-run``
both compute it (one function, so the two can never drift apart)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import psycopg

from kajabi_sync.db.push_outbox import applied_this_week
from kajabi_sync.db.snapshot import last_applied_import, load_live_contacts
from kajabi_sync.exports_folder import export_for_week
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.kajabi import read_kajabi_export, validate_export
from kajabi_sync.kajabi.api.push import PushPlan, PushThresholds, plan_push, push_volume
from kajabi_sync.masking import mask_email
from kajabi_sync.survivorship.plan import ImpactPlan
from kajabi_sync.survivorship.plan_settings import PlanSettings
from kajabi_sync.weekly_plan import kajabi_values, plan_week

NOT_LATEST = (
    "nothing to push for this week: the database's last applied import is not this week's "
    "file; the push runs from the newest applied week"
)


def week_push_plan(
    conn: psycopg.Connection,
    plan: ImpactPlan,
    export: pd.DataFrame,
    file_sha256: str | None,
    site_contacts: int,
    partition_key: str,
    create_new: bool,
) -> tuple[PushPlan, str | None]:
    """The push plan of a week whose impact plan is ``plan``; (empty plan, why) when this week's
    Kajabi values are not what the database was last brought in line with (a newer week was
    applied since, or this one was not applied): a push resting on them would be stale."""
    last = last_applied_import(conn)
    if last is None or file_sha256 is None or last["file_sha256"] != file_sha256:
        return PushPlan([], site_contacts, 0), NOT_LATEST
    contacts = load_live_contacts(conn, arrow=True)
    pushed = applied_this_week(conn, partition_key)
    kajabi = push_kajabi_rows(plan, export, contacts)
    return plan_push(contacts, kajabi, site_contacts, create_new=create_new, pushed=pushed), None


def push_kajabi_rows(
    plan: ImpactPlan, export: pd.DataFrame, contacts: pd.DataFrame
) -> pd.DataFrame:
    """Kajabi's values for every contact the push may correct: the rows that decided a contact
    (as for the enriched export), and the rows matched through another of the contact's emails
    that carry the contact's own Kajabi ID. The latter is the same Kajabi contact under an
    address the database keeps as secondary: the API writes by ID, so it can be corrected too
    (a CSV import, which matches by email, could not)."""
    columns = ["contact_id", "email", *CONTACT_FIELDS, "name"]
    driving = kajabi_values(plan, export, ("name",))
    matches = plan.matches[plan.matches["match_kind"] == "other_email"]
    other = export.merge(matches[["row_number", "contact_id"]], on="row_number")[columns]
    own_id = contacts[["id", "kajabi_id"]].astype("string")
    other = other.astype({"contact_id": "string"}).merge(
        own_id.rename(columns={"id": "contact_id", "kajabi_id": "_own"}), on="contact_id"
    )
    same = other["kajabi_id"].str.strip() == other["_own"].str.strip()
    other = other[same.fillna(False).astype(bool)].drop(columns="_own")
    rows = pd.concat([driving.astype({"contact_id": "string"}), other], ignore_index=True)
    key = rows["contact_id"].str.lower()
    return rows[~key.duplicated(keep="first")].reset_index(drop=True)


def dry_run(
    conn: psycopg.Connection, exports_dir: Path, monday: date, create_new: bool
) -> tuple[PushPlan, str | None]:
    """The week's push plan from its snapshot file and the database, sending nothing."""
    raw = read_kajabi_export(export_for_week(exports_dir, monday))
    validated = validate_export(raw)
    week = plan_week(conn, validated.frame, PlanSettings())
    conn.commit()
    return week_push_plan(
        conn,
        week.plan,
        validated.frame,
        raw.sha256,
        len(raw.frame),
        monday.isoformat(),
        create_new,
    )


def describe(plan: PushPlan, thresholds: PushThresholds) -> list[str]:
    """What would be sent, contact by contact and field by field (emails masked)."""
    verdict = push_volume(plan, thresholds)
    lines = [
        f"{len(plan.updates())} contact(s) to update and {len(plan.creates())} to create, of the "
        f"site's {plan.site_contacts}; push_volume limit {verdict.limit}: "
        + ("passes." if verdict.passed else "BLOCKS (an override with a reason is needed)."),
    ]
    if plan.emails_differing:
        lines.append(
            f"{plan.emails_differing} matched contact(s) have another email in the database than "
            "in Kajabi: never pushed (change them by hand if they are right)."
        )
    emails = mask_email(pd.Series([r.email for r in plan.requests], dtype="string"))
    for request, email in zip(plan.requests, emails, strict=True):
        target = f"Kajabi {request.kajabi_id}" if request.kajabi_id else "new contact"
        lines.append(f"{request.action} {email} ({target})")
        for attribute, value in request.attributes.items():
            before = request.kajabi_before.get(attribute)
            shown = "" if request.action == "create" else f"{before!r} -> "
            lines.append(f"    {attribute}: {shown}{value!r}")
    return lines

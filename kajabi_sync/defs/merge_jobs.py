"""The user's merge decisions as a Dagster job: merge, unmerge, release or approve, from run config.

Example run config (Launchpad)::

    ops:
      decide_merge:
        config:
          action: merge            # merge | unmerge | release | approve
          survivor_id: "<uuid>"    # merge: the contact that stays
          merged_id: "<uuid>"      # merge: the contact merged away (soft-deleted)
          reason: "same person, two sign-ups"

``unmerge`` needs ``merge_run_id``; ``release`` and ``approve`` need the held sign-up's
``review_id`` (as the UI and needs_review.csv show it) or its ``email``; ``approve`` takes an
optional ``contact_id`` (default: the held candidate). Each action is one transaction.
"""

from typing import Any, Literal

import dagster as dg
import psycopg
from pydantic import Field

from kajabi_sync.db.holds import approve_hold, release_hold
from kajabi_sync.db.merges import MergeRefused, merge_contacts, unmerge
from kajabi_sync.defs.resources import ContactsDatabase
from kajabi_sync.masking import mask_one_email
from kajabi_sync.review.items import find_item


class MergeDecision(dg.Config):
    """One decision of the user's; which fields are needed depends on ``action``."""

    action: Literal["merge", "unmerge", "release", "approve"] = Field(
        description="merge two contacts, unmerge (undo a merge run), release a held duplicate "
        "(it becomes a new contact at the next import) or approve it (merge it into the contact "
        "it looks like)"
    )
    survivor_id: str | None = Field(
        default=None, description="merge: the contact that stays (id or email)"
    )
    merged_id: str | None = Field(
        default=None, description="merge: the contact merged away and soft-deleted (id or email)"
    )
    merge_run_id: int | None = Field(default=None, description="unmerge: the merge run to undo")
    review_id: str | None = Field(
        default=None, description="release/approve: the held duplicate's review_id"
    )
    email: str | None = Field(
        default=None, description="release/approve: the held duplicate's email (or review_id)"
    )
    contact_id: str | None = Field(
        default=None,
        description="approve: the contact to merge the held duplicate into (default: the one "
        "it looks like)",
    )
    reason: str = Field(
        default="decided by the user in Dagster",
        description="why: stored with the run in the audit trail",
    )


def _need(config: MergeDecision, *names: str) -> list[Any]:
    """The named fields' values, all given (else MergeRefused naming every missing one)."""
    missing = [n for n in names if getattr(config, n) in (None, "")]
    if missing:
        raise MergeRefused(f"action {config.action!r} needs {', '.join(missing)} in the run config")
    return [getattr(config, n) for n in names]


def run_decision(
    config: MergeDecision, conn: psycopg.Connection, dagster_run_id: str | None = None
) -> dict[str, Any]:
    """Carry out one decision; return what happened (for metadata). Raises MergeRefused."""
    if config.action == "merge":
        survivor_id, merged_id = _need(config, "survivor_id", "merged_id")
        run = merge_contacts(
            conn, survivor_id, merged_id, config.reason, dagster_run_id=dagster_run_id
        )
        return {"action": "merge", "merge_run_id": run}
    if config.action == "unmerge":
        (merge_run_id,) = _need(config, "merge_run_id")
        run = unmerge(conn, merge_run_id, config.reason, dagster_run_id=dagster_run_id)
        return {"action": "unmerge", "unmerge_run_id": run, "undid_run": merge_run_id}
    if config.review_id:
        item = find_item(conn, config.review_id)
        if item is None or item["kind"] != "held_duplicate":
            raise MergeRefused(
                f"{config.review_id} is not a held duplicate's review_id (see kajabi-sync review)"
            )
        config = config.model_copy(
            update={"email": item["email"], "contact_id": config.contact_id or item["contact_id"]}
        )
    if not config.email:
        raise MergeRefused(f"action {config.action!r} needs review_id (or email) in the run config")
    if config.action == "release":
        release_hold(conn, config.email, config.reason)
        return {"action": "release", "email": mask_one_email(config.email)}
    run = approve_hold(
        conn, config.email, config.contact_id, config.reason, dagster_run_id=dagster_run_id
    )
    return {"action": "approve", "email": mask_one_email(config.email), "merge_run_id": run}


@dg.op(
    description="Carry out one merge decision (merge, unmerge, release, approve) in one transaction."
)
def decide_merge(
    context: dg.OpExecutionContext, config: MergeDecision, database: ContactsDatabase
) -> dict[str, Any]:
    with database.connection() as conn:
        outcome = run_decision(config, conn, context.run.run_id)
    context.add_output_metadata({k: v for k, v in outcome.items()})
    context.log.info(f"merge decision done: {outcome}")
    return outcome


@dg.job(
    description="Merge two contacts, undo a merge, or decide a held duplicate (release or approve)."
)
def merge_contacts_job() -> None:
    decide_merge()

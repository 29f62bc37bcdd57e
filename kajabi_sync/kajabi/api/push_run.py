"""Sending a push plan to Kajabi through the outbox: resumable, and never a request twice.

Every planned request becomes an outbox row first. Rows are then sent one at a time, at the
client's rate cap. A row is marked ``sending`` before its request and gets its outcome as soon
as the answer is in. When an answer is lost (a kill, a dropped connection, a 5xx on a PATCH),
the row stays ``sending``: the next attempt first reads the contact back from Kajabi and marks
it applied without sending anything when Kajabi already holds the values. A 422 is recorded on
its row (detail and ``source.pointer``) and the push goes on with the other contacts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from kajabi_sync.db.push_outbox import (
    OutboxRow,
    PlannedRow,
    finish_push_run,
    mark_done,
    mark_sending,
    open_rows,
    require_idle,
    start_push_run,
    week_outcomes,
)
from kajabi_sync.kajabi.api.client import (
    KajabiApiError,
    KajabiClient,
    KajabiNotFound,
    KajabiOutcomeUnknown,
    KajabiRejected,
)
from kajabi_sync.kajabi.api.push import PushPlan

# A request whose answer is lost this many times in a row stops the push (it stays resumable).
MAX_UNKNOWN_OUTCOMES = 3


class PushStopped(RuntimeError):
    """The push stopped before every request was sent; re-running it resumes where it stopped."""


@dataclass(frozen=True)
class PushOutcome:
    push_run_id: int
    counts: dict[str, int]  # this run: sent, applied, verified, exists, rejected, created
    week: dict[str, int]  # the week's outbox by status, after this run


def _same(value: Any, sent: Any) -> bool:
    def text(v: Any) -> str:
        return "" if v is None else " ".join(str(v).split())

    return text(value) == text(sent)


def run_push(
    conn: psycopg.Connection,
    client: KajabiClient,
    site_id: str,
    plan: PushPlan,
    partition_key: str,
    *,
    dagster_run_id: str | None = None,
    file_sha256: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> PushOutcome:
    require_idle(conn)
    planned = [
        PlannedRow(r.contact_id, r.kajabi_id, r.email, r.action, r.attributes)
        for r in plan.requests
    ]
    run_id = start_push_run(
        conn, partition_key, dagster_run_id, file_sha256, overrides or {}, planned
    )
    counts: Counter[str] = Counter()
    try:
        for row in open_rows(conn, partition_key):
            _deliver(conn, client, site_id, row, counts)
    finally:
        finish_push_run(conn, run_id, counts)
    if log is not None and counts.get("verified"):
        log(
            f"{counts['verified']} request(s) interrupted earlier were found applied in Kajabi "
            "and not sent again"
        )
    return PushOutcome(run_id, dict(counts), week_outcomes(conn, partition_key))


def _deliver(
    conn: psycopg.Connection,
    client: KajabiClient,
    site_id: str,
    row: OutboxRow,
    counts: Counter[str],
) -> None:
    if row.status == "sending" and _found_applied(conn, client, site_id, row):
        counts["verified"] += 1
        return
    if row.action == "create" and _found_applied(conn, client, site_id, row):
        counts["exists"] += 1  # looked up first: the email is already a Kajabi contact
        return
    for _ in range(MAX_UNKNOWN_OUTCOMES):
        mark_sending(conn, row.id)
        counts["sent"] += 1
        try:
            if row.action == "update":
                assert row.kajabi_id is not None
                client.update_contact(row.kajabi_id, row.attributes)
                mark_done(conn, row.id, "applied", http_status=200)
                counts["applied"] += 1
            else:
                created = client.create_contact(site_id, row.attributes)
                mark_done(conn, row.id, "applied", http_status=201, kajabi_id=created.id)
                counts["created"] += 1
            return
        except KajabiRejected as rejected:
            if row.action == "create" and rejected.taken():
                if _found_applied(conn, client, site_id, row):
                    counts["exists"] += 1
                    return
            mark_done(conn, row.id, "rejected", http_status=422, error=rejected.details())
            counts["rejected"] += 1
            return
        except KajabiNotFound:
            mark_done(
                conn,
                row.id,
                "rejected",
                http_status=404,
                error="the contact is no longer in Kajabi (deleted there since the snapshot)",
            )
            counts["rejected"] += 1
            return
        except KajabiOutcomeUnknown:
            # Look before sending again: Kajabi may have applied it.
            if _found_applied(conn, client, site_id, row):
                counts["verified"] += 1
                return
        except KajabiApiError as refused:
            # 400/401/403: Kajabi did not act on it; the push cannot go on (a key or permission
            # problem), and this row is sent again by the next run.
            mark_done(conn, row.id, "pending", http_status=refused.status, error=refused.details())
            raise PushStopped(
                f"the push stopped: {refused}. Nothing further was sent; run again once fixed "
                "(the push resumes where it stopped)."
            ) from None
        except Exception:
            # A 429 or a connection that was never made, retried past the budget: not applied.
            mark_done(conn, row.id, "pending")
            raise
    raise PushStopped(
        f"Kajabi's answer to the request for contact {row.kajabi_id or '(new)'} was lost "
        f"{MAX_UNKNOWN_OUTCOMES} times; run again later (the push resumes where it stopped)."
    )


def _found_applied(
    conn: psycopg.Connection, client: KajabiClient, site_id: str, row: OutboxRow
) -> bool:
    """Whether Kajabi already holds what the row sends; marks the row when it does."""
    if row.action == "update":
        assert row.kajabi_id is not None
        try:
            contact = client.get_contact(row.kajabi_id)
        except KajabiNotFound:
            return False
        if all(_same(contact.attributes.get(k), v) for k, v in row.attributes.items()):
            mark_done(
                conn,
                row.id,
                "applied",
                http_status=200,
                error="found applied in Kajabi after an interrupted request; not sent again",
            )
            return True
        return False
    found = client.find_contact_by_email(site_id, row.email)
    if found is None:
        return False
    mark_done(
        conn,
        row.id,
        "exists",
        http_status=200,
        kajabi_id=found.id,
        error="a Kajabi contact with this email exists already; not created",
    )
    return True

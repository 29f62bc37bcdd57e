"""Every guard of one week's import with the facts it needs: the one function behind both the
``kajabi_import_guards`` checks and ``kajabi-sync plan``, so the two cannot drift apart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg

from kajabi_sync.exports_folder import file_sha256, newest_per_week
from kajabi_sync.guards.evaluate import evaluate_guards
from kajabi_sync.guards.export_guards import pending_earlier_exports
from kajabi_sync.guards.facts import read_import_facts
from kajabi_sync.guards.result import GuardResult
from kajabi_sync.guards.thresholds import Thresholds
from kajabi_sync.kajabi.api import settings as api_settings
from kajabi_sync.kajabi.validate import ValidatedExport
from kajabi_sync.survivorship.plan import ImpactPlan


def check_week(
    conn: psycopg.Connection,
    plan: ImpactPlan,
    export: ValidatedExport,
    exports_folder: Path,
    thresholds: Thresholds,
    *,
    first_week: date,
    allow_stale_export: bool = False,
    allow_earlier_export_pending: bool = False,
    allow_missing_columns: bool = False,
) -> list[GuardResult]:
    """One result per guard, in order, for ``plan`` made from ``export``; the advice on
    converging follows the site's push setting (``KAJABI_SYNC_PUSH``).

    The facts about earlier imports are read in a read-only transaction of their own; the
    earlier weeks' exports still waiting are looked up in ``exports_folder`` (files dated before
    ``first_week``, the first weekly partition, have no partition and are never pending).
    """
    source = export.source
    facts = read_import_facts(
        conn,
        source.sha256 if source else "",
        plan.new_contacts["email"],
        source.path.name if source else None,
        source.export_date if source else None,
    )
    last = facts.last_import
    pending = pending_earlier_exports(
        newest_per_week(exports_folder, since=first_week),
        source.export_date if source else None,
        last.get("export_date") if last else None,
        set(facts.applied_sha256),
        file_sha256,
    )
    return evaluate_guards(
        plan,
        export,
        facts,
        thresholds,
        allow_stale_export,
        pending,
        allow_earlier_export_pending,
        allow_missing_columns,
        pushing=api_settings.push_mode() == "api",
    )

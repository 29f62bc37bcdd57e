"""Small steps the survivorship and apply/audit tests share: plan, apply, read back, dump."""

from __future__ import annotations

import psycopg

from kajabi_sync.db.apply import ApplyResult, ImportRecord, apply_plan
from kajabi_sync.db.snapshot import load_snapshot
from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.survivorship.plan import ImpactPlan, PlanSettings, build_plan
from kajabi_sync_tests.factories import export_frame

# Every table an import or a rollback may write.
WRITTEN_TABLES = (
    "contacts",
    "contact_emails",
    "kajabi_sync.import_runs",
    "kajabi_sync.field_changes",
    "kajabi_sync.kajabi_base",
    "kajabi_sync.kajabi_base_history",
    "kajabi_sync.merged_from",
)
# Empties them, dependants first. DELETE, not TRUNCATE: on a handful of rows it is several
# times faster.
RESET = ";".join(f"DELETE FROM {table}" for table in reversed(WRITTEN_TABLES))


DEFAULT_SETTINGS = PlanSettings()


def plan_rows(url: str, *rows: dict, settings: PlanSettings = DEFAULT_SETTINGS) -> ImpactPlan:
    with psycopg.connect(url) as conn:
        return build_plan(export_frame(*rows), load_snapshot(conn), settings)


def apply_rows(
    url: str, *rows: dict, settings: PlanSettings = DEFAULT_SETTINGS, name: str = "export.csv"
) -> tuple[ImpactPlan, ApplyResult]:
    """Plan and apply an export made of ``rows``, as one weekly import."""
    plan = plan_rows(url, *rows, settings=settings)
    with psycopg.connect(url) as conn:
        result = apply_plan(conn, plan, ImportRecord(name, f"sha-{name}", len(rows)))
    return plan, result


def decisions(plan: ImpactPlan) -> dict[tuple[str, str], str]:
    """(export email key, field) -> decision, for every listed (not unchanged) field."""
    changes = plan.changes
    return dict(
        zip(
            zip(changes["email"], changes["field"], strict=False), changes["decision"], strict=False
        )
    )


def contact(url: str, email: str) -> dict:
    """A contact's Kajabi fields (and deletion) by primary email, live or not."""
    with psycopg.connect(url) as conn:
        cur = conn.execute(
            f"SELECT {', '.join(CONTACT_FIELDS)}, deleted_at IS NOT NULL AS deleted "
            "FROM contacts WHERE email = %s",
            (email,),
        )
        row = cur.fetchone()
        assert row is not None, f"no contact {email}"
        return dict(zip([c.name for c in cur.description], row, strict=False))


def count(url: str, query: str, params: tuple = ()) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchone()[0]


def execute(url: str, query: str, params: tuple = ()) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(query, params)


def dump(
    url: str, tables: tuple[str, ...] = WRITTEN_TABLES, skip: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Every row of ``tables`` as text, sorted (``skip``: columns left out, e.g. updated_at)."""
    with psycopg.connect(url) as conn:
        out = {}
        for table in tables:
            rows = conn.execute(
                f"SELECT (to_jsonb(t) - %s::text[])::text FROM {table} t ORDER BY 1", (list(skip),)
            ).fetchall()
            out[table] = [r[0] for r in rows]
        return out

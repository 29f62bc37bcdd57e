"""No step after the apply fails on input that the steps before it accepted.

The apply commits; a step that fails after it shows a failed run over written data, and fails
the same way on every re-run. Whatever the file holds, it is refused or quarantined by the
reader and validation, or it goes through to the Kajabi import files.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kajabi_sync.db.apply import ImportRecord, apply_plan
from kajabi_sync.db.snapshot import load_live_contacts
from kajabi_sync.kajabi.enriched_export import build_enriched_export, write_enriched_export
from kajabi_sync.kajabi.reader import KajabiFormatError, read_kajabi_export
from kajabi_sync.kajabi.validate import validate_export
from kajabi_sync.reports import week_file_name
from kajabi_sync.settings import week_reports_dir
from kajabi_sync.survivorship.plan import PlanSettings
from kajabi_sync.weekly_plan import kajabi_values, plan_week
from kajabi_sync_tests.factories import insert_contacts, kajabi_csv
from kajabi_sync_tests.reliability.dagster_run import (
    PARTITION,
    materialize_week,
    write_export,
)
from kajabi_sync_tests.weekly_job import step_failures


def test_a_kajabi_id_on_two_new_rows_is_quarantined_before_the_plan_and_the_run_completes(
    db_url, data_dir, monkeypatch
):
    monkeypatch.setenv("KAJABI_SYNC_DATABASE_URL", db_url)
    insert_contacts(
        db_url,
        *[{"email": f"known{n}@example.com", "kajabi_id": str(n)} for n in range(1, 6)],
    )
    write_export(
        data_dir,
        *[
            {"email": f"known{n}@example.com", "kajabi_id": str(n), "city": "Denver"}
            for n in range(1, 6)
        ],
        {"email": "ann@example.com", "first_name": "Ann", "kajabi_id": "300001"},
        {"email": "bob@example.com", "first_name": "Bob", "kajabi_id": "300001"},
    )
    with dg.instance_for_test() as instance:
        result = materialize_week(instance)

    assert result.success, step_failures(result)
    week = week_reports_dir(PARTITION, data_dir)
    rejects = pd.read_csv(week / week_file_name("kajabi_export_rejects.csv", PARTITION), dtype=str)
    assert rejects["row_number"].tolist() == ["7", "8"]
    assert set(rejects["column"]) == {"ID"}
    assert all("Kajabi ID 300001 is on rows 7, 8" in r for r in rejects["reason"])
    with psycopg.connect(db_url) as conn:
        cities = conn.execute("SELECT count(*) FROM contacts WHERE city = 'Denver'").fetchone()[0]
        ids = conn.execute("SELECT count(*) FROM contacts WHERE kajabi_id = '300001'").fetchone()
    assert (cities, ids[0]) == (5, 0)
    assert list(week.glob("kajabi_updates_only*.csv"))  # the import files were written


def test_two_rows_reaching_one_contact_by_email_and_by_kajabi_id_go_through_to_the_import_files(
    db_url, tmp_path
):
    insert_contacts(db_url, {"email": "jane@example.com", "kajabi_id": "101"})
    path = kajabi_csv(
        tmp_path / "kajabi_contacts_2025-11-10.csv",
        {"email": "jane@example.com", "kajabi_id": "777", "city": "Denver"},
        {"email": "jane.new@example.com", "kajabi_id": "101", "city": "Boulder"},
    )
    _import_and_export(db_url, path, tmp_path / "out")
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT city FROM contacts").fetchall() == [("Denver",)]


def _import_and_export(url: str, path: Path, out: Path) -> None:
    """Every step of the weekly job on one file: read, validate, plan, apply, import files."""
    validated = validate_export(read_kajabi_export(path))
    with psycopg.connect(url) as conn:
        week = plan_week(conn, validated.frame, PlanSettings(first_import="trust_kajabi"))
        record = ImportRecord(path.name, file_sha256="0" * 64, export_rows=len(validated.frame))
        apply_plan(conn, week.plan, record)
        contacts = load_live_contacts(conn, arrow=True)
    export = build_enriched_export(contacts, kajabi_values(week.plan, validated.frame))
    out.mkdir(exist_ok=True)
    write_enriched_export(export, out)


# Small pools, so that emails (in case and Unicode variants) and Kajabi IDs collide often.
_LOCALS = ["ann", "bob", "rené", "zoë", "jo.e", "ann+x"]
_DB_PEOPLE = [
    {"email": "ann@example.com", "kajabi_id": "1", "first_name": "Ann"},
    {"email": "rené@example.com", "kajabi_id": "2", "city": "Paris"},
    {"email": "bob@example.com", "kajabi_id": None, "phone": "+13035550100"},
]


@st.composite
def _export_rows(draw: st.DrawFn) -> list[dict]:
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        local = draw(st.sampled_from(_LOCALS))
        form = draw(st.sampled_from(["NFC", "NFD"]))
        email = unicodedata.normalize(form, f"{local}@example.com")
        rows.append(
            {
                "email": draw(st.sampled_from([email, email.upper(), f" {email} ", "", "bad"])),
                "kajabi_id": draw(st.sampled_from(["1", "2", "3", "300001", "", "N/A"])),
                "first_name": draw(st.sampled_from(["Ann", "René", "", "-", "Zoë"])),
                "city": draw(st.sampled_from(["Paris", "Denver", "", "none"])),
                "phone": draw(st.sampled_from(["+13035550100", "(303) 555-0101", "", "N/A"])),
                "postal_code": draw(st.sampled_from(["02130", "2130", ""])),
            }
        )
    return rows


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=_export_rows())
def test_whatever_validation_accepts_goes_through_every_step_after_the_apply(
    rows, db_url, tmp_path
):
    with psycopg.connect(db_url) as conn:
        tables = conn.execute(
            """SELECT string_agg(format('%I.%I', table_schema, table_name), ', ')
               FROM information_schema.tables WHERE table_type = 'BASE TABLE'
               AND (table_schema = 'kajabi_sync' AND table_name <> 'schema_migrations'
                    OR table_schema = 'public' AND table_name IN ('contacts', 'contact_emails'))"""
        ).fetchone()[0]
        conn.execute(f"TRUNCATE {tables} CASCADE")
    insert_contacts(db_url, *[{k: v for k, v in p.items() if v} for p in _DB_PEOPLE])
    path = kajabi_csv(tmp_path / "kajabi_contacts_2025-11-10.csv", *rows)
    try:
        validate_export(read_kajabi_export(path))
    except KajabiFormatError:
        return  # refused before anything was planned: allowed
    _import_and_export(db_url, path, tmp_path / "out")

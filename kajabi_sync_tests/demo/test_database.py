"""The default demo database has exactly the first user's statistics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psycopg
import pytest

from kajabi_sync.demo import DemoSpec, DemoSummary, generate_demo


@pytest.fixture(scope="module")
def default_demo(module_db: tuple[str, Path]) -> tuple[str, DemoSummary]:
    """The default demo, built once for the module: its tests only read it."""
    url, folder = module_db
    return url, generate_demo(url, folder)


def scalar(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def test_default_population_counts(default_demo: tuple[str, DemoSummary]) -> None:
    url, summary = default_demo
    live = "FROM contacts WHERE deleted_at IS NULL"
    assert scalar(url, f"SELECT count(*) {live}") == 6_555
    assert (
        scalar(
            url,
            f"SELECT count(*) {live} AND kajabi_id IS NOT NULL AND kajabi_member_id IS NOT NULL",
        )
        == 5_387
    )
    assert (
        scalar(url, f"SELECT count(*) {live} AND kajabi_id IS NULL AND source_system = 'paypal'")
        == 1_168
    )
    assert (
        scalar(
            url,
            f"SELECT count(*) {live} AND (phone_source IN ('paypal','zoho','ticket_tailor','manual')"
            " OR paypal_phone IS NOT NULL)",
        )
        == 1_117
    )
    assert scalar(url, f"SELECT count(*) {live} AND phone_source = 'kajabi'") > 0
    assert scalar(url, f"SELECT count(*) {live} AND paypal_first_name IS NOT NULL") == 508
    assert (
        scalar(
            url,
            f"SELECT count(*) {live} AND paypal_first_name IS NOT NULL"
            " AND first_name IS DISTINCT FROM paypal_first_name",
        )
        == 0
    )
    assert scalar(url, f"SELECT count(*) {live} AND shipping_address_line_1 IS NOT NULL") == 1_210
    assert scalar(url, f"SELECT count(*) {live} AND zoho_id IS NOT NULL") == 1_956
    sources = scalar(
        url, f"SELECT array_agg(DISTINCT source_system) {live} AND kajabi_id IS NOT NULL"
    )
    assert {"kajabi", "zoho", "ticket_tailor", "manual"} <= set(sources)
    assert (summary.live_contacts, summary.phone_enriched, summary.corrected_addresses) == (
        6_555,
        1_117,
        672,
    )


def test_emails_unique_and_primary_rows(default_demo: tuple[str, DemoSummary]) -> None:
    url, _ = default_demo
    assert (
        scalar(
            url,
            "SELECT count(*) - count(DISTINCT lower(email::text)) FROM contacts WHERE deleted_at IS NULL",
        )
        == 0
    )
    missing_primary = """
        SELECT count(*) FROM contacts c WHERE c.deleted_at IS NULL AND NOT EXISTS (
            SELECT 1 FROM contact_emails e WHERE e.contact_id = c.id AND e.is_primary AND e.email = c.email)"""
    assert scalar(url, missing_primary) == 0


def test_merged_duplicates_are_soft_deleted_with_email_under_survivor(
    default_demo: tuple[str, DemoSummary],
) -> None:
    url, _ = default_demo
    assert (
        scalar(
            url,
            "SELECT count(*) FROM contacts WHERE deleted_at IS NOT NULL AND kajabi_id IS NOT NULL",
        )
        == 125
    )
    under_live_survivor = """
        SELECT count(*) FROM contacts m JOIN contact_emails e ON e.email = m.email
        JOIN contacts s ON s.id = e.contact_id AND s.deleted_at IS NULL
        WHERE m.deleted_at IS NOT NULL AND NOT e.is_primary AND e.source = 'merge'"""
    assert scalar(url, under_live_survivor) == 125


def test_corrected_addresses_differ_from_week_one_export(
    default_demo: tuple[str, DemoSummary],
) -> None:
    url, summary = default_demo
    export = pd.read_csv(
        summary.exports[0].path, dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    with psycopg.connect(url) as conn:
        db = pd.DataFrame(
            conn.execute(
                "SELECT kajabi_id, city, coalesce(address_line_2, ''), billing_address_source "
                "FROM contacts WHERE deleted_at IS NULL AND kajabi_id IS NOT NULL"
            ).fetchall(),
            columns=["ID", "db_city", "db_line2", "flag"],
        )
    joined = export.merge(db, on="ID")
    kajabi_city = joined["City (address_city)"]
    recased = (kajabi_city != joined["db_city"].fillna("")) & (
        kajabi_city.str.lower() == joined["db_city"].str.lower()
    )
    kajabi_line2 = joined["Address Line 2 (address_line_2)"]
    junk_line2 = (kajabi_line2 != "") & (kajabi_line2 != joined["db_line2"])
    corrected = joined[recased | junk_line2]
    assert len(corrected) == 672
    assert recased.sum() > 0 and junk_line2.sum() > 0
    flagged = corrected["flag"].isin(["manual", "paypal", "unknown_legacy"])
    assert 0 < flagged.sum() < len(corrected)
    assert flagged.sum() == summary.corrected_flagged


def test_naive_import_damage_is_measured(default_demo: tuple[str, DemoSummary]) -> None:
    _, summary = default_demo
    damage = summary.naive_overwrites
    # Real overwrites are far fewer than cosmetic differences, and some hide from every source column.
    assert 0 < damage["contacts_with_real_overwrite"] < damage["contacts_with_any_difference"]
    assert damage["invisible_to_source_columns"] > 0
    assert damage["enriched"] >= damage["zoho_linked"] > 0


def test_spec_rejects_a_first_export_that_is_not_a_monday() -> None:
    with pytest.raises(ValueError, match="Monday"):
        DemoSpec(first_export=pd.Timestamp("2025-11-11").date())

"""Scaling keeps the proportions; the reset never wipes a database the demo did not make."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from kajabi_sync.demo import DemoSpec, NotADemoDatabase, generate_demo
from kajabi_sync.demo.spec import REFERENCE_CONTACTS, REFERENCE_COUNTS


def test_scaled_spec_keeps_the_proportions(db_url: str, data_dir: Path) -> None:
    summary = generate_demo(db_url, data_dir, DemoSpec(contacts=20_000, weeks=1))
    scale = 20_000 / REFERENCE_CONTACTS
    for name, actual in {
        "kajabi_contacts": summary.kajabi_contacts,
        "phone_enriched": summary.phone_enriched,
        "paypal_names": summary.paypal_names,
        "shipping_addresses": summary.shipping_addresses,
        "zoho_linked": summary.zoho_linked,
        "corrected_addresses": summary.corrected_addresses,
        "merged_duplicates": summary.merged_duplicates,
    }.items():
        assert actual == round(REFERENCE_COUNTS[name] * scale), name
    with psycopg.connect(db_url) as conn:
        live = conn.execute("SELECT count(*) FROM contacts WHERE deleted_at IS NULL").fetchone()[0]
        in_kajabi = conn.execute(
            "SELECT count(*) FROM contacts WHERE deleted_at IS NULL AND kajabi_id IS NOT NULL"
        ).fetchone()[0]
    assert live == 20_000
    assert in_kajabi == round(5_387 * scale)
    assert summary.exports[0].rows == in_kajabi + round(125 * scale) + round(30 * scale)


def test_refuses_to_reset_a_database_it_did_not_make(db_url: str, data_dir: Path) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO contacts (email, first_name) VALUES ('real.person@example.com', 'Real')"
        )
    with pytest.raises(NotADemoDatabase, match="refusing"):
        generate_demo(db_url, data_dir, DemoSpec(contacts=400, weeks=1))
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT email::text FROM contacts").fetchall() == [
            ("real.person@example.com",)
        ]
    assert not list((data_dir / "kajabi_exports").iterdir())


def test_replaces_its_own_demo_but_only_when_asked(db_url: str, data_dir: Path) -> None:
    spec = DemoSpec(contacts=400, weeks=1)
    generate_demo(db_url, data_dir, spec)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO kajabi_sync.import_runs (file_name, file_sha256, export_rows) VALUES ('x', 'y', 1)"
        )
    again = generate_demo(db_url, data_dir, spec)
    with psycopg.connect(db_url) as conn:
        assert (
            conn.execute("SELECT count(*) FROM contacts WHERE deleted_at IS NULL").fetchone()[0]
            == 400
        )
        assert conn.execute("SELECT count(*) FROM kajabi_sync.import_runs").fetchone()[0] == 0
    assert again.live_contacts == 400
    with pytest.raises(NotADemoDatabase, match="reset"):
        generate_demo(db_url, data_dir, spec, reset=False)

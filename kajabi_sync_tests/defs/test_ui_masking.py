"""No personal data unmasked in what Dagster stores and shows: every event of a demo run.

The demo's two weeks run through the weekly job on one instance; then every stored event of
every run (materialisations, observations, check evaluations, log lines) is searched for the
full name, street line or postcode of any contact of the demo database. Emails and phones are
covered by ``reliability/test_personal_data.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import dagster as dg
import psycopg
from dagster._serdes import serialize_value

from kajabi_sync_tests.weekly_job import run_week, step_failures

CONTACTS = 600


def metadata_strings(metadata: dict) -> Iterator[str]:
    """Every text a person can see in ``metadata``: markdown, text, paths, JSON, table cells."""
    for value in metadata.values():
        if isinstance(value, dg.TableMetadataValue):
            for record in value.records:
                yield from (str(cell) for cell in record.data.values() if cell is not None)
        elif isinstance(value, dg.JsonMetadataValue):
            yield json.dumps(value.data, ensure_ascii=False)
        elif hasattr(value, "value") and isinstance(value.value, str):
            yield value.value


def stored_texts(instance: dg.DagsterInstance) -> tuple[list[str], list[str]]:
    """(each stored event serialised, every metadata text and check description on its own)."""
    records: list[str] = []
    texts: list[str] = []
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            records.append(serialize_value(entry))
            records.append(entry.user_message or "")
            event = entry.dagster_event
            if event is None:
                continue
            data = event.event_specific_data
            for name in ("materialization", "asset_observation"):
                holder = getattr(data, name, None)
                if holder is not None:
                    texts += list(metadata_strings(holder.metadata))
            if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                texts += list(metadata_strings(data.metadata))
                texts.append(data.description or "")
    return records, texts


def test_no_stored_event_of_a_demo_run_shows_a_name_street_or_postcode(db_url, data_dir):
    from kajabi_sync.demo import DemoSpec, generate_demo

    summary = generate_demo(db_url, data_dir, DemoSpec(contacts=CONTACTS, weeks=2))
    with dg.instance_for_test() as instance:
        for week in summary.exports:
            result = run_week(
                week.export_date.isoformat(), db_url=db_url, data_dir=data_dir, instance=instance
            )
            assert result.success, step_failures(result)
        records, texts = stored_texts(instance)
    with psycopg.connect(db_url) as conn:
        people = conn.execute(
            "SELECT first_name, last_name, address_line_1, address_line_2, postal_code "
            "FROM contacts"
        ).fetchall()

    everything = "\n".join(records + texts)
    names = {f"{first} {last}" for first, last, *_ in people if first and last}
    streets = {line for row in people for line in row[2:4] if line and len(line.strip()) >= 6}
    postcodes = {code.strip() for *_, code in people if code and len(code.strip()) >= 4}
    # Last names alone, as a table cell would show them unmasked.
    surnames = {last for _, last, *_ in people if last and len(last) >= 4}
    assert len(names) > CONTACTS / 2 and streets and postcodes  # the search has something to find

    leaks = [f"name {n!r}" for n in names if n in everything]
    leaks += [f"street {s!r}" for s in streets if s in everything]
    shown_tokens = {token for text in texts for token in re.findall(r"[A-Za-z0-9-]+", text)}
    leaks += [f"postcode {p!r}" for p in postcodes if p in shown_tokens]
    cells = {text.strip() for text in texts}
    leaks += [f"last name {s!r}" for s in surnames if s in cells]
    # The previews are there, with names and streets masked to a first letter.
    assert any(re.fullmatch(r"\w\*\*\*", cell) for cell in cells)
    assert sorted(leaks) == []

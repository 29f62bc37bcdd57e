"""The API demo's Kajabi: the generated weekly exports replayed into the local fake Kajabi.

Week 1's export becomes the fake's contacts. Each later week, only what changed in Kajabi
between two generated exports (sign-ups, deletions, genuine Kajabi-side edits) is applied to the
fake, as someone working in Kajabi's UI would; whatever the push sent stays. So the loop shows
Kajabi converging with nobody touching a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kajabi_sync.demo.fake_kajabi import FakeKajabi
from kajabi_sync.kajabi import read_kajabi_export
from kajabi_sync.kajabi.api.snapshot import FORM_COLUMNS
from kajabi_sync.kajabi.columns import (
    CREATED_AT_COLUMN,
    EMAIL_COLUMN,
    ID_COLUMN,
    NAME_COLUMN,
    form_handle,
)

_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S %z"


@dataclass(frozen=True)
class KajabiState:
    custom_fields: dict[str, str]  # handle -> title
    contacts: dict[str, dict[str, Any]]  # Kajabi ID -> API attributes


def state_from_export(path: Path) -> KajabiState:
    """What Kajabi's API would hold for the contacts of one export file."""
    from datetime import UTC, datetime

    frame = read_kajabi_export(path).frame
    by_handle = {form_handle(str(label)): str(label) for label in frame.columns}
    custom = {
        handle: str(label).rsplit(" (", 1)[0]
        for handle, label in by_handle.items()
        if handle and handle.startswith("custom_")
    }
    attributes = [a for a in FORM_COLUMNS.values() if a != "name"]
    contacts: dict[str, dict[str, Any]] = {}
    for row in frame.to_dict("records"):
        kajabi_id = str(row[ID_COLUMN]).strip()
        if not kajabi_id:
            continue
        record: dict[str, Any] = {
            "name": row[NAME_COLUMN] or None,
            "email": row[EMAIL_COLUMN] or None,
        }
        for attribute in attributes:
            label = by_handle.get(attribute)
            if attribute != "email" and label is not None:
                record[attribute] = row[label] or None
        for handle in custom:
            record[handle] = row[by_handle[handle]] or None
        created = str(row.get(CREATED_AT_COLUMN) or "")
        if created:
            moment = datetime.strptime(created, _TIMESTAMP_FORMAT).astimezone(UTC)
            record["created_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        contacts[kajabi_id] = record
    return KajabiState(custom, contacts)


def seed_fake(fake: FakeKajabi, state: KajabiState) -> None:
    fake.custom_fields = dict(state.custom_fields)
    # Oldest first, as Kajabi created them (the fake lists in creation order).
    for kajabi_id, record in sorted(
        state.contacts.items(), key=lambda item: (item[1].get("created_at") or "", int(item[0]))
    ):
        fake.add_contact(kajabi_id, **record)


@dataclass(frozen=True)
class WeekChanges:
    added: int
    removed: int
    edited: int  # contacts with at least one attribute edited in Kajabi


def apply_changes(fake: FakeKajabi, before: KajabiState, after: KajabiState) -> WeekChanges:
    """Apply to the fake only what changed in Kajabi from ``before`` to ``after``."""
    added = [k for k in after.contacts if k not in before.contacts]
    removed = [k for k in before.contacts if k not in after.contacts]
    edited = 0
    for kajabi_id, record in after.contacts.items():
        if kajabi_id in before.contacts and kajabi_id in fake.contacts:
            changed = _changed(before.contacts[kajabi_id], record)
            if changed:
                fake.edit_contact(kajabi_id, **changed)
                edited += 1
    for kajabi_id in removed:
        fake.remove_contact(kajabi_id)
    for kajabi_id in added:
        fake.add_contact(kajabi_id, **after.contacts[kajabi_id])
    return WeekChanges(len(added), len(removed), edited)


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in after.items()
        if key != "created_at" and before.get(key) != value
    }

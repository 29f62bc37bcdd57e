"""The week's snapshot pulled from Kajabi's API, written as a Kajabi contacts export.

The pull is a full scan (the API cannot list "changed since"), oldest contact first, 100 a page,
following ``links.next``. It must see exactly ``meta.total_count`` contacts, each once; anything
less (a request that keeps failing, a short last page) raises ``ScanIncomplete`` and no file is
written. The file is written to a temporary name and renamed into place only when complete, so
a reader never sees half a snapshot.

What the snapshot holds, column by column, in Kajabi's export layout:

- ``Name``, ``Email``, ``ID`` (the API's contact id is the export's ``ID``), ``External User ID``,
  ``Created At`` (as Kajabi's export writes dates), the form columns ``Phone Number
  (phone_number)``, ``Address (address_line_1)``, ``Address Line 2 (address_line_2)``, ``City``,
  ``State``, ``Country``, ``Zip Code``, ``Business Number``, and every custom field as
  ``Title (custom_N)``: straight from the API.
- ``First Name`` / ``Last Name``: the API has one ``name``. When it reads as the first and last
  name this contact had (its Kajabi base first, then the database: ``first``, any middle names,
  ``last``), that split is kept, so a name nobody changed plans ``unchanged`` exactly as with a
  CSV export. Otherwise the first word is the first name and the rest the last name.
- ``Member ID``: not in the API. The contact's last known Member ID (base, else database) is
  carried forward, so it neither changes nor counts as a disagreement.
- ``Products``, ``Tags``, ``Member Created At``, ``Sign In Count``, ``Last Activity``,
  ``Last Sign In At``, ``Mobile Phone Number``: not carried (empty or absent). kajabi_sync stores
  none of them except the mobile phone, which the API cannot read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kajabi_sync.kajabi.api.client import ApiContact, CustomField, KajabiClient
from kajabi_sync.kajabi.columns import (
    CREATED_AT_COLUMN,
    EMAIL_COLUMN,
    EXTERNAL_USER_ID_COLUMN,
    FIELD_FROM_FIXED_COLUMN,
    FIXED_COLUMNS,
    ID_COLUMN,
    NAME_COLUMN,
    PHONE_FALLBACK_HANDLE,
    STANDARD_FORM_COLUMNS,
    form_handle,
    looks_like_card_data,
)
from kajabi_sync.kajabi.export_file import write_export_file

# Export form column -> API attribute (the form field's handle), in the export's order. The
# API cannot read the mobile phone, so its column is not written.
FORM_COLUMNS: dict[str, str] = {
    label: handle
    for label in STANDARD_FORM_COLUMNS
    if (handle := form_handle(label)) is not None and handle != PHONE_FALLBACK_HANDLE
}


class ScanIncomplete(RuntimeError):
    """The scan ended before every contact was read; no snapshot was written."""


@dataclass(frozen=True)
class NameHint:
    """What we last knew of a Kajabi contact: its base (what Kajabi sent), else the database."""

    first_name: str | None
    last_name: str | None
    member_id: str | None = None


@dataclass(frozen=True)
class PulledContacts:
    site_id: str
    contacts: list[ApiContact]
    custom_fields: list[CustomField]
    pages: int


def scan_contacts(client: KajabiClient, site_id: str) -> PulledContacts:
    """Every contact of the site, or ``ScanIncomplete``."""
    custom_fields = client.custom_fields(site_id)
    contacts: list[ApiContact] = []
    seen: set[str] = set()
    expected: int | None = None
    pages = 0
    for page, meta in client.contact_pages(site_id):
        pages += 1
        if meta.get("total_count") is not None:
            expected = int(meta["total_count"])
        for contact in page:
            if contact.id in seen:
                raise ScanIncomplete(
                    f"Kajabi listed contact {contact.id} twice during the scan (contacts were "
                    "added or deleted while it ran); no snapshot was written — run again"
                )
            seen.add(contact.id)
            contacts.append(contact)
    if expected is not None and len(contacts) != expected:
        raise ScanIncomplete(
            f"the scan read {len(contacts)} contacts but Kajabi reports {expected} "
            f"(meta.total_count) after {pages} page(s); no snapshot was written — run again"
        )
    return PulledContacts(site_id, contacts, custom_fields, pages)


def split_name(name: str | None, hints: Iterable[NameHint]) -> tuple[str, str]:
    """(first, last) for Kajabi's single ``name`` (see the module docstring)."""
    text = " ".join((name or "").split())
    if not text:
        return "", ""
    for hint in hints:
        first = " ".join((hint.first_name or "").split())
        last = " ".join((hint.last_name or "").split())
        if first and last:
            fits = text == f"{first} {last}" or (
                text.startswith(first + " ")
                and text.endswith(" " + last)
                and len(text) > len(first) + len(last) + 1
            )
        else:
            fits = bool(first or last) and text == (first or last)
        if fits:
            return hint.first_name or "", hint.last_name or ""
    head, _, rest = text.partition(" ")
    return head, rest


def export_timestamp(value: object) -> str:
    """An API timestamp (ISO 8601) as Kajabi's export writes it: ``2024-05-06 18:01:32 -0700``."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M:%S %z")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def snapshot_rows(
    pulled: PulledContacts, hints: Mapping[str, list[NameHint]]
) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the snapshot, newest contact first (as Kajabi's export lists)."""
    custom = [
        (f"{field.title} ({field.handle})", field.handle)
        for field in pulled.custom_fields
        # Card-looking labels would be dropped by the reader anyway: never written at all.
        if not looks_like_card_data(f"{field.title} ({field.handle})")
    ]
    header = [*FIXED_COLUMNS, *FORM_COLUMNS, *(label for label, _ in custom)]
    rows = []
    for contact in reversed(pulled.contacts):
        attributes = contact.attributes
        known = hints.get(contact.id, [])
        first, last = split_name(attributes.get("name"), known)
        member_id = next((h.member_id for h in known if h.member_id), None)
        fixed = {
            NAME_COLUMN: _cell(attributes.get("name")),
            FIELD_FROM_FIXED_COLUMN["first_name"]: first,
            FIELD_FROM_FIXED_COLUMN["last_name"]: last,
            EMAIL_COLUMN: _cell(attributes.get("email")),
            ID_COLUMN: contact.id,
            FIELD_FROM_FIXED_COLUMN["kajabi_member_id"]: _cell(member_id),
            EXTERNAL_USER_ID_COLUMN: _cell(attributes.get("external_user_id")),
            CREATED_AT_COLUMN: export_timestamp(attributes.get("created_at")),
        }
        row = [fixed.get(column, "") for column in FIXED_COLUMNS]
        row += [_cell(attributes.get(attribute)) for attribute in FORM_COLUMNS.values()]
        row += [_cell(attributes.get(handle)) for _, handle in custom]
        rows.append(row)
    return header, rows


def pull_snapshot(
    client: KajabiClient,
    site_id: str,
    path: Path,
    hints: Mapping[str, list[NameHint]],
    before_rename: Callable[[str, PulledContacts], None] | None = None,
) -> tuple[PulledContacts, str]:
    """Scan the site and write its snapshot at ``path``; (what was read, the file's SHA-256)."""
    pulled = scan_contacts(client, site_id)
    header, rows = snapshot_rows(pulled, hints)
    sha256 = write_export_file(
        path,
        header,
        rows,
        None if before_rename is None else (lambda sha: before_rename(sha, pulled)),
    )
    return pulled, sha256

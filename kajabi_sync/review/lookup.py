"""What the user may name a contact by: its id, a review_id the review file or the UI shows, or
any of its emails."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import psycopg

from kajabi_sync.db.merges import live_contacts_with_email
from kajabi_sync.review.items import find_item
from kajabi_sync.review.kinds import KINDS

REVIEW_ID_PATTERN = re.compile(r"^[A-Z]-[0-9A-F]{12}$", re.IGNORECASE)


class UnknownReference(LookupError):
    """Nothing is known by what the user gave; the message says what was tried."""


@dataclass(frozen=True)
class ContactReference:
    email: str  # the email the contact's details and history are looked up by
    contact_id: str | None = None
    item: dict | None = None  # the review item, when a review_id was given

    def item_line(self) -> str | None:
        """What the review item is about, in a sentence (emails as the item has them)."""
        if self.item is None:
            return None
        kind = KINDS.get(self.item["kind"])
        if kind is not None and kind.source == "held":
            return (
                f"Review item {self.item['review_id']} ({self.item['kind']}): the held sign-up "
                f"{self.item['email']} looks like this contact"
            )
        return (
            f"Review item {self.item['review_id']} ({self.item['kind']}): the field "
            f"{self.item['field']} of this contact"
        )


def _email_of(conn: psycopg.Connection, contact_id: str) -> str | None:
    row = conn.execute("SELECT email::text FROM contacts WHERE id = %s", (contact_id,)).fetchone()
    return None if row is None else row[0]


def contact_reference(conn: psycopg.Connection, who: str) -> ContactReference:
    """Resolve a contact id, a review_id or an email; raise UnknownReference when an id or a
    review_id names nothing (an email is returned as given: its history may outlive it)."""
    text = who.strip()
    try:
        contact_id = str(uuid.UUID(text))
    except ValueError:
        contact_id = None
    if contact_id is not None:
        email = _email_of(conn, contact_id)
        if email is None:
            raise UnknownReference(f"no contact has the id {contact_id}")
        return ContactReference(email, contact_id)
    if REVIEW_ID_PATTERN.match(text):
        item = find_item(conn, text)
        if item is None:
            raise UnknownReference(
                f"no review item {text.upper()} (see kajabi-sync review for the open items)"
            )
        email = _email_of(conn, item["contact_id"]) if item["contact_id"] else None
        if email is None:
            raise UnknownReference(
                f"review item {item['review_id']} names no contact in the database "
                f"({item['kind']} of {item['email']})"
            )
        return ContactReference(email, item["contact_id"], item)
    return ContactReference(text)


def live_contact_id(conn: psycopg.Connection, who: str, role: str) -> str:
    """A contact id as given, or the one live contact whose primary email or other address
    ``who`` is; UnknownReference (naming ``role``) when none or several have it."""
    try:
        return str(uuid.UUID(who))
    except ValueError:
        pass
    found = live_contacts_with_email(conn, who.strip().lower())
    if len(found) != 1:
        problem = "no live contact has" if not found else f"{len(found)} live contacts have"
        raise UnknownReference(f"{problem} the email {who} ({role}); give a contact id instead")
    return found[0]

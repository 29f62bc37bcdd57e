"""Planning the push of the database's corrections back to Kajabi through the API.

The push sends what ``kajabi_updates_only.csv`` carries, field by field: for every contact Kajabi
also has, each field where the database holds a value that is not Kajabi's exact text (the rule
of ``enriched_export``). Invariants:

- only the differing attributes are sent, each with the database's non-empty value: a PATCH
  never sends a blank where Kajabi has a value, and never an attribute the API lacks (mobile
  phone, member id, Kajabi ID);
- the name is one attribute in Kajabi: it is sent when the first or last name differs, as
  ``first [middle names Kajabi has] last``, a missing part taken from Kajabi;
- emails are never changed (Kajabi matches people by email; a differing email is for a person);
- contacts are never deleted, and created only with ``create_new`` (``KAJABI_SYNC_PUSH_NEW=1``);
- what this week's push already applied counts as Kajabi's value: planning again after a
  complete push plans nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import Field

from kajabi_sync.fields import ADDRESS_FIELDS, PHONE_FIELDS
from kajabi_sync.guards.thresholds import Count, NumericLimits, Percent
from kajabi_sync.kajabi.api.snapshot import NameHint, split_name
from kajabi_sync.kajabi.columns import FIELD_FROM_HANDLE
from kajabi_sync.kajabi.enriched_export import build_enriched_export
from kajabi_sync.kajabi.import_format import EMAIL_HEADER, FIELD_HEADERS, NAME_HEADER
from kajabi_sync.site_config import env_name

# Our field -> the contact attribute the API reads and writes: the export's form handles are
# the API's attribute names.
ATTRIBUTE_OF_FIELD: dict[str, str] = dict(FIELD_FROM_HANDLE)
FIELD_OF_ATTRIBUTE = {attribute: name for name, attribute in ATTRIBUTE_OF_FIELD.items()}
PUSHED_FIELDS = PHONE_FIELDS + ADDRESS_FIELDS

MAX_PUSH_PCT_ENV = env_name("max_push_pct")
MIN_PUSH_LIMIT_ENV = env_name("min_push_limit")

Action = Literal["update", "create"]


@dataclass(frozen=True)
class PushRequest:
    contact_id: str
    kajabi_id: str | None  # None: a contact to create
    email: str
    action: Action
    attributes: dict[str, str]  # exactly what is sent
    kajabi_before: dict[str, str | None] = field(default_factory=dict)  # Kajabi's values now


@dataclass(frozen=True)
class PushPlan:
    requests: list[PushRequest]
    site_contacts: int  # contacts in the week's snapshot of the site
    emails_differing: int  # matched contacts whose database email is not Kajabi's: never pushed

    def updates(self) -> list[PushRequest]:
        return [r for r in self.requests if r.action == "update"]

    def creates(self) -> list[PushRequest]:
        return [r for r in self.requests if r.action == "create"]

    def attribute_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for request in self.updates():
            for attribute in request.attributes:
                counts[attribute] = counts.get(attribute, 0) + 1
        return dict(sorted(counts.items()))


class PushThresholds(NumericLimits):
    """The push volume guard: contacts to change, in % of the site's contacts, never a limit
    below ``min_push_limit`` (the shape of ``overwrite_volume``). Read from the environment
    (``KAJABI_SYNC_MAX_PUSH_PCT``, ``KAJABI_SYNC_MIN_PUSH_LIMIT``) and a run's override, the way
    every site setting is read (``kajabi_sync.site_config``)."""

    noun: ClassVar[str] = "push threshold"

    max_push_pct: Percent = Field(
        default=2.0,
        description="The most contacts to update in Kajabi, in % of the site's contacts.",
    )
    min_push_limit: Count = Field(
        default=25, description="The push limit is never below this many contacts."
    )

    def limit(self, site_contacts: int) -> int:
        return max(int(self.max_push_pct / 100 * site_contacts), self.min_push_limit)


def load_push_thresholds(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> PushThresholds:
    """A run's overrides, then ``KAJABI_SYNC_MAX_PUSH_PCT`` / ``KAJABI_SYNC_MIN_PUSH_LIMIT``, then
    the defaults."""
    return PushThresholds.load(environ, overrides)


def pushed_name(
    kajabi_name: str | None,
    kajabi_first: str | None,
    kajabi_last: str | None,
    db_first: str | None,
    db_last: str | None,
) -> str:
    """Kajabi's one ``name`` from the database's first and last name, keeping the middle names
    Kajabi has between its own first and last name; a missing part stays Kajabi's."""
    first = db_first or kajabi_first or ""
    last = db_last or kajabi_last or ""
    text = " ".join((kajabi_name or "").split())
    middle = ""
    if kajabi_first and kajabi_last:
        head, tail = f"{kajabi_first} ", f" {kajabi_last}"
        if text.startswith(head) and text.endswith(tail) and len(text) > len(head) + len(tail):
            middle = text[len(head) : len(text) - len(tail)].strip()
    return " ".join(part for part in (first, middle, last) if part)


def overlay_pushed(
    kajabi: pd.DataFrame, contacts: pd.DataFrame, pushed: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """Kajabi's values with the attributes this week's push already applied put in (by our
    contact id): after a complete push, Kajabi holds the database's values. A pushed name is
    split as the next pull will split it: by the database's first and last name, then Kajabi's."""
    if not pushed:
        return kajabi
    out = kajabi.copy()
    ids = out["contact_id"].astype(str).str.lower()
    db = contacts.assign(_key=contacts["id"].astype(str).str.lower()).set_index("_key")
    for contact_id, attributes in pushed.items():
        key = str(contact_id).lower()
        rows = ids == key
        if not rows.any():
            continue
        for attribute, value in attributes.items():
            if attribute in FIELD_OF_ATTRIBUTE:
                out.loc[rows, FIELD_OF_ATTRIBUTE[attribute]] = value
            elif attribute == "name":
                position = rows[rows].index[0]
                hints = [NameHint(out.at[position, "first_name"], out.at[position, "last_name"])]
                if key in db.index:
                    hints.insert(0, NameHint(db.at[key, "first_name"], db.at[key, "last_name"]))
                first, last = split_name(str(value), [h for h in hints if _named(h)])
                out.loc[rows, "first_name"] = first or None
                out.loc[rows, "last_name"] = last or None
                if "name" in out.columns:
                    out.loc[rows, "name"] = value
    return out


def _named(hint: NameHint) -> bool:
    return _text(hint.first_name) is not None or _text(hint.last_name) is not None


def plan_push(
    contacts: pd.DataFrame,
    kajabi: pd.DataFrame,
    site_contacts: int,
    *,
    create_new: bool = False,
    pushed: Mapping[str, Mapping[str, Any]] | None = None,
) -> PushPlan:
    """The requests that make Kajabi hold the database's values.

    ``contacts``: live contacts (``id``, ``email``, CONTACT_FIELDS); ``kajabi``: this week's
    matched Kajabi rows (``contact_id``, ``email``, CONTACT_FIELDS and Kajabi's full ``name``),
    one per contact; ``pushed``: attributes already applied by this week's push, by contact id.
    """
    kajabi = overlay_pushed(kajabi, contacts, pushed or {})
    export = build_enriched_export(contacts, kajabi)
    kj = kajabi.assign(_key=kajabi["contact_id"].astype(str).str.lower()).set_index("_key")
    db = contacts.assign(_key=contacts["id"].astype(str).str.lower()).set_index("_key")
    requests: list[PushRequest] = []
    flags = export.update_fields
    for contact_key, row in flags.iterrows():
        mine, theirs = db.loc[contact_key], kj.loc[contact_key]
        attributes: dict[str, str] = {}
        before: dict[str, str | None] = {}
        for name in PUSHED_FIELDS:
            if row[name]:
                attribute = ATTRIBUTE_OF_FIELD[name]
                attributes[attribute] = str(mine[name]).strip()
                before[attribute] = _text(theirs[name])
        if row["first_name"] or row["last_name"]:
            name = pushed_name(
                _text(theirs.get("name")),
                _text(theirs["first_name"]),
                _text(theirs["last_name"]),
                _text(mine["first_name"]),
                _text(mine["last_name"]),
            )
            current = _text(theirs.get("name"))
            if name and name != " ".join((current or "").split()):
                attributes["name"] = name
                before["name"] = current
        kajabi_id = _text(theirs["kajabi_id"])
        if attributes and kajabi_id:
            requests.append(
                PushRequest(
                    contact_id=str(mine["id"]),
                    kajabi_id=kajabi_id,
                    email=str(theirs["email"]),
                    action="update",
                    attributes=attributes,
                    kajabi_before=before,
                )
            )
    if create_new:
        for contact_key, row in export.new_contacts.iterrows():
            attributes = {EMAIL_HEADER.lower(): str(row[EMAIL_HEADER]).strip()}
            if _text(row[NAME_HEADER]):
                attributes["name"] = str(row[NAME_HEADER]).strip()
            for name in PUSHED_FIELDS:
                value = _text(row[FIELD_HEADERS[name]])
                if value:
                    attributes[ATTRIBUTE_OF_FIELD[name]] = value
            requests.append(
                PushRequest(
                    contact_id=str(db.loc[contact_key]["id"]),
                    kajabi_id=None,
                    email=attributes["email"],
                    action="create",
                    attributes=attributes,
                )
            )
    return PushPlan(requests, site_contacts, export.emails_differing)


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class VolumeVerdict:
    passed: bool
    contacts: int
    limit: int
    pct_to_pass: float
    explanation: str


def push_volume(plan: PushPlan, thresholds: PushThresholds) -> VolumeVerdict:
    """The blocking check before the first request: too many contacts to change at once."""
    contacts = len(plan.requests)
    limit = thresholds.limit(plan.site_contacts)
    whole = plan.site_contacts
    needed = 100.0 * contacts / whole if whole else 100.0
    counts = ", ".join(f"{a} {n}" for a, n in plan.attribute_counts().items()) or "none"
    explanation = (
        f"The push would change {contacts} Kajabi contact(s) ({len(plan.updates())} updates: "
        f"{counts}; {len(plan.creates())} to create) of the site's {whole}; the limit is "
        f"{limit} ({thresholds.max_push_pct}% of the site's contacts, at least "
        f"{thresholds.min_push_limit}). A first push after months of enrichment is large; a "
        "large push in a later week means something changed in bulk: look at "
        "`kajabi-sync push WEEK --dry-run` first."
    )
    return VolumeVerdict(
        passed=contacts <= limit,
        contacts=contacts,
        limit=limit,
        pct_to_pass=(int(needed * 10) + 1) / 10,
        explanation=explanation,
    )

"""The contact fields Kajabi carries, named once for every module.

Every layer (reader, plan, apply, enriched export, duplicate finder) speaks in these
database column names; the mapping to Kajabi's own headers lives in ``kajabi/columns.py``.
"""

from __future__ import annotations

NAME_FIELDS: tuple[str, ...] = ("first_name", "last_name")
PHONE_FIELDS: tuple[str, ...] = ("phone",)
ADDRESS_FIELDS: tuple[str, ...] = (
    "address_line_1",
    "address_line_2",
    "city",
    "state",
    "postal_code",
    "country",
)
ID_FIELDS: tuple[str, ...] = ("kajabi_id", "kajabi_member_id")
# The shipping address, another source's (never written by an import).
SHIPPING_FIELDS: tuple[str, ...] = (
    "shipping_address_line_1",
    "shipping_address_line_2",
    "shipping_city",
    "shipping_state",
    "shipping_postal_code",
    "shipping_country",
)

# The fields a Kajabi export can change in ``contacts``, in report order.
CONTACT_FIELDS: tuple[str, ...] = NAME_FIELDS + PHONE_FIELDS + ADDRESS_FIELDS + ID_FIELDS

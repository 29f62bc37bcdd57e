"""The contract's example header, and Kajabi-like CSV bytes, for the reader/validator tests."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

BAD_INPUT = Path(__file__).resolve().parent.parent / "fixtures" / "bad_input"

# The example header of the contract document (kajabi_export_format.md), verbatim.
CONTRACT_HEADER = (
    "Name,First Name,Last Name,Email,Products,Tags,ID,Member ID,External User ID,Created At,"
    "Member Created At,Sign In Count,Last Activity,Last Sign In At,First Name (name),Email (email),"
    "Phone Number (phone_number),Mobile Phone Number (mobile_phone_number),Address (address_line_1),"
    "Address Line 2 (address_line_2),City (address_city),State (address_state),"
    "Country (address_country),Zip Code (address_zip),Business Number (business_number),"
    "Source (custom_1),Last Name (custom_2)"
)
HEADER = CONTRACT_HEADER.split(",")


def csv_bytes(rows: Iterable[dict[str, str]], header: list[str] = HEADER) -> bytes:
    """A Kajabi-like CSV (header + rows, absent cells empty) quoted as Python's csv module does."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")

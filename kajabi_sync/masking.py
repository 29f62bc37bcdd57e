"""Masking personal data for the Dagster UI and logs (full detail stays in the 0600 CSV files)."""

from __future__ import annotations

import pandas as pd


def mask_email(series: pd.Series) -> pd.Series:
    """``jane.doe@example.com`` -> ``ja***@example.com`` (vectorised; NA stays NA)."""
    text = series.astype("string")
    if text.notna().sum() == 0:  # rpartition of nothing has no columns to unpack
        return text
    parts = text.str.rpartition("@")
    local, at, domain = parts[0], parts[1], parts[2]
    masked = local.str.slice(0, 2) + "***" + at + domain
    # Not an email at all: show nothing of it.
    return masked.where(at == "@", "***").where(text.notna())


def mask_one_email(email: str) -> str:
    """One address masked as ``mask_email`` masks a column."""
    return str(mask_email(pd.Series([email], dtype="string")).iloc[0])


def mask_phone(series: pd.Series) -> pd.Series:
    """``+13035550101`` -> ``***0101``: enough to recognise, not enough to dial."""
    text = series.astype("string")
    return ("***" + text.str.replace(r"\D", "", regex=True).str.slice(-4)).where(text.notna())


def mask_text(series: pd.Series) -> pd.Series:
    """A name, street line or postcode -> its first character and ``***`` (``Jane`` -> ``J***``):
    enough to find the row in the CSV report, not to read the value. NA stays NA."""
    text = series.astype("string")
    return (text.str.strip().str.slice(0, 1) + "***").where(text.notna() & (text.str.strip() != ""))


def mask_identifier(series: pd.Series) -> pd.Series:
    """An account id (Kajabi ID, member ID) -> ``***`` and its last three characters."""
    text = series.astype("string")
    return ("***" + text.str.strip().str.slice(-3)).where(text.notna() & (text.str.strip() != ""))

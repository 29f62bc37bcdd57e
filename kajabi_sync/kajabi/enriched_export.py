"""The database's enriched contacts, shaped for Kajabi's bulk import, so the two systems converge.

Three logical files:

- the FULL export: every live contact Kajabi also has, with the database's values;
- the UPDATES only: those of them where the database knows better than Kajabi (small, reviewable);
- the NEW contacts: live contacts Kajabi has never had.

Whether a blank import cell clears a value in Kajabi is undocumented, so no cell is ever blank
where either system has a value: a field the database lacks carries Kajabi's own value back
(a no-op there). The address is one unit: once the database holds any part of it, every address
column comes from the database, because a Kajabi ``Address Line 2`` under a corrected database
street is a wrong address.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kajabi_sync.fields import (
    ADDRESS_FIELDS,
    CONTACT_FIELDS,
    ID_FIELDS,
    NAME_FIELDS,
    PHONE_FIELDS,
)
from kajabi_sync.frames import stripped_text
from kajabi_sync.kajabi.import_format import (
    EMAIL_HEADER,
    FIELD_HEADERS,
    NAME_HEADER,
    to_import_frame,
)
from kajabi_sync.kajabi.split_csv import write_split_csv
from kajabi_sync.masking import mask_email, mask_identifier, mask_phone, mask_text
from kajabi_sync.normalize import arrow_text
from kajabi_sync.reports import week_file_name

FULL_EXPORT_NAME = "kajabi_full_enriched_export"
UPDATES_ONLY_NAME = "kajabi_updates_only"
NEW_CONTACTS_NAME = "kajabi_new_contacts_only"

# Kajabi imports at most this many contacts a day: one file per day.
KAJABI_DAILY_IMPORT_LIMIT = 40_000

# Fields an import can change in Kajabi. Kajabi's ID and Member ID are reference columns:
# a difference there is reported, but an import cannot fix it, so it never makes an update row.
IMPORTABLE_FIELDS: tuple[str, ...] = NAME_FIELDS + PHONE_FIELDS + ADDRESS_FIELDS

PHONE_HEADER = FIELD_HEADERS["phone"]
CHANGED_FIELDS_HEADER = "Changed Fields"


@dataclass(frozen=True)
class EnrichedExport:
    """The three import frames (Kajabi headers, indexed by contact id) and what they contain."""

    full: pd.DataFrame
    updates: pd.DataFrame
    new_contacts: pd.DataFrame
    # Booleans, one row per ``updates`` row and one column per IMPORTABLE_FIELDS: what differs.
    update_fields: pd.DataFrame
    fields_differing: dict[str, int]
    # Matched contacts whose database email is not Kajabi's: the file keeps Kajabi's email so the
    # import updates that Kajabi contact instead of creating a second one; fix these by hand.
    emails_differing: int = 0
    kajabi_ids_differing: int = 0
    # Live contacts carrying a kajabi_id that this week's Kajabi export did not match: in no file.
    linked_but_absent_from_kajabi: int = 0
    # Kajabi rows whose contact is not live (merged away, deleted): in no file.
    kajabi_rows_without_live_contact: int = 0
    # Rows without any email cannot be imported (Email is Kajabi's only required column).
    skipped_without_email: int = 0

    def frames(self) -> dict[str, pd.DataFrame]:
        """Logical file name -> import frame, in writing order."""
        return {
            FULL_EXPORT_NAME: self.full,
            UPDATES_ONLY_NAME: self.updates,
            NEW_CONTACTS_NAME: self.new_contacts,
        }

    def rows(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.frames().items()}


def build_enriched_export(contacts: pd.DataFrame, kajabi: pd.DataFrame) -> EnrichedExport:
    """Build the three import frames from the live contacts and this week's matched Kajabi rows.

    ``contacts``: ``id``, ``email`` and CONTACT_FIELDS as the database holds them (live rows only).
    ``kajabi``: ``contact_id``, ``email`` and CONTACT_FIELDS as Kajabi sent them, one row per
    matched contact.
    """
    db_ids = _ids(contacts, "id", "contacts")
    kj_ids = _ids(kajabi, "contact_id", "kajabi")

    # Per contact, the row of its Kajabi values (null when Kajabi lacks it).
    kajabi_row = pc.index_in(arrow_text(db_ids), value_set=arrow_text(kj_ids))
    in_kajabi = pc.is_valid(kajabi_row).to_numpy(zero_copy_only=False)
    linked = stripped_text(contacts["kajabi_id"]).notna().to_numpy()
    # Only the rows a file holds are cleaned: a cleaned copy of every contact and every Kajabi
    # row beside them would be hundreds of MB at a million contacts.
    matched_db = _cleaned_rows(contacts, db_ids, np.flatnonzero(in_kajabi))
    matched_kj = _cleaned_rows(kajabi, kj_ids, pc.drop_null(kajabi_row).to_numpy())
    new_rows = _cleaned_rows(contacts, db_ids, np.flatnonzero(~in_kajabi & ~linked))

    merged = _merged_fields(matched_db, matched_kj)
    import_email, emails_differing = _import_email(matched_db["email"], matched_kj["email"])
    differing = _differing_fields(matched_db, matched_kj)
    kajabi_ids_differing = _count_differing(matched_db["kajabi_id"], matched_kj["kajabi_id"])
    del matched_db, matched_kj

    has_email = import_email.notna()
    full = _rows_where(to_import_frame(import_email, merged), has_email)
    del merged
    differing = _rows_where(differing, has_email)
    updates_mask = differing.any(axis=1)
    updates = full[updates_mask]

    new_has_email = new_rows["email"].notna()
    new_contacts = _rows_where(to_import_frame(new_rows["email"], new_rows), new_has_email)

    return EnrichedExport(
        full=full,
        updates=updates,
        new_contacts=new_contacts,
        update_fields=differing[updates_mask],
        fields_differing={name: int(count) for name, count in differing.sum().items()},
        emails_differing=emails_differing,
        kajabi_ids_differing=kajabi_ids_differing,
        linked_but_absent_from_kajabi=int((~in_kajabi & linked).sum()),
        # Both sides hold each id once: the Kajabi rows matched are the contacts matched.
        kajabi_rows_without_live_contact=len(kj_ids) - int(in_kajabi.sum()),
        skipped_without_email=int((~has_email).sum() + (~new_has_email).sum()),
    )


def _rows_where(frame: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    # Filtering copies every column; in the usual week every row is kept.
    return frame if keep.all() else frame[keep]


def _ids(frame: pd.DataFrame, id_column: str, label: str) -> pd.Series:
    """``frame``'s ids, stripped and lower-cased (how the two frames are joined and indexed),
    once ``frame`` is known to hold every column the files need and one row per contact."""
    wanted = (id_column, "email", *CONTACT_FIELDS)
    missing = [column for column in wanted if column not in frame.columns]
    if missing:
        raise ValueError(f"{label} lacks columns: {missing}")
    ids = stripped_text(frame[id_column]).str.lower()
    if ids.isna().any():
        raise ValueError(f"{label}.{id_column} has empty ids")
    if ids.nunique(dropna=False) < len(ids):
        raise ValueError(f"{label}.{id_column} repeats ids: expected one row per contact")
    return ids


def _cleaned_rows(frame: pd.DataFrame, ids: pd.Series, positions: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` at ``positions``: email and CONTACT_FIELDS stripped (blank -> NA),
    Arrow text, indexed by their id, an object index: the frames' consumers look contacts up by
    it (``.loc``), and hashing Arrow strings there is an order of magnitude slower."""
    # Column by column, so only one column's taken copy exists at a time.
    out = pd.DataFrame(
        {
            column: stripped_text(frame[column].iloc[positions]).reset_index(drop=True)
            for column in ("email", *CONTACT_FIELDS)
        }
    )
    out.index = pd.Index(ids.iloc[positions].to_numpy(dtype=object), name=KEY)
    return out


# The index of the cleaned rows: the contact id as text, lower-cased.
KEY = "contact_id"


def _merged_fields(db: pd.DataFrame, kj: pd.DataFrame) -> pd.DataFrame:
    """Database values, with Kajabi's own value wherever the database is blank (address: as a unit).

    pyarrow.compute does the choosing: pandas' ``fillna``/``where`` on Arrow strings are
    several times slower (benchmarks/RESULTS.md).
    """
    db_has_address = pa.array(db[list(ADDRESS_FIELDS)].notna().any(axis=1).to_numpy())
    merged = {}
    for name in CONTACT_FIELDS:
        db_values, kajabi_values = pa.array(db[name].array), pa.array(kj[name].array)
        if name in ADDRESS_FIELDS:
            chosen = pc.if_else(db_has_address, db_values, kajabi_values)
        else:
            chosen = pc.coalesce(db_values, kajabi_values)
        merged[name] = pd.Series(pd.arrays.ArrowStringArray(chosen), index=db.index)
    return pd.DataFrame(merged)


def _differing_fields(db: pd.DataFrame, kj: pd.DataFrame) -> pd.DataFrame:
    """Per importable field: the database has a value that is not Kajabi's exact stripped text."""
    return pd.DataFrame(
        {name: _differs(db[name], kj[name]) for name in IMPORTABLE_FIELDS}, index=db.index
    )


def _differs(db_values: pd.Series, kajabi_values: pd.Series) -> pd.Series:
    # Kajabi blank and database set is a difference; database blank never is.
    unequal = (db_values != kajabi_values).fillna(True).astype(bool)
    return db_values.notna() & unequal


def _count_differing(db_values: pd.Series, kajabi_values: pd.Series) -> int:
    both = db_values.notna() & kajabi_values.notna()
    return int((both & (db_values != kajabi_values).fillna(False)).sum())


def _import_email(db_email: pd.Series, kajabi_email: pd.Series) -> tuple[pd.Series, int]:
    """The email Kajabi matches on, and how many database emails differ from it.

    Kajabi's import matches contacts by email and cannot change one: a database email that is
    not Kajabi's (e.g. after merging duplicates) would create a second Kajabi contact.
    """
    # Both are already stripped, so lower-casing gives ``normalize.email_key`` (citext equality).
    same = (db_email.str.lower() == kajabi_email.str.lower()).fillna(False).astype(bool)
    use_kajabi = kajabi_email.notna() & ~same
    emails_differing = int((use_kajabi & db_email.notna()).sum())
    return db_email.where(~use_kajabi, kajabi_email), emails_differing


def export_preview(export: EnrichedExport, limit: int = 10) -> pd.DataFrame:
    """The first ``limit`` update rows for the UI, changed fields named. Personal data masked:
    emails, phones, names, street lines, postcodes and Kajabi's ids (city, state and country are
    shown: they identify no one)."""
    head = export.updates.head(limit)
    flags = export.update_fields.loc[head.index]
    changed = pd.Series("", index=head.index, dtype="string")
    for name in IMPORTABLE_FIELDS:
        changed = changed + np.where(flags[name].to_numpy(), FIELD_HEADERS[name] + ", ", "")
    preview = head.copy()
    if len(head):  # mask_email cannot take an empty Series (str.rpartition gives no columns)
        preview[EMAIL_HEADER] = mask_email(head[EMAIL_HEADER])
        preview[PHONE_HEADER] = mask_phone(head[PHONE_HEADER])
        for name in (*NAME_FIELDS, "address_line_1", "address_line_2", "postal_code"):
            if FIELD_HEADERS[name] in preview:
                preview[FIELD_HEADERS[name]] = mask_text(head[FIELD_HEADERS[name]])
        if NAME_HEADER in preview:
            preview[NAME_HEADER] = mask_text(head[NAME_HEADER])
        for name in ID_FIELDS:
            if FIELD_HEADERS.get(name) in preview:
                preview[FIELD_HEADERS[name]] = mask_identifier(head[FIELD_HEADERS[name]])
    preview[CHANGED_FIELDS_HEADER] = changed.str.removesuffix(", ")
    return preview.reset_index(drop=True)


def export_summary(export: EnrichedExport, preview_rows: int = 10) -> dict[str, object]:
    """Metadata for the asset: rows per file, contacts differing per field, a masked preview."""
    return {
        "rows": export.rows(),
        "fields_differing": dict(export.fields_differing),
        "emails_differing_from_kajabi": export.emails_differing,
        "kajabi_ids_differing": export.kajabi_ids_differing,
        "linked_but_absent_from_kajabi": export.linked_but_absent_from_kajabi,
        "kajabi_rows_without_live_contact": export.kajabi_rows_without_live_contact,
        "skipped_without_email": export.skipped_without_email,
        "preview": export_preview(export, preview_rows),
    }


@dataclass(frozen=True)
class EnrichedExportFiles:
    """Where each logical file went (one path, or its parts in order) and the rows in each file."""

    paths: dict[str, tuple[Path, ...]]
    rows_per_file: dict[Path, int]

    def all_paths(self) -> list[Path]:
        return [path for paths in self.paths.values() for path in paths]


def write_enriched_export(
    export: EnrichedExport,
    out_dir: Path,
    max_rows_per_file: int = KAJABI_DAILY_IMPORT_LIMIT,
    week: str | None = None,
) -> EnrichedExportFiles:
    """Write the three logical files into ``out_dir``, each split to ``max_rows_per_file`` rows,
    named with ``week`` (``kajabi_updates_only_2025-11-17.csv``) when given.

    UTF-8 without a byte-order mark: Kajabi's import reads plain UTF-8, and a BOM risks being
    read as part of the ``Email`` header.
    """
    paths: dict[str, tuple[Path, ...]] = {}
    rows_per_file: dict[Path, int] = {}
    for name, frame in export.frames().items():
        written = write_split_csv(
            frame, Path(out_dir), week_file_name(name, week), max_rows_per_file
        )
        paths[name] = tuple(written)
        rows_per_file.update(written)
    return EnrichedExportFiles(paths=paths, rows_per_file=rows_per_file)

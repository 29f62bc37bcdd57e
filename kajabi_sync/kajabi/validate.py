"""Turning a raw export into usable contact rows: bad emails quarantined, duplicates resolved.

Values that we may store keep their exact text (only surrounding whitespace is stripped, and an
empty cell becomes NA). Normalised forms (``email``, ``phone_e164``) exist for matching only.

Duplicate rule (one email, several rows): keep the row with the most filled fields; on a tie,
the later row in the file. Every dropped row is reported in ``duplicate_emails``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import email_validator
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from email_validator.rfc_constants import EMAIL_MAX_LENGTH

from kajabi_sync.fields import CONTACT_FIELDS
from kajabi_sync.frames import (
    ARROW_TEXT,
    TEXT_LIST,
    as_arrow_text,
    not_ascii,
    stripped_text,
)
from kajabi_sync.kajabi.columns import (
    CREATED_AT_COLUMN,
    EMAIL_COLUMN,
    ID_COLUMN,
    NAME_COLUMN,
    PRODUCTS_COLUMN,
    TAGS_COLUMN,
    contact_fields_text,
)
from kajabi_sync.kajabi.reader import ROW_NUMBER, ExportFile, RawExport
from kajabi_sync.kajabi.schemas import VALIDATED_COLUMNS, VALIDATED_EXPORT_SCHEMA
from kajabi_sync.masking import mask_email
from kajabi_sync.normalize import (
    arrow_text_strict,
    blank_to_na,
    email_key,
    nfc,
    phone_key,
    text_key,
)

REJECT_COLUMNS = ("row_number", "column", "reason", "masked_value")
DUPLICATE_COLUMNS = ("email", "kept_row_number", "dropped_row_numbers", "reason")
_MAX_ROWS_LISTED = 10

# A plain ASCII address that email-validator certainly accepts (a strict subset of its rules:
# dot-atom local part, hyphen-separated domain labels, alphabetic TLD). Everything else,
# internationalised addresses included, is judged by email-validator itself, once per value.
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_SURELY_VALID_EMAIL = re.compile(
    rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]{{2,63}}"
)
_LONG_LABEL = r"[^.@]{64}"
_SPECIAL_USE_DOMAIN = (
    "[.@](?:" + "|".join(map(re.escape, email_validator.SPECIAL_USE_DOMAIN_NAMES)) + ")$"
)

# Kajabi writes ``2024-05-06 18:01:32 -0700``.
_KAJABI_TIMESTAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"


@dataclass(frozen=True)
class ValidatedExport:
    """The usable rows of one export and an account of every row that is not among them."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    duplicate_emails: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    # The file it was read from, without the raw rows (see ExportFile); a RawExport is accepted.
    source: ExportFile | RawExport | None = None


def validate_export(raw: RawExport) -> ValidatedExport:
    """Quarantine rows with damaged text or without a valid email, resolve repeated emails,
    type the columns."""
    warnings = list(raw.warnings)
    frame = raw.frame
    damaged = _damaged_text_rejects(frame)
    if len(damaged):
        warnings.append(
            f"{len(damaged)} row(s) quarantined for characters that could not be read "
            f"(bytes that are not UTF-8): {_list_rows(damaged['row_number'])}"
        )
        frame = frame.loc[~frame[ROW_NUMBER].isin(damaged["row_number"]).to_numpy()]
    email_raw = frame[EMAIL_COLUMN]
    # Not per distinct value (frames.per_distinct): an export's emails are nearly all distinct.
    email = as_arrow_text(email_key(email_raw))
    problems = email_problems(email)
    email_rejects = _email_rejects(frame[ROW_NUMBER], email_raw, problems)
    if len(email_rejects):
        warnings.append(f"{len(email_rejects)} row(s) quarantined for a missing or invalid email")
    rejects = email_rejects
    if len(damaged):
        rejects = (
            pd.concat([damaged, email_rejects], ignore_index=True)
            .sort_values("row_number", kind="stable")
            .reset_index(drop=True)
        )

    usable = problems.isna().to_numpy()
    if not usable.all():  # filtering copies every column: skip it for a clean export
        frame, email, email_raw = frame.loc[usable], email.loc[usable], email_raw.loc[usable]
    contacts = _contact_frame(frame, email, email_raw, warnings)
    contacts, duplicates = drop_duplicate_emails(contacts)
    if len(duplicates):
        warnings.append(
            f"{len(duplicates)} email(s) appear on several rows; "
            f"{int(duplicates['dropped_row_numbers'].str.count(';').sum()) + len(duplicates)} "
            "row(s) dropped (see duplicate_emails)"
        )
    contacts, id_rejects = reject_repeated_kajabi_ids(contacts)
    if len(id_rejects):
        warnings.append(
            f"{len(id_rejects)} row(s) quarantined because their Kajabi ID is on another row "
            f"with a different email: {_list_rows(id_rejects['row_number'])}"
        )
        rejects = (
            pd.concat([rejects, id_rejects], ignore_index=True)
            .sort_values("row_number", kind="stable")
            .reset_index(drop=True)
        )
    contacts = VALIDATED_EXPORT_SCHEMA.validate(contacts)
    return ValidatedExport(
        frame=contacts,
        rejects=rejects,
        duplicate_emails=duplicates,
        warnings=warnings,
        source=raw.file(),
    )


def email_problems(email: pd.Series) -> pd.Series:
    """Why each (normalised) email is unusable, NA where it is fine.

    Each distinct value that the cheap pattern cannot vouch for goes through email-validator once.
    """
    # Arrow-backed text runs these patterns in C (RE2) rather than per value in Python.
    text = email.astype(ARROW_TEXT)
    surely_valid = (
        _flag(text.str.fullmatch(_SURELY_VALID_EMAIL.pattern))
        & _flag(text.str.len() <= EMAIL_MAX_LENGTH)
        & ~_flag(text.str.contains(_LONG_LABEL))
        & ~_flag(text.str.contains(_SPECIAL_USE_DOMAIN))
    )

    present = text.notna().to_numpy()
    problems = pd.Series(pd.NA, index=text.index, dtype="string")
    problems[~present] = "Email is empty"
    to_check = email[~surely_valid & present]
    verdicts = {value: _email_validator_verdict(value) for value in to_check.unique()}
    problems.loc[to_check.index] = to_check.map(verdicts).astype("string")
    return problems


def _flag(mask: pd.Series) -> np.ndarray:
    return mask.fillna(False).to_numpy(dtype=bool)


def _email_validator_verdict(value: str) -> str | pd.NA:
    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        return f"Email is not a valid address: {error}"
    return pd.NA


_DAMAGED = "\ufffd"  # what the reader puts for a byte that is not UTF-8


def _damaged_text_rejects(frame: pd.DataFrame) -> pd.DataFrame:
    """One reject per row holding U+FFFD (a character that could not be read), naming the first
    such column. Storing the cell would replace a real letter by a question mark for good."""
    columns = [column for column in frame.columns if column != ROW_NUMBER]
    first_hit = np.full(len(frame), -1)  # per row, the position of its first damaged column
    for position, column in enumerate(columns):
        text = as_arrow_text(frame[column])
        # U+FFFD is not ASCII: only the cells that are not all ASCII (few) are searched.
        others = np.flatnonzero(not_ascii(text))
        if not len(others):
            continue
        damaged = pc.match_substring(pa.array(text.array).take(others), _DAMAGED)
        rows = others[damaged.to_numpy(zero_copy_only=False)]
        first_hit[rows[first_hit[rows] < 0]] = position
    bad = first_hit >= 0
    hit_column = pd.Series(
        np.array(columns, dtype=object)[first_hit[bad]] if bad.any() else [],
        index=frame.index[bad],
        dtype="string",
    )
    return pd.DataFrame(
        {
            "row_number": frame.loc[bad, ROW_NUMBER].astype("int64"),
            "column": hit_column,
            "reason": pd.Series(
                "a character in this cell could not be read: the file is UTF-8 but this row "
                "holds bytes that are not (typed or pasted in another program); the row is not "
                "imported, fix the cell in Kajabi or export again",
                index=frame.index[bad],
                dtype="string",
            ),
            "masked_value": pd.Series(pd.NA, index=frame.index[bad], dtype="string"),
        },
        columns=list(REJECT_COLUMNS),
    ).reset_index(drop=True)


def _email_rejects(
    row_number: pd.Series, email_raw: pd.Series, problems: pd.Series
) -> pd.DataFrame:
    bad = problems.notna().to_numpy()
    shown = blank_to_na(email_raw[bad])
    masked = pd.Series(pd.NA, index=shown.index, dtype="string")
    present = shown.notna()
    if present.any():  # mask_email cannot take an empty or all-NA Series
        masked[present] = mask_email(shown[present])
    return pd.DataFrame(
        {
            "row_number": row_number[bad].astype("int64"),
            "column": pd.Series(EMAIL_COLUMN, index=row_number.index[bad], dtype="string"),
            "reason": problems[bad],
            "masked_value": masked.astype("string"),
        },
        columns=list(REJECT_COLUMNS),
    ).reset_index(drop=True)


def _contact_frame(
    frame: pd.DataFrame, email: pd.Series, email_raw: pd.Series, warnings: list[str]
) -> pd.DataFrame:
    fields = contact_fields_text(frame)
    # Every text column is ARROW_TEXT: the frame holds no Python-object copy of the export.
    out = {
        "row_number": frame[ROW_NUMBER].astype("int64"),
        "email": email,
        # The address as sent, in NFC: a new contact is stored with it, and a decomposed accent
        # would make a second spelling of one address in the database.
        "email_raw": nfc(as_arrow_text(email_raw)),
        "name": stripped_text(frame[NAME_COLUMN]),
    }
    placeholders: dict[str, int] = {}
    for name in CONTACT_FIELDS:
        value = stripped_text(fields[name])
        out[name], placeholders[name] = _without_placeholders(name, value)
    out["name"], placeholders["name"] = _without_placeholders("name", out["name"])
    seen = {name: count for name, count in placeholders.items() if count}
    if seen:
        warnings.append(
            f"{sum(seen.values())} placeholder value(s) such as 'N/A', 'none', 'null', '-' or "
            "'TBD' read as empty cells, so they never overwrite or fill a field ("
            + ", ".join(f"{name}: {count}" for name, count in seen.items())
            + ")"
        )
    out["phone_e164"] = as_arrow_text(phone_key(out["phone"]))
    _warn_lost_leading_zeros(out["postal_code"], out["country"], warnings)
    out["tags"] = comma_list(frame[TAGS_COLUMN])
    out["products"] = comma_list(frame[PRODUCTS_COLUMN])
    out["created_at"] = parse_kajabi_timestamp(frame[CREATED_AT_COLUMN])
    contacts = pd.DataFrame(out, columns=list(VALIDATED_COLUMNS)).reset_index(drop=True)

    unparsed = (frame[CREATED_AT_COLUMN].str.strip() != "").to_numpy(dtype=bool) & contacts[
        "created_at"
    ].isna().to_numpy()
    if unparsed.any():
        warnings.append(
            f"{int(unparsed.sum())} row(s) have a Created At that is not like "
            f"'2024-05-06 18:01:32 -0700'; left empty: {_list_rows(contacts['row_number'][unparsed])}"
        )
    # The form's own name field is never split into first/last: we cannot tell where a first
    # name ends ("Mary Ann Lee"), and guessing would store invented values.
    form_name_only = (
        contacts["first_name"].isna().to_numpy()
        & contacts["last_name"].isna().to_numpy()
        & (fields["form_name"].str.strip() != "").to_numpy(dtype=bool)
    )
    if form_name_only.any():
        warnings.append(
            f"{int(form_name_only.sum())} row(s) have no First/Last Name but a form name field; "
            "first/last left empty rather than guessed from it"
        )
    return contacts


# Whole-cell tokens that people and spreadsheets put where there is no value. Compared
# case-insensitively after trimming. "Na" and "Null" are real surnames (Korean 나; the Null
# family), so they count as placeholders only outside names, as do all-zero "numbers".
_PLACEHOLDER = re.compile(
    r"n/a|n\.a\.?|none|nil|tbd|tba|tbc|unknown|not (?:applicable|available|provided|given)"
    r"|no (?:phone|address)|[-–—_.?*/\\ ]+|x+",
    re.IGNORECASE,
)
_NOT_A_NAME_PLACEHOLDER = re.compile(r"na|null|nul|0+(?:[-. ]?0+)*", re.IGNORECASE)
# Both, in one pass over a column that is not a name.
_ANY_PLACEHOLDER = f"(?:{_PLACEHOLDER.pattern})|(?:{_NOT_A_NAME_PLACEHOLDER.pattern})"
_NAME_COLUMNS = frozenset({"name", "first_name", "last_name"})


def _without_placeholders(name: str, values: pd.Series) -> tuple[pd.Series, int]:
    """``values`` with placeholder tokens (``N/A``, ``-``, ``TBD``...) as NA, and how many."""
    text = values.astype(ARROW_TEXT)
    pattern = _PLACEHOLDER.pattern if name in _NAME_COLUMNS else _ANY_PLACEHOLDER
    hit = _flag(text.str.fullmatch(pattern, case=False))
    if not hit.any():
        return values, 0
    return values.mask(hit), int(hit.sum())


_US_COUNTRY = re.compile(r"us|usa|u\.s\.a?\.?|united states(?: of america)?|america", re.IGNORECASE)


def _warn_lost_leading_zeros(postal: pd.Series, country: pd.Series, warnings: list[str]) -> None:
    """A US ZIP is five digits: 3 or 4 digits mean a spreadsheet dropped its leading zeros."""
    us = _flag(country.astype(ARROW_TEXT).str.fullmatch(_US_COUNTRY.pattern, case=False))
    us |= country.isna().to_numpy()
    short = _flag(postal.astype(ARROW_TEXT).str.fullmatch(r"\d{3,4}(?:-\d{4})?")) & us
    if short.any():
        warnings.append(
            f"{int(short.sum())} US postal code(s) have 3 or 4 digits (like 2130 for 02130): a "
            "spreadsheet (Excel) dropped their leading zeros when the file was re-saved. They "
            "are compared with the database's as if zero-padded, so they never overwrite a ZIP; "
            "use the file as Kajabi exported it, without opening it in a spreadsheet"
        )


def comma_list(series: pd.Series) -> pd.Series:
    """``" quiz, Bali 2027 Attendee,"`` -> ``["quiz", "Bali 2027 Attendee"]``; empty cell -> ``[]``.

    Each item loses its surrounding whitespace (Python's ``str.strip``'s, as ``stripped_text``);
    empty items are dropped. TEXT_LIST, built by Arrow from the split items and their rows."""
    values = arrow_text_strict(as_arrow_text(series))
    parts = pc.split_pattern(pc.fill_null(values, ""), ",")
    items = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    kept = pc.not_equal(items, "")
    rows = pc.list_parent_indices(parts).filter(kept).to_numpy()
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=len(values)), out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets), items.filter(kept).cast(pa.string()))
    return pd.Series(pd.arrays.ArrowExtensionArray(lists), index=series.index, dtype=TEXT_LIST)


def parse_kajabi_timestamp(series: pd.Series) -> pd.Series:
    """``2024-05-06 18:01:32 -0700`` -> UTC timestamp; NaT when empty or in any other form."""
    text = series.astype(ARROW_TEXT).str.strip()
    text = text.where(_flag(text.str.fullmatch(_KAJABI_TIMESTAMP)))
    local = pd.to_datetime(text.str.slice(0, 19), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    offset_text = text.str.slice(20, 25)
    offsets = {
        value: (-1 if value[0] == "-" else 1) * (int(value[1:3]) * 60 + int(value[3:5]))
        for value in offset_text.dropna().unique()
    }
    offset_minutes = offset_text.map(offsets).astype("float64")
    utc = local - pd.to_timedelta(offset_minutes, unit="min")
    return utc.dt.tz_localize("UTC").astype("datetime64[ns, UTC]")


def drop_duplicate_emails(contacts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep one row per email (most filled fields, ties to the later row); report the others."""
    repeated = contacts["email"].duplicated(keep=False).to_numpy()
    if not repeated.any():
        return contacts, _empty_duplicates()
    compared = ["name", *CONTACT_FIELDS]
    group = contacts.loc[repeated].assign(
        _filled=contacts.loc[repeated, compared].notna().sum(axis=1)
    )
    group = group.sort_values(["email", "_filled", "row_number"], kind="stable")
    dropped_mask = group["email"].duplicated(keep="last")
    kept = group.loc[~dropped_mask]
    dropped = group.loc[dropped_mask]

    conflicts = _conflicting_fields(kept, dropped, compared)
    report = (
        dropped.groupby("email", sort=True)["row_number"]
        .agg(lambda rows: "; ".join(map(str, sorted(rows))))
        .rename("dropped_row_numbers")
        .to_frame()
        .join(kept.set_index("email")["row_number"].rename("kept_row_number"))
        .join(conflicts)
        .reset_index()
    )
    differ = report["conflicts"].fillna("")
    report["reason"] = (
        "same email (ignoring case and surrounding spaces) on several rows; kept row "
        + report["kept_row_number"].astype(str)
        + ", which has the most filled fields (ties go to the later row); "
        + np.where(
            differ == "",
            "the dropped rows hold no different values",
            "the dropped rows differ in: " + differ,
        )
    )
    report = report.astype(
        {
            "email": "string",
            "kept_row_number": "int64",
            "dropped_row_numbers": "string",
            "reason": "string",
        }
    )[list(DUPLICATE_COLUMNS)]
    survivors = contacts.drop(index=dropped.index)
    return survivors.reset_index(drop=True), report


def _conflicting_fields(
    kept: pd.DataFrame, dropped: pd.DataFrame, compared: list[str]
) -> pd.Series:
    """Per email, the fields where a dropped row holds a value different from the kept row's."""
    # Phones compare by E.164, everything else ignoring case and spacing.
    key_of = {name: "phone_e164" if name == "phone" else name for name in compared}
    keys = sorted(set(key_of.values()))
    pairs = dropped[["email", *keys]].merge(
        kept[["email", *keys]], on="email", suffixes=("_dropped", "_kept")
    )
    names = []
    for name in compared:
        key = key_of[name]
        ours, theirs = text_key(pairs[f"{key}_dropped"]), text_key(pairs[f"{key}_kept"])
        differs = (ours.notna() & theirs.notna() & (ours != theirs)).fillna(False).astype(bool)
        names.append(pd.Series(np.where(differs, name, ""), index=pairs.index))
    listed = pd.concat(names, axis=1).apply(lambda row: [n for n in row if n], axis=1)
    listed.index = pairs["email"]
    per_email = listed.groupby(level=0).agg(
        lambda lists: ", ".join(n for n in compared if any(n in names for names in lists))
    )
    return per_email.rename("conflicts")


def reject_repeated_kajabi_ids(contacts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quarantine every row whose Kajabi ID is also on another row (emails are unique by now).

    Kajabi gives each person one ID, so two emails with one ID mean an edited or damaged file,
    and nothing tells which row is right: neither is planned. Found here, before anything is
    planned or written, rather than as a crash once both rows reached one contact."""
    ids = contacts["kajabi_id"]
    repeated = (ids.notna() & ids.duplicated(keep=False)).to_numpy(dtype=bool)
    if not repeated.any():
        return contacts, _empty_rejects()
    rows = contacts.loc[repeated, ["row_number", "kajabi_id"]]
    others = rows.groupby("kajabi_id")["row_number"].agg(lambda r: ", ".join(map(str, sorted(r))))
    reason = (
        "Kajabi ID "
        + rows["kajabi_id"].astype(str)
        + " is on rows "
        + rows["kajabi_id"].map(others).astype(str)
        + " with different emails; Kajabi gives each person one ID, so the file was edited or "
        "damaged: none of these rows is imported (fix them in Kajabi or export again)"
    )
    rejects = pd.DataFrame(
        {
            "row_number": rows["row_number"].astype("int64"),
            "column": pd.Series(ID_COLUMN, index=rows.index, dtype="string"),
            "reason": reason.astype("string"),
            "masked_value": rows["kajabi_id"].astype("string"),
        },
        columns=list(REJECT_COLUMNS),
    ).reset_index(drop=True)
    return contacts.loc[~repeated].reset_index(drop=True), rejects


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c == "row_number" else "string") for c in REJECT_COLUMNS}
    )


def _empty_duplicates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "email": pd.Series(dtype="string"),
            "kept_row_number": pd.Series(dtype="int64"),
            "dropped_row_numbers": pd.Series(dtype="string"),
            "reason": pd.Series(dtype="string"),
        }
    )


def _list_rows(rows: pd.Series) -> str:
    listed = ", ".join(map(str, rows.head(_MAX_ROWS_LISTED)))
    return f"rows {listed}{', ...' if len(rows) > _MAX_ROWS_LISTED else ''}"

"""Writing CSV reports safely: formula-neutralised, atomic, readable by the owner only.

Every CSV the project writes goes through ``write_csv``: a spreadsheet must never run a
cell as a formula, a crash or a full disk must never leave a truncated file that looks
complete, and the files hold personal data, so they are created ``0600``.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

# A spreadsheet treats a cell starting with one of these as a formula (OWASP CSV injection).
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# ... but a plain number or phone (``+13035550101``, ``-12.5``, ``+1 (303) 555-0101``) is data
# that must reach Kajabi exactly as it is, and no spreadsheet runs it.
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d][\d\s().-]*$")
_ARROW_TEXT = pd.StringDtype("pyarrow")


def neutralise_formula(value: object) -> object:
    """Prefix a text cell that a spreadsheet would evaluate with ``'``; leave everything else."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_TRIGGERS):
        return value
    if _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are formula-neutralised (vectorised per column)."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype != object and not pd.api.types.is_string_dtype(series):
            continue
        # The prefix test runs in C on Arrow-backed text; the Python regex then only sees the
        # cells that start like a formula (Python-backed text over every cell dominated the
        # enriched export's profile).
        starts = series.astype(_ARROW_TEXT).str.startswith(_FORMULA_TRIGGERS).fillna(False)
        positions = np.flatnonzero(starts.to_numpy(dtype=bool))
        if not len(positions):
            continue
        candidates = series.iloc[positions].astype("string")
        risky = ~candidates.str.match(_PLAIN_NUMBER.pattern).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            changed = series.copy()
            changed.iloc[positions[risky]] = ("'" + candidates[risky]).to_numpy(dtype=object)
            out[column] = changed
    return out


def write_csv(frame: pd.DataFrame, path: Path | str, *, encoding: str = "utf-8") -> Path:
    """Write ``frame`` to ``path`` atomically (temp file + rename), neutralised, mode 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = neutralise_frame(frame)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            safe.to_csv(handle, index=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path

"""Whole-frame helpers shared by the domain modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Arrow-backed text: string kernels and comparisons run in C (RE2, Arrow compute). Every text
# column of a whole-export or whole-snapshot frame is this dtype, never Python-object strings.
ARROW_TEXT = pd.StringDtype("pyarrow")
# Lists of text (an export's tags and products), one Arrow list per row: no Python list per row,
# and it is the type a Parquet round trip gives back.
TEXT_LIST = pd.ArrowDtype(pa.list_(pa.string()))


def pandas_type(kind: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    """The pandas dtype an Arrow column becomes (``to_pandas``'s ``types_mapper``): text as
    ARROW_TEXT, lists as Arrow lists (TEXT_LIST for lists of text); anything else as Arrow's
    pandas metadata says (None)."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return ARROW_TEXT
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return pd.ArrowDtype(kind)
    return None


def frame_from_arrow(table: pa.Table) -> pd.DataFrame:
    """``table`` as a frame with this package's dtypes (``pandas_type``): no Python strings."""
    return table.to_pandas(types_mapper=pandas_type)


def as_arrow_text(series: pd.Series) -> pd.Series:
    """``series`` as ARROW_TEXT (itself when it already is); values that are not text become
    their ``str``, missing values NA."""
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        return series
    return series.astype(ARROW_TEXT)


def not_ascii(series: pd.Series) -> np.ndarray:
    """Per value, whether it holds a character beyond ASCII (NA: False), found by Arrow."""
    values = pa.array(as_arrow_text(series).array)
    return ~pc.fill_null(pc.string_is_ascii(values), True).to_numpy(zero_copy_only=False)


def stripped_text(series: pd.Series) -> pd.Series:
    """The values of ``normalize.blank_to_na`` (surrounding whitespace stripped, blank -> NA),
    as ARROW_TEXT, computed by Arrow: its whitespace is Python's ``str.strip``'s, code point for
    code point (kajabi_sync_tests/test_frames.py)."""
    values = pa.array(as_arrow_text(series).array)
    text = pc.utf8_trim_whitespace(values)
    blank_to_null = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
    return pd.Series(
        pd.arrays.ArrowStringArray(blank_to_null), index=series.index, name=series.name
    )


def per_distinct(transform: Callable[[pd.Series], pd.Series], series: pd.Series) -> pd.Series:
    """``transform(series)``, computed once per distinct value (most columns repeat a lot).

    ``transform`` must be element-wise: each value's result depends on that value alone."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    done = transform(pd.Series(uniques, dtype=series.dtype)).array
    return pd.Series(done.take(codes, allow_fill=True), index=series.index, name=series.name)


def concat_rows(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)`` with pandas 2's result dtypes, made explicit.

    In pandas 2 a part that holds no value for a column (an empty frame, or a column all
    missing in one frame) does not decide that column's dtype: a text column stays text when
    one part holds only NA. pandas deprecates doing this implicitly, so such a part is first
    cast to the dtype the other parts give the column. Integer and boolean columns are left as
    they are: there pandas 2 already lets every part count.
    """
    frames = list(frames)
    if len(frames) > 1:
        frames = _align_missing_columns(frames)
    return pd.concat(frames, ignore_index=True)


def _align_missing_columns(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    missing = [{c for c in frame.columns if not frame[c].notna().any()} for frame in frames]
    targets: dict[str, object] = {}
    for column in set().union(*missing):
        dtypes = [
            frame[column].dtype
            for frame, empty in zip(frames, missing, strict=True)
            if column in frame.columns and column not in empty
        ]
        if not dtypes:
            continue
        # The common dtype of the parts that have values, as pandas computes it.
        target = pd.concat([pd.Series([], dtype=d) for d in dtypes]).dtype
        if not (isinstance(target, np.dtype) and target.kind in "iub"):
            targets[column] = target
    aligned = []
    for frame, empty in zip(frames, missing, strict=True):
        casts = {c: targets[c] for c in empty if c in targets and frame[c].dtype != targets[c]}
        aligned.append(frame.astype(casts) if casts else frame)
    return aligned

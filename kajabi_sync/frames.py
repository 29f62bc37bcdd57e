"""Whole-frame helpers shared by the domain modules."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

# Arrow-backed text: string kernels and comparisons run in C (RE2, Arrow compute).
ARROW_TEXT = pd.StringDtype("pyarrow")


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

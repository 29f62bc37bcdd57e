"""The assets' values between steps, as Parquet: one folder per asset and partition.

Dagster's default IO manager pickles each output whole and unpickles it whole in every later
step, so the domain types had to be shaped around pickling (summaries without rows, Arrow text
forced on chosen frames). This one stores what the domain returns as it is, and each step reads
only what it needs:

- a DataFrame is one Parquet file; a dataclass (``RawExport``, ``ValidatedExport``,
  ``ImpactPlan``...) is a folder with one Parquet file per DataFrame field, one subfolder per
  nested dataclass, and its other (small) fields in ``fields.json``; anything else (a dict, a
  list of dataclasses) is ``value.json``. JSON keeps its types (paths, dates, tuples,
  dataclasses) and refuses one it does not know, naming it, instead of guessing;
- an input can ask for some columns of a frame field only (:func:`reading`): Parquet reads just
  those, and ``[]`` is the frame's row count and index without any column. The guards and the
  apply need the export's file, rejects and row count, not its rows;
- text comes back as Arrow-backed strings (``string[pyarrow]``) and lists of text as Arrow lists,
  so no step holds Python-object copies of a large frame; every other dtype comes back as it was
  (Parquet's pandas metadata), and so do the index and the column order;
- a value is written to a temporary folder beside its own and renamed into place, so a killed
  step never leaves a half-written value for a later step: the old value, or none, or the new
  one, whole;
- where: ``<base>/<asset key>/<partition>/``, ``base`` the Dagster instance's storage folder
  (``$DAGSTER_HOME/storage``, where the pickles were), unless configured. A re-materialised
  partition replaces its own folder only; each week is its own folder. The files hold contact
  data as the week's reports do: they stay in that folder, never in metadata or logs.

Side-effect assets (the apply, the push, the files for Kajabi) return ``MaterializeResult``: they
store nothing here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field, PrivateAttr

from kajabi_sync.frames import frame_from_arrow

TYPE_FILE = "type.json"  # which class the folder holds
FIELDS_FILE = "fields.json"
VALUE_FILE = "value.json"
FRAME_SUFFIX = ".parquet"
FRAME = "frame"  # a value that is a DataFrame itself: frame.parquet
READ_COLUMNS = "kajabi_sync/read_columns"  # input metadata: field -> the columns to read
UNPARTITIONED = "__unpartitioned__"


def reading(**columns: Sequence[str]) -> dict[str, Any]:
    """Input metadata: read only ``columns`` of each named frame field (``frame=[]``: its rows,
    without any column). A nested dataclass' field is named with ``__``: ``source__frame``."""
    return {READ_COLUMNS: {name.replace("__", "."): list(cols) for name, cols in columns.items()}}


class ParquetIOManager(dg.ConfigurableIOManager):
    """The assets' values between steps, as Parquet files under Dagster's storage folder
    (personal data: never in metadata or logs)."""

    base_dir: str | None = Field(
        default=None,
        description="Where the values are kept; empty: the Dagster instance's storage folder "
        "($DAGSTER_HOME/storage).",
    )

    _base: Path | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.base_dir:
            self._base = Path(self.base_dir)
        elif context.instance is not None:
            self._base = Path(context.instance.storage_directory())

    def _folder(self, context: dg.OutputContext | dg.InputContext) -> Path:
        if self._base is None:
            raise dg.Failure(description="No folder for the values between steps: set base_dir.")
        partition = context.asset_partition_key if context.has_asset_partitions else UNPARTITIONED
        return self._base.joinpath(*context.asset_key.path, partition)

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if obj is None:  # an asset that yields no output (a week without an export file)
            return
        write_value(obj, self._folder(context))

    def load_input(self, context: dg.InputContext) -> object:
        metadata = context.definition_metadata or {}
        return read_value(self._folder(context), metadata.get(READ_COLUMNS) or {})


# --- the codec: plain functions, usable (and tested) without Dagster ----------------------------


def write_value(value: object, folder: Path) -> None:
    """Write ``value`` as ``folder``, replacing what was there only once it is whole."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.tmp")
    temporary.mkdir(mode=0o700)
    try:
        _write(value, temporary)
        _replace_folder(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _replace_folder(new: Path, folder: Path) -> None:
    # A folder cannot be renamed onto a non-empty one: the old one is moved aside first. A step
    # killed between the two renames leaves no value (a later step fails plainly: re-run the
    # partition), never a mix of old and new files. What is replaced may be a file: the pickle
    # Dagster's default IO manager kept at the same path.
    if folder.exists() or folder.is_symlink():
        old = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.old")
        os.rename(folder, old)
        os.rename(new, folder)
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
    else:
        os.rename(new, folder)


def _write(value: object, folder: Path) -> None:
    if isinstance(value, pd.DataFrame):
        _write_type(folder, pd.DataFrame)
        _write_frame(value, folder / f"{FRAME}{FRAME_SUFFIX}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        _write_type(folder, type(value))
        scalars: dict[str, Any] = {}
        for item in dataclasses.fields(value):
            field_value = getattr(value, item.name)
            if isinstance(field_value, pd.DataFrame):
                _write_frame(field_value, folder / f"{item.name}{FRAME_SUFFIX}")
            elif dataclasses.is_dataclass(field_value) and not isinstance(field_value, type):
                (folder / item.name).mkdir(mode=0o700)
                _write(field_value, folder / item.name)
            else:
                scalars[item.name] = _encode(field_value, item.name)
        _write_json(folder / FIELDS_FILE, scalars)
    else:
        _write_type(folder, object)
        _write_json(folder / VALUE_FILE, _encode(value, "value"))


def _write_type(folder: Path, kind: type) -> None:
    _write_json(folder / TYPE_FILE, {"type": f"{kind.__module__}:{kind.__qualname__}"})


def _write_json(path: Path, content: object) -> None:
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    # Parquet keeps no row count without a column: a column-less frame keeps its index as one.
    columnless = len(frame.columns) == 0
    try:
        table = pa.Table.from_pandas(frame, preserve_index=True if columnless else None)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise TypeError(
            f"{path.stem}: a column Parquet cannot store as one type ({error})"
        ) from error
    pq.write_table(_nested_as_object(table, frame), path)


def _nested_as_object(table: pa.Table, frame: pd.DataFrame) -> pa.Table:
    """``table`` with its pandas metadata naming a nested Arrow column (``TEXT_LIST``) ``object``.

    pyarrow rebuilds the dtype of each column the metadata names from the dtype's name, even
    for a column not read, and pandas cannot parse a nested type's name (``list<item:
    string>[pyarrow]``). A column read is typed by ``frames.pandas_type`` whatever the
    metadata says."""
    nested = {
        str(name)
        for name, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.ArrowDtype) and pa.types.is_nested(dtype.pyarrow_dtype)
    }
    metadata = table.schema.metadata or {}
    if not nested or b"pandas" not in metadata:
        return table
    pandas_metadata = json.loads(metadata[b"pandas"])
    for column in pandas_metadata["columns"]:
        if column.get("field_name") in nested:
            column["numpy_type"] = "object"
    return table.replace_schema_metadata(
        {**metadata, b"pandas": json.dumps(pandas_metadata).encode()}
    )


def read_value(folder: Path, read_columns: Mapping[str, Sequence[str]] | None = None) -> object:
    """The value :func:`write_value` wrote as ``folder``; a frame field named in
    ``read_columns`` (``"frame"``, ``"source.frame"``) with those columns only."""
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder}: no stored value (the step that makes it did not run for this partition, "
            "or was stopped while writing it): re-run the job for this partition."
        )
    return _read(folder, dict(read_columns or {}), "")


def _read(folder: Path, read_columns: dict[str, Sequence[str]], prefix: str) -> object:
    kind = _class(json.loads((folder / TYPE_FILE).read_text(encoding="utf-8"))["type"])
    if kind is pd.DataFrame:
        return _read_frame(folder / f"{FRAME}{FRAME_SUFFIX}", read_columns.get(prefix + FRAME))
    if kind is object:
        return _decode(json.loads((folder / VALUE_FILE).read_text(encoding="utf-8")))
    scalars = json.loads((folder / FIELDS_FILE).read_text(encoding="utf-8"))
    values: dict[str, Any] = {}
    for item in dataclasses.fields(kind):
        if item.name in scalars:
            values[item.name] = _decode(scalars[item.name])
        elif (folder / f"{item.name}{FRAME_SUFFIX}").is_file():
            values[item.name] = _read_frame(
                folder / f"{item.name}{FRAME_SUFFIX}", read_columns.get(prefix + item.name)
            )
        elif (folder / item.name).is_dir():
            values[item.name] = _read(folder / item.name, read_columns, f"{prefix}{item.name}.")
        else:
            raise FileNotFoundError(
                f"{folder}: no stored value for {kind.__name__}.{item.name} (stored by an "
                "earlier version of kajabi_sync, or cut short): re-run the job for this partition"
            )
    init = {item.name: values[item.name] for item in dataclasses.fields(kind) if item.init}
    value = kind(**init)
    for item in dataclasses.fields(kind):
        if not item.init:
            object.__setattr__(value, item.name, values[item.name])
    return value


def _class(name: str) -> type:
    module, _, qualname = name.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def _read_frame(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    table = pq.read_pandas(path, columns=None if columns is None else list(columns))
    frame = frame_from_arrow(table)
    index = frame.index
    if (
        len(frame.columns) == 0
        and index.name is None
        and pd.api.types.is_integer_dtype(index)
        and index.equals(pd.RangeIndex(len(index)))
    ):
        frame.index = pd.RangeIndex(len(index))  # as a column-less frame was written
    return frame


# --- JSON with its types ------------------------------------------------------------------------
# Tagged, so a value comes back as the type it was: a bare JSON list could have been a list or a
# tuple, a string a path or a date. A tagged object is a one-key object whose key starts "__".


def _encode(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if value is pd.NA:
        return {"__na__": None}
    if isinstance(value, PurePath):
        return {"__path__": str(value)}
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dt.date):
        return {"__date__": value.isoformat()}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v, where) for k, v in value.items()}
        return {"__items__": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = type(value)
        return {
            "__dataclass__": {
                "type": f"{kind.__module__}:{kind.__qualname__}",
                "fields": {
                    f.name: _encode(getattr(value, f.name), f"{where}.{f.name}")
                    for f in dataclasses.fields(value)
                },
            }
        }
    raise TypeError(f"{where}: a {type(value).__name__} is not stored between steps")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, content),) = value.items()
        if tag == "__na__":
            return pd.NA
        if tag == "__path__":
            return Path(content)
        if tag == "__datetime__":
            return dt.datetime.fromisoformat(content)
        if tag == "__date__":
            return dt.date.fromisoformat(content)
        if tag == "__tuple__":
            return tuple(_decode(v) for v in content)
        if tag == "__items__":
            return {_decode(k): _decode(v) for k, v in content}
        if tag == "__dataclass__":
            kind = _class(content["type"])
            return kind(**{k: _decode(v) for k, v in content["fields"].items()})
    return {k: _decode(v) for k, v in value.items()}

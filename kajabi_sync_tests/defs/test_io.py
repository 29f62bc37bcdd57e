"""The values between steps as Parquet: what is written comes back, whole or as asked, per week."""

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from kajabi_sync.defs.io import ParquetIOManager, read_value, reading, write_value
from kajabi_sync.kajabi import read_kajabi_export, validate_export
from kajabi_sync.kajabi.api.push import PushPlan, PushRequest
from kajabi_sync_tests.factories import kajabi_csv


@dataclasses.dataclass(frozen=True)
class Inner:
    frame: pd.DataFrame
    name: str


@dataclasses.dataclass(frozen=True)
class Value:
    frames: pd.DataFrame
    empty: pd.DataFrame
    counts: dict[str, int]
    by_id: dict[int, str]
    when: dt.date | None
    where: Path
    handles: tuple[str, ...]
    inner: Inner | None
    missing: object = None


def _value() -> Value:
    frames = pd.DataFrame(
        {
            "row_number": pd.Series([2, 5, 9], dtype="int64"),
            "email": pd.Series(["a@x.com", None, "ç@x.com"], dtype=object),
            "name": pd.Series(["Zoë", pd.NA, "李"], dtype="string"),
            "kept": [True, False, True],
            "count": pd.Series([1, None, 3], dtype="Int64"),
            "created_at": pd.to_datetime(["2025-11-10", None, "2025-11-12"], utc=True),
            "tags": [["a", "b"], [], ["c"]],
        }
    ).set_axis(pd.Index([7, 3, 11]))
    inner = Inner(pd.DataFrame({"n": [1, 2]}), "inner")
    return Value(
        frames=frames,
        empty=pd.DataFrame(),
        counts={"fill": 3},
        by_id={1: "one"},
        when=dt.date(2025, 11, 10),
        where=Path("/data/kajabi_contacts_2025-11-10.csv"),
        handles=("phone", "address"),
        inner=inner,
    )


def test_a_dataclass_of_frames_comes_back_with_its_values_and_arrow_text(tmp_path):
    value = _value()
    write_value(value, tmp_path / "value")
    back = read_value(tmp_path / "value")

    assert isinstance(back, Value)
    # Text comes back as Arrow strings: a missing value is NA there (None in an object column).
    expected = value.frames.astype({"email": "string"})
    pd.testing.assert_frame_equal(back.frames, expected, check_dtype=False)
    assert back.frames.index.tolist() == [7, 3, 11]
    dtypes = back.frames.dtypes.astype(str).to_dict()
    assert back.frames["email"].dtype == pd.StringDtype("pyarrow")
    assert back.frames["name"].dtype == pd.StringDtype("pyarrow")
    assert {k: dtypes[k] for k in ("row_number", "kept", "count", "created_at")} == {
        "row_number": "int64",
        "kept": "bool",
        "count": "Int64",
        "created_at": "datetime64[ns, UTC]",
    }
    assert back.frames["tags"].tolist() == [["a", "b"], [], ["c"]]
    assert back.frames["email"].isna().tolist() == [False, True, False]
    assert back.empty.shape == (0, 0)
    assert (back.counts, back.by_id, back.when, back.where, back.handles, back.missing) == (
        {"fill": 3},
        {1: "one"},
        dt.date(2025, 11, 10),
        Path("/data/kajabi_contacts_2025-11-10.csv"),
        ("phone", "address"),
        None,
    )
    assert back.inner is not None and back.inner.name == "inner"
    pd.testing.assert_frame_equal(back.inner.frame, value.inner.frame)  # type: ignore[union-attr]


def test_an_input_reads_only_the_columns_it_asks_for(tmp_path):
    write_value(_value(), tmp_path / "value")
    metadata = reading(frames=["email"], inner__frame=[])
    back = read_value(tmp_path / "value", metadata["kajabi_sync/read_columns"])

    assert isinstance(back, Value)
    assert back.frames.columns.tolist() == ["email"]
    assert back.frames.index.tolist() == [7, 3, 11]
    assert back.inner is not None and back.inner.frame.shape == (2, 0)
    assert back.empty.shape == (0, 0)  # not named: read whole


def test_a_column_less_frame_keeps_its_row_count(tmp_path):
    write_value(pd.DataFrame(index=pd.RangeIndex(4)), tmp_path / "frame")
    back = read_value(tmp_path / "frame")
    assert isinstance(back, pd.DataFrame)
    pd.testing.assert_frame_equal(back, pd.DataFrame(index=pd.RangeIndex(4)))


def test_an_export_and_its_validation_come_back_equal(tmp_path):
    path = kajabi_csv(
        tmp_path / "kajabi_contacts_2025-11-10.csv",
        {"email": " Jane@Example.com", "first_name": "Jane", "kajabi_id": "101", "tags": "a, b"},
        {"email": "not an email", "first_name": "Bob"},
        {"email": "nina@example.com", "first_name": "Nina", "city": "Zürich"},
    )
    raw = read_kajabi_export(path)
    validated = validate_export(raw)
    for name, value in (("raw", raw), ("validated", validated)):
        write_value(value, tmp_path / name)
        back = read_value(tmp_path / name)
        assert type(back) is type(value)
        for item in dataclasses.fields(value):
            stored, loaded = getattr(value, item.name), getattr(back, item.name)
            if isinstance(stored, pd.DataFrame):
                pd.testing.assert_frame_equal(loaded, _text_as_arrow(stored), check_dtype=False)
            else:
                assert loaded == stored, item.name
    assert len(validated.rejects) == 1  # there was a reject to carry


def test_the_export_read_without_its_rows_keeps_the_file_rejects_and_row_count(tmp_path):
    """What the guards, the apply and the push read of the validated export (``frame=[]``)."""
    path = kajabi_csv(
        tmp_path / "kajabi_contacts_2025-11-10.csv",
        {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "1"},
        {"email": "jane@example.com", "first_name": "Jane", "kajabi_id": "3"},
        {"email": "x", "first_name": "Jane", "kajabi_id": "2"},
    )
    validated = validate_export(read_kajabi_export(path))
    write_value(validated, tmp_path / "validated")
    summary = read_value(tmp_path / "validated", reading(frame=[])["kajabi_sync/read_columns"])
    assert isinstance(summary, type(validated))
    assert len(summary.frame) == len(validated.frame) == 1
    assert summary.frame.columns.empty
    pd.testing.assert_frame_equal(
        summary.rejects, _text_as_arrow(validated.rejects), check_dtype=False
    )
    pd.testing.assert_frame_equal(
        summary.duplicate_emails, _text_as_arrow(validated.duplicate_emails), check_dtype=False
    )
    assert summary.source == validated.source and summary.warnings == validated.warnings


def _text_as_arrow(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as it is read back: its text columns as strings (NA for a missing value)."""
    text = [
        name
        for name in frame.columns
        if frame[name].dtype == object
        and frame[name].map(lambda v: v is None or isinstance(v, str)).all()
    ]
    return frame.astype(dict.fromkeys(text, "string"))


def test_the_push_plan_comes_back_equal(tmp_path):
    plan = PushPlan(
        [
            PushRequest("c1", "k1", "a@x.com", "update", {"phone": "+1"}, {"phone": None}),
            PushRequest("c2", None, "b@x.com", "create", {"first_name": "Zoë"}),
        ],
        site_contacts=2,
        emails_differing=0,
    )
    write_value(plan, tmp_path / "plan")
    assert read_value(tmp_path / "plan") == plan


def test_a_failed_write_keeps_the_value_before_it_whole(tmp_path):
    folder = tmp_path / "asset" / "2025-11-10"
    write_value(_value(), folder)
    broken = dataclasses.replace(_value(), missing=object())  # not storable: refused by name
    with pytest.raises(TypeError, match="missing: a object is not stored"):
        write_value(broken, folder)
    back = read_value(folder)
    assert isinstance(back, Value) and back.missing is None
    assert sorted(p.name for p in folder.parent.iterdir()) == ["2025-11-10"]  # no temporary left


def test_a_pickle_left_by_dagster_s_default_io_manager_is_replaced(tmp_path):
    folder = tmp_path / "asset" / "2025-11-10"
    folder.parent.mkdir()
    folder.write_bytes(b"a pickle")
    with pytest.raises(FileNotFoundError, match="no stored value"):
        read_value(folder)
    write_value(pd.DataFrame({"a": [1]}), folder)
    back = read_value(folder)
    assert isinstance(back, pd.DataFrame) and back["a"].tolist() == [1]
    assert [p.name for p in folder.parent.iterdir()] == ["2025-11-10"]


def test_a_value_never_written_is_a_plain_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="re-run the job for this partition"):
        read_value(tmp_path / "nothing")


WEEKS = dg.WeeklyPartitionsDefinition(start_date="2025-11-10", day_offset=1)  # Mondays


@dg.asset(partitions_def=WEEKS)
def week_frame(context: dg.AssetExecutionContext) -> pd.DataFrame:
    return pd.DataFrame({"week": [context.partition_key]})


@dg.asset(partitions_def=WEEKS, ins={"week_frame": dg.AssetIn(metadata=reading(frame=[]))})
def week_rows(week_frame: pd.DataFrame) -> int:
    assert week_frame.shape == (1, 0)
    return len(week_frame)


def test_each_week_is_its_own_folder_and_a_rerun_replaces_its_own_only(tmp_path):
    io = ParquetIOManager(base_dir=str(tmp_path))
    for week in ("2025-11-10", "2025-11-17", "2025-11-10"):
        assert dg.materialize(
            [week_frame, week_rows], partition_key=week, resources={"io_manager": io}
        ).success
    for week in ("2025-11-10", "2025-11-17"):
        back = read_value(tmp_path / "week_frame" / week)
        assert isinstance(back, pd.DataFrame) and back["week"].tolist() == [week]
        assert read_value(tmp_path / "week_rows" / week) == 1
    assert sorted(p.name for p in (tmp_path / "week_frame").iterdir()) == [
        "2025-11-10",
        "2025-11-17",
    ]

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from forecasting.data import (
    DataError,
    fill_gaps,
    future_frame,
    read_train_test,
    read_wide_csv,
    shift_buckets,
    train_test_split,
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_wide_csv_trims_missing_cells_at_both_ends_and_aligns_the_last_bucket(tmp_path: Path) -> None:
    csv = _write(tmp_path / "w.csv", "id,a,b,c,d\nx,1,2,3,\ny,NA,4,5,6\nz,,,,\n")
    df = read_wide_csv(csv, "W", end=dt.date(2024, 1, 3))
    assert df["unique_id"].unique().sort().to_list() == ["x", "y"]
    assert df.filter(pl.col("unique_id") == "x")["y"].to_list() == [1.0, 2.0, 3.0]
    assert df.filter(pl.col("unique_id") == "y")["y"].to_list() == [4.0, 5.0, 6.0]
    ends = df.group_by("unique_id").agg(pl.col("ds").max())["ds"].unique().to_list()
    assert ends == [dt.date(2024, 1, 1)]  # the Monday of the given day's ISO week
    assert (df["ds"].dt.weekday() == 1).all()


def test_monthly_dates_are_month_starts(tmp_path: Path) -> None:
    csv = _write(tmp_path / "m.csv", "id,1,2,3\nx,1,2,3\n")
    df = read_wide_csv(csv, "M", end=dt.date(2024, 2, 17))
    assert df["ds"].to_list() == [dt.date(2023, 12, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 1)]


def test_missing_value_inside_a_series_names_row_and_column(tmp_path: Path) -> None:
    csv = _write(tmp_path / "w.csv", "id,a,b,c\nx,1,,3\n")
    with pytest.raises(DataError, match=r"row 2, column 'b'"):
        read_wide_csv(csv, "W")


def test_non_number_names_row_and_column(tmp_path: Path) -> None:
    csv = _write(tmp_path / "w.csv", "id,a,b\nx,1,2\ny,3,12x\n")
    with pytest.raises(DataError, match=r"row 3, column 'b': '12x' is not a number"):
        read_wide_csv(csv, "W")


def test_test_file_continues_after_train(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.csv", "id,a,b,c\nx,1,2,3\ny,5,6,\n")
    test = _write(tmp_path / "test.csv", "id,a,b\nx,4,5\ny,7,8\n")
    tr, te = read_train_test(train, test, "W")
    for uid in ("x", "y"):
        last = tr.filter(pl.col("unique_id") == uid).select(pl.col("ds").max()).item()
        assert te.filter(pl.col("unique_id") == uid)["ds"].to_list() == [
            shift_buckets(last, 1, "W"),
            shift_buckets(last, 2, "W"),
        ]


def test_unknown_test_id_is_an_error(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.csv", "id,a\nx,1\n")
    test = _write(tmp_path / "test.csv", "id,a\nq,4\n")
    with pytest.raises(DataError, match="q"):
        read_train_test(train, test, "W")


def test_split_holds_out_the_last_h_of_each_series() -> None:
    df = pl.DataFrame(
        {
            "unique_id": ["a"] * 5 + ["b"] * 3,
            "ds": [dt.date(2024, 1, 1) + dt.timedelta(weeks=i) for i in [*range(5), *range(3)]],
            "y": [1.0, 2, 3, 4, 5, 6, 7, 8],
        }
    )
    train, test = train_test_split(df, 2)
    assert train["y"].to_list() == [1.0, 2, 3, 6]
    assert test["y"].to_list() == [4.0, 5, 7, 8]


def test_future_frame_and_shift_cross_month_and_year() -> None:
    assert shift_buckets(dt.date(2023, 11, 1), 3, "M") == dt.date(2024, 2, 1)
    assert shift_buckets(dt.date(2024, 1, 1), -1, "M") == dt.date(2023, 12, 1)
    train = pl.DataFrame({"unique_id": ["a"], "ds": [dt.date(2023, 12, 1)], "y": [1.0]})
    assert future_frame(train, 2, "M")["ds"].to_list() == [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]


def test_fill_gaps_adds_zero_buckets_up_to_end() -> None:
    df = pl.DataFrame({"unique_id": ["a", "a"], "ds": [dt.date(2024, 1, 1), dt.date(2024, 1, 15)], "y": [1.0, 2.0]})
    filled = fill_gaps(df, "W", end=dt.date(2024, 1, 22))
    assert filled["y"].to_list() == [1.0, 0.0, 2.0, 0.0]

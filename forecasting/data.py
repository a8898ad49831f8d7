"""Load demand data into long ``unique_id, ds, y`` frames and split it at a forecast origin.

Buckets are ISO weeks starting on Monday (``freq="W"``) or calendar months starting on the first
(``freq="M"``). Public benchmark files such as M4 carry no dates: their series get synthetic dates, aligned
so that every training series ends on the same bucket (``end``) and the test values continue from there.
The dates only order the buckets; no model here reads the calendar from them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

Freq = Literal["W", "M"]

#: Last bucket of the synthetic calendar given to files without dates (a Monday, first of a month).
DEFAULT_END = dt.date(2024, 1, 1)

_INTERVALS: dict[str, str] = {"W": "1w", "M": "1mo"}
_SEASON_LENGTHS: dict[str, int] = {"W": 52, "M": 12}
_MASE_PERIODS: dict[str, int] = {"W": 1, "M": 12}


class DataError(ValueError):
    """Input data that cannot become a forecasting frame; the message names the row and column."""


def interval(freq: Freq) -> str:
    """Polars/statsforecast interval string of a bucket frequency (``"1w"`` or ``"1mo"``)."""
    _check_freq(freq)
    return _INTERVALS[freq]


def season_length(freq: Freq) -> int:
    """Buckets per year: 52 weekly, 12 monthly."""
    _check_freq(freq)
    return _SEASON_LENGTHS[freq]


def mase_period(freq: Freq) -> int:
    """Seasonal period of the in-sample naive that scales MASE, as in M4: 1 weekly, 12 monthly."""
    _check_freq(freq)
    return _MASE_PERIODS[freq]


def bucket_start(day: dt.date, freq: Freq) -> dt.date:
    """First day of the bucket holding ``day``: its ISO week's Monday, or the first of its month."""
    _check_freq(freq)
    if freq == "W":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def shift_buckets(day: dt.date, n: int, freq: Freq) -> dt.date:
    """The bucket start ``n`` buckets after (negative: before) the bucket start ``day``."""
    _check_freq(freq)
    if freq == "W":
        return day + dt.timedelta(weeks=n)
    months = day.year * 12 + day.month - 1 + n
    return dt.date(months // 12, months % 12 + 1, 1)


def read_wide_csv(path: str | Path, freq: Freq, *, end: dt.date = DEFAULT_END) -> pl.DataFrame:
    """Read a wide CSV (first column the id, then one column per bucket) into a long frame.

    Empty or ``NA`` cells are allowed before a series starts and after it ends (M4 pads the short series
    on the right, carparts marks unobserved months with ``NA``); a missing value between two observed ones
    is an error. Each series gets synthetic dates ending on ``end``, one bucket apart.

    Args:
        path: CSV file with a header row.
        freq: ``"W"`` or ``"M"``.
        end: bucket start of every series' last observed value.

    Returns:
        Long frame ``unique_id`` (str), ``ds`` (date), ``y`` (float), sorted by id and date.

    Raises:
        DataError: a cell is not a number, or a value is missing inside a series.
    """
    raw = pl.read_csv(path, infer_schema=False)
    ids, values = _parse_wide(raw, Path(path).name)
    return _wide_values_to_long(ids, values, freq, end=bucket_start(end, freq))


def read_train_test(
    train_path: str | Path, test_path: str | Path, freq: Freq, *, end: dt.date = DEFAULT_END
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read a train and a test wide CSV (M4 layout); test dates continue each series' train dates.

    Args:
        train_path: wide CSV of the history.
        test_path: wide CSV of the values after the history, same ids.
        freq: ``"W"`` or ``"M"``.
        end: bucket start of every training series' last value.

    Returns:
        ``(train, test)`` long frames.

    Raises:
        DataError: bad cells, or a test id missing from the training file.
    """
    train = read_wide_csv(train_path, freq, end=end)
    raw = pl.read_csv(test_path, infer_schema=False)
    ids, values = _parse_wide(raw, Path(test_path).name)
    unknown = sorted(set(ids) - set(train["unique_id"].unique().to_list()))
    if unknown:
        raise DataError(f"{Path(test_path).name}: ids not in the training file: {', '.join(unknown[:5])}")
    test = _wide_values_to_long(ids, values, freq, start=shift_buckets(bucket_start(end, freq), 1, freq))
    return train, test


def train_test_split(df: pl.DataFrame, horizon: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hold out the last ``horizon`` buckets of every series.

    Args:
        df: long frame ``unique_id, ds, y``.
        horizon: buckets held out per series (series with at most that many rows go wholly to test).

    Returns:
        ``(train, test)``.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    ranked = df.sort("unique_id", "ds").with_columns(_from_end=pl.int_range(pl.len(), 0, -1).over("unique_id"))
    train = ranked.filter(pl.col("_from_end") > horizon).drop("_from_end")
    test = ranked.filter(pl.col("_from_end") <= horizon).drop("_from_end")
    return train, test


def split_at_origin(df: pl.DataFrame, origin: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Everything up to and including the bucket ``origin``, and everything after it."""
    return df.filter(pl.col("ds") <= origin), df.filter(pl.col("ds") > origin)


def future_frame(train: pl.DataFrame, horizon: int, freq: Freq) -> pl.DataFrame:
    """The ``horizon`` bucket starts after each series' last bucket: ``unique_id, ds`` rows."""
    last = train.group_by("unique_id").agg(pl.col("ds").max()).sort("unique_id")
    return (
        last.with_columns(
            ds=pl.date_ranges(
                pl.col("ds").dt.offset_by(interval(freq)),
                pl.col("ds").dt.offset_by(f"{horizon}{interval(freq)[1:]}"),
                interval=interval(freq),
            )
        )
        .explode("ds")
        .select("unique_id", "ds")
    )


def fill_gaps(df: pl.DataFrame, freq: Freq, *, end: dt.date | None = None) -> pl.DataFrame:
    """Complete every series with zero demand on missing buckets, from its first bucket to ``end``.

    Warehouse demand has no row where nothing was ordered; classification counts buckets, so it needs
    them. ``end`` defaults to the last bucket in the frame (a common forecast origin for all series).
    Other numeric columns (revenue, say) are kept and filled with zero too; other columns are dropped.
    """
    last = end if end is not None else df["ds"].max()
    spans = df.group_by("unique_id").agg(start=pl.col("ds").min())
    extra = [c for c, t in df.schema.items() if c not in ("unique_id", "ds", "y") and t.is_numeric()]
    grid = (
        spans.with_columns(ds=pl.date_ranges(pl.col("start"), pl.lit(last), interval=interval(freq)))
        .explode("ds")
        .select("unique_id", "ds")
    )
    return (
        grid.join(df.select("unique_id", "ds", "y", *extra), on=["unique_id", "ds"], how="left")
        .with_columns(pl.col("y", *extra).fill_null(0.0))
        .sort("unique_id", "ds")
    )


def validate_long(df: pl.DataFrame) -> None:
    """Raise :class:`DataError` unless ``df`` is a long frame with unique ``(unique_id, ds)``."""
    missing = {"unique_id", "ds", "y"} - set(df.columns)
    if missing:
        raise DataError(f"forecasting frame lacks the columns {sorted(missing)}; it has {df.columns}")
    dupes = df.group_by("unique_id", "ds").len().filter(pl.col("len") > 1)
    if dupes.height:
        row = dupes.row(0, named=True)
        raise DataError(f"series {row['unique_id']!r} has {row['len']} rows for bucket {row['ds']}")


def _check_freq(freq: str) -> None:
    if freq not in _INTERVALS:
        raise ValueError(f"frequency must be 'W' (weekly) or 'M' (monthly), got {freq!r}")


def _parse_wide(raw: pl.DataFrame, name: str) -> tuple[list[str], np.ndarray]:
    id_col, *value_cols = raw.columns
    ids = raw[id_col].to_list()
    values = np.full((raw.height, len(value_cols)), np.nan)
    for j, col in enumerate(value_cols):
        text = raw[col].str.strip_chars()
        blank = text.is_null() | text.is_in(["", "NA", "NaN", "nan", "N/A"])
        parsed = text.cast(pl.Float64, strict=False)
        bad = parsed.is_null() & ~blank
        if bad.any():
            i = int(bad.arg_max() or 0)
            raise DataError(f"{name}, row {i + 2}, column {col!r}: {raw[col][i]!r} is not a number")
        values[:, j] = parsed.fill_null(np.nan).to_numpy()
    for i, row in enumerate(values):
        observed = np.flatnonzero(~np.isnan(row))
        if observed.size and observed.size != observed[-1] - observed[0] + 1:
            gap = observed[0] + int(np.flatnonzero(np.isnan(row[observed[0] : observed[-1]]))[0])
            raise DataError(f"{name}, row {i + 2}, column {value_cols[gap]!r}: missing value inside series {ids[i]!r}")
    return ids, values


def _wide_values_to_long(
    ids: list[str], values: np.ndarray, freq: Freq, *, end: dt.date | None = None, start: dt.date | None = None
) -> pl.DataFrame:
    frames = []
    for uid, row in zip(ids, values, strict=True):
        observed = row[~np.isnan(row)]
        if observed.size == 0:
            continue
        first = start if start is not None else shift_buckets(end, -(observed.size - 1), freq)  # type: ignore[arg-type]
        ds = pl.date_range(first, shift_buckets(first, observed.size - 1, freq), interval=interval(freq), eager=True)
        frames.append(pl.DataFrame({"unique_id": uid, "ds": ds, "y": observed}))
    if not frames:
        return pl.DataFrame(schema={"unique_id": pl.String, "ds": pl.Date, "y": pl.Float64})
    return pl.concat(frames).sort("unique_id", "ds")

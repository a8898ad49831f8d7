"""Point-in-time features for the LightGBM global model (FC-4).

One training row stands at an origin ``t`` of one series and targets the bucket ``t + h`` (``h`` = 1 ..
horizon): the direct strategy with the step as a feature, one model for all steps. Every feature of the row
is known at ``t``:

- ``lag_k`` (k in 1, 2, 4, 8, 13, 26, 52) is the value ``k`` buckets before the *target*, kept only when
  ``k >= h`` (it then lies at or before the origin) and missing otherwise, so a lag never reaches past
  the origin; ``last`` is the value at the origin itself;
- ``roll_mean_w`` / ``roll_std_w`` (w in 4, 13) over the ``w`` buckets ending at the origin;
- ``step`` (``h``), the target bucket's ``week`` of year, ``month`` and ``quarter`` (calendar facts known in
  advance), optional factory-calendar columns joined on the target bucket (holidays, days to holiday);
- optional per-series categorical columns (category, product type, class) and optional numeric columns
  read at the origin (price, and its change over the 4 buckets before).

Series are scaled by their own level at the origin (mean of the last 13 buckets; the mean of all history
when that is zero; 1 for an all-zero history): values, lags and rolling statistics are divided by it and
the target too, so one model serves a SKU selling 2 a week and one selling 20,000. ``log_level`` tells the
model the size it removed. The caller multiplies predictions back by ``level``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from forecasting.data import Freq, interval

#: Lags of FC-4, in buckets before the target.
LAGS: tuple[int, ...] = (1, 2, 4, 8, 13, 26, 52)

#: Rolling windows of FC-4, ending at the origin.
ROLLING_WINDOWS: tuple[int, ...] = (4, 13)

#: Buckets whose mean is a series' level.
LEVEL_WINDOW = 13

#: Buckets back for the change of origin columns such as price.
CHANGE_WINDOW = 4


@dataclass(frozen=True)
class FeatureConfig:
    """Which features to build.

    Attributes:
        lags: lags before the target; each is missing on rows whose step exceeds it.
        windows: rolling mean/std windows ending at the origin.
        static_columns: per-series categorical columns of the history (the last value at the origin is used).
        origin_columns: numeric columns of the history read at the origin, with their relative change over
            :data:`CHANGE_WINDOW` buckets (price and price change).
        calendar: optional frame ``ds`` + numeric columns known in advance (holidays, days to holiday),
            joined on the target bucket.
    """

    lags: tuple[int, ...] = LAGS
    windows: tuple[int, ...] = ROLLING_WINDOWS
    static_columns: tuple[str, ...] = ()
    origin_columns: tuple[str, ...] = ()
    calendar: pl.DataFrame | None = field(default=None, compare=False)

    def categorical(self) -> list[str]:
        """Feature names LightGBM should treat as categories."""
        return list(self.static_columns)


@dataclass(frozen=True)
class Panel:
    """A history flattened into arrays, sorted by series then bucket, with per-bucket origin statistics.

    Attributes:
        ids: series ids, in order.
        starts: index of each series' first bucket in the flat arrays (length ``len(ids) + 1``).
        series: series number of each flat position.
        ds: bucket start of each flat position.
        y: value of each flat position.
        level: the scaling level at each position, from buckets up to it only.
        stats: rolling mean/std per window, from buckets up to each position only.
        origin_values: the ``origin_columns`` and their changes, per position.
        static_codes: integer code of each ``static_columns`` value, per position (-1 when missing).
    """

    ids: list[str]
    starts: np.ndarray
    series: np.ndarray
    ds: pl.Series
    y: np.ndarray
    level: np.ndarray
    stats: dict[str, np.ndarray]
    origin_values: dict[str, np.ndarray]
    static_codes: dict[str, np.ndarray]


def prepare_panel(history: pl.DataFrame, config: FeatureConfig) -> Panel:
    """Flatten ``history`` (``unique_id, ds, y`` and the configured columns) and compute trailing statistics.

    Every statistic at a position uses that position and earlier buckets of the same series only.
    """
    df = history.sort("unique_id", "ds")
    y = pl.col("y").cast(pl.Float64)
    trailing = [y.rolling_mean(LEVEL_WINDOW, min_samples=1).over("unique_id").alias("_recent")]
    trailing.append((y.cum_sum() / y.cum_count()).over("unique_id").alias("_expanding"))
    for w in config.windows:
        trailing.append(y.rolling_mean(w, min_samples=1).over("unique_id").alias(f"roll_mean_{w}"))
        trailing.append(y.rolling_std(w, min_samples=2).over("unique_id").alias(f"roll_std_{w}"))
    for c in config.origin_columns:
        previous = pl.col(c).shift(CHANGE_WINDOW).over("unique_id")
        trailing.append(pl.when(previous != 0).then(pl.col(c) / previous - 1.0).otherwise(None).alias(f"{c}_change"))
    df = df.with_columns(trailing)
    level = (
        df.select(
            pl.when(pl.col("_recent") > 0)
            .then(pl.col("_recent"))
            .when(pl.col("_expanding") > 0)
            .then(pl.col("_expanding"))
            .otherwise(1.0)
        )
        .to_series()
        .to_numpy()
    )
    ids, counts = np.unique(df["unique_id"].to_numpy().astype(str), return_counts=True)
    starts = np.r_[0, np.cumsum(counts)]
    stat_names = [f"roll_{kind}_{w}" for w in config.windows for kind in ("mean", "std")]
    origin_names = [*config.origin_columns, *[f"{c}_change" for c in config.origin_columns]]
    return Panel(
        ids=ids.tolist(),
        starts=starts,
        series=np.repeat(np.arange(ids.size), counts),
        ds=df["ds"],
        y=df["y"].cast(pl.Float64).to_numpy(),
        level=level,
        stats={n: df[n].cast(pl.Float64).fill_null(np.nan).to_numpy() for n in stat_names},
        origin_values={n: df[n].cast(pl.Float64).fill_null(np.nan).to_numpy() for n in origin_names},
        static_codes={c: _codes(df[c]) for c in config.static_columns},
    )


def origin_features(
    panel: Panel, origin: np.ndarray, step: np.ndarray, freq: Freq, config: FeatureConfig
) -> pl.DataFrame:
    """Feature rows for flat origin positions ``origin`` and steps ``step`` (same length).

    Returns:
        One row per (origin, step): ``unique_id``, target ``ds``, ``level`` and the feature columns
        (:func:`feature_names`), scaled by the level at the origin.
    """
    first = panel.starts[panel.series[origin]]
    level = panel.level[origin]
    columns: dict[str, np.ndarray] = {}
    for k in config.lags:
        source = origin + step - k
        known = (k >= step) & (source >= first)
        columns[f"lag_{k}"] = np.where(known, panel.y[np.where(known, source, origin)] / level, np.nan)
    columns["last"] = panel.y[origin] / level
    for name, values in panel.stats.items():
        columns[name] = values[origin] / level
    columns["step"] = step.astype(float)
    columns["log_level"] = np.log1p(level)
    for name, values in panel.origin_values.items():
        columns[name] = values[origin]
    for name, codes in panel.static_codes.items():
        columns[name] = codes[origin].astype(float)
    targets = pl.DataFrame(
        {"unique_id": np.asarray(panel.ids)[panel.series[origin]], "_origin": panel.ds.gather(origin)}
    )
    targets = targets.with_columns(
        ds=pl.col("_origin").dt.offset_by(pl.format("{}" + interval(freq)[1:], pl.Series(step.astype(np.int64))))
    ).drop("_origin")
    calendar = targets.select(
        week=pl.col("ds").dt.week().cast(pl.Float64),
        month=pl.col("ds").dt.month().cast(pl.Float64),
        quarter=pl.col("ds").dt.quarter().cast(pl.Float64),
    )
    frame = pl.concat([targets.with_columns(level=pl.Series(level)), pl.DataFrame(columns), calendar], how="horizontal")
    if config.calendar is not None:
        frame = frame.join(config.calendar, on="ds", how="left")
    return frame


def feature_names(frame: pl.DataFrame) -> list[str]:
    """The model inputs of a frame from :func:`origin_features` (everything but keys and level)."""
    return [c for c in frame.columns if c not in ("unique_id", "ds", "level")]


def training_rows(
    panel: Panel, horizon: int, *, max_history: int, max_rows: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origins, steps and targets of the training examples: every (origin, step) whose target is observed.

    Only origins within the last ``max_history`` buckets of each series are used; beyond ``max_rows`` pairs a
    seeded random sample is kept (recent dynamics matter most, and the speed target of FC-9 needs a cap).

    Returns:
        ``(origin, step, target)``: flat origin positions, steps, and the target value scaled by the level
        at the origin.
    """
    ends = panel.starts[1:] - 1
    position = np.arange(panel.y.size)
    end_of = ends[panel.series]
    candidates = position[end_of - position <= max_history]
    origins = np.repeat(candidates, horizon)
    steps = np.tile(np.arange(1, horizon + 1), candidates.size)
    observed = origins + steps <= end_of[origins]
    origins, steps = origins[observed], steps[observed]
    if origins.size > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(origins.size, size=max_rows, replace=False))
        origins, steps = origins[keep], steps[keep]
    return origins, steps, panel.y[origins + steps] / panel.level[origins]


def last_origins(panel: Panel, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Origins and steps of the forecast: each series' last bucket, steps 1 .. ``horizon``."""
    ends = panel.starts[1:] - 1
    return np.repeat(ends, horizon), np.tile(np.arange(1, horizon + 1), ends.size)


def _codes(values: pl.Series) -> np.ndarray:
    text = values.cast(pl.String)
    categories = sorted(c for c in text.unique().to_list() if c is not None)
    lookup = {c: i for i, c in enumerate(categories)}
    return text.replace_strict(lookup, default=-1, return_dtype=pl.Int64).fill_null(-1).to_numpy()


def check_columns(history: pl.DataFrame, config: FeatureConfig) -> None:
    """Raise ``ValueError`` naming any configured column the history lacks."""
    wanted: Sequence[str] = [*config.static_columns, *config.origin_columns]
    missing = [c for c in wanted if c not in history.columns]
    if missing:
        raise ValueError(f"feature columns {missing} are not in the history; it has {history.columns}")

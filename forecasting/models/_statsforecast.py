"""Shared engine for models fitted by Nixtla's statsforecast, with quantiles for every series.

statsforecast gives native prediction intervals for some models (AutoETS, seasonal naive) and conformal
intervals (rolling-origin errors of the model itself) for the rest; the intermittent family uses empirical
quantiles of its own rolling-origin ratios actual / forecast instead (``intervals="empirical"``). Each
interval level maps to two quantiles: level ``L`` gives ``0.5 ± L/200``; P50 is the point forecast. With
``intervals="empirical"`` every quantile, P50 included, is the point forecast times that quantile of the
series' own ratios actual / forecast: P50 is then a median, as the quantile contract says, not the mean
rate Croston-type methods estimate (on carparts this alone took Croston-SBA's MASE from 1.28 to 0.89).

Series too short for the model or for its conformal windows get the short-history fallback instead: the
mean of their history as P50 and a normal spread of their own standard deviation. Such a series is new and
the selection matrix (FC-2) sends it to a baseline anyway.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import polars as pl
from statsforecast import StatsForecast
from statsforecast.utils import ConformalIntervals

from forecasting.data import Freq, future_frame, interval
from forecasting.models.base import QUANTILES, finalize_quantiles, quantile_column

#: Series count from which ``n_jobs=0`` fits in one process per core.
PARALLEL_FROM = 1000

#: Builds the statsforecast model for a frequency, with conformal settings (None for native intervals).
ModelBuilder = Callable[[Freq, ConformalIntervals | None], Any]


@dataclass(frozen=True)
class StatsForecastModel:
    """One statsforecast model behind the :class:`~forecasting.models.base.Forecaster` contract.

    Attributes:
        name: model name written in the ``model`` column.
        build: returns the statsforecast model object for a frequency and conformal settings.
        intervals: ``"native"`` (the model's own distribution), ``"conformal"`` (symmetric, per step) or
            ``"empirical"``: the point forecast times the quantiles (P50 too) of the series' own out-of-sample ratios
            actual / forecast, pooled over ``n_windows`` rolling origins and all steps (asymmetric, so the
            zeros and the right skew of intermittent demand show in P10 and P90).
        min_history: fewest points the model itself needs; shorter series get the fallback.
        n_windows: conformal calibration windows of ``horizon`` buckets each.
        n_jobs: processes statsforecast may use; 0 means one per core once there are at least
            :data:`PARALLEL_FROM` series (below that, starting the processes costs more than it saves).
    """

    name: str
    build: ModelBuilder
    intervals: Literal["native", "conformal", "empirical"] = "conformal"
    min_history: int = 1
    n_windows: int = 3
    n_jobs: int = 1

    def _processes(self, train: pl.DataFrame) -> int:
        if self.n_jobs:
            return self.n_jobs
        return (os.cpu_count() or 1) if train["unique_id"].n_unique() >= PARALLEL_FROM else 1

    def required_history(self, horizon: int) -> int:
        """Fewest points a series needs to get this model rather than the short-history fallback."""
        if self.intervals in ("conformal", "empirical"):
            # the first calibration window still needs a history the model can fit on
            return self.n_windows * horizon + self.min_history
        return self.min_history

    def fit_predict(
        self, train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float] = QUANTILES
    ) -> pl.DataFrame:
        """Fit on each series of ``train`` and forecast quantiles ``horizon`` buckets ahead."""
        lengths = train.group_by("unique_id").len()
        long_ids = lengths.filter(pl.col("len") >= self.required_history(horizon))["unique_id"]
        long = train.filter(pl.col("unique_id").is_in(long_ids.implode()))
        short = train.filter(~pl.col("unique_id").is_in(long_ids.implode()))
        parts = []
        if long.height:
            parts.append(self._statsforecast(long, horizon, freq, quantiles))
        if short.height:
            parts.append(short_history_forecast(short, horizon, freq, quantiles).with_columns(model=pl.lit(self.name)))
        if not parts:
            return _empty(quantiles)
        return finalize_quantiles(pl.concat(parts, how="diagonal_relaxed"), quantiles)

    def _statsforecast(self, train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float]) -> pl.DataFrame:
        if self.intervals == "empirical":
            return self._empirical(train, horizon, freq, quantiles)
        conformal = ConformalIntervals(n_windows=self.n_windows, h=horizon) if self.intervals == "conformal" else None
        model = self.build(freq, conformal)
        alias = str(model.alias)
        levels = sorted({_level(q) for q in quantiles if q != 0.5})
        sf = StatsForecast(models=[model], freq=interval(freq), n_jobs=self._processes(train))
        raw = sf.forecast(h=horizon, df=train.select("unique_id", "ds", "y"), level=levels or None)
        columns = {}
        for q in quantiles:
            source = alias if q == 0.5 else f"{alias}-{'lo' if q < 0.5 else 'hi'}-{_level(q)}"
            columns[quantile_column(q)] = pl.col(source).cast(pl.Float64)
        return raw.select("unique_id", "ds", model=pl.lit(self.name), **columns)

    def _empirical(self, train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float]) -> pl.DataFrame:
        model = self.build(freq, None)
        alias = str(model.alias)
        sf = StatsForecast(models=[model], freq=interval(freq), n_jobs=self._processes(train))
        history = train.select("unique_id", "ds", "y")
        windows = sf.cross_validation(h=horizon, df=history, n_windows=self.n_windows, step_size=horizon)
        # Ratios to the point forecast, not differences: a zero actual is 0 x the rate whatever the rate was.
        ratios = windows.filter(pl.col(alias) > 0).select("unique_id", _ratio=pl.col("y") / pl.col(alias))
        spread = ratios.group_by("unique_id").agg(
            **{f"_r{quantile_column(q)}": pl.col("_ratio").quantile(q, "linear") for q in quantiles}
        )
        raw = sf.forecast(h=horizon, df=history).join(spread, on="unique_id", how="left")
        point = pl.col(alias).cast(pl.Float64)
        columns = {quantile_column(q): point * pl.col(f"_r{quantile_column(q)}").fill_null(1.0) for q in quantiles}
        return raw.select("unique_id", "ds", model=pl.lit(self.name), **columns)


def short_history_forecast(
    train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float] = QUANTILES
) -> pl.DataFrame:
    """Flat forecast for series too short to fit: history mean as P50, normal spread of its std.

    Returns:
        ``unique_id, ds`` and the quantile columns (no ``model`` column: callers add their name).
    """
    stats = train.group_by("unique_id").agg(_mean=pl.col("y").mean(), _std=pl.col("y").std(ddof=0))
    z = {quantile_column(q): NormalDist().inv_cdf(q) for q in quantiles}
    return (
        future_frame(train, horizon, freq)
        .join(stats, on="unique_id")
        .select("unique_id", "ds", **{c: pl.col("_mean") + zq * pl.col("_std") for c, zq in z.items()})
    )


def _level(q: float) -> int:
    level = abs(2.0 * q - 1.0) * 100.0
    if abs(level - round(level)) > 1e-9:
        raise ValueError(f"quantile {q} needs a fractional interval level {level}; use whole-percent pairs")
    return round(level)


def _empty(quantiles: Sequence[float]) -> pl.DataFrame:
    schema: dict[str, Any] = {"unique_id": pl.String, "ds": pl.Date, "model": pl.String}
    schema.update({quantile_column(q): pl.Float64 for q in sorted(quantiles)})
    return pl.DataFrame(schema=schema)

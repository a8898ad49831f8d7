"""Baselines (FC-3): seasonal naive, naive and the moving average (computed for every SKU), moving quantiles.

Seasonal naive repeats the last season; its quantiles come from statsforecast's native normal intervals.
The moving average forecasts the mean of the last ``window`` buckets, with conformal quantiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from statsforecast.models import SeasonalNaive, WindowAverage
from statsforecast.utils import ConformalIntervals

from forecasting.data import Freq, future_frame, season_length
from forecasting.models._statsforecast import StatsForecastModel
from forecasting.models.base import QUANTILES, finalize_quantiles, quantile_column

#: Moving-average window per frequency: a quarter of weeks, half a year of months.
DEFAULT_WINDOWS: dict[str, int] = {"W": 13, "M": 6}


def seasonal_naive(season: int | None = None, *, name: str = "seasonal_naive") -> StatsForecastModel:
    """Repeat the last season (``season`` defaults to 52 weekly, 12 monthly).

    Series shorter than one season get the short-history fallback.
    """

    def build(freq: Freq, _: ConformalIntervals | None) -> SeasonalNaive:
        return SeasonalNaive(season_length=season or season_length(freq), alias=name)

    return StatsForecastModel(name=name, build=build, intervals="native", min_history=max(season or 52, 2))


def naive() -> StatsForecastModel:
    """Repeat the last value: M4's Naive2 for weekly data (no seasonal adjustment at m = 1)."""
    return seasonal_naive(1, name="naive")


def moving_average(window: int | None = None, *, n_windows: int = 3) -> StatsForecastModel:
    """Mean of the last ``window`` buckets (13 weekly, 6 monthly by default), conformal quantiles."""

    def build(freq: Freq, conformal: ConformalIntervals | None) -> WindowAverage:
        return WindowAverage(
            window_size=window or DEFAULT_WINDOWS[freq], alias="moving_average", prediction_intervals=conformal
        )

    return StatsForecastModel(
        name="moving_average", build=build, intervals="conformal", min_history=window or 13, n_windows=n_windows
    )


@dataclass(frozen=True)
class MovingQuantiles:
    """The empirical distribution of the last ``window`` buckets, flat over the horizon.

    P50 is the moving median, the other quantiles the window's empirical quantiles (linear interpolation). It is
    the baseline for *new* SKUs with intermittent demand (FC-2): with zeros in most buckets the median is 0 and
    the upper quantiles carry the occasional order, where a moving average's mean sits between the two.
    """

    window: int | None = None
    name: str = "moving_quantiles"

    def fit_predict(
        self, train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float] = QUANTILES
    ) -> pl.DataFrame:
        """Flat quantiles of each series' last ``window`` buckets (13 weekly, 6 monthly by default)."""
        size = self.window or DEFAULT_WINDOWS[freq]
        recent = train.sort("unique_id", "ds").group_by("unique_id", maintain_order=True).tail(size)
        spread = recent.group_by("unique_id").agg(
            **{quantile_column(q): pl.col("y").quantile(q, "linear") for q in quantiles}
        )
        forecast = future_frame(train, horizon, freq).join(spread, on="unique_id")
        return finalize_quantiles(forecast.with_columns(model=pl.lit(self.name)), quantiles)


def moving_quantiles(window: int | None = None) -> MovingQuantiles:
    """The moving-quantiles baseline (window 13 weekly, 6 monthly by default)."""
    return MovingQuantiles(window=window)

"""Baselines every run computes (FC-3): seasonal naive, naive and the moving average.

Seasonal naive repeats the last season; its quantiles come from statsforecast's native normal intervals.
The moving average forecasts the mean of the last ``window`` buckets, with conformal quantiles.
"""

from __future__ import annotations

from statsforecast.models import SeasonalNaive, WindowAverage
from statsforecast.utils import ConformalIntervals

from forecasting.data import Freq, season_length
from forecasting.models._statsforecast import StatsForecastModel

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

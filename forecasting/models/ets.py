"""Exponential smoothing (FC-3) through statsforecast's AutoETS, with its native quantiles.

A 52-week season costs about 66 ms per series per core (STACK.md), so weekly AutoETS is non-seasonal by
default (``season=1``, about 11 ms per series); monthly data keeps its 12-month season. Pass ``season``
to choose otherwise.
"""

from __future__ import annotations

from statsforecast.models import AutoETS
from statsforecast.utils import ConformalIntervals

from forecasting.data import Freq
from forecasting.models._statsforecast import StatsForecastModel

#: Default ETS season per frequency.
DEFAULT_SEASONS: dict[str, int] = {"W": 1, "M": 12}

#: AutoETS refuses fewer points ("tiny datasets").
MIN_HISTORY = 10


def auto_ets(season: int | None = None, *, damped: bool | None = None, n_jobs: int = 0) -> StatsForecastModel:
    """AutoETS choosing error, trend and season by AICc; native normal quantiles.

    Args:
        season: season length; defaults to 1 weekly and 12 monthly.
        damped: force a damped trend (True), forbid it (False) or let AICc choose (None).
        n_jobs: processes statsforecast may use; 0 (default): one per core for fleets of 1,000 series or more.
    """

    def build(freq: Freq, _: ConformalIntervals | None) -> AutoETS:
        return AutoETS(season_length=season or DEFAULT_SEASONS[freq], damped=damped, alias="auto_ets")

    return StatsForecastModel(name="auto_ets", build=build, intervals="native", min_history=MIN_HISTORY, n_jobs=n_jobs)

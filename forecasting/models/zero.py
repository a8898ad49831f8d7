"""The forecast for inactive SKUs (FC-2): zero in every quantile."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from forecasting.data import Freq, future_frame
from forecasting.models.base import QUANTILES, quantile_columns


@dataclass(frozen=True)
class ZeroForecast:
    """Forecasts nothing: for SKUs with no demand in the last 52 buckets."""

    name: str = "zero"

    def fit_predict(
        self, train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float] = QUANTILES
    ) -> pl.DataFrame:
        """Zero for every quantile of every series and bucket."""
        return future_frame(train, horizon, freq).with_columns(
            model=pl.lit(self.name), **{c: pl.lit(0.0) for c in quantile_columns(quantiles)}
        )


def zero() -> ZeroForecast:
    """The zero forecast."""
    return ZeroForecast()

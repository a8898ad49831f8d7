"""The contract every forecasting model meets, and the helpers that enforce it.

A model is anything with a ``name`` and a ``fit_predict(train, horizon, freq, quantiles)`` method that
returns one row per series and future bucket: ``unique_id, ds, model`` and one column per quantile
(``p10, p25, p50, p75, p90`` by default), never negative and monotone in the quantile. Statistical models,
the LightGBM global model and the TFT all plug in behind this one method.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import polars as pl

from forecasting.data import Freq, split_at_origin

#: The quantile levels of FC-3.
QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)


class ForecastError(RuntimeError):
    """A model produced output that breaks the forecast contract."""


@runtime_checkable
class Forecaster(Protocol):
    """What every model offers: fit on a history and forecast quantiles ``horizon`` buckets ahead."""

    @property
    def name(self) -> str:
        """Model name written in the forecast's ``model`` column."""
        ...

    def fit_predict(
        self, train: pl.DataFrame, horizon: int, freq: Freq, quantiles: Sequence[float] = QUANTILES
    ) -> pl.DataFrame:
        """Fit on ``train`` (``unique_id, ds, y``) and forecast ``horizon`` buckets after each series' end."""
        ...


def quantile_column(q: float) -> str:
    """Column name of a quantile level: 0.1 -> ``p10``, 0.5 -> ``p50``, 0.05 -> ``p05``."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile levels lie strictly between 0 and 1, got {q}")
    percent = q * 100
    if abs(percent - round(percent)) > 1e-9:
        raise ValueError(f"quantile levels must be whole percents, got {q}")
    return f"p{round(percent):02d}"


def quantile_columns(quantiles: Sequence[float] = QUANTILES) -> list[str]:
    """Column names of ``quantiles``, in increasing order of level."""
    return [quantile_column(q) for q in sorted(quantiles)]


def finalize_quantiles(forecast: pl.DataFrame, quantiles: Sequence[float] = QUANTILES) -> pl.DataFrame:
    """Enforce the contract: no missing values, nothing negative, quantiles non-decreasing in the level.

    Demand is never negative, so quantiles are clipped at zero; sorting each row's quantiles repairs the
    crossings that independently fitted quantiles (LightGBM, TFT) can show.

    Raises:
        ForecastError: a quantile is missing or not finite.
    """
    cols = quantile_columns(quantiles)
    values = forecast.select(cols).to_numpy().astype(float)
    if values.size and not np.isfinite(values).all():
        bad = forecast.filter(~pl.all_horizontal(pl.col(cols).is_finite().fill_null(False)))
        model = bad["model"][0] if "model" in bad.columns else "?"
        raise ForecastError(f"model {model!r} left non-finite quantiles for series {bad['unique_id'][0]!r}")
    values = np.sort(np.clip(values, 0.0, None), axis=1)
    keyed = forecast.select("unique_id", "ds", "model")
    return keyed.with_columns(pl.Series(c, values[:, i]) for i, c in enumerate(cols)).sort("unique_id", "ds")


def forecast_from_origin(
    model: Forecaster,
    panel: pl.DataFrame,
    origin: dt.date,
    horizon: int,
    freq: Freq,
    quantiles: Sequence[float] = QUANTILES,
) -> pl.DataFrame:
    """Forecast as if standing at ``origin``: the model sees only buckets up to and including it.

    This is the one door through which backtests reach a model, so nothing after the origin can leak in.
    Series with no history up to the origin get no forecast.
    """
    history, _ = split_at_origin(panel, origin)
    return model.fit_predict(history, horizon, freq, quantiles)

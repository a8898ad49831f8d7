"""Rolling-origin backtests (FC-6): forecast from several past origins and score against what happened.

Window ``k`` of ``n_windows`` stands at origin ``last - horizon - (n_windows - 1 - k) * step`` (``last`` is the
panel's last bucket, ``step`` defaults to ``horizon``) and forecasts the ``horizon`` buckets after it. Every
window reaches the models through :func:`~forecasting.models.base.forecast_from_origin`, so a model sees
only buckets up to its window's origin.

Metrics are :func:`forecasting.metrics.evaluate`'s, pooled over windows: point and quantile errors are
averaged over every scored bucket of every window; MASE scales each series-window by the history before
that window's origin and averages the series-windows. ``series`` counts distinct SKUs, ``windows`` the
windows with at least one scored bucket.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from forecasting.data import Freq, mase_period, shift_buckets, split_at_origin
from forecasting.metrics import evaluate
from forecasting.models import get_model
from forecasting.models.base import QUANTILES, Forecaster, forecast_from_origin, quantile_columns

#: Holdout of each window, in buckets (FC-6).
DEFAULT_HORIZON = 13

_KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class BacktestResult:
    """What a backtest returns.

    Attributes:
        forecasts: one row per window, model, SKU and scored bucket: ``window, origin, unique_id, ds, model``,
            the quantile columns, the actual ``y`` and the class columns when classes were given.
        by_series: metrics per ``model, unique_id``.
        by_model: metrics per ``model``.
        by_class: metrics per ``model`` and class column value (``class_column, class_value``); None without
            classes.
    """

    forecasts: pl.DataFrame
    by_series: pl.DataFrame
    by_model: pl.DataFrame
    by_class: pl.DataFrame | None


def backtest_origins(
    panel: pl.DataFrame, freq: Freq, *, horizon: int = DEFAULT_HORIZON, n_windows: int = 3, step: int | None = None
) -> list[dt.date]:
    """Origins of the rolling windows, oldest first; the last window ends on the panel's last bucket.

    Raises:
        ValueError: non-positive ``horizon``, ``n_windows`` or ``step``.
    """
    stride = horizon if step is None else step
    if horizon < 1 or n_windows < 1 or stride < 1:
        raise ValueError(f"horizon, n_windows and step must be positive, got {horizon}, {n_windows}, {stride}")
    last: dt.date = panel["ds"].max()  # type: ignore[assignment]
    return [shift_buckets(last, -horizon - (n_windows - 1 - k) * stride, freq) for k in range(n_windows)]


def rolling_origin_backtest(
    panel: pl.DataFrame,
    models: Sequence[Forecaster | str],
    freq: Freq,
    *,
    horizon: int = DEFAULT_HORIZON,
    n_windows: int = 3,
    step: int | None = None,
    classes: pl.DataFrame | None = None,
    class_columns: Sequence[str] = ("abc", "pattern"),
    quantiles: Sequence[float] = QUANTILES,
) -> BacktestResult:
    """Backtest ``models`` over ``n_windows`` rolling origins and score them per SKU, model and class.

    Args:
        panel: long ``unique_id, ds, y`` demand, gaps filled (see :func:`forecasting.data.fill_gaps`).
        models: model objects or registered names (:data:`forecasting.models.MODEL_FACTORIES`).
        freq: ``"W"`` or ``"M"``.
        horizon: buckets forecast from each origin.
        n_windows: number of origins.
        step: buckets between consecutive origins (default ``horizon``: windows that do not overlap).
        classes: one row per SKU (``unique_id`` and ``class_columns``, as :func:`forecasting.classification.classify`
            returns), or one row per SKU and window with an ``origin`` column for a point-in-time classification.
        class_columns: the columns of ``classes`` to score by.
        quantiles: quantile levels to forecast and score.

    Returns:
        The forecasts with actuals and the metrics (:class:`BacktestResult`).
    """
    forecasters = [get_model(m) if isinstance(m, str) else m for m in models]
    origins = backtest_origins(panel, freq, horizon=horizon, n_windows=n_windows, step=step)
    windows = [_run_window(k, origin, panel, forecasters, horizon, freq, quantiles) for k, origin in enumerate(origins)]
    forecasts = pl.concat([w for w, _ in windows], how="vertical_relaxed")
    insample = pl.concat([h for _, h in windows], how="vertical_relaxed")
    if classes is not None:
        keys = ["unique_id", "origin"] if "origin" in classes.columns else ["unique_id"]
        forecasts = forecasts.join(classes.select(*keys, *class_columns), on=keys, how="left")
    by_series = _score(forecasts, insample, freq, quantiles, ["model", "unique_id"])
    by_model = _score(forecasts, insample, freq, quantiles, ["model"])
    by_class = None
    if classes is not None:
        by_class = pl.concat(
            [
                _score(forecasts, insample, freq, quantiles, ["model", column])
                .rename({column: "class_value"})
                .with_columns(pl.col("class_value").cast(pl.String), class_column=pl.lit(column))
                .select(
                    "model", "class_column", "class_value", pl.all().exclude("model", "class_column", "class_value")
                )
                for column in class_columns
            ]
        )
    return BacktestResult(forecasts=forecasts, by_series=by_series, by_model=by_model, by_class=by_class)


def _run_window(
    window: int,
    origin: dt.date,
    panel: pl.DataFrame,
    models: Sequence[Forecaster],
    horizon: int,
    freq: Freq,
    quantiles: Sequence[float],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Forecasts joined to their actuals, and the history each series had at the origin (for MASE)."""
    history, after = split_at_origin(panel, origin)
    actuals = after.filter(pl.col("ds") <= shift_buckets(origin, horizon, freq)).select("unique_id", "ds", "y")
    stacked = pl.concat(
        [forecast_from_origin(m, panel, origin, horizon, freq, quantiles) for m in models], how="vertical_relaxed"
    )
    scored = stacked.join(actuals, on=["unique_id", "ds"], how="inner").with_columns(
        window=pl.lit(window), origin=pl.lit(origin)
    )
    return (
        scored.select("window", "origin", pl.all().exclude("window", "origin")).sort("model", "unique_id", "ds"),
        history.select("unique_id", "ds", "y", window=pl.lit(window)),
    )


def _score(
    forecasts: pl.DataFrame, insample: pl.DataFrame, freq: Freq, quantiles: Sequence[float], by: list[str]
) -> pl.DataFrame:
    """``evaluate`` over all windows, each series-window scaled by its own history."""
    window_key = pl.concat_str(pl.col("unique_id"), pl.col("window").cast(pl.String), separator=_KEY_SEPARATOR)
    group_cols = [c if c != "unique_id" else "sku" for c in by]
    keyed = forecasts.with_columns(sku=pl.col("unique_id"), unique_id=window_key)
    metrics = evaluate(
        keyed.select("unique_id", "ds", "sku", *[c for c in group_cols if c != "sku"], *quantile_columns(quantiles)),
        keyed.select("unique_id", "ds", "y"),
        insample.with_columns(unique_id=window_key),
        m=mase_period(freq),
        quantiles=quantiles,
        by=group_cols,
    )
    counts = keyed.group_by(group_cols).agg(series=pl.col("sku").n_unique(), windows=pl.col("window").n_unique())
    out = metrics.drop("series").join(counts, on=group_cols, how="left").rename({"sku": "unique_id"}, strict=False)
    return out.select(*by, "series", "windows", pl.all().exclude(*by, "series", "windows")).sort(by)

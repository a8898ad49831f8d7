"""Forecast accuracy metrics, on arrays and on long forecast frames.

Conventions (M4 and FC-6): errors are ``yhat - y``; percentages are in percent (sMAPE lies in 0..200);
point metrics score the median ``p50``; MASE divides each series' mean absolute error by the mean absolute
in-sample seasonal difference of its own history (period ``m``: 1 weekly, 12 monthly), then averages over
series, as M4 does; sMAPE is averaged over all points (equal to the mean of per-series means when every
series has the same horizon). Series whose in-sample scale is zero (constant history) have no MASE and are
left out of its mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from forecasting.models.base import QUANTILES, quantile_column

ArrayLike = Sequence[float] | np.ndarray


def smape(y: ArrayLike, yhat: ArrayLike) -> float:
    """M4 sMAPE: mean of ``200·|y−ŷ|/(|y|+|ŷ|)``; a point where both are zero counts as 0."""
    y, yhat = _arrays(y, yhat)
    denom = np.abs(y) + np.abs(yhat)
    terms = np.divide(200.0 * np.abs(y - yhat), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(terms.mean())


def mase_scale(insample: ArrayLike, m: int = 1) -> float:
    """Mean absolute ``m``-step difference of a history (NaN when it has no more than ``m`` points)."""
    x = np.asarray(insample, dtype=float)
    if x.size <= m:
        return float("nan")
    return float(np.mean(np.abs(x[m:] - x[:-m])))


def mase(y: ArrayLike, yhat: ArrayLike, insample: ArrayLike, m: int = 1) -> float:
    """MASE of one series: its MAE over :func:`mase_scale` of its history (NaN if the scale is 0)."""
    scale = mase_scale(insample, m)
    return mae(y, yhat) / scale if scale > 0 else float("nan")


def mae(y: ArrayLike, yhat: ArrayLike) -> float:
    """Mean absolute error."""
    y, yhat = _arrays(y, yhat)
    return float(np.mean(np.abs(yhat - y)))


def rmse(y: ArrayLike, yhat: ArrayLike) -> float:
    """Root mean squared error."""
    y, yhat = _arrays(y, yhat)
    return float(np.sqrt(np.mean((yhat - y) ** 2)))


def wape(y: ArrayLike, yhat: ArrayLike) -> float:
    """Weighted absolute percentage error: ``100·Σ|ŷ−y| / Σ|y|`` (NaN when every actual is 0)."""
    y, yhat = _arrays(y, yhat)
    total = np.abs(y).sum()
    return float(100.0 * np.abs(yhat - y).sum() / total) if total > 0 else float("nan")


def mape(y: ArrayLike, yhat: ArrayLike) -> float:
    """Mean absolute percentage error over the non-zero actuals only (NaN if there are none)."""
    y, yhat = _arrays(y, yhat)
    nonzero = y != 0
    if not nonzero.any():
        return float("nan")
    return float(100.0 * np.mean(np.abs(yhat[nonzero] - y[nonzero]) / np.abs(y[nonzero])))


def bias(y: ArrayLike, yhat: ArrayLike) -> float:
    """Relative bias ``100·Σ(ŷ−y) / Σ|y|``: positive means over-forecast (NaN when every actual is 0)."""
    y, yhat = _arrays(y, yhat)
    total = np.abs(y).sum()
    return float(100.0 * (yhat - y).sum() / total) if total > 0 else float("nan")


def pinball(y: ArrayLike, yq: ArrayLike, q: float) -> float:
    """Mean pinball (quantile) loss of the forecast quantile ``yq`` at level ``q``."""
    y, yq = _arrays(y, yq)
    diff = y - yq
    return float(np.mean(np.maximum(q * diff, (q - 1.0) * diff)))


def coverage(y: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share (0..1) of actuals inside ``[lower, upper]``, bounds included."""
    y, lower = _arrays(y, lower)
    upper = np.asarray(upper, dtype=float)
    return float(np.mean((y >= lower) & (y <= upper)))


def owa(smape_value: float, mase_value: float, naive2_smape: float, naive2_mase: float) -> float:
    """M4 overall weighted average: mean of the sMAPE and MASE ratios to Naive2's."""
    return 0.5 * (smape_value / naive2_smape + mase_value / naive2_mase)


def evaluate(
    forecasts: pl.DataFrame,
    actuals: pl.DataFrame,
    insample: pl.DataFrame,
    *,
    m: int,
    quantiles: Sequence[float] = QUANTILES,
    by: Sequence[str] = ("model",),
) -> pl.DataFrame:
    """Score forecasts against actuals with every FC-6 metric, one row per group of ``by``.

    Args:
        forecasts: ``unique_id, ds, model`` and the quantile columns (``p10`` ...); other columns in ``by``
            (a class, say) may be joined on beforehand.
        actuals: ``unique_id, ds, y`` over the forecast buckets; only buckets present in both are scored.
        insample: ``unique_id, ds, y`` history before the origin, for the MASE scale.
        m: seasonal period of the MASE scale (1 weekly, 12 monthly: :func:`forecasting.data.mase_period`).
        quantiles: quantile levels to score; pinball needs each one, coverage needs 0.1 and 0.9.
        by: grouping columns.

    Returns:
        ``by`` columns, ``series``, ``smape``, ``mase``, ``wape``, ``mape``, ``mae``, ``rmse``, ``bias``,
        ``pinball_pXX`` per quantile, ``pinball_mean`` and ``coverage_p10_p90``.
    """
    scales = _mase_scales(insample, m)
    scored = forecasts.join(actuals.select("unique_id", "ds", "y"), on=["unique_id", "ds"], how="inner").join(
        scales, on="unique_id", how="left"
    )
    err = pl.col("p50") - pl.col("y")
    denom = pl.col("y").abs() + pl.col("p50").abs()
    scored = scored.with_columns(
        _ae=err.abs(),
        _sm=pl.when(denom > 0).then(200.0 * err.abs() / denom).otherwise(0.0),
        _ape=pl.when(pl.col("y") != 0).then(100.0 * err.abs() / pl.col("y").abs()),
        **{f"_pl_{quantile_column(q)}": _pinball_expr(q) for q in quantiles},
    )
    per_series = scored.group_by([*by, "unique_id"]).agg(
        _series_mase=pl.when(pl.col("_scale").first() > 0).then(pl.col("_ae").mean() / pl.col("_scale").first())
    )
    metrics = [
        pl.len().alias("_points"),
        pl.col("unique_id").n_unique().alias("series"),
        pl.col("_sm").mean().alias("smape"),
        (100.0 * pl.col("_ae").sum() / pl.col("y").abs().sum()).alias("wape"),
        pl.col("_ape").mean().alias("mape"),
        pl.col("_ae").mean().alias("mae"),
        (err**2).mean().sqrt().alias("rmse"),
        (100.0 * err.sum() / pl.col("y").abs().sum()).alias("bias"),
        *[pl.col(f"_pl_{quantile_column(q)}").mean().alias(f"pinball_{quantile_column(q)}") for q in quantiles],
    ]
    if {0.1, 0.9} <= set(quantiles):
        inside = (pl.col("y") >= pl.col("p10")) & (pl.col("y") <= pl.col("p90"))
        metrics.append(inside.mean().alias("coverage_p10_p90"))
    summary = scored.group_by(list(by)).agg(metrics)
    summary = summary.with_columns(
        pinball_mean=pl.mean_horizontal([f"pinball_{quantile_column(q)}" for q in quantiles])
    ).drop("_points")
    mase_by = per_series.group_by(list(by)).agg(mase=pl.col("_series_mase").drop_nulls().mean())
    ordered = [*by, "series", "smape", "mase", "wape", "mape", "mae", "rmse", "bias"]
    return summary.join(mase_by, on=list(by), how="left").select(*ordered, pl.all().exclude(ordered)).sort(list(by))


def _pinball_expr(q: float) -> pl.Expr:
    diff = pl.col("y") - pl.col(quantile_column(q))
    return pl.max_horizontal(q * diff, (q - 1.0) * diff)


def _mase_scales(insample: pl.DataFrame, m: int) -> pl.DataFrame:
    return (
        insample.sort("unique_id", "ds")
        .group_by("unique_id", maintain_order=True)
        .agg(_scale=(pl.col("y") - pl.col("y").shift(m)).abs().mean())
    )


def _arrays(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"actuals and forecasts differ in shape: {x.shape} vs {y.shape}")
    return x, y

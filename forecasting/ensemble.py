"""Ensembles (FC-2, FC-3): a weighted average of member models' quantiles, and weights fitted on backtests.

Combining quantile forecasts by averaging each quantile level across members (Vincentization; Lichtendahl,
Grushka-Cockayne & Winkler, "Is it better to average probabilities or quantiles?", Management Science 2013)
keeps the result a proper, monotone set of quantiles and is the usual way forecast combinations are built.
The class-A default of FC-2 is TFT 0.6 + LightGBM 0.4; :func:`fit_weights` replaces it by the weights that
minimise the mean pinball loss on a backtest.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from forecasting.data import Freq
from forecasting.models.base import QUANTILES, Forecaster, finalize_quantiles, quantile_column, quantile_columns

#: FC-2's class-A ensemble.
DEFAULT_WEIGHTS: dict[str, float] = {"tft": 0.6, "lightgbm": 0.4}


class EnsembleError(ValueError):
    """Weights or member forecasts that cannot form an ensemble."""


def normalized(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights scaled to sum to one.

    Raises:
        EnsembleError: a negative weight, or no positive weight.
    """
    bad = {m: w for m, w in weights.items() if not np.isfinite(w) or w < 0}
    if bad:
        raise EnsembleError(f"ensemble weights must be finite and non-negative, got {bad}")
    total = sum(weights.values())
    if total <= 0:
        raise EnsembleError(f"ensemble weights must have a positive sum, got {dict(weights)}")
    return {m: w / total for m, w in weights.items() if w > 0}


def combine(
    forecasts: pl.DataFrame,
    weights: Mapping[str, float],
    *,
    name: str = "ensemble",
    quantiles: Sequence[float] = QUANTILES,
) -> pl.DataFrame:
    """Weighted average of the members' quantiles, per SKU and bucket.

    Args:
        forecasts: stacked member forecasts (``unique_id, ds, model`` and the quantile columns).
        weights: weight per member model; they are normalised. A SKU missing a member is combined from the
            members it has, their weights renormalised.
        name: the ``model`` value of the result.
        quantiles: quantile levels.

    Returns:
        ``unique_id, ds, model`` and the quantile columns, one row per SKU and bucket any member forecast.
    """
    w = normalized(weights)
    cols = quantile_columns(quantiles)
    members = forecasts.filter(pl.col("model").is_in(list(w)))
    if members.is_empty():
        raise EnsembleError(f"none of the ensemble members {sorted(w)} has a forecast")
    weighted = members.with_columns(_w=pl.col("model").replace_strict(w, return_dtype=pl.Float64))
    combined = weighted.group_by("unique_id", "ds").agg(
        **{c: (pl.col(c) * pl.col("_w")).sum() / pl.col("_w").sum() for c in cols}
    )
    return finalize_quantiles(combined.with_columns(model=pl.lit(name)), quantiles)


def fit_weights(
    backtest: pl.DataFrame,
    members: Sequence[str],
    *,
    step: float = 0.1,
    quantiles: Sequence[float] = QUANTILES,
) -> dict[str, float]:
    """Weights on a grid of ``step`` that minimise the mean pinball loss of the combination on a backtest.

    Args:
        backtest: backtest forecasts with actuals (``window, unique_id, ds, model, y`` and the quantile columns),
            as :class:`forecasting.backtest.BacktestResult` ``forecasts``.
        members: the member models; each must appear in ``backtest``.
        step: grid spacing of the weights (0.1 gives 11 points for two members).
        quantiles: quantile levels scored.

    Returns:
        The best weights (summing to one); ties go to the earlier grid point, equal weights first.

    Raises:
        EnsembleError: a member has no backtest forecasts.
    """
    missing = [m for m in members if backtest.filter(pl.col("model") == m).is_empty()]
    if missing:
        raise EnsembleError(f"no backtest forecasts for ensemble members {missing}")
    cols = quantile_columns(quantiles)
    keys = ["window", "unique_id", "ds"] if "window" in backtest.columns else ["unique_id", "ds"]
    wide = None
    for m in members:
        part = backtest.filter(pl.col("model") == m).select(*keys, "y", *[pl.col(c).alias(f"{c}__{m}") for c in cols])
        wide = part if wide is None else wide.join(part.drop("y"), on=keys, how="inner")
    assert wide is not None
    y = wide["y"].to_numpy().astype(float)
    stacks = {c: np.stack([wide[f"{c}__{m}"].to_numpy().astype(float) for m in members]) for c in cols}
    levels = {quantile_column(q): q for q in quantiles}
    ticks = round(1 / step)
    grid = [g for g in itertools.product(range(ticks + 1), repeat=len(members)) if sum(g) == ticks]
    equal = tuple(ticks // len(members) for _ in members)
    grid.sort(key=lambda g: g != equal)
    best, best_loss = grid[0], np.inf
    for g in grid:
        w = np.asarray(g, dtype=float) / ticks
        loss = 0.0
        for c, stack in stacks.items():
            diff = y - w @ stack
            q = levels[c]
            loss += float(np.mean(np.maximum(q * diff, (q - 1) * diff)))
        if loss < best_loss - 1e-12:
            best, best_loss = g, loss
    return {m: b / ticks for m, b in zip(members, best, strict=True)}


def fit_weights_on_history(
    history: pl.DataFrame,
    members: Sequence[Forecaster],
    horizon: int,
    freq: Freq,
    *,
    step: float = 0.1,
) -> dict[str, float]:
    """Weights fitted on one backtest window: the last ``horizon`` buckets of ``history`` (nothing after it).

    Args:
        history: ``unique_id, ds, y`` of the SKUs the ensemble will forecast.
        members: the member models (their ``name`` keys the weights).
        horizon: buckets of the backtest window.
        freq: ``"W"`` or ``"M"``.
        step: grid spacing of the weights.
    """
    from forecasting.backtest import rolling_origin_backtest  # backtest imports the models, which import this

    backtest = rolling_origin_backtest(history, list(members), freq, horizon=horizon, n_windows=1)
    return fit_weights(backtest.forecasts, [m.name for m in members], step=step)


#: Interval the width calibration aims at: P10..P90 should hold 80% of actuals.
TARGET_COVERAGE = 0.80
WIDTH_GRID: tuple[float, ...] = tuple(round(0.5 + 0.05 * k, 2) for k in range(21))  # 0.50 .. 1.50


def scale_width(
    forecast: pl.DataFrame, factor: float | pl.Expr, quantiles: Sequence[float] = QUANTILES
) -> pl.DataFrame:
    """Every quantile's distance from P50 multiplied by ``factor`` (kept non-negative and monotone)."""
    k = factor if isinstance(factor, pl.Expr) else pl.lit(factor)
    cols = [c for c in quantile_columns(quantiles) if c != "p50"]
    return forecast.with_columns([(pl.col("p50") + k * (pl.col(c) - pl.col("p50"))).clip(0.0).alias(c) for c in cols])


def scale_widths(
    forecast: pl.DataFrame, factors: Mapping[str, float], quantiles: Sequence[float] = QUANTILES
) -> pl.DataFrame:
    """:func:`scale_width` with each row's factor taken from ``factors`` by its ``model`` (1 for other models)."""
    k = pl.col("model").cast(pl.String).replace_strict(dict(factors), default=1.0, return_dtype=pl.Float64)
    return scale_width(forecast, k, quantiles)


def width_factors(backtest: pl.DataFrame, *, target: float = TARGET_COVERAGE) -> dict[str, float]:
    """Per model, the width factor (on :data:`WIDTH_GRID`) whose P10..P90 covered ``target`` of the backtest's
    actuals most closely — split conformal calibration of the interval width on windows before the origin.

    Args:
        backtest: backtest forecasts with actuals (``model, y, p10, p50, p90``).
        target: coverage to aim at.
    """
    factors: dict[str, float] = {}
    for (model,), part in backtest.group_by("model"):
        y = part["y"].to_numpy().astype(float)
        p50 = part["p50"].to_numpy().astype(float)
        low = part["p10"].to_numpy().astype(float) - p50
        high = part["p90"].to_numpy().astype(float) - p50
        best, best_gap = 1.0, np.inf
        for k in WIDTH_GRID:
            inside = (y >= np.maximum(p50 + k * low, 0.0)) & (y <= p50 + k * high)
            gap = abs(float(inside.mean()) - target) if y.size else np.inf
            if gap < best_gap - 1e-12 or (abs(gap - best_gap) <= 1e-12 and abs(k - 1) < abs(best - 1)):
                best, best_gap = k, gap
        factors[str(model)] = best
    return factors

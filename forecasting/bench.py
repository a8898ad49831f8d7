"""Benchmark models on anyone's data: ``fmrp bench forecast`` and the ``make bench`` forecasting suites.

Every model forecasts the test buckets of every series from the end of its training history; the product's own
selection (``auto``) classifies the training history (FC-1, by volume when there is no revenue), lets the
FC-2 matrix choose each series' model and forecasts with :func:`forecasting.fleet.forecast_fleet`. The TFT is
not trained by the benchmark unless asked for in ``models``; without it the matrix's TFT cells fall back to
ETS and the class-A ensemble to LightGBM + ETS (as in production before the first TFT champion).

Metrics (:func:`forecasting.metrics.evaluate`): sMAPE (M4), MASE (in-sample seasonal-difference scaling, m = 1
weekly, 12 monthly), WAPE, mean pinball loss, P10–P90 coverage, and wall seconds per model.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from forecasting.classification import SelectionRules, classify, select_models
from forecasting.data import Freq, mase_period
from forecasting.ensemble import fit_weights_on_history, scale_widths
from forecasting.fleet import ENSEMBLE, forecast_fleet
from forecasting.metrics import evaluate
from forecasting.models import MODEL_FACTORIES, get_model
from forecasting.models.base import Forecaster
from forecasting.runs import interval_width_factors
from forecasting.training import FALLBACK_WEIGHTS

AUTO = "auto"
DEFAULT_MODELS: tuple[str, ...] = ("seasonal_naive", "naive", "moving_average", "auto_ets", "croston_sba", "tsb")
COLUMNS: tuple[str, ...] = ("model", "series", "smape", "mase", "wape", "pinball_mean", "coverage_p10_p90", "seconds")


class BenchError(ValueError):
    """Inputs a benchmark cannot run on (an unknown model, a test with series the training lacks ...)."""


@dataclass(frozen=True)
class BenchResult:
    """One row per model (``COLUMNS``), the ``auto`` row last, and every forecast scored."""

    table: pl.DataFrame
    forecasts: pl.DataFrame


def auto_forecast(
    train: pl.DataFrame,
    horizon: int,
    freq: Freq,
    *,
    models: dict[str, Forecaster] | None = None,
    weights: dict[str, float] | None = None,
    fit_ensemble: bool = True,
    calibrate: bool = True,
) -> pl.DataFrame:
    """The product's own forecast of every series: classify, select per FC-2, forecast with the chosen model.

    Args:
        train: history ``unique_id, ds, y``.
        horizon: buckets ahead.
        freq: ``"W"`` or ``"M"``.
        models: trained models by name (a TFT); without one, TFT cells use the ensemble.
        weights: ensemble weights; by default fitted (``fit_ensemble``) or FC-2's.
        fit_ensemble: fit the ensemble weights on a backtest window at the end of ``train`` (FC-2's
            "fitted on backtests"); only the training data is used.
        calibrate: rescale each model's interval width on the last ``horizon`` buckets of ``train``, as the
            weekly forecast does (:func:`forecasting.runs.interval_width_factors`).
    """
    classes = classify(train, freq)
    selection = select_models(classes, rules=selection_rules(models or {}))
    members = {"tft": 0.6, "lightgbm": 0.4} if "tft" in (models or {}) else FALLBACK_WEIGHTS
    chosen = weights or members
    ensemble_skus = selection.filter(pl.col("model") == ENSEMBLE)["unique_id"]
    if weights is None and fit_ensemble and ensemble_skus.len():
        panel = train.filter(pl.col("unique_id").is_in(ensemble_skus.implode()))
        chosen = fit_weights_on_history(panel, [(models or {}).get(m) or get_model(m) for m in members], horizon, freq)
    result = forecast_fleet(train, selection, horizon, freq, models=models, weights=chosen, baselines=())
    selected = result.selected
    if calibrate:
        origin: dt.date = train["ds"].max()  # type: ignore[assignment]
        factors = interval_width_factors(train, selection, origin, horizon, freq, models, chosen)
        selected = scale_widths(selected, factors)
    return selected.with_columns(model=pl.lit(AUTO))


def selection_rules(models: dict[str, Forecaster]) -> SelectionRules:
    """FC-2's matrix with what can run: without a trained TFT its cells go to the LightGBM + ETS ensemble."""
    available = set(MODEL_FACTORIES) - {"tft"} | {ENSEMBLE} | set(models)
    return SelectionRules(available=frozenset(available), fallback=ENSEMBLE)


def run_bench(
    train: pl.DataFrame,
    test: pl.DataFrame,
    freq: Freq,
    horizon: int,
    *,
    models: Sequence[str] = DEFAULT_MODELS,
    include_auto: bool = True,
    on_model: Callable[[str, float], None] | None = None,
) -> BenchResult:
    """Forecast ``test``'s buckets from ``train`` with each model (and ``auto``) and score them.

    Raises:
        BenchError: an unknown model name, or test series missing from the training data.
    """
    unknown = [m for m in models if m not in MODEL_FACTORIES]
    if unknown:
        raise BenchError(f"unknown models {unknown}; known: {', '.join(sorted(MODEL_FACTORIES))}")
    missing = set(test["unique_id"].unique()) - set(train["unique_id"].unique())
    if missing:
        raise BenchError(f"{len(missing)} test series have no training history, e.g. {sorted(missing)[:3]}")
    forecasts, seconds = [], {}

    def fitted(name: str) -> Callable[[], pl.DataFrame]:
        return lambda: get_model(name).fit_predict(train, horizon, freq)

    steps: list[tuple[str, Callable[[], pl.DataFrame]]] = [(name, fitted(name)) for name in models]
    if include_auto:
        steps.append((AUTO, lambda: auto_forecast(train, horizon, freq)))
    for name, run in steps:
        started = time.perf_counter()
        forecasts.append(run().with_columns(model=pl.lit(name)))
        seconds[name] = time.perf_counter() - started
        if on_model:
            on_model(name, seconds[name])
    stacked = pl.concat(forecasts, how="vertical_relaxed")
    scores = evaluate(stacked, test, train, m=mase_period(freq))
    order = {name: k for k, (name, _) in enumerate(steps)}
    table = (
        scores.with_columns(seconds=pl.col("model").replace_strict(seconds, return_dtype=pl.Float64))
        .select(COLUMNS)
        .sort(pl.col("model").replace_strict(order, return_dtype=pl.Int64))
    )
    return BenchResult(table=table, forecasts=stacked)

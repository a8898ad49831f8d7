"""One forecast origin end to end: what the weekly and monthly Dagster assets call (one function each).

- :func:`load_demand` reads the demand mart (weekly or monthly) into ``unique_id, ds, y, revenue, price``.
- :func:`classify_skus` classifies every SKU at the origin and chooses its model (FC-1, FC-2; a planner's
  per-SKU choice wins).
- :func:`forecast_origin` forecasts every SKU with its model, the baselines, revenue both ways and the
  divergence flag (FC-3, FC-5), and puts planner overrides on the selected volume forecast (FC-8).
- :func:`backtest_origin` scores the models over rolling origins ending at the origin (FC-6).

The origin is the last bucket of history: nothing after it is read (the demand query stops there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl
import psycopg

from forecasting.backtest import rolling_origin_backtest
from forecasting.classification import ClassificationRules, SelectionRules, classify, select_models
from forecasting.data import Freq, fill_gaps, mase_period, shift_buckets
from forecasting.ensemble import DEFAULT_WEIGHTS, combine, fit_weights_on_history, scale_widths, width_factors
from forecasting.fleet import BASELINES, ENSEMBLE, GLOBAL_MODELS, forecast_fleet
from forecasting.metrics import evaluate
from forecasting.models import MODEL_FACTORIES, get_model
from forecasting.models.base import QUANTILES, Forecaster, quantile_columns
from forecasting.overrides import apply_overrides
from forecasting.store import read_frame

#: Divergence between the two revenue forecasts that flags a SKU (FC-5).
REVENUE_DIVERGENCE = 0.15
#: Buckets of history the price for "volume x price" is averaged over.
PRICE_WINDOW = 13

METRIC_KEYS = ["grouping", "group_value", "model"]
METRIC_COLUMNS = [
    "smape",
    "mase",
    "wape",
    "mape",
    "mae",
    "rmse",
    "bias",
    "pinball_p10",
    "pinball_p25",
    "pinball_p50",
    "pinball_p75",
    "pinball_p90",
    "pinball_mean",
    "coverage_p10_p90",
]

_MART = {"W": ("marts.demand_weekly", "week_start"), "M": ("marts.demand_monthly", "month_start")}


class NoDemandError(RuntimeError):
    """The demand mart has no history up to the origin."""


@dataclass(frozen=True)
class OriginForecast:
    """What :func:`forecast_origin` returns, shaped like the ``forecasting.forecasts`` and ``revenue_checks`` rows.

    Attributes:
        forecasts: ``sku, bucket_start, step, model, target, is_selected, p10..p90, p50_original, override_id``.
        revenue_checks: ``sku, revenue_direct, revenue_from_volume, divergence, is_divergent``.
        seconds: wall time per model.
        weights: the ensemble weights used.
        width_factors: the interval width factor applied per selected model (calibration).
    """

    forecasts: pl.DataFrame
    revenue_checks: pl.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    width_factors: dict[str, float] = field(default_factory=dict)


def load_demand(conn: psycopg.Connection, freq: Freq, origin: dt.date) -> pl.DataFrame:
    """Demand per SKU and bucket up to and including ``origin``: ``unique_id, ds, y, revenue, price``.

    Raises:
        NoDemandError: nothing up to the origin.
    """
    table, bucket = _MART[freq]
    frame = read_frame(
        conn,
        f"select sku as unique_id, {bucket} as ds, volume::float8 as y, revenue::float8 as revenue,"
        f" avg_price::float8 as price from {table} where {bucket} <= %s order by 1, 2",
        [origin],
    )
    if frame.is_empty():
        raise NoDemandError(f"{table} has no demand up to the origin {origin}: land sales and build the warehouse")
    return frame.with_columns(pl.col("ds").cast(pl.Date), pl.col("unique_id").cast(pl.String))


def last_complete_origin(conn: psycopg.Connection, freq: Freq) -> dt.date:
    """The latest bucket of the demand mart (the origin a forecast run "now" stands at).

    Raises:
        NoDemandError: the mart is empty.
    """
    table, bucket = _MART[freq]
    row = conn.execute(f"select max({bucket}) from {table}").fetchone()
    if row is None or row[0] is None:
        raise NoDemandError(f"{table} is empty: land sales and build the warehouse first")
    latest: dt.date = row[0]
    return latest


def classify_skus(
    demand: pl.DataFrame,
    freq: Freq,
    origin: dt.date,
    *,
    model_choices: Mapping[str, str] | None = None,
    available: frozenset[str] | None = None,
    rules: ClassificationRules | None = None,
) -> pl.DataFrame:
    """FC-1 classes and the FC-2 model of every SKU with demand up to ``origin``.

    Args:
        demand: :func:`load_demand`'s frame.
        freq: ``"W"`` or ``"M"``.
        origin: the last bucket of history.
        model_choices: a planner's model per SKU (wins over the matrix).
        available: models that can run (TFT only once a champion exists); others fall back to the ensemble.
        rules: classification thresholds.

    Returns:
        ``sku, abc, xyz, pattern, status, history_buckets, revenue, cv, adi, cv2, model, reason``.
    """
    classes = classify(demand.select("unique_id", "ds", "y", "revenue"), freq, as_of=origin, rules=rules)
    usable = available if available is not None else frozenset(MODEL_FACTORIES) | {ENSEMBLE}
    # a TFT cell without a trained TFT goes to the LightGBM + ETS ensemble (M4 Weekly: OWA 0.82 vs ETS 0.93)
    fallback = ENSEMBLE if ENSEMBLE in usable else "auto_ets"
    matrix = SelectionRules(available=usable, fallback=fallback)
    selection = select_models(classes, overrides=model_choices, rules=matrix)
    return classes.join(selection, on="unique_id").select(
        pl.col("unique_id").alias("sku"),
        "abc",
        "xyz",
        "pattern",
        "status",
        "history_buckets",
        "revenue",
        "cv",
        "adi",
        "cv2",
        "model",
        "reason",
    )


def forecast_origin(
    demand: pl.DataFrame,
    classes: pl.DataFrame,
    freq: Freq,
    origin: dt.date,
    horizon: int,
    *,
    models: Mapping[str, Forecaster] | None = None,
    weights: Mapping[str, float] | None = None,
    revenue_model: str = "auto_ets",
    overrides: pl.DataFrame | None = None,
    fit_ensemble: bool = False,
    calibrate: bool = False,
    quantiles: Sequence[float] = QUANTILES,
    on_model: Callable[[str, int, float], None] | None = None,
) -> OriginForecast:
    """Forecast every classified SKU from ``origin``: volume (selected + baselines + members) and revenue.

    Args:
        demand: :func:`load_demand`'s frame (only buckets up to ``origin`` are used).
        classes: :func:`classify_skus`'s frame.
        freq: ``"W"`` or ``"M"``.
        origin: the last bucket of history.
        horizon: buckets ahead.
        models: trained models by name (a TFT champion), replacing the registered defaults.
        weights: ensemble members and weights (FC-2's TFT 0.6 + LightGBM 0.4 by default).
        fit_ensemble: refit the members' weights on the last ``horizon`` buckets before the origin (FC-2).
        calibrate: rescale each selected model's interval width so that its P10..P90 would have held 80% of the
            actuals of the last ``horizon`` buckets before the origin (split conformal calibration; the fleet is
            run once more on the history before that window).
        revenue_model: the direct revenue model (a registered name, or a key of ``models``).
        overrides: active planner overrides (``override_id, sku, bucket_start, p50``), put on the selected
            volume forecast.
        quantiles: quantile levels.
        on_model: progress callback (model, SKU count, seconds).
    """
    history = fill_gaps(
        demand.filter(pl.col("ds") <= origin).select("unique_id", "ds", "y", "revenue"), freq, end=origin
    ).with_columns(pl.col("revenue").fill_null(0.0))
    selection = classes.select(pl.col("sku").alias("unique_id"), "model")
    member_weights = dict(weights or DEFAULT_WEIGHTS)
    ensemble_skus = selection.filter(pl.col("model") == ENSEMBLE)["unique_id"]
    if fit_ensemble and ensemble_skus.len():
        members = [(models or {}).get(m) or get_model(m) for m in member_weights]
        panel = history.filter(pl.col("unique_id").is_in(ensemble_skus.implode())).select("unique_id", "ds", "y")
        member_weights = fit_weights_on_history(panel, members, horizon, freq)
    fleet = forecast_fleet(
        history.select("unique_id", "ds", "y"),
        selection,
        horizon,
        freq,
        models=models,
        weights=member_weights,
        quantiles=quantiles,
        on_model=on_model,
    )
    cols = quantile_columns(quantiles)
    selected = fleet.selected
    factors: dict[str, float] = {}
    if calibrate:
        factors = interval_width_factors(history, selection, origin, horizon, freq, models, member_weights, quantiles)
        selected = scale_widths(selected, factors, quantiles)
    if overrides is not None and not overrides.is_empty():
        selected = apply_overrides(selected, overrides, tuple(quantiles))
    else:
        selected = selected.with_columns(p50_original=pl.col("p50"), override_id=pl.lit(None, pl.Int64))
    keys = ["unique_id", "ds", "model"]
    others = fleet.members.join(selected.select(keys), on=keys, how="anti")
    volume = pl.concat(
        [
            selected.with_columns(is_selected=pl.lit(True)),
            others.with_columns(
                is_selected=pl.lit(False), p50_original=pl.col("p50"), override_id=pl.lit(None, pl.Int64)
            ),
        ],
        how="diagonal_relaxed",
    ).with_columns(target=pl.lit("volume"))

    price = _recent_price(demand, origin, freq)
    from_volume = (
        selected.join(price, on="unique_id", how="left")
        .with_columns([(pl.col(c) * pl.col("_price").fill_null(0.0)).alias(c) for c in cols])
        .select("unique_id", "ds", "model", *cols)
        .with_columns(
            target=pl.lit("revenue_from_volume"),
            is_selected=pl.lit(True),
            p50_original=pl.col("p50"),
            override_id=pl.lit(None, pl.Int64),
        )
    )
    active = classes.filter(pl.col("status") != "inactive")["sku"]
    revenue_history = history.filter(pl.col("unique_id").is_in(active.implode())).select("unique_id", "ds", y="revenue")
    started = dt.datetime.now()
    direct_model = (models or {}).get(revenue_model) or get_model(revenue_model)
    direct = direct_model.fit_predict(revenue_history, horizon, freq, quantiles) if revenue_history.height else None
    seconds = dict(fleet.seconds)
    seconds[f"{revenue_model} (revenue)"] = (dt.datetime.now() - started).total_seconds()
    parts = [volume, from_volume]
    if direct is not None:
        parts.append(
            direct.with_columns(
                target=pl.lit("revenue"),
                is_selected=pl.lit(True),
                p50_original=pl.col("p50"),
                override_id=pl.lit(None, pl.Int64),
            )
        )
    everything = pl.concat([p.select(volume.columns) for p in parts], how="vertical_relaxed")
    steps = everything.select("ds").unique().sort("ds").with_row_index("step", offset=1)
    forecasts = everything.join(steps, on="ds").select(
        pl.col("unique_id").alias("sku"),
        pl.col("ds").alias("bucket_start"),
        pl.col("step").cast(pl.Int32),
        "model",
        "target",
        "is_selected",
        *cols,
        "p50_original",
        "override_id",
    )
    return OriginForecast(
        forecasts=forecasts.sort("sku", "target", "model", "bucket_start"),
        revenue_checks=_revenue_checks(forecasts),
        seconds=seconds,
        weights=member_weights,
        width_factors=factors,
    )


def interval_width_factors(
    history: pl.DataFrame,
    selection: pl.DataFrame,
    origin: dt.date,
    horizon: int,
    freq: Freq,
    models: Mapping[str, Forecaster] | None,
    weights: Mapping[str, float],
    quantiles: Sequence[float] = QUANTILES,
) -> dict[str, float]:
    """Width factor per selected model from the fleet's forecast of the last ``horizon`` buckets up to ``origin``
    (made from the history before them) against what happened (:func:`forecasting.ensemble.width_factors`)."""
    cut = shift_buckets(origin, -horizon, freq)
    past = history.filter(pl.col("ds") <= cut).select("unique_id", "ds", "y")
    known = selection.filter(pl.col("unique_id").is_in(past["unique_id"].unique().implode()))
    if past.is_empty() or known.is_empty():
        return {}
    window = forecast_fleet(
        past, known, horizon, freq, models=models, weights=weights, baselines=(), quantiles=quantiles
    )
    scored = window.selected.join(history.select("unique_id", "ds", "y"), on=["unique_id", "ds"])
    return width_factors(scored)


def backtest_origin(
    demand: pl.DataFrame,
    classes: pl.DataFrame,
    freq: Freq,
    origin: dt.date,
    horizon: int,
    *,
    n_windows: int = 3,
    models: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
    trained: Mapping[str, Forecaster] | None = None,
    calibrate: bool = False,
    revenue_model: str | None = "auto_ets",
) -> pl.DataFrame:
    """Rolling-origin backtest of the models and of the product's own selection (``auto``), ending at ``origin``.

    Every model of ``models`` (default: the selected models plus the baselines) forecasts every active SKU
    from ``n_windows`` origins ``horizon`` buckets apart, the last one ``horizon`` buckets before ``origin``;
    ``auto`` takes each SKU's forecast from its selected model. With ``calibrate`` (as :func:`forecast_origin`
    does), ``auto``'s interval widths in each window are rescaled by the factors the window before it gives
    (one extra window is run first for the first scored window), so ``auto`` is scored as it is forecast.
    With a ``revenue`` column and ``revenue_model``, the direct revenue forecast is scored on revenue too, as
    model ``revenue:<revenue_model>`` (FC-6's revenue MAPE targets per class).

    Returns:
        Rows of ``forecasting.backtest_metrics`` without ``origin``/``freq``: ``grouping, group_value, model,
        windows, horizon, series`` and the metrics. ``grouping`` is ``overall``, ``abc``, ``pattern`` or ``sku``.
    """
    history = fill_gaps(demand.filter(pl.col("ds") <= origin).select("unique_id", "ds", "y"), freq, end=origin)
    active = classes.filter(pl.col("status") != "inactive")
    panel = history.filter(pl.col("unique_id").is_in(active["sku"].implode()))
    chosen = set(active["model"].to_list())
    member_weights = dict(weights or DEFAULT_WEIGHTS)
    if ENSEMBLE in chosen:
        chosen = (chosen - {ENSEMBLE}) | set(member_weights)
    names = sorted(set(models) if models is not None else chosen | set(BASELINES))
    forecasters = [(trained or {}).get(n) or get_model(n) for n in names]
    result = rolling_origin_backtest(
        panel,
        forecasters,
        freq,
        horizon=horizon,
        n_windows=n_windows + (1 if calibrate else 0),
        classes=active.select(pl.col("sku").alias("unique_id"), "abc", "pattern"),
    )
    forecasts = result.forecasts
    if ENSEMBLE in set(active["model"].to_list()) and set(member_weights) <= set(names):
        blended = pl.concat(
            [
                combine(part, member_weights).with_columns(window=pl.lit(window))
                for (window,), part in forecasts.group_by("window")
            ]
        ).join(
            forecasts.select("window", "origin", "unique_id", "ds", "y", "abc", "pattern").unique(),
            on=["window", "unique_id", "ds"],
        )
        forecasts = pl.concat([forecasts, blended.select(forecasts.columns)], how="vertical_relaxed")
    auto = forecasts.join(
        active.select(pl.col("sku").alias("unique_id"), "model"), on=["unique_id", "model"], how="semi"
    )
    if calibrate:
        auto = pl.concat(
            [
                scale_widths(auto.filter(pl.col("window") == k), width_factors(auto.filter(pl.col("window") == k - 1)))
                for k in range(1, n_windows + 1)
            ]
        )
        forecasts = forecasts.filter(pl.col("window") >= 1)
    auto = auto.with_columns(model=pl.lit("auto"))
    scored = pl.concat([forecasts, auto.select(forecasts.columns)], how="vertical_relaxed")
    volume = _metrics_rows(scored, history, freq, horizon, n_windows)
    if not revenue_model or "revenue" not in demand.columns:
        return volume
    # FC-6's revenue targets: the direct revenue model scored on revenue, per class, as ``revenue:<model>``
    revenue = fill_gaps(
        demand.filter(pl.col("ds") <= origin).select("unique_id", "ds", y=pl.col("revenue").fill_null(0.0)),
        freq,
        end=origin,
    ).filter(pl.col("unique_id").is_in(active["sku"].implode()))
    revenue_result = rolling_origin_backtest(
        revenue,
        [get_model(revenue_model)],
        freq,
        horizon=horizon,
        n_windows=n_windows,
        classes=active.select(pl.col("sku").alias("unique_id"), "abc", "pattern"),
    )
    revenue_scored = revenue_result.forecasts.with_columns(model=pl.lit(f"revenue:{revenue_model}"))
    return pl.concat([volume, _metrics_rows(revenue_scored, revenue, freq, horizon, n_windows)]).sort(*METRIC_KEYS)


def _metrics_rows(
    scored: pl.DataFrame, history: pl.DataFrame, freq: Freq, horizon: int, n_windows: int
) -> pl.DataFrame:
    # MASE scales each series by its history before the first window: one point-in-time scale per series
    insample = history.filter(pl.col("ds") <= scored["origin"].min())
    actuals = scored.select("unique_id", "ds", "y").unique()
    forecasts = scored.drop("y").with_columns(sku=pl.col("unique_id"))
    rows = []
    for grouping, column in (("overall", None), ("abc", "abc"), ("pattern", "pattern"), ("sku", "sku")):
        by = ("model",) if column is None else ("model", column)
        metric = evaluate(forecasts, actuals, insample, m=mase_period(freq), by=by)
        value = pl.lit("all") if column is None else pl.col(column).cast(pl.String)
        rows.append(metric.with_columns(grouping=pl.lit(grouping), group_value=value))
    out = pl.concat([r.select([*METRIC_KEYS, "series", *METRIC_COLUMNS]) for r in rows], how="vertical_relaxed")
    return out.select(
        *METRIC_KEYS,
        windows=pl.lit(n_windows, pl.Int32),
        horizon=pl.lit(horizon, pl.Int32),
        series=pl.col("series").cast(pl.Int32),
        **{c: pl.col(c).cast(pl.Float64).fill_nan(None) for c in METRIC_COLUMNS},
    ).sort(*METRIC_KEYS)


def _recent_price(demand: pl.DataFrame, origin: dt.date, freq: Freq) -> pl.DataFrame:
    start = shift_buckets(origin, -(PRICE_WINDOW - 1), freq)
    recent = demand.filter((pl.col("ds") <= origin) & (pl.col("ds") >= start))
    overall = demand.filter(pl.col("ds") <= origin)

    def price(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.group_by("unique_id").agg(
            pl.when(pl.col("y").sum() > 0).then(pl.col("revenue").sum() / pl.col("y").sum()).alias(name)
        )

    return (
        price(overall, "_all")
        .join(price(recent, "_recent"), on="unique_id", how="left")
        .select("unique_id", _price=pl.coalesce("_recent", "_all"))
    )


def _revenue_checks(forecasts: pl.DataFrame) -> pl.DataFrame:
    totals = (
        forecasts.filter(pl.col("target").is_in(["revenue", "revenue_from_volume"]) & pl.col("is_selected"))
        .group_by("sku", "target")
        .agg(total=pl.col("p50").sum())
        .pivot(on="target", index="sku", values="total")
    )
    for column in ("revenue", "revenue_from_volume"):
        if column not in totals.columns:
            totals = totals.with_columns(pl.lit(None, pl.Float64).alias(column))
    larger = pl.max_horizontal("revenue", "revenue_from_volume")
    divergence = pl.when(larger > 0).then((pl.col("revenue") - pl.col("revenue_from_volume")).abs() / larger)
    return totals.select(
        "sku",
        revenue_direct=pl.col("revenue"),
        revenue_from_volume=pl.col("revenue_from_volume"),
        divergence=divergence.fill_null(0.0),
        is_divergent=divergence.fill_null(0.0) > REVENUE_DIVERGENCE,
    ).sort("sku")


__all__ = [
    "GLOBAL_MODELS",
    "NoDemandError",
    "OriginForecast",
    "backtest_origin",
    "classify_skus",
    "forecast_origin",
    "last_complete_origin",
    "load_demand",
]

"""Forecasting assets: per origin week, classes -> forecasts and backtest metrics (tables in ``forecasting``).

Each asset reads the marts through the warehouse resource, calls one function of :mod:`forecasting.runs`,
replaces its partition's rows in one transaction and returns metadata for the UI.
"""

import datetime as dt
import time

import dagster as dg
import polars as pl
import psycopg

from fmrp.settings import get_settings
from forecasting import store
from forecasting.data import Freq
from forecasting.runs import backtest_origin, classify_skus, forecast_origin, load_demand
from forecasting.training import (
    available_models,
    ensemble_weights,
    track_drift,
    train_challenger,
    trained_models,
)
from orchestration.defs.forecasting.partitions import origin_of, training_months, training_origin, weekly_origins
from orchestration.defs.forecasting.resources import ModelStoreResource
from orchestration.defs.warehouse.resources import WarehouseResource

FREQ: Freq = "W"
QUANTILES_ORDERED = "quantiles_ordered"
NO_NEGATIVE_QUANTILES = "no_negative_quantiles"
EVERY_ACTIVE_SKU_FORECAST = "every_active_sku_forecast"

CLASSES_KEY = dg.AssetKey(["forecasting", "sku_classes"])
FORECASTS_KEY = dg.AssetKey(["forecasting", "forecasts"])


def _markdown(frame: pl.DataFrame, limit: int = 40) -> dg.MetadataValue:
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    for row in head.iter_rows():
        cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _demand_and_classes(conn: psycopg.Connection, origin: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The demand up to the origin and the origin's SKU classes (which must have been materialized)."""
    store.ensure_schema(conn)
    demand = load_demand(conn, FREQ, origin)
    classes = store.read_frame(
        conn, "select * from forecasting.sku_classes where origin = %s and freq = %s", [origin, FREQ]
    )
    if classes.is_empty():
        raise dg.Failure(f"no SKU classes for origin {origin}: materialize forecasting/sku_classes first")
    return demand, classes


@dg.asset(
    key=CLASSES_KEY,
    group_name="forecasting",
    kinds={"python", "postgres"},
    owners=["team:planning"],
    partitions_def=weekly_origins,
    deps=[dg.AssetKey(["marts", "demand_weekly"])],
)
def sku_classes(context: dg.AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource):
    """One row per SKU and origin week: ABC (revenue), XYZ (CV), Syntetos-Boylan pattern, status (new/active/
    inactive), and the model the FC-2 matrix (or a planner's choice) gave it, with the reason."""
    origin = origin_of(context.partition_key)
    with warehouse.connect() as conn:
        store.ensure_schema(conn)
        demand = load_demand(conn, FREQ, origin)
        choices = dict(conn.execute("select sku, model from forecasting.model_choices").fetchall())
        available = available_models(conn, model_store.store())
        classes = classify_skus(demand, FREQ, origin, model_choices=choices, available=available)
        written = store.replace_rows(conn, "sku_classes", classes, origin=origin, freq=FREQ)
    counts = classes.group_by("abc", "pattern").len().sort("abc", "pattern")
    models = classes.group_by("model").len().sort("len", descending=True)
    return dg.MaterializeResult(
        metadata={
            "origin": str(origin),
            "skus": dg.MetadataValue.int(written),
            "active": dg.MetadataValue.int(classes.filter(pl.col("status") == "active").height),
            "classes": _markdown(counts),
            "models": _markdown(models),
            "models_available": ", ".join(sorted(available)),
        }
    )


@dg.asset(
    key=FORECASTS_KEY,
    group_name="forecasting",
    kinds={"python", "postgres"},
    owners=["team:planning"],
    partitions_def=weekly_origins,
    deps=[CLASSES_KEY],
    check_specs=[
        dg.AssetCheckSpec(QUANTILES_ORDERED, asset=FORECASTS_KEY, blocking=True, description="P10<=P25<=...<=P90"),
        dg.AssetCheckSpec(NO_NEGATIVE_QUANTILES, asset=FORECASTS_KEY, blocking=True, description="No negatives."),
        dg.AssetCheckSpec(
            EVERY_ACTIVE_SKU_FORECAST,
            asset=FORECASTS_KEY,
            blocking=True,
            description="Every active SKU has a selected volume forecast for every bucket of the horizon.",
        ),
    ],
)
def forecasts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource):
    """One row per origin week, SKU, bucket, model and target (volume, revenue, revenue_from_volume) with
    P10..P90; ``is_selected`` marks the SKU's own model (the ``auto`` forecast planning reads), with planner
    overrides applied to its P50. Also writes ``forecasting.revenue_checks`` (FC-5 divergence flags)."""
    origin = origin_of(context.partition_key)
    horizon = get_settings().horizon
    started = time.perf_counter()
    with warehouse.connect() as conn:
        demand, classes = _demand_and_classes(conn, origin)
        overrides = store.read_frame(
            conn,
            "select override_id, sku, bucket_start, p50 from forecasting.overrides"
            " where reverted_at is null and freq = %s and bucket_start > %s",
            [FREQ, origin],
        )
        models = trained_models(conn, model_store.store(), context.log)
        result = forecast_origin(
            demand,
            classes,
            FREQ,
            origin,
            horizon,
            models=models,
            weights=ensemble_weights(models),
            fit_ensemble=True,
            calibrate=True,
            overrides=overrides,
            on_model=lambda name, n, s: context.log.info(f"{name}: {n} SKUs in {s:.1f} s"),
        )
        rows = result.forecasts.with_columns(run_id=pl.lit(context.run.run_id))
        written = store.replace_rows(conn, "forecasts", rows, origin=origin, freq=FREQ)
        store.replace_rows(conn, "revenue_checks", result.revenue_checks, origin=origin, freq=FREQ)
    yield dg.MaterializeResult(
        metadata={
            "origin": str(origin),
            "rows": dg.MetadataValue.int(written),
            "skus": dg.MetadataValue.int(rows.filter(pl.col("is_selected"))["sku"].n_unique()),
            "horizon": dg.MetadataValue.int(horizon),
            "overrides_applied": dg.MetadataValue.int(rows["override_id"].drop_nulls().n_unique()),
            "interval_width_factors": ", ".join(f"{m} {k:.2f}" for m, k in sorted(result.width_factors.items())),
            "ensemble_weights": ", ".join(f"{m} {w:.1f}" for m, w in result.weights.items()),
            "revenue_divergent_skus": dg.MetadataValue.int(int(result.revenue_checks["is_divergent"].sum())),
            "seconds_per_model": _markdown(
                pl.DataFrame({"model": list(result.seconds), "seconds": list(result.seconds.values())})
            ),
            "seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 2)),
        }
    )
    yield from _forecast_checks(rows, classes, horizon)


def _forecast_checks(rows: pl.DataFrame, classes: pl.DataFrame, horizon: int):
    crossed = rows.filter(
        (pl.col("p10") > pl.col("p25"))
        | (pl.col("p25") > pl.col("p50"))
        | (pl.col("p50") > pl.col("p75"))
        | (pl.col("p75") > pl.col("p90"))
    )
    yield dg.AssetCheckResult(
        asset_key=FORECASTS_KEY,
        check_name=QUANTILES_ORDERED,
        passed=crossed.is_empty(),
        metadata={"crossed_rows": dg.MetadataValue.int(crossed.height)},
    )
    negative = rows.filter(pl.any_horizontal(pl.col("p10", "p25", "p50", "p75", "p90") < 0))
    yield dg.AssetCheckResult(
        asset_key=FORECASTS_KEY,
        check_name=NO_NEGATIVE_QUANTILES,
        passed=negative.is_empty(),
        metadata={"negative_rows": dg.MetadataValue.int(negative.height)},
    )
    selected = rows.filter(pl.col("is_selected") & (pl.col("target") == "volume"))
    buckets = selected.group_by("sku").agg(n=pl.col("bucket_start").n_unique())
    active = classes.filter(pl.col("status") == "active").select("sku")
    missing = active.join(buckets.filter(pl.col("n") == horizon), on="sku", how="anti")
    yield dg.AssetCheckResult(
        asset_key=FORECASTS_KEY,
        check_name=EVERY_ACTIVE_SKU_FORECAST,
        passed=missing.is_empty(),
        metadata={
            "active_skus": dg.MetadataValue.int(active.height),
            "missing_skus": dg.MetadataValue.int(missing.height),
            "first_missing": ", ".join(missing["sku"].head(20).to_list()) or "none",
        },
    )


@dg.asset(
    key=["forecasting", "backtest_metrics"],
    group_name="forecasting",
    kinds={"python", "postgres"},
    owners=["team:planning"],
    partitions_def=weekly_origins,
    deps=[CLASSES_KEY],
)
def backtest_metrics(context: dg.AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource):
    """Rolling-origin accuracy at an origin week (FC-6): 3 windows of 13 weeks ending at the origin; one row per
    model (and ``auto``, the product's own selection) and group: overall, ABC class, pattern, SKU. A backfill of
    origin weeks is a rolling-origin accuracy history."""
    origin = origin_of(context.partition_key)
    horizon = get_settings().horizon
    with warehouse.connect() as conn:
        demand, classes = _demand_and_classes(conn, origin)
        models = trained_models(conn, model_store.store(), context.log)
        # trained types are refitted inside each window (their champion may have seen the windows' actuals)
        metrics = backtest_origin(
            demand, classes, FREQ, origin, horizon, weights=ensemble_weights(models), calibrate=True
        )
        written = store.replace_rows(conn, "backtest_metrics", metrics, origin=origin, freq=FREQ)
        drift = track_drift(conn, model_store.store(), metrics, origin, FREQ)
    for model, status in drift.items():
        if status != "ok":
            context.log.warning(f"forecast drift: {model} {status} at origin {origin} (forecasting.drift)")
    summary = metrics.filter(pl.col("grouping").is_in(["overall", "abc"])).select(
        "grouping", "group_value", "model", "series", "wape", "mape", "mase", "pinball_mean", "coverage_p10_p90"
    )
    auto = metrics.filter((pl.col("grouping") == "overall") & (pl.col("model") == "auto"))
    return dg.MaterializeResult(
        metadata={
            "origin": str(origin),
            "rows": dg.MetadataValue.int(written),
            "auto_wape": dg.MetadataValue.float(float(auto["wape"][0])) if auto.height else None,
            "auto_mase": dg.MetadataValue.float(float(auto["mase"][0])) if auto.height else None,
            "accuracy": _markdown(summary, limit=80),
            "drift": ", ".join(f"{m} {st}" for m, st in drift.items()) or "no reference yet",
        }
    )


#: Run tags of the GPU training: production's run launcher maps ``fmrp/compute=gpu`` to the GPU task definition
#: (infra/), and the ECS launcher reads ``ecs/cpu`` and ``ecs/memory`` for the task size. Locally they are labels.
GPU_RUN_TAGS = {"fmrp/compute": "gpu", "ecs/cpu": "4096", "ecs/memory": "16384"}


class TrainingConfig(dg.Config):
    """How big a TFT to train: ``small`` (CPU, minutes) or ``production`` (GPU worker)."""

    preset: str = "small"
    max_epochs: int | None = None
    min_improvement: float = 1.0


@dg.asset(
    key=["forecasting", "tft_model"],
    group_name="forecasting",
    kinds={"pytorch", "postgres"},
    owners=["team:planning"],
    partitions_def=training_months,
    deps=[dg.AssetKey(["marts", "demand_weekly"])],
    pool="gpu",
    op_tags=GPU_RUN_TAGS,
)
def tft_model(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
):
    """The monthly TFT (volume) training: trained on the weekly demand up to the last complete week before the
    month, scored on a 13-week holdout against seasonal naive, registered as a new version in
    ``forecasting.model_versions`` and promoted to champion by the FC-7 rule. Weekly forecasts read the champion."""
    from forecasting.models.tft import TFTModel, TFTSettings

    origin = training_origin(context.partition_key)
    overrides = {"max_epochs": config.max_epochs} if config.max_epochs else {}
    if config.preset not in ("small", "production"):
        raise dg.Failure(f"unknown TFT preset {config.preset!r}: use 'small' or 'production'")
    settings = TFTSettings.small(**overrides) if config.preset == "small" else TFTSettings.production(**overrides)
    started = time.perf_counter()
    with warehouse.connect() as conn:
        store.ensure_schema(conn)
        demand = load_demand(conn, FREQ, origin)
        context.log.info(f"training the TFT ({config.preset}) on {demand['unique_id'].n_unique()} SKUs up to {origin}")
        version, decision = train_challenger(
            conn,
            model_store.store(),
            TFTModel(settings),
            demand,
            FREQ,
            origin,
            horizon=get_settings().horizon,
            min_improvement=config.min_improvement,
        )
    context.log.info(f"tft v{version.version}: {decision.reason}")
    return dg.MaterializeResult(
        metadata={
            "training_origin": str(origin),
            "version": dg.MetadataValue.int(version.version),
            "status": version.status,
            "decision": decision.reason,
            "holdout_wape": dg.MetadataValue.float(float(version.metric_value or 0.0)),
            "seasonal_naive_wape": dg.MetadataValue.float(float(version.baseline_value or 0.0)),
            "artifact": version.artifact_uri or "",
            "seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 1)),
        }
    )

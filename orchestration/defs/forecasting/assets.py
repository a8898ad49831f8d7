"""Forecasting assets: per origin week or month, classes -> forecasts and backtest metrics (tables in ``forecasting``).

:func:`forecasting_assets` builds the three assets of one cadence of origins from the same bodies: the weekly ones
(``forecasting/sku_classes``, ``forecasts``, ``backtest_metrics``, partitioned by origin week, from
``marts.demand_weekly``) and the monthly ones (the same names with ``_monthly``, by origin month, from
``marts.demand_monthly``). Each reads the marts through the warehouse resource, calls one function of
:mod:`forecasting.runs` with its cadence's ``freq``, replaces its partition's rows (that origin and ``freq``) in one
transaction and returns metadata for the UI. The TFT (``forecasting/tft_model``, trained monthly on weeks) serves
the weekly forecasts only: a TFT is used at the frequency it was trained on.
"""

import datetime as dt
import time
from collections.abc import Iterator

import dagster as dg
import polars as pl
import psycopg

from fmrp.settings import get_settings
from forecasting import store
from forecasting.runs import backtest_origin, classify_skus, forecast_origin, load_demand
from forecasting.training import (
    available_models,
    ensemble_weights,
    track_drift,
    train_challenger,
    trained_models,
)
from orchestration.defs.forecasting.partitions import (
    MONTHLY,
    WEEKLY,
    Origins,
    origin_of,
    training_months,
    training_origin,
)
from orchestration.defs.forecasting.resources import ModelStoreResource
from orchestration.defs.warehouse.resources import WarehouseResource

QUANTILES_ORDERED = "quantiles_ordered"
NO_NEGATIVE_QUANTILES = "no_negative_quantiles"
EVERY_ACTIVE_SKU_FORECAST = "every_active_sku_forecast"


def _markdown(frame: pl.DataFrame, limit: int = 40) -> dg.MetadataValue:
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    for row in head.iter_rows():
        cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _demand_and_classes(
    conn: psycopg.Connection, origins: Origins, origin: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The demand up to the origin and the origin's SKU classes (which must have been materialized)."""
    store.ensure_schema(conn)
    demand = load_demand(conn, origins.freq, origin)
    classes = store.read_frame(
        conn, "select * from forecasting.sku_classes where origin = %s and freq = %s", [origin, origins.freq]
    )
    if classes.is_empty():
        key = origins.key("forecasting", "sku_classes").to_user_string()
        raise dg.Failure(f"no SKU classes for origin {origin}: materialize {key} first")
    return demand, classes


def _classify(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource, origins: Origins
) -> dg.MaterializeResult:
    origin, freq = origin_of(context.partition_key), origins.freq
    with warehouse.connect() as conn:
        store.ensure_schema(conn)
        demand = load_demand(conn, freq, origin)
        choices = dict(conn.execute("select sku, model from forecasting.model_choices").fetchall())
        available = available_models(conn, model_store.store(), freq=freq)
        classes = classify_skus(demand, freq, origin, model_choices=choices, available=available)
        written = store.replace_rows(conn, "sku_classes", classes, origin=origin, freq=freq)
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


def _forecast(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource, origins: Origins
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    origin, freq = origin_of(context.partition_key), origins.freq
    horizon = get_settings().horizon
    started = time.perf_counter()
    with warehouse.connect() as conn:
        demand, classes = _demand_and_classes(conn, origins, origin)
        overrides = store.read_frame(
            conn,
            "select override_id, sku, bucket_start, p50 from forecasting.overrides"
            " where reverted_at is null and freq = %s and bucket_start > %s",
            [freq, origin],
        )
        models = trained_models(conn, model_store.store(), context.log, freq=freq)
        result = forecast_origin(
            demand,
            classes,
            freq,
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
        written = store.replace_rows(conn, "forecasts", rows, origin=origin, freq=freq)
        store.replace_rows(conn, "revenue_checks", result.revenue_checks, origin=origin, freq=freq)
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
    yield from _forecast_checks(rows, classes, horizon, origins.key("forecasting", "forecasts"))


def _forecast_checks(
    rows: pl.DataFrame, classes: pl.DataFrame, horizon: int, key: dg.AssetKey
) -> Iterator[dg.AssetCheckResult]:
    crossed = rows.filter(
        (pl.col("p10") > pl.col("p25"))
        | (pl.col("p25") > pl.col("p50"))
        | (pl.col("p50") > pl.col("p75"))
        | (pl.col("p75") > pl.col("p90"))
    )
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=QUANTILES_ORDERED,
        passed=crossed.is_empty(),
        metadata={"crossed_rows": dg.MetadataValue.int(crossed.height)},
    )
    negative = rows.filter(pl.any_horizontal(pl.col("p10", "p25", "p50", "p75", "p90") < 0))
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=NO_NEGATIVE_QUANTILES,
        passed=negative.is_empty(),
        metadata={"negative_rows": dg.MetadataValue.int(negative.height)},
    )
    selected = rows.filter(pl.col("is_selected") & (pl.col("target") == "volume"))
    buckets = selected.group_by("sku").agg(n=pl.col("bucket_start").n_unique())
    active = classes.filter(pl.col("status") == "active").select("sku")
    missing = active.join(buckets.filter(pl.col("n") == horizon), on="sku", how="anti")
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=EVERY_ACTIVE_SKU_FORECAST,
        passed=missing.is_empty(),
        metadata={
            "active_skus": dg.MetadataValue.int(active.height),
            "missing_skus": dg.MetadataValue.int(missing.height),
            "first_missing": ", ".join(missing["sku"].head(20).to_list()) or "none",
        },
    )


def _backtest(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource, origins: Origins
) -> dg.MaterializeResult:
    origin, freq = origin_of(context.partition_key), origins.freq
    horizon = get_settings().horizon
    with warehouse.connect() as conn:
        demand, classes = _demand_and_classes(conn, origins, origin)
        models = trained_models(conn, model_store.store(), context.log, freq=freq)
        # trained types are refitted inside each window (their champion may have seen the windows' actuals)
        metrics = backtest_origin(
            demand, classes, freq, origin, horizon, weights=ensemble_weights(models), calibrate=True
        )
        written = store.replace_rows(conn, "backtest_metrics", metrics, origin=origin, freq=freq)
        drift = track_drift(conn, model_store.store(), metrics, origin, freq)
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
            "auto_wape": _float(auto, "wape"),
            "auto_mase": _float(auto, "mase"),
            "accuracy": _markdown(summary, limit=80),
            "drift": ", ".join(f"{m} {st}" for m, st in drift.items()) or "no reference yet",
        }
    )


def _float(row: pl.DataFrame, column: str) -> dg.MetadataValue | None:
    """A metric of a one-row frame; None when there is no row or no value (MASE needs a year of history: 12
    months before a monthly series' first window)."""
    value = row[column][0] if row.height else None
    return None if value is None else dg.MetadataValue.float(float(value))


def forecasting_assets(origins: Origins) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition, dg.AssetsDefinition]:
    """``sku_classes``, ``forecasts`` (with its blocking checks) and ``backtest_metrics`` of one cadence."""
    classes_key = origins.key("forecasting", "sku_classes")
    forecasts_key = origins.key("forecasting", "forecasts")
    bucket = origins.bucket

    @dg.asset(
        key=classes_key,
        group_name="forecasting",
        kinds={"python", "postgres"},
        owners=["team:planning"],
        partitions_def=origins.partitions_def,
        deps=[origins.demand_mart],
        description=f"One row per SKU and origin {bucket}: ABC (revenue), XYZ (CV), Syntetos-Boylan pattern, status"
        " (new/active/inactive), and the model the FC-2 matrix (or a planner's choice) gave it, with the reason.",
    )
    def sku_classes(context: dg.AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource):
        return _classify(context, warehouse, model_store, origins)

    @dg.asset(
        key=forecasts_key,
        group_name="forecasting",
        kinds={"python", "postgres"},
        owners=["team:planning"],
        partitions_def=origins.partitions_def,
        deps=[classes_key],
        check_specs=[
            dg.AssetCheckSpec(QUANTILES_ORDERED, asset=forecasts_key, blocking=True, description="P10<=P25<=...<=P90"),
            dg.AssetCheckSpec(NO_NEGATIVE_QUANTILES, asset=forecasts_key, blocking=True, description="No negatives."),
            dg.AssetCheckSpec(
                EVERY_ACTIVE_SKU_FORECAST,
                asset=forecasts_key,
                blocking=True,
                description="Every active SKU has a selected volume forecast for every bucket of the horizon.",
            ),
        ],
        description=f"One row per origin {bucket}, SKU, {bucket} of the horizon, model and target (volume, revenue,"
        " revenue_from_volume) with P10..P90; ``is_selected`` marks the SKU's own model (the ``auto`` forecast"
        " planning reads), with planner overrides applied to its P50. Also writes ``forecasting.revenue_checks``"
        " (FC-5 divergence flags).",
    )
    def forecasts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource):
        yield from _forecast(context, warehouse, model_store, origins)

    @dg.asset(
        key=origins.key("forecasting", "backtest_metrics"),
        group_name="forecasting",
        kinds={"python", "postgres"},
        owners=["team:planning"],
        partitions_def=origins.partitions_def,
        deps=[classes_key],
        description=f"Rolling-origin accuracy at an origin {bucket} (FC-6): 3 windows of one horizon of {bucket}s"
        " ending at the origin; one row per model (and ``auto``, the product's own selection) and group: overall,"
        f" ABC class, pattern, SKU. A backfill of origin {bucket}s is a rolling-origin accuracy history.",
    )
    def backtest_metrics(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource
    ):
        return _backtest(context, warehouse, model_store, origins)

    return sku_classes, forecasts, backtest_metrics


#: The assets of each cadence; the plan jobs select them (a tuple: the defs loader collects the names below).
WEEKLY_ASSETS = forecasting_assets(WEEKLY)
MONTHLY_ASSETS = forecasting_assets(MONTHLY)
sku_classes, forecasts, backtest_metrics = WEEKLY_ASSETS
sku_classes_monthly, forecasts_monthly, backtest_metrics_monthly = MONTHLY_ASSETS


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
    deps=[WEEKLY.demand_mart],
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
        demand = load_demand(conn, WEEKLY.freq, origin)
        context.log.info(f"training the TFT ({config.preset}) on {demand['unique_id'].n_unique()} SKUs up to {origin}")
        version, decision = train_challenger(
            conn,
            model_store.store(),
            TFTModel(settings),
            demand,
            WEEKLY.freq,
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

"""One origin end to end through the library: load, classify, forecast (volume + revenue), backtest."""

import datetime as dt

import polars as pl
import psycopg
import pytest

from forecasting.data import shift_buckets
from forecasting.models.lightgbm import LightGBMModel
from forecasting.runs import (
    NoDemandError,
    backtest_origin,
    classify_skus,
    forecast_origin,
    last_complete_origin,
    load_demand,
)
from tests.forecasting.warehouse import bump_after, demand_panel, load_demand_mart

FAST = {"lightgbm": LightGBMModel(n_estimators=20)}
WEIGHTS = {"lightgbm": 0.5, "auto_ets": 0.5}


def test_load_stops_at_the_origin_and_explains_an_empty_mart(database_url: str) -> None:
    panel = demand_panel()
    last = load_demand_mart(database_url, panel)
    origin = shift_buckets(last, -10, "W")
    with psycopg.connect(database_url) as conn:
        assert last_complete_origin(conn, "W") == last
        demand = load_demand(conn, "W", origin)
        assert demand["ds"].max() == origin
        assert set(demand.columns) == {"unique_id", "ds", "y", "revenue", "price"}
        with pytest.raises(NoDemandError, match="no demand up to the origin 2000-01-03"):
            load_demand(conn, "W", dt.date(2000, 1, 3))


def _forecast(panel: pl.DataFrame, origin: dt.date):  # type: ignore[no-untyped-def]
    classes = classify_skus(panel, "W", origin)
    return classes, forecast_origin(panel, classes, "W", origin, 8, models=FAST, weights=WEIGHTS)


def test_forecast_origin_volume_revenue_and_divergence() -> None:
    panel = demand_panel()
    origin = shift_buckets(panel["ds"].max(), -8, "W")  # type: ignore[arg-type]
    classes, result = _forecast(panel, origin)
    selected = result.forecasts.filter(pl.col("is_selected") & (pl.col("target") == "volume"))
    assert selected["sku"].n_unique() == classes.height
    assert selected.group_by("sku").len()["len"].unique().to_list() == [8]
    assert selected["bucket_start"].min() == shift_buckets(origin, 1, "W")
    assert set(result.forecasts["target"]) == {"volume", "revenue", "revenue_from_volume"}
    assert result.forecasts["step"].min() == 1 and result.forecasts["step"].max() == 8
    checks = result.revenue_checks
    assert set(checks.columns) == {"sku", "revenue_direct", "revenue_from_volume", "divergence", "is_divergent"}
    assert (checks["is_divergent"] == (checks["divergence"] > 0.15)).all()
    # revenue from volume is volume x the recent price: for "smooth" the price is constant
    smooth = result.forecasts.filter((pl.col("sku") == "smooth") & pl.col("is_selected"))
    by_target = smooth.group_by("target").agg(pl.col("p50").sum())
    totals = dict(zip(by_target["target"], by_target["p50"], strict=True))
    price = panel.filter(pl.col("unique_id") == "smooth").select(pl.col("revenue").sum() / pl.col("y").sum()).item()
    assert totals["revenue_from_volume"] == pytest.approx(totals["volume"] * price)


def test_nothing_after_the_origin_changes_the_forecast() -> None:
    panel = demand_panel()
    origin = shift_buckets(panel["ds"].max(), -8, "W")  # type: ignore[arg-type]
    _, clean = _forecast(panel, origin)
    _, bumped = _forecast(bump_after(panel, origin), origin)
    assert clean.forecasts.drop("p50_original").equals(bumped.forecasts.drop("p50_original"))


def test_overrides_land_on_the_selected_volume_forecast() -> None:
    panel = demand_panel()
    origin = shift_buckets(panel["ds"].max(), -8, "W")  # type: ignore[arg-type]
    classes = classify_skus(panel, "W", origin)
    week = shift_buckets(origin, 2, "W")
    overrides = pl.DataFrame({"override_id": [1], "sku": ["smooth"], "bucket_start": [week], "p50": [999.0]})
    result = forecast_origin(panel, classes, "W", origin, 8, models=FAST, weights=WEIGHTS, overrides=overrides)
    row = result.forecasts.filter(
        (pl.col("sku") == "smooth")
        & (pl.col("bucket_start") == week)
        & pl.col("is_selected")
        & (pl.col("target") == "volume")
    )
    assert row["p50"].to_list() == [999.0] and row["override_id"].to_list() == [1]
    assert row["p50_original"][0] != 999.0


def test_backtest_scores_models_and_auto_per_class() -> None:
    panel = demand_panel()
    origin: dt.date = panel["ds"].max()  # type: ignore[assignment]
    classes = classify_skus(panel, "W", origin)
    metrics = backtest_origin(panel, classes, "W", origin, 8, n_windows=2, weights=WEIGHTS, trained=FAST)
    overall = metrics.filter(pl.col("grouping") == "overall")
    assert {"auto", "seasonal_naive", "moving_average"} <= set(overall["model"])
    assert set(metrics["grouping"]) == {"overall", "abc", "pattern", "sku"}
    assert (metrics["windows"] == 2).all() and (metrics["horizon"] == 8).all()
    auto = overall.filter(pl.col("model") == "auto").row(0, named=True)
    scorable = classes.filter(pl.col("status") == "active").height  # new SKUs have no history before the windows
    assert auto["series"] == scorable
    assert 0 <= auto["coverage_p10_p90"] <= 1 and auto["wape"] > 0
    revenue = metrics.filter((pl.col("model") == "revenue:auto_ets") & (pl.col("grouping") == "abc"))
    assert set(revenue["group_value"]) == set(classes.filter(pl.col("status") == "active")["abc"])
    assert (revenue["mape"] > 0).all()


def test_calibration_rescales_only_the_selected_intervals_and_the_backtest_scores_it() -> None:
    panel = demand_panel()
    origin = shift_buckets(panel["ds"].max(), -8, "W")  # type: ignore[arg-type]
    classes = classify_skus(panel, "W", origin)
    plain = forecast_origin(panel, classes, "W", origin, 8, models=FAST, weights=WEIGHTS)
    calibrated = forecast_origin(panel, classes, "W", origin, 8, models=FAST, weights=WEIGHTS, calibrate=True)
    assert calibrated.width_factors and all(0.5 <= k <= 1.5 for k in calibrated.width_factors.values())
    keys = ["sku", "bucket_start", "model", "target"]
    a = plain.forecasts.filter(pl.col("target") == "volume").sort(keys)
    b = calibrated.forecasts.filter(pl.col("target") == "volume").sort(keys)
    assert a["p50"].equals(b["p50"])  # the median never moves
    assert a.filter(~pl.col("is_selected")).equals(b.filter(~pl.col("is_selected")))  # members untouched
    metrics = backtest_origin(
        panel, classes, "W", panel["ds"].max(), 8, n_windows=2, weights=WEIGHTS, trained=FAST, calibrate=True
    )  # type: ignore[arg-type]
    assert (metrics["windows"] == 2).all()
    assert set(metrics.filter(pl.col("grouping") == "overall")["model"]) >= {"auto", "seasonal_naive"}

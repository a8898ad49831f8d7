"""Master production schedule (PL-1): firm orders against the forecast across the firm horizon."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrp.horizon import Horizon
from mrp.mps import MPS_COLUMNS, MpsInputError, master_production_schedule
from tests.mrp.plants import START, item, plan

HORIZON = Horizon.weekly(START, 4)
FORECAST_SCHEMA = {"sku": pl.String, "bucket": pl.Int32, "p10": pl.Float64, "p50": pl.Float64, "p90": pl.Float64}
ORDER_SCHEMA = {"sku": pl.String, "due_week": pl.Int32, "quantity": pl.Float64}


def forecasts(rows: list[tuple[str, int, float]]) -> pl.DataFrame:
    """Forecast rows (sku, bucket, p50) with p10 = p50 - 5 and p90 = p50 + 5."""
    return pl.DataFrame(
        [(sku, bucket, p50 - 5, p50, p50 + 5) for sku, bucket, p50 in rows], schema=FORECAST_SCHEMA, orient="row"
    )


def orders(rows: list[tuple[str, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=ORDER_SCHEMA, orient="row")


def column(mps: pl.DataFrame, sku: str, name: str) -> list:
    return mps.filter(pl.col("sku") == sku).sort("bucket")[name].to_list()


def test_firm_orders_raise_demand_only_inside_the_firm_horizon():
    fc = forecasts([("FG", b, 100.0) for b in range(4)])
    firm = orders([("FG", 0, 130.0), ("FG", 1, 60.0), ("FG", 2, 500.0)])
    mps = master_production_schedule(fc, firm, HORIZON)  # firm horizon: buckets 0 and 1
    assert mps.columns == list(MPS_COLUMNS)
    assert column(mps, "FG", "forecast") == [100, 100, 100, 100]
    assert column(mps, "FG", "firm_orders") == [130, 60, 500, 0]
    # bucket 0: orders above forecast; bucket 1: orders consumed by the forecast; bucket 2: beyond the boundary
    assert column(mps, "FG", "mps_demand") == [130, 100, 100, 100]
    assert column(mps, "FG", "source") == ["firm", "max", "forecast", "forecast"]
    assert column(mps, "FG", "quantity") == column(mps, "FG", "mps_demand")


def test_moving_the_firm_horizon_boundary_changes_which_orders_count():
    fc = forecasts([("FG", b, 100.0) for b in range(4)])
    firm = orders([("FG", 2, 500.0)])
    assert column(master_production_schedule(fc, firm, HORIZON, firm_horizon=2), "FG", "mps_demand")[2] == 100
    assert column(master_production_schedule(fc, firm, HORIZON, firm_horizon=3), "FG", "mps_demand")[2] == 500
    assert (
        column(master_production_schedule(fc, orders([("FG", 0, 500.0)]), HORIZON, firm_horizon=0), "FG", "source")[0]
        == "forecast"
    )


def test_past_due_orders_count_in_bucket_0_and_orders_after_the_horizon_are_ignored():
    fc = forecasts([("FG", b, 10.0) for b in range(4)])
    firm = orders([("FG", -2, 7.0), ("FG", 0, 8.0), ("FG", 9, 1000.0)])
    mps = master_production_schedule(fc, firm, HORIZON)
    assert column(mps, "FG", "firm_orders") == [15, 0, 0, 0]
    assert column(mps, "FG", "mps_demand") == [15, 10, 10, 10]


def test_dates_and_nixtla_names_map_to_buckets():
    fc = pl.DataFrame(
        {
            "unique_id": ["FG", "FG", "FG"],
            "ds": [START - dt.timedelta(weeks=1), START + dt.timedelta(days=2), START + dt.timedelta(weeks=1)],
            "p50": [999.0, 20.0, 30.0],
        }
    )
    firm = pl.DataFrame(
        {"sku": ["FG", "FG"], "due_week": [dt.date(2025, 12, 1), START + dt.timedelta(days=8)], "quantity": [5.0, 40.0]}
    )
    mps = master_production_schedule(fc, firm, HORIZON)
    assert column(mps, "FG", "forecast") == [20, 30, 0, 0]  # a forecast dated before bucket 0 is stale
    assert column(mps, "FG", "firm_orders") == [5, 40, 0, 0]
    assert column(mps, "FG", "mps_demand") == [20, 40, 0, 0]


def test_the_planned_quantile_is_configurable():
    fc = forecasts([("FG", 0, 100.0)])
    mps = master_production_schedule(fc, orders([]), HORIZON, quantile="p90")
    assert column(mps, "FG", "forecast")[0] == 105


def test_items_with_orders_but_no_forecast_get_their_orders_inside_the_firm_horizon():
    mps = master_production_schedule(forecasts([]), orders([("NEW", 1, 12.0), ("NEW", 3, 9.0)]), HORIZON)
    assert column(mps, "NEW", "mps_demand") == [0, 12, 0, 0]
    assert column(mps, "NEW", "source") == ["forecast", "firm", "forecast", "forecast"]


def test_bad_inputs_name_the_problem():
    with pytest.raises(MpsInputError, match="repeated"):
        master_production_schedule(forecasts([("FG", 0, 1.0), ("FG", 0, 2.0)]), orders([]), HORIZON)
    with pytest.raises(MpsInputError, match="quantity must be a finite number >= 0"):
        master_production_schedule(forecasts([]), orders([("FG", 0, -1.0)]), HORIZON)
    with pytest.raises(MpsInputError, match="'p75'"):
        master_production_schedule(forecasts([]), orders([]), HORIZON, quantile="p75")
    with pytest.raises(MpsInputError, match="firm_horizon"):
        master_production_schedule(forecasts([]), orders([]), HORIZON, firm_horizon=-1)


def test_run_mrp_takes_the_mps_as_its_demand():
    mps = master_production_schedule(forecasts([("FG", b, 10.0) for b in range(4)]), orders([("FG", 0, 25.0)]), HORIZON)
    demand = [(r["sku"], r["bucket"], r["quantity"]) for r in mps.iter_rows(named=True)]
    result = plan([item("FG")], demand=demand, buckets=4)
    assert result.records["independent_demand"].to_list() == [25, 10, 10, 10]


quantities = st.sampled_from([0.0, 1.0, 2.5, 10.0, 40.0])


@settings(max_examples=60, deadline=None)
@given(
    forecast_rows=st.dictionaries(st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 3)), quantities),
    order_rows=st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(-2, 5), quantities), max_size=8),
    firm_horizon=st.integers(0, 5),
    shuffle_seed=st.integers(0, 1000),
)
def test_mps_covers_forecast_everywhere_and_firm_orders_inside_the_firm_horizon(
    forecast_rows, order_rows, firm_horizon, shuffle_seed
):
    fc = forecasts([(sku, bucket, p50) for (sku, bucket), p50 in forecast_rows.items()])
    firm = orders(order_rows)
    mps = master_production_schedule(fc, firm, HORIZON, firm_horizon=firm_horizon)
    assert (mps["mps_demand"] >= mps["forecast"]).all()
    inside = mps.filter(pl.col("bucket") < firm_horizon)
    assert (inside["mps_demand"] >= inside["firm_orders"]).all()
    outside = mps.filter(pl.col("bucket") >= firm_horizon)
    assert (outside["mps_demand"] == outside["forecast"]).all()
    shuffled = master_production_schedule(
        fc.sample(fraction=1.0, shuffle=True, seed=shuffle_seed),
        firm.sample(fraction=1.0, shuffle=True, seed=shuffle_seed),
        HORIZON,
        firm_horizon=firm_horizon,
    )
    assert shuffled.equals(mps)

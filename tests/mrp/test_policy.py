"""Inventory policy (PL-2): hand-computed safety stocks, ROP, min/max and EOQ; Monte-Carlo; properties; MRP.

Lead times are working days on a five-day week, so 20 days = 4 buckets.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from mrp.engine import run_mrp
from mrp.horizon import Horizon
from mrp.mps import master_production_schedule
from mrp.policy import MonteCarlo, PolicyInputError, inventory_policy, service_level_z
from tests.mrp.plants import BOM_SCHEMA, ITEM_SCHEMA, START, item, line

LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)


def items(*rows: dict) -> pl.DataFrame:
    base = {"sku": None, "lead_time_days": 0.0, "lead_time_std_days": 0.0, "abc_class": None}
    schema = {
        "sku": pl.String,
        "lead_time_days": pl.Float64,
        "lead_time_std_days": pl.Float64,
        "abc_class": pl.String,
        "safety_stock_override": pl.Float64,
        "setup_cost": pl.Float64,
        "holding_cost": pl.Float64,
    }
    return pl.DataFrame([{name: None for name in schema} | base | row for row in rows], schema=schema)


def demand(*rows: tuple[str, float, float]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"sku": pl.String, "demand_mean": pl.Float64, "demand_std": pl.Float64}, orient="row"
    )


def normal_forecast(sku: str, buckets: int, mean: float, std: float) -> pl.DataFrame:
    """Quantiles of N(mean, std) for buckets 0 .. buckets-1."""
    return pl.DataFrame(
        {
            "sku": [sku] * buckets,
            "bucket": list(range(buckets)),
            **{f"p{round(q * 100)}": [mean + std * float(norm.ppf(q))] * buckets for q in LEVELS},
        }
    )


def one(policy: pl.DataFrame, sku: str) -> dict:
    return policy.filter(pl.col("sku") == sku).row(0, named=True)


# --- Hand-computed cases ---------------------------------------------------------------------------------


def test_z_comes_from_the_normal_inverse_cdf():
    assert round(service_level_z(0.97), 4) == 1.8808
    assert round(service_level_z(0.93), 4) == 1.4758
    assert round(service_level_z(0.85), 4) == 1.0364
    with pytest.raises(PolicyInputError):
        service_level_z(1.0)


def test_classical_safety_stock_rop_min_max_by_hand():
    # class A: z = 1.8808; LT = 20 days = 4 buckets, sigma_LT = 5 days = 1 bucket; d = 100, sigma_d = 20 per bucket
    # SS = 1.8808 * sqrt(4 * 20^2 + 100^2 * 1^2) = 1.8808 * sqrt(11600) = 1.8808 * 107.7033 = 202.57
    policy = inventory_policy(
        items({"sku": "X", "lead_time_days": 20, "lead_time_std_days": 5, "abc_class": "A"}), demand(("X", 100, 20))
    )
    row = one(policy, "X")
    assert row["safety_stock_method"] == "classical"
    assert row["service_level"] == 0.97
    assert row["safety_stock"] == pytest.approx(202.57, abs=0.005)
    assert row["reorder_point"] == pytest.approx(400 + 202.57, abs=0.005)  # d * LT + SS
    assert row["min_stock"] == row["reorder_point"]
    assert row["max_stock"] == pytest.approx(100 * (4 + 1) + 202.57, abs=0.005)  # review period 1 bucket
    longer_review = one(
        inventory_policy(items({"sku": "X", "lead_time_days": 20}), demand(("X", 100, 20)), review_period=3), "X"
    )
    assert longer_review["max_stock"] - longer_review["reorder_point"] == pytest.approx(300)


def test_eoq_is_the_issue_example_on_weekly_units():
    # D = 5200 a year = 100 a week; h = 2.5 a year = 2.5 / 52 a week; K = 50 -> sqrt(2 * 5200 * 50 / 2.5) = 456.0702
    policy = inventory_policy(items({"sku": "X", "setup_cost": 50.0, "holding_cost": 2.5 / 52}), demand(("X", 100, 0)))
    assert round(one(policy, "X")["eoq"], 4) == 456.0702


def test_unclassified_items_take_the_default_class_and_unknown_classes_fail():
    policy = inventory_policy(items({"sku": "X", "lead_time_days": 5}), demand(("X", 10, 4)))
    assert one(policy, "X")["abc_class"] == "C"
    assert one(policy, "X")["safety_stock"] == pytest.approx(1.0364 * 4, abs=1e-3)
    with pytest.raises(PolicyInputError, match="class 'D'"):
        inventory_policy(items({"sku": "X", "abc_class": "D"}), demand())


def test_quantile_safety_stock_interpolates_linearly_in_z_by_hand():
    # one bucket of lead time; p75 = 115, p90 = 130; z(0.85) = 1.0364 lies between z(0.75) = 0.6745 and
    # z(0.90) = 1.2816: q = 115 + 15 (1.0364 - 0.6745) / (1.2816 - 0.6745) = 123.943, SS = 23.943.
    # class A (z = 1.8808 > z(0.90)) extrapolates the same segment: q = 144.807, SS = 44.807.
    forecast = pl.DataFrame(
        {
            "sku": ["C", "A"],
            "bucket": [0, 0],
            "p10": [80.0] * 2,
            "p25": [90.0] * 2,
            "p50": [100.0] * 2,
            "p75": [115.0] * 2,
            "p90": [130.0] * 2,
        }
    )
    policy = inventory_policy(
        items({"sku": "C", "lead_time_days": 5, "abc_class": "C"}, {"sku": "A", "lead_time_days": 5, "abc_class": "A"}),
        demand(("C", 50, 50), ("A", 50, 50)),
        forecasts=forecast,
    )
    assert one(policy, "C")["safety_stock_method"] == "forecast_quantiles"
    assert one(policy, "C")["safety_stock"] == pytest.approx(23.943, abs=1e-3)
    assert one(policy, "A")["safety_stock"] == pytest.approx(44.807, abs=1e-3)
    assert one(policy, "A")["demand_per_bucket"] == 100  # the forecast's P50, not the history's 50
    assert one(policy, "A")["reorder_point"] == pytest.approx(144.807, abs=1e-3)


@pytest.mark.parametrize(
    ("aggregation", "lead_time_days", "expected"),
    [
        ("independent", 20, 1.8808 * 20 * 2),  # z sigma sqrt(4): the classical value
        ("comonotonic", 20, 1.8808 * 20 * 4),  # z sigma 4: errors moving together
        ("independent", 12.5, 1.8808 * 20 * 2.5**0.5),  # 2.5 buckets, the last one half inside
        ("comonotonic", 12.5, 1.8808 * 20 * 2.5),
    ],
)
def test_normal_forecast_quantiles_give_the_closed_forms(aggregation, lead_time_days, expected):
    policy = inventory_policy(
        items({"sku": "X", "lead_time_days": lead_time_days, "abc_class": "A"}),
        demand(("X", 100, 20)),
        forecasts=normal_forecast("X", 6, 100, 20),
        aggregation=aggregation,
    )
    assert one(policy, "X")["safety_stock"] == pytest.approx(expected, rel=1e-4)


def test_independent_forecast_quantiles_with_lead_time_variability_match_the_classical_formula():
    kwargs = {"sku": "X", "lead_time_days": 20, "lead_time_std_days": 5, "abc_class": "A"}
    by_forecast = inventory_policy(
        items(kwargs), demand(), forecasts=normal_forecast("X", 4, 100, 20), aggregation="independent"
    )
    assert one(by_forecast, "X")["safety_stock"] == pytest.approx(202.57, abs=0.005)


def test_a_forecast_shorter_than_the_lead_time_falls_back_to_the_classical_formula():
    policy = inventory_policy(
        items({"sku": "X", "lead_time_days": 20, "abc_class": "B"}),
        demand(("X", 100, 20)),
        forecasts=normal_forecast("X", 3, 100, 20),
    )
    assert one(policy, "X")["safety_stock_method"] == "classical"
    assert one(policy, "X")["safety_stock"] == pytest.approx(1.475791 * 40, rel=1e-6)


def test_the_override_always_wins():
    policy = inventory_policy(
        items(
            {"sku": "F", "lead_time_days": 20, "abc_class": "A", "safety_stock_override": 7.0},
            {"sku": "M", "lead_time_days": 20, "abc_class": "A", "safety_stock_override": 0.0},
        ),
        demand(("F", 100, 20), ("M", 100, 20)),
        forecasts=normal_forecast("F", 6, 100, 20),
        monte_carlo=MonteCarlo(samples=1000),
    )
    assert one(policy, "F")["safety_stock"] == 7 and one(policy, "F")["safety_stock_method"] == "override"
    assert one(policy, "F")["reorder_point"] == pytest.approx(400 + 7)
    assert one(policy, "M")["safety_stock"] == 0 and one(policy, "M")["safety_stock_method"] == "override"


# --- Monte-Carlo -----------------------------------------------------------------------------------------


def test_monte_carlo_is_reproducible_only_for_class_a_and_close_to_the_analytic_value():
    frame = items(
        {"sku": "A1", "lead_time_days": 20, "abc_class": "A"},
        {"sku": "A2", "lead_time_days": 20, "lead_time_std_days": 5, "abc_class": "A"},
        {"sku": "B1", "lead_time_days": 20, "abc_class": "B"},
    )
    stats = demand(("A1", 100, 20), ("A2", 100, 20), ("B1", 100, 20))
    first = inventory_policy(frame, stats, monte_carlo=MonteCarlo(seed=7))
    assert first.equals(inventory_policy(frame.reverse(), stats, monte_carlo=MonteCarlo(seed=7)))
    assert not first.equals(inventory_policy(frame, stats, monte_carlo=MonteCarlo(seed=8)))
    assert first["safety_stock_method"].to_list() == ["monte_carlo", "monte_carlo", "classical"]
    # Normal demand, fixed lead time: the simulated quantile converges to z sigma sqrt(LT) = 75.23
    assert one(first, "A1")["safety_stock"] == pytest.approx(1.8808 * 40, rel=0.03)
    # With lead-time variability the compound is close to normal: 202.57 from the closed formula
    assert one(first, "A2")["safety_stock"] == pytest.approx(202.57, rel=0.05)


# --- Properties ------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    lead_time_days=st.sampled_from([0.0, 3.0, 5.0, 12.5, 20.0]),
    lead_time_std_days=st.sampled_from([0.0, 2.0, 5.0]),
    mean=st.floats(0, 500),
    std=st.floats(0, 200),
    spreads=st.lists(st.floats(0, 50), min_size=4, max_size=4),
    levels=st.lists(st.floats(0.01, 0.99), min_size=2, max_size=2, unique=True),
    aggregation=st.sampled_from(["comonotonic", "independent"]),
    with_forecast=st.booleans(),
)
def test_safety_stock_is_non_negative_and_non_decreasing_in_the_service_level(
    lead_time_days, lead_time_std_days, mean, std, spreads, levels, aggregation, with_forecast
):
    levels_up = np.cumsum([mean, *spreads])  # p10 = mean, then non-negative steps up to p90
    quantiles = dict(zip(("p10", "p25", "p50", "p75", "p90"), levels_up.tolist(), strict=True))
    forecast = pl.DataFrame({"sku": ["X"] * 4, "bucket": [0, 1, 2, 3], **{k: [v] * 4 for k, v in quantiles.items()}})
    row = {"sku": "X", "lead_time_days": lead_time_days, "lead_time_std_days": lead_time_std_days, "abc_class": "A"}
    safety = []
    for level in sorted(levels):
        policy = inventory_policy(
            items(row),
            demand(("X", mean, std)),
            forecasts=forecast if with_forecast else None,
            service_levels={"A": level},
            aggregation=aggregation,
            monte_carlo=MonteCarlo(samples=500, seed=1) if not with_forecast else None,
        )
        safety.append(one(policy, "X")["safety_stock"])
    assert all(value >= 0 for value in safety)
    assert safety[0] <= safety[1] + 1e-9


# --- Integration with the MRP run ------------------------------------------------------------------------


def test_mps_and_policy_feed_run_mrp_and_projected_on_hand_stays_above_safety_stock():
    horizon = Horizon.weekly(START, 8)
    rng = np.random.default_rng(3)
    p50 = rng.uniform(40, 80, 8).round(1)
    forecast = pl.DataFrame(
        {
            "sku": ["FG"] * 8,
            "bucket": list(range(8)),
            "p10": p50 * 0.7,
            "p25": p50 * 0.85,
            "p50": p50,
            "p75": p50 * 1.15,
            "p90": p50 * 1.3,
        }
    )
    customer_orders = pl.DataFrame({"sku": ["FG", "FG", "FG"], "due_week": [-1, 1, 5], "quantity": [90.0, 20.0, 400.0]})
    mps = master_production_schedule(forecast, customer_orders, horizon)
    plant = [
        item("FG", 5, "LFL"),
        item("SUB", 5, "FOQ", fixed_lot_qty=150.0),
        item("RM", 10, "EOQ", setup_cost=80.0, holding_cost=0.2),
    ]
    bom = [line("FG", "SUB", 1.0), line("SUB", "RM", 2.0, 0.05)]
    item_frame = pl.DataFrame(plant, schema=ITEM_SCHEMA).with_columns(
        pl.Series("abc_class", ["A", "A", "C"]), pl.Series("lead_time_std_days", [0.0, 1.0, 3.0])
    )
    policy = inventory_policy(
        item_frame,
        demand(("FG", 60, 12), ("SUB", 60, 15), ("RM", 126, 30)),
        forecasts=forecast,
        horizon=horizon,
        monte_carlo=MonteCarlo(samples=2000, seed=11),
    )
    assert policy["safety_stock_method"].to_list() == ["forecast_quantiles", "classical", "monte_carlo"]
    result = run_mrp(
        item_frame,
        pl.DataFrame(bom, schema=BOM_SCHEMA),
        pl.DataFrame({"sku": ["FG", "RM"], "nettable_on_hand": [120.0, 50.0]}),
        pl.DataFrame({"sku": ["SUB"], "due_week": [1], "open_quantity": [100.0]}),
        mps,
        horizon,
        safety_stock=policy,
    )
    records = result.records.join(policy.select("sku", "safety_stock"), on="sku")
    assert (records["projected_on_hand"] >= records["safety_stock"] - 1e-9).all()
    assert result.items.sort("sku")["safety_stock"].to_list() == policy.sort("sku")["safety_stock"].to_list()
    fg = records.filter(pl.col("sku") == "FG").sort("bucket")
    assert fg["independent_demand"].to_list() == mps["mps_demand"].to_list()
    assert fg["independent_demand"][0] == 90  # the past-due order is due now and exceeds the forecast

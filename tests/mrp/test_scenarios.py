"""What-if scenarios (PL-10): each change on the inputs, storage round trip, comparison with the base plan."""

from __future__ import annotations

import json

import polars as pl
import pytest

from mrp.horizon import Horizon
from mrp.scenarios import COMPARISON_COLUMNS, Scenario, ScenarioError, compare, run_scenario
from tests.mrp.plants import BOM_SCHEMA, ITEM_SCHEMA, START, item, line

HORIZON = Horizon.weekly(START, 6)
ITEMS = pl.DataFrame(
    [item("FG", 5, replenishment="make"), item("RM", 5, replenishment="buy")], schema=ITEM_SCHEMA
).with_columns(pl.Series("standard_cost", [10.0, 2.0]))
BOM = pl.DataFrame([line("FG", "RM", 2.0)], schema=BOM_SCHEMA)
INVENTORY = pl.DataFrame({"sku": ["FG"], "nettable_on_hand": [0.0]})
RECEIPTS = pl.DataFrame(schema={"sku": pl.String, "due_week": pl.Int32, "open_quantity": pl.Float64})
DEMAND = pl.DataFrame({"sku": ["FG", "FG"], "bucket": [3, 5], "quantity": [10.0, 20.0]})
CLASSES = pl.DataFrame({"sku": ["FG", "RM"], "abc_class": ["A", "C"]})
TERMS = pl.DataFrame(
    {
        "sku": ["RM", "RM"],
        "supplier_code": ["S1", "S2"],
        "lead_time_days": [5.0, 3.0],
        "unit_price": [2.0, 1.0],
        "is_preferred": [True, False],
    }
)
ROUTINGS = pl.DataFrame(
    {"sku": ["FG"], "sequence": [10], "work_center_code": ["W"], "setup_minutes": [0.0], "run_minutes_per_unit": [60.0]}
)
CAPACITY = pl.DataFrame({"work_center_code": ["W"] * 6, "bucket": list(range(6)), "available_hours": [16.0] * 6})


def run(scenario: Scenario):
    return run_scenario(
        scenario,
        ITEMS,
        BOM,
        INVENTORY,
        RECEIPTS,
        DEMAND,
        HORIZON,
        classes=CLASSES,
        item_suppliers=TERMS,
        routings=ROUTINGS,
        capacity=CAPACITY,
    )


def test_demand_multipliers_multiply_global_class_and_sku():
    scenario = Scenario(
        "peak", demand_multiplier=1.1, demand_multiplier_by_class={"A": 1.2}, demand_multiplier_by_sku={"FG": 0.5}
    )
    changed = scenario.apply_demand(DEMAND, CLASSES)
    assert changed["quantity"].to_list() == pytest.approx([10 * 1.1 * 1.2 * 0.5, 20 * 1.1 * 1.2 * 0.5])
    with pytest.raises(ScenarioError, match="per ABC class"):
        scenario.apply_demand(DEMAND)


def test_lead_time_changes_global_item_and_supplier_never_below_zero():
    scenario = Scenario(
        "strike", lead_time_change_days=1, lead_time_change_by_sku={"FG": -10}, lead_time_change_by_supplier={"S1": 5}
    )
    items, terms = scenario.apply_lead_times(ITEMS, TERMS)
    assert dict(items.select("sku", "lead_time_days").iter_rows()) == {"FG": 0.0, "RM": 5 + 1 + 5}  # S1 preferred
    assert terms is not None and terms["lead_time_days"].to_list() == [11.0, 4.0]


def test_capacity_multiplier_and_comparison_with_the_base_plan():
    # Base: FG 10 in b3 and 20 in b5, lead time one week: FG orders released b2 and b4 (10 h, 20 h on 16 h),
    # RM needs 20 and 40 in b2 and b4, released b1 and b3. Scenario: demand x 1.5, capacity x 2, RM one week
    # longer (5 more days): RM released b0 and b2.
    base = run(Scenario("base"))
    what_if = run(
        Scenario(
            "growth",
            demand_multiplier=1.5,
            capacity_multiplier_by_work_center={"W": 2.0},
            lead_time_change_by_sku={"RM": 5},
        )
    )
    per_item, totals = compare(base, what_if)
    assert tuple(per_item.columns) == COMPARISON_COLUMNS
    assert per_item.select("sku", "base_quantity", "scenario_quantity", "delta_value").rows() == [
        ("FG", 30.0, 45.0, 150.0),
        ("RM", 60.0, 90.0, 60.0),
    ]
    assert dict(totals.select("measure", "delta").iter_rows()) == {
        "planned_orders": 0.0,
        "planned_quantity": 45.0,
        "planned_value": 210.0,
        "past_due_orders": 0.0,
        "overloaded_buckets": -1.0,  # 20 h on 16 h in b4 was an overload; 30 h on 32 h is not
    }
    assert what_if.plan.planned_orders.filter(pl.col("sku") == "RM")["release_bucket"].to_list() == [0, 2]


def test_a_longer_lead_time_makes_orders_past_due():
    _, totals = compare(run(Scenario("base")), run(Scenario("late", lead_time_change_days=10)))
    assert dict(totals.select("measure", "delta").iter_rows())["past_due_orders"] == 2.0  # both RM orders


def test_round_trip_through_json_and_bad_scenarios():
    scenario = Scenario(
        "peak",
        description="Black Friday",
        demand_multiplier_by_class={"A": 1.3},
        lead_time_change_by_supplier={"S1": 2.0},
        capacity_multiplier_by_work_center={"W": 1.25},
    )
    stored = json.dumps(scenario.to_dict())
    assert Scenario.from_dict(json.loads(stored)) == scenario
    with pytest.raises(ScenarioError, match="unknown scenario field"):
        Scenario.from_dict({"name": "x", "demand_multipler": 2})
    with pytest.raises(ScenarioError, match=r"capacity_multiplier_by_work_center\['W'\] must be >= 0, got -1.0"):
        Scenario("bad", capacity_multiplier_by_work_center={"W": -1})
    with pytest.raises(ScenarioError, match="needs a name"):
        Scenario(" ")

"""Reason codes of shortages (PL-5): one hand-built plant per code, the priority order, every shortage coded."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings

from mrp.actions import action_messages
from mrp.crp import capacity_requirements
from mrp.horizon import Horizon
from mrp.reasons import REASON_CODES, SHORTAGE_COLUMNS, ReasonInputError, shortage_reasons
from tests.mrp.plants import BUCKETS, START, item, plan, plants
from tests.mrp.test_actions import receipts


def codes(shortages: pl.DataFrame) -> list[tuple]:
    return shortages.select("sku", "bucket", "shortage_type", "reason_code", "reason_codes").rows()


def test_a_requirement_inside_the_lead_time_is_lead_time():
    result = plan([item("A", 10)], demand=[("A", 1, 8)])
    shortages = shortage_reasons(result)
    assert tuple(shortages.columns) == SHORTAGE_COLUMNS
    assert codes(shortages) == [("A", 1, "past_due_release", "LEAD_TIME", ["LEAD_TIME"])]
    assert shortages["quantity"].item() == 8.0


def test_a_late_open_order_is_the_first_reason():
    # On hand 20, gross 10, 30, 20 in b0-b2, PO-1 (50) due in b3 but needed in b1; lead time two weeks, so the
    # planned order covering b1 should have been released last week.
    result = plan(
        [item("A", 10)],
        on_hand={"A": 20},
        receipts=[("A", 3, 50.0)],
        demand=[("A", 0, 10), ("A", 1, 30), ("A", 2, 20)],
        buckets=4,
    )
    actions = action_messages(result, receipts(("PO-1", "A", 3, 50.0)), Horizon.weekly(START, 4))
    shortages = shortage_reasons(result, actions=actions)
    assert codes(shortages) == [
        ("A", 1, "late_receipt", "LATE_RECEIPT", ["LATE_RECEIPT"]),
        ("A", 1, "past_due_release", "LATE_RECEIPT", ["LATE_RECEIPT", "LEAD_TIME"]),
    ]
    assert shortages.filter(pl.col("shortage_type") == "late_receipt")["order_number"].item() == "PO-1"


def test_a_spike_over_twice_the_mean_is_demand_spike():
    # Gross 5 a week and 100 in b1: mean 125 / 6 = 20.8, twice that is 41.7 < 100.
    demand = [("A", b, 5.0) for b in range(6) if b != 1] + [("A", 1, 100.0)]
    result = plan([item("A", 10)], demand=demand, on_hand={"A": 5})
    shortages = shortage_reasons(result)
    assert codes(shortages)[0] == ("A", 1, "past_due_release", "DEMAND_SPIKE", ["DEMAND_SPIKE", "LEAD_TIME"])
    assert codes(shortage_reasons(result, spike_factor=6.0))[0][3] == "LEAD_TIME"


def test_a_dip_below_safety_stock_only_is_safety_stock():
    # On hand 10, safety stock 5, 6 needed in b0: net 6 + 5 - 10 = 1, stock would stay at 4 >= 0 without it.
    result = plan([item("A", 10, safety_stock_override=5.0)], on_hand={"A": 10}, demand=[("A", 0, 6)])
    assert codes(shortage_reasons(result)) == [
        ("A", 0, "past_due_release", "SAFETY_STOCK", ["SAFETY_STOCK", "LEAD_TIME"])
    ]


def test_an_order_loaded_on_an_overloaded_work_center_is_capacity():
    result = plan([item("A", 10, replenishment="make")], demand=[("A", 1, 50)])
    horizon = Horizon.weekly(START, 6)
    crp = capacity_requirements(
        result.planned_orders,
        pl.DataFrame(
            {
                "sku": ["A"],
                "sequence": [10],
                "work_center_code": ["W"],
                "setup_minutes": [0.0],
                "run_minutes_per_unit": [60.0],
            }
        ),
        pl.DataFrame({"work_center_code": ["W"] * 6, "bucket": list(range(6)), "available_hours": [40.0] * 6}),
        horizon,
    )
    assert crp.load.filter(pl.col("bucket") == 0)["suggestion"].item() == "pull_forward"  # 50 h on 40 h: 125 %
    assert codes(shortage_reasons(result, capacity=crp)) == [
        ("A", 1, "past_due_release", "CAPACITY", ["CAPACITY", "LEAD_TIME"])
    ]


def test_spike_factor_must_be_positive():
    with pytest.raises(ReasonInputError, match="spike_factor"):
        shortage_reasons(plan([item("A")]), spike_factor=0)


@settings(max_examples=50, deadline=None)
@given(plants())
def test_every_shortage_has_a_known_reason_code(plant):
    result = plan(**plant, buckets=BUCKETS)
    rows = [(f"PO-{k}", sku, b, q) for k, (sku, b, q) in enumerate(plant["receipts"])]
    actions = action_messages(result, receipts(*rows), Horizon.weekly(START, BUCKETS))
    shortages = shortage_reasons(result, actions=actions)
    assert shortages["reason_code"].null_count() == 0
    assert set(shortages["reason_code"]) <= set(REASON_CODES)
    assert (
        shortages.filter(pl.col("shortage_type") == "past_due_release").height
        == result.planned_orders["is_past_due"].sum()
    )

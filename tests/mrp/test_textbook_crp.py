"""A published multi-level MRP example carried through to capacity requirements (PL-3 and PL-7 together).

Source: Heizer, J. & Render, B., *Operations Management* (Pearson), chapter "Material Requirements Planning
(MRP) and ERP", Examples 1-3, Speaker Kits, Inc.:

- Example 1 (product structure): an "Awesome" speaker kit A = 2 B + 3 C; B = 2 D + 2 E; C = 2 E + 2 F;
  F = 2 D + 1 G. D sits at levels 2 and 3, E at level 2 twice: the low-level codes are A 0, B 1, C 1, E 2,
  F 2, D 3, G 3.
- Example 2 (gross requirements plan): 50 A needed in week 8 and nothing in stock; lead times A 1 week, B 2,
  C 1, D 1, E 2, F 3, G 2. Published releases: A 50 in week 7; B 100 in week 5; C 150 in week 6; E 200 in
  week 3 and 300 in week 4; F 300 in week 3; D 600 in week 2 and 200 in week 4; G 300 in week 1.
- Example 3 (net requirements plan): the same order with A 10, B 15, C 20, D 10, E 10, F 5 and G 0 on hand.
  Releases: A 40 (week 7), B 65 (week 5), C 100 (week 6), E 120 (week 3) and 200 (week 4), F 195 (week 3),
  G 195 (week 1), and D 510 in all. Time-phased netting (PRODUCT §1) spends D's 10 units on its earliest
  requirement, the 390 of week 3 (from F's release): D releases 380 in week 2 and 130 in week 4 (from B's 65
  in week 5); that split is derived by hand, not quoted.

The book stops at the material plan. For capacity the test adds its own routing (setup and run minutes,
hand-chosen to give round loads) and derives every load by hand: CRP loads each *make* order's operations
(setup + quantity x run time) in the buckets back-scheduled over its lead time (mrp/crp.py), so a one-operation
routing loads the release week and B's two operations load its release week and the week after.

Weeks are 1-based in the book and 0-based buckets here: week 8 is bucket 7. A week has five working days, so a
lead time of one week is 5 working days.
"""

from __future__ import annotations

import polars as pl
import pytest

from mrp.crp import capacity_requirements
from mrp.engine import MrpPlan
from mrp.horizon import Horizon
from tests.mrp.plants import START, item, line, plan
from tests.mrp.test_crp import routings, weekly_capacity

WEEKS = 8
LEAD_TIME_WEEKS = {"A": 1, "B": 2, "C": 1, "D": 1, "E": 2, "F": 3, "G": 2}
MADE = {"A", "B", "C", "F"}  # D, E and G are bought: no routing, no load
BOM = [
    line("A", "B", 2),
    line("A", "C", 3),
    line("B", "D", 2),
    line("B", "E", 2),
    line("C", "E", 2),
    line("C", "F", 2),
    line("F", "D", 2),
    line("F", "G", 1),
]
# Our routing (minutes): A is assembled in ASSY; B is fabricated, then assembled; C and F are fabricated.
ROUTING = routings(
    ("A", 10, "ASSY", 30.0, 6.0),
    ("B", 10, "FAB", 60.0, 3.0),
    ("B", 20, "ASSY", 0.0, 2.4),
    ("C", 10, "FAB", 45.0, 3.0),
    ("F", 10, "FAB", 30.0, 2.0),
)
CAPACITY = weekly_capacity({"FAB": [40.0] * WEEKS, "ASSY": [8.0] * WEEKS})
HORIZON = Horizon.weekly(START, WEEKS)
EXAMPLE_3_ON_HAND = {"A": 10, "B": 15, "C": 20, "D": 10, "E": 10, "F": 5, "G": 0}


def speaker_kits(on_hand: dict[str, float] | None = None) -> MrpPlan:
    items = [
        item(sku, 5 * weeks, replenishment="make" if sku in MADE else "buy") for sku, weeks in LEAD_TIME_WEEKS.items()
    ]
    return plan(items, bom=BOM, on_hand=on_hand, demand=[("A", 7, 50)], buckets=WEEKS)


def by_week(result: MrpPlan, sku: str, column: str) -> dict[int, float]:
    """The non-zero cells of one MRP record row, keyed by the book's 1-based week."""
    rows = result.records.filter((pl.col("sku") == sku) & (pl.col(column) != 0)).sort("bucket")
    return {bucket + 1: round(value, 6) for bucket, value in rows.select("bucket", column).iter_rows()}


def load_by_week(result: MrpPlan) -> dict[str, dict[int, float]]:
    load = capacity_requirements(result.planned_orders, ROUTING, CAPACITY, HORIZON).load
    return {
        center: {bucket + 1: round(hours, 6) for bucket, hours in rows.select("bucket", "load_hours").iter_rows()}
        for (center,), rows in load.filter(pl.col("load_hours") > 0).sort("bucket").group_by("work_center_code")
    }


def test_low_level_codes_put_d_below_f():
    codes = dict(speaker_kits().items.select("sku", "low_level_code").iter_rows())
    assert codes == {"A": 0, "B": 1, "C": 1, "E": 2, "F": 2, "D": 3, "G": 3}


def test_example_2_gross_requirements_plan_gives_the_published_releases():
    result = speaker_kits()
    assert by_week(result, "A", "gross_requirements") == {8: 50}
    assert by_week(result, "B", "gross_requirements") == {7: 100}
    assert by_week(result, "C", "gross_requirements") == {7: 150}
    assert by_week(result, "E", "gross_requirements") == {5: 200, 6: 300}
    assert by_week(result, "F", "gross_requirements") == {6: 300}
    assert by_week(result, "D", "gross_requirements") == {3: 600, 5: 200}
    assert by_week(result, "G", "gross_requirements") == {3: 300}
    releases = {sku: by_week(result, sku, "planned_releases") for sku in LEAD_TIME_WEEKS}
    assert releases == {
        "A": {7: 50},
        "B": {5: 100},
        "C": {6: 150},
        "D": {2: 600, 4: 200},
        "E": {3: 200, 4: 300},
        "F": {3: 300},
        "G": {1: 300},
    }
    assert not result.planned_orders["is_past_due"].any()


def test_example_3_net_requirements_plan_nets_the_stock_level_by_level():
    result = speaker_kits(EXAMPLE_3_ON_HAND)
    net = {sku: by_week(result, sku, "net_requirements") for sku in LEAD_TIME_WEEKS}
    assert net == {
        "A": {8: 40},  # 50 - 10
        "B": {7: 65},  # 2 x 40 - 15
        "C": {7: 100},  # 3 x 40 - 20
        "E": {5: 120, 6: 200},  # 2 x 65 - 10, then 2 x 100
        "F": {6: 195},  # 2 x 100 - 5
        "D": {3: 380, 5: 130},  # 2 x 195 - 10, then 2 x 65
        "G": {3: 195},  # 1 x 195
    }
    releases = {sku: by_week(result, sku, "planned_releases") for sku in LEAD_TIME_WEEKS}
    assert releases == {
        "A": {7: 40},
        "B": {5: 65},
        "C": {6: 100},
        "D": {2: 380, 4: 130},
        "E": {3: 120, 4: 200},
        "F": {3: 195},
        "G": {1: 195},
    }
    assert sum(releases["D"].values()) == 510
    # the stock is used up where it is first needed and the record balances from there on
    assert by_week(result, "A", "projected_on_hand") == {1: 10, 2: 10, 3: 10, 4: 10, 5: 10, 6: 10, 7: 10}
    assert by_week(result, "D", "projected_on_hand") == {1: 10, 2: 10}


def test_example_2_capacity_load_per_work_center_and_week():
    # FAB:  week 3  F 300: 30 min + 300 x 2 min = 0.5 + 10 = 10.5 h
    #       week 5  B 100, operation 10: 60 min + 100 x 3 min = 1 + 5 = 6 h
    #       week 6  C 150: 45 min + 150 x 3 min = 0.75 + 7.5 = 8.25 h
    # ASSY: week 6  B 100, operation 20 (the second week of B's two): 100 x 2.4 min = 4 h
    #       week 7  A 50: 30 min + 50 x 6 min = 0.5 + 5 = 5.5 h
    assert load_by_week(speaker_kits()) == {"FAB": {3: 10.5, 5: 6.0, 6: 8.25}, "ASSY": {6: 4.0, 7: 5.5}}


def test_example_3_capacity_load_follows_the_netted_orders():
    # FAB:  week 3  F 195: 0.5 + 195 x 2 / 60 = 0.5 + 6.5 = 7 h
    #       week 5  B 65: 1 + 65 x 3 / 60 = 1 + 3.25 = 4.25 h
    #       week 6  C 100: 0.75 + 100 x 3 / 60 = 0.75 + 5 = 5.75 h
    # ASSY: week 6  B 65: 65 x 2.4 / 60 = 2.6 h;  week 7  A 40: 0.5 + 40 x 6 / 60 = 0.5 + 4 = 4.5 h
    result = speaker_kits(EXAMPLE_3_ON_HAND)
    assert load_by_week(result) == {"FAB": {3: 7.0, 5: 4.25, 6: 5.75}, "ASSY": {6: 2.6, 7: 4.5}}
    load = capacity_requirements(result.planned_orders, ROUTING, CAPACITY, HORIZON).load
    week_7 = load.filter((pl.col("work_center_code") == "ASSY") & (pl.col("bucket") == 6)).row(0, named=True)
    assert week_7["utilisation"] == pytest.approx(4.5 / 8.0) and week_7["suggestion"] == "ok"

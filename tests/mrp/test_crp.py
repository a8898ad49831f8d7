"""Capacity requirements planning (PL-7): worked examples with published answers, the timing convention, properties."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrp.crp import LOAD_COLUMNS, OPERATION_COLUMNS, CapacityInputError, available_hours, capacity_requirements
from mrp.horizon import Horizon
from tests.mrp.plants import START

ROUTING_SCHEMA = {
    "sku": pl.String,
    "sequence": pl.Int32,
    "work_center_code": pl.String,
    "setup_minutes": pl.Float64,
    "run_minutes_per_unit": pl.Float64,
}
ORDER_SCHEMA = {
    "order_id": pl.Int64,
    "sku": pl.String,
    "replenishment": pl.String,
    "release_bucket": pl.Int32,
    "receipt_bucket": pl.Int32,
    "quantity": pl.Float64,
}


def routings(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=ROUTING_SCHEMA, orient="row")


def orders(*rows: tuple) -> pl.DataFrame:
    """Rows (sku, release_bucket, receipt_bucket, quantity[, replenishment]); order ids 1, 2, ..."""
    full = [(k + 1, r[0], r[4] if len(r) > 4 else "make", r[1], r[2], r[3]) for k, r in enumerate(rows)]
    return pl.DataFrame(full, schema=ORDER_SCHEMA, orient="row")


def weekly_capacity(hours: dict[str, list[float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(wc, b, h) for wc, per_bucket in hours.items() for b, h in enumerate(per_bucket)],
        schema={"work_center_code": pl.String, "bucket": pl.Int32, "available_hours": pl.Float64},
        orient="row",
    )


def cell(load: pl.DataFrame, wc: str, bucket: int, column: str):
    return load.filter((pl.col("work_center_code") == wc) & (pl.col("bucket") == bucket))[column].item()


def one_shift_week(start: dt.date, machines: int = 1, efficiency: float = 1.0, utilization: float = 1.0):
    """One 08:00-16:00 shift Monday to Friday for work center WC, two weeks of calendar from ``start``."""
    days = pl.date_range(start, start + dt.timedelta(days=13), eager=True)
    return available_hours(
        pl.DataFrame({"work_center_code": ["WC"], "machines": [machines], "efficiency": [efficiency]}),
        pl.DataFrame({"work_center_code": ["WC"] * 5, "weekday": [1, 2, 3, 4, 5], "shift_hours": [8.0] * 5}),
        pl.DataFrame({"calendar_date": days, "is_working_day": days.dt.weekday() <= 5}),
        utilization=utilization,
    )


# --- Worked examples -------------------------------------------------------------------------------------


def test_issue_one_shift_40_hours_against_42_hours_of_load_is_105_percent_overtime():
    # The issue's example: one 08:00-16:00 shift Monday-Friday = 40 h; 100 units x 25.2 min = 42 h -> 105 %.
    horizon = Horizon.weekly(START, 2)
    capacity = one_shift_week(START)
    plan = capacity_requirements(orders(("FG", 0, 0, 100.0)), routings(("FG", 10, "WC", 0.0, 25.2)), capacity, horizon)
    assert cell(plan.load, "WC", 0, "capacity_hours") == pytest.approx(40.0)
    assert cell(plan.load, "WC", 0, "load_hours") == pytest.approx(42.0)
    assert cell(plan.load, "WC", 0, "utilisation") == pytest.approx(1.05)
    assert cell(plan.load, "WC", 0, "overload_hours") == pytest.approx(2.0)
    assert cell(plan.load, "WC", 0, "suggestion") == "overtime"
    assert cell(plan.load, "WC", 1, "suggestion") == "ok"
    assert tuple(plan.load.columns) == LOAD_COLUMNS
    assert tuple(plan.operations.columns) == OPERATION_COLUMNS


def test_rated_capacity_arnold_chapman_clive_149_6_standard_hours():
    # Arnold, Chapman & Clive, "Introduction to Materials Management", capacity management, rated capacity:
    # 4 machines, 8 h a day, 5 days a week, utilization 85 %, efficiency 110 % -> 160 x 0.85 x 1.10 = 149.6
    # standard hours a week.
    capacity = one_shift_week(START, machines=4, efficiency=1.10, utilization=0.85)
    week = capacity.filter(pl.col("calendar_date") < START + dt.timedelta(days=7))["available_hours"].sum()
    assert week == pytest.approx(149.6)


def test_rated_capacity_cpim_practice_question_57_6_hours():
    # APICS CPIM practice question: 2 machines x 8 h x 5 days, utilization 80 %, efficiency 90 % -> 57.6
    # (answer "58 hours" to the nearest hour).
    capacity = one_shift_week(START, machines=2, efficiency=0.90, utilization=0.80)
    week = capacity.filter(pl.col("calendar_date") < START + dt.timedelta(days=7))["available_hours"].sum()
    assert week == pytest.approx(57.6)
    assert round(week) == 58


def test_erben_fabricators_resource_profile_end_item_z_loads():
    # Vollmann et al.-style resource profile exercise "Erben Fabricators" (lecture "Capacity Planning
    # Techniques", Resource Profile Example): product Z at work center 201 with 8.0 setup hours and 1.5 run
    # hours per unit, a new setup in every period, MPS 10, 20, 15, 10, 15 in periods 1-5. The published
    # solution's Z row is 23, 38, 30.5, 23, 30.5 hours (the end item is loaded in its MPS period).
    horizon = Horizon.weekly(START, 5)
    mps = [10.0, 20.0, 15.0, 10.0, 15.0]
    plan = capacity_requirements(
        orders(*[("Z", b, b, q) for b, q in enumerate(mps)]),
        routings(("Z", 10, "201", 8.0 * 60, 1.5 * 60)),
        weekly_capacity({"201": [100.0] * 5}),
        horizon,
    )
    assert plan.load.sort("bucket")["load_hours"].to_list() == pytest.approx([23, 38, 30.5, 23, 30.5])


# --- Timing convention -----------------------------------------------------------------------------------


def test_operations_are_back_scheduled_over_the_lead_time_one_bucket_each():
    # Three operations, released in bucket 2, due in bucket 5: span 3, operation j runs in 2 + floor(3 j / 3).
    horizon = Horizon.weekly(START, 8)
    route = routings(("A", 10, "CUT", 60.0, 6.0), ("A", 20, "WELD", 0.0, 12.0), ("A", 30, "PAINT", 30.0, 3.0))
    plan = capacity_requirements(orders(("A", 2, 5, 10.0)), route, weekly_capacity({"CUT": [40.0] * 8}), horizon)
    ops = plan.operations.sort("sequence")
    assert ops.select("work_center_code", "bucket", "load_hours").rows() == [
        ("CUT", 2, pytest.approx(2.0)),
        ("WELD", 3, pytest.approx(2.0)),
        ("PAINT", 4, pytest.approx(1.0)),
    ]
    assert ops["setup_hours"].to_list() == pytest.approx([1.0, 0.0, 0.5])


@pytest.mark.parametrize(
    ("release", "due", "buckets"),
    [
        (3, 3, [3, 3, 3]),  # no lead time: everything in the due bucket
        (2, 3, [2, 2, 2]),  # one bucket: everything in the release bucket
        (1, 3, [1, 1, 2]),  # two buckets for three operations: floor(0), floor(2/3), floor(4/3)
        (-2, 1, [0, 0, 0]),  # past due: -2, -1, 0 are all work to do now
        (5, 9, [5, 6, 7]),  # 5, 6, 7, 8: the last operation is beyond the 8-bucket horizon and left out
    ],
)
def test_operation_buckets(release, due, buckets):
    horizon = Horizon.weekly(START, 8)
    route = routings(("A", 10, "W", 0.0, 1.0), ("A", 20, "W", 0.0, 1.0), ("A", 30, "W", 0.0, 1.0), ("A", 40, "W", 0, 1))
    route = route.filter(pl.col("sequence") < 40) if due != 9 else route
    plan = capacity_requirements(orders(("A", release, due, 1.0)), route, weekly_capacity({"W": [1.0] * 8}), horizon)
    assert plan.operations.sort("sequence")["bucket"].to_list() == buckets


def test_released_production_orders_load_their_open_quantity_and_purchase_orders_do_not():
    horizon = Horizon.weekly(START, 4)
    released = pl.DataFrame(
        {
            "order_type": ["production", "production", "purchase", "production"],
            "order_number": ["OP-1", "OP-2", "PC-9", "OP-3"],
            "sku": ["A", "A", "A", "A"],
            "release_date": [START - dt.timedelta(days=10), None, START, START + dt.timedelta(weeks=2)],
            "due_date": [
                START + dt.timedelta(days=8),
                START + dt.timedelta(days=2),
                START,
                START + dt.timedelta(weeks=6),
            ],
            "open_quantity": [30.0, 10.0, 999.0, 5.0],
        }
    )
    plan = capacity_requirements(
        orders(),
        routings(("A", 10, "W", 30.0, 6.0)),
        weekly_capacity({"W": [10.0] * 4}),
        horizon,
        released_orders=released,
    )
    ops = plan.operations.sort("order_ref")
    # OP-1: released before the horizon, due in bucket 1 -> span 2 from bucket -1: loaded now (bucket 0).
    # OP-2: no release date (already on the floor) -> bucket 0. OP-3: released in bucket 2, due after the horizon.
    assert ops.select("order_ref", "bucket", "load_hours").rows() == [
        ("OP-1", 0, pytest.approx(0.5 + 3.0)),
        ("OP-2", 0, pytest.approx(0.5 + 1.0)),
        ("OP-3", 2, pytest.approx(0.5 + 0.5)),
    ]
    assert cell(plan.load, "W", 0, "released_load_hours") == pytest.approx(5.0)
    assert cell(plan.load, "W", 0, "planned_load_hours") == 0.0


def test_load_without_capacity_is_flagged_never_divided_by_zero():
    horizon = Horizon.weekly(START, 2)
    plan = capacity_requirements(
        orders(("A", 0, 0, 10.0)), routings(("A", 10, "NEW", 0.0, 60.0)), weekly_capacity({"OLD": [0.0, 0.0]}), horizon
    )
    assert cell(plan.load, "NEW", 0, "suggestion") == "no_capacity"
    assert cell(plan.load, "NEW", 0, "utilisation") is None
    assert cell(plan.load, "NEW", 0, "overload_hours") == pytest.approx(10.0)
    assert cell(plan.load, "OLD", 0, "suggestion") == "ok"  # closed and idle is fine
    assert cell(plan.load, "OLD", 0, "utilisation") is None


@pytest.mark.parametrize(
    ("load", "expected"),
    [(40.0, "ok"), (44.0, "overtime"), (48.0, "pull_forward"), (52.0, "pull_forward"), (52.4, "subcontract")],
)
def test_suggestion_bands_of_pl_7(load, expected):
    horizon = Horizon.weekly(START, 1)
    plan = capacity_requirements(
        orders(("A", 0, 0, load)), routings(("A", 1, "W", 0.0, 60.0)), weekly_capacity({"W": [40.0]}), horizon
    )
    assert cell(plan.load, "W", 0, "suggestion") == expected


def test_spare_hours_earlier_show_what_pulling_forward_could_use():
    horizon = Horizon.weekly(START, 3)
    plan = capacity_requirements(
        orders(("A", 0, 0, 30.0), ("A", 2, 2, 50.0)),
        routings(("A", 1, "W", 0.0, 60.0)),
        weekly_capacity({"W": [40.0, 40.0, 40.0]}),
        horizon,
    )
    assert plan.load.sort("bucket")["spare_hours_earlier"].to_list() == pytest.approx([0.0, 10.0, 50.0])
    assert cell(plan.load, "W", 2, "suggestion") == "pull_forward"


def test_bought_items_are_skipped_and_unrouted_made_items_are_listed():
    horizon = Horizon.weekly(START, 2)
    plan = capacity_requirements(
        orders(("RM", 0, 1, 100.0, "buy"), ("SUB", 0, 1, 5.0, "make"), ("A", 0, 0, 1.0, "make")),
        routings(("A", 1, "W", 0.0, 60.0)),
        weekly_capacity({"W": [40.0, 40.0]}),
        horizon,
    )
    assert plan.unrouted.rows() == [("planned", "2", "SUB", 5.0)]
    assert plan.operations["sku"].to_list() == ["A"]


def test_capacity_by_calendar_date_is_summed_per_bucket_and_days_outside_ignored():
    horizon = Horizon.weekly(START, 1)
    capacity = pl.DataFrame(
        {
            "work_center_code": ["W"] * 3,
            "calendar_date": [START, START + dt.timedelta(days=4), START + dt.timedelta(days=7)],
            "available_hours": [8.0, 6.5, 8.0],
        }
    )
    plan = capacity_requirements(orders(), routings(), capacity, horizon)
    assert plan.load.rows() == [("W", 0, START, 0.0, 0.0, 0.0, 14.5, 0.0, 0.0, 0.0, "ok")]


# --- Bad input -------------------------------------------------------------------------------------------


def test_a_repeated_routing_operation_names_the_item_and_sequence():
    with pytest.raises(CapacityInputError, match=r"item 'A' has operation 10 more than once"):
        capacity_requirements(
            orders(),
            routings(("A", 10, "W", 0.0, 1.0), ("A", 10, "V", 0.0, 1.0)),
            weekly_capacity({}),
            Horizon.weekly(START, 1),
        )


def test_a_negative_run_time_names_the_row_and_value():
    with pytest.raises(CapacityInputError, match=r"routings row 1 \(sku 'B'\): run_minutes_per_unit .* got -2.0"):
        capacity_requirements(
            orders(),
            routings(("A", 10, "W", 0.0, 1.0), ("B", 10, "W", 0.0, -2.0)),
            weekly_capacity({}),
            Horizon.weekly(START, 1),
        )


def test_missing_columns_and_negative_quantities_are_named():
    with pytest.raises(CapacityInputError, match="routings lacks the column"):
        capacity_requirements(orders(), pl.DataFrame({"sku": ["A"]}), weekly_capacity({}), Horizon.weekly(START, 1))
    with pytest.raises(CapacityInputError, match=r"order 1, item 'A'\): quantity .* got -5.0"):
        capacity_requirements(
            orders(("A", 0, 0, -5.0)), routings(("A", 1, "W", 0, 1)), weekly_capacity({}), Horizon.weekly(START, 1)
        )
    with pytest.raises(CapacityInputError, match=r"capacity row 0 .*available_hours"):
        capacity_requirements(orders(), routings(), weekly_capacity({"W": [-1.0]}), Horizon.weekly(START, 1))


# --- Properties ------------------------------------------------------------------------------------------

BUCKETS = 6


@st.composite
def crp_cases(draw: st.DrawFn):
    skus = ["A", "B", "C"]
    centers = ["W1", "W2"]
    route = []
    for sku in skus:
        for sequence in draw(st.lists(st.integers(1, 9), unique=True, max_size=3)):
            route.append(
                (
                    sku,
                    sequence,
                    draw(st.sampled_from(centers)),
                    draw(st.sampled_from([0.0, 15.0, 30.0])),
                    draw(st.sampled_from([0.0, 1.5, 6.0])),
                )
            )
    order_rows = []
    for _ in range(draw(st.integers(0, 8))):
        due = draw(st.integers(0, BUCKETS - 1))
        order_rows.append(
            (draw(st.sampled_from(skus)), due - draw(st.integers(0, 4)), due, draw(st.sampled_from([1.0, 4.0, 10.0])))
        )
    return route, order_rows


@settings(max_examples=60, deadline=None)
@given(crp_cases(), st.randoms())
def test_total_load_is_setup_plus_run_over_orders_and_row_order_does_not_matter(case, random):
    route_rows, order_rows = case
    horizon = Horizon.weekly(START, BUCKETS)
    capacity = weekly_capacity({"W1": [10.0] * BUCKETS, "W2": [5.0] * BUCKETS})
    plan = capacity_requirements(orders(*order_rows), routings(*route_rows), capacity, horizon)
    expected = sum(
        (setup + quantity * run) / 60.0
        for sku, _, _, quantity in order_rows
        for route_sku, _, _, setup, run in route_rows
        if route_sku == sku
    )
    assert plan.load["load_hours"].sum() == pytest.approx(expected)
    assert (plan.load["load_hours"] >= 0).all()
    shuffled_orders, shuffled_routes = list(order_rows), list(route_rows)
    random.shuffle(shuffled_orders)
    random.shuffle(shuffled_routes)
    again = capacity_requirements(
        orders(*shuffled_orders),
        routings(*shuffled_routes),
        capacity.sample(fraction=1.0, shuffle=True, seed=1),
        horizon,
    )
    columns = ["work_center_code", "bucket", "load_hours", "capacity_hours", "suggestion"]
    np.testing.assert_allclose(again.load["load_hours"].to_numpy(), plan.load["load_hours"].to_numpy())
    assert again.load.select(columns[:2] + columns[3:]).equals(plan.load.select(columns[:2] + columns[3:]))

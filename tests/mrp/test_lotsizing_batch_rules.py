"""lot_size_batch plans every rule, with every order modifier, exactly as lot_size does item by item."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrp.lotsizing import METHODS, lot_size
from mrp.lotsizing_batch import ItemLotSizingError, lot_size_batch

MODIFIERS = ("min_lot", "moq", "multiple", "max_lot")
# integers, decimals whose sums round, and values a hair above zero (below the tolerance)
amounts = st.one_of(
    st.just(0.0),
    st.integers(1, 400).map(float),
    st.floats(0.01, 500, allow_nan=False, allow_infinity=False),
    st.just(1e-12),
)


@st.composite
def batches(draw: st.DrawFn) -> dict:
    items, periods = draw(st.integers(1, 8)), draw(st.integers(1, 16))
    rows = [draw(st.lists(amounts, min_size=periods, max_size=periods)) for _ in range(items)]
    methods = draw(st.lists(st.sampled_from(METHODS), min_size=items, max_size=items))

    def per_item(values: st.SearchStrategy[float], chance: float) -> list[float]:
        return [draw(values) if draw(st.floats(0, 1)) < chance else math.nan for _ in range(items)]

    return {
        "demand": np.array(rows),
        "methods": methods,
        "setup_cost": np.array(
            draw(st.lists(st.sampled_from([0.0, 1.0, 45.5, 300.0]), min_size=items, max_size=items))
        ),
        "holding_cost": np.array(
            draw(st.lists(st.sampled_from([0.0, 0.01, 0.7, 2.0]), min_size=items, max_size=items))
        ),
        "quantity": np.array([draw(st.sampled_from([15.0, 120.0, 33.3])) for _ in range(items)]),
        "min_lot": np.array(per_item(st.sampled_from([5.0, 60.0, 7.5]), 0.3)),
        "moq": np.array(per_item(st.sampled_from([0.0, 10.0, 90.0]), 0.2)),
        "multiple": np.array(per_item(st.sampled_from([0.3, 4.0, 10.0, 25.0]), 0.3)),
        "max_lot": np.array(per_item(st.sampled_from([2.0, 30.0, 75.5, 500.0]), 0.3)),
    }


def one_by_one(batch: dict) -> tuple[np.ndarray, list[tuple[int, int, float]]] | tuple[int, str]:
    """lot_size per row: receipts and (row, period, quantity) orders, or the first refused row and why."""
    receipts = np.zeros_like(batch["demand"])
    orders = []
    for row, method in enumerate(batch["methods"]):
        params = {name: float(batch[name][row]) for name in MODIFIERS if not math.isnan(batch[name][row])}
        if method == "fixed_order_quantity":
            params["quantity"] = float(batch["quantity"][row])
        try:
            plan = lot_size(
                batch["demand"][row],
                method,
                setup_cost=float(batch["setup_cost"][row]),
                holding_cost=float(batch["holding_cost"][row]),
                **params,
            )
        except ValueError as error:
            return row, str(error)
        receipts[row] = plan.quantities
        orders += [(row, period, quantity) for period, quantity in plan.orders]
    return receipts, orders


@settings(max_examples=300, deadline=None)
@given(batches())
def test_batch_equals_lot_size_item_by_item_to_the_bit(batch):
    expected = one_by_one(batch)
    if isinstance(expected[0], int):  # lot_size refuses a row: the batch names the same row and error
        with pytest.raises(ItemLotSizingError) as refused:
            lot_size_batch(**batch)
        assert (refused.value.row, str(refused.value.error)) == expected
        return
    plan = lot_size_batch(**batch)
    receipts, orders = expected
    assert plan.quantities.tolist() == receipts.tolist()
    got = list(zip(plan.order_item.tolist(), plan.order_period.tolist(), plan.order_quantity.tolist(), strict=True))
    assert got == orders


def test_silver_meal_least_unit_cost_and_part_period_balancing_on_a_growing_demand():
    # Demand 10, 10, 15, 20, 70, 180, 250, 270, 230, 40, K = 300, h = 2: once demand grows past the economic
    # part-period, holding a period's demand costs more than an order, so Silver-Meal orders every period
    # from the fifth on (after one order covering the first four).
    demand = np.array([[10.0, 10, 15, 20, 70, 180, 250, 270, 230, 40]] * 3)
    plan = lot_size_batch(
        demand, ["silver_meal", "least_unit_cost", "part_period_balancing"], setup_cost=300.0, holding_cost=2.0
    )
    for row, method in enumerate(("silver_meal", "least_unit_cost", "part_period_balancing")):
        expected = lot_size(demand[row], method, setup_cost=300.0, holding_cost=2.0)
        assert plan.quantities[row].tolist() == expected.quantities.tolist()
    assert np.flatnonzero(plan.quantities[0]).tolist() == [0, 4, 5, 6, 7, 8]


def test_a_max_lot_split_gives_several_orders_in_one_period_each_within_the_modifiers():
    plan = lot_size_batch(
        np.array([[250.0, 0.0, 10.0]]),
        ["lot_for_lot"],
        setup_cost=1.0,
        holding_cost=1.0,
        min_lot=np.array([80.0]),
        multiple=np.array([10.0]),
        max_lot=np.array([100.0]),
    )
    assert plan.order_period.tolist() == [0, 0, 0]
    assert plan.order_quantity.tolist() == [100.0, 100.0, 80.0]
    assert plan.quantities.tolist() == [[280.0, 0.0, 0.0]]  # the 30 extra cover period 2


def test_a_refused_item_is_named_by_its_row():
    with pytest.raises(ItemLotSizingError, match="row 1: fixed_order_quantity needs quantity") as refused:
        lot_size_batch(
            np.array([[5.0, 5.0], [5.0, 5.0]]),
            ["lot_for_lot", "fixed_order_quantity"],
            setup_cost=1.0,
            holding_cost=1.0,
        )
    assert refused.value.row == 1

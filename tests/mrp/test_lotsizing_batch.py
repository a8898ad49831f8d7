"""The batched quantity rules (lot-for-lot, fixed order quantity with a minimum and a multiple) plan exactly what
lot_size plans, item by item."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mrp.lotsizing import lot_size
from mrp.lotsizing_batch import lot_size_batch

quantities = st.floats(0, 500, allow_nan=False, allow_infinity=False)


@st.composite
def items(draw: st.DrawFn) -> tuple[list[float], str, float, float, float | None]:
    periods = draw(st.integers(1, 12))
    demand = draw(st.lists(st.one_of(st.just(0.0), quantities), min_size=periods, max_size=periods))
    method = draw(st.sampled_from(["lot_for_lot", "fixed_order_quantity"]))
    lot = draw(st.floats(0.5, 300)) if method == "fixed_order_quantity" else 0.0
    floor = draw(st.sampled_from([0.0, 0.0, 7.5, 100.0]))
    multiple = draw(st.sampled_from([None, None, 0.3, 4.0, 25.0]))
    return demand, method, lot, floor, multiple


@settings(max_examples=150, deadline=None)
@given(st.lists(items(), min_size=1, max_size=6))
def test_batch_equals_lot_size_row_by_row_to_the_bit(rows):
    periods = max(len(row[0]) for row in rows)
    net = np.array([row[0] + [0.0] * (periods - len(row[0])) for row in rows])
    lots = np.array([row[2] for row in rows])
    floors = np.array([row[3] for row in rows])
    multiples = np.array([np.nan if row[4] is None else row[4] for row in rows])
    receipts = lot_size_batch(
        net,
        [row[1] for row in rows],
        setup_cost=1,
        holding_cost=1,
        quantity=np.where(lots > 0, lots, np.nan),
        min_lot=np.where(floors > 0, floors, np.nan),
        multiple=multiples,
    ).quantities
    for k, (_, method, lot, floor, multiple) in enumerate(rows):
        params = {"quantity": lot} if method == "fixed_order_quantity" else {}
        modifiers = {"min_lot": floor or None, "multiple": multiple}
        expected = lot_size(
            net[k], method, setup_cost=1, holding_cost=1, **params, **{k: v for k, v in modifiers.items() if v}
        )
        assert receipts[k].tolist() == expected.quantities.tolist()


def test_minimum_and_multiple_are_applied_after_the_rule_and_the_excess_carried():
    receipts = lot_size_batch(
        np.array([[10.0, 10, 10, 50]]),
        ["lot_for_lot"],
        setup_cost=1,
        holding_cost=1,
        min_lot=np.array([15.0]),
        multiple=np.array([10.0]),
    ).quantities
    assert receipts.tolist() == [[20, 0, 20, 40]]

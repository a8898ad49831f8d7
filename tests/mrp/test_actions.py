"""Action messages (PL-6): hand-derived cases of the FIFO need-date logic, dampeners, bad input, properties.

The rescheduling logic is the conventional one (Orlicky; Ptak & Smith, "Orlicky's Material Requirements
Planning", 3rd ed.): an open order is needed when the stock and the open orders due before it no longer cover the
cumulative gross requirements; its due date is compared with that need date. The numbers below are worked by
hand in the comments.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings

from mrp.actions import ACTION_COLUMNS, ActionInputError, ActionPolicy, action_messages
from mrp.horizon import Horizon
from tests.mrp.plants import BUCKETS, START, item, plan, plants


def week(bucket: int) -> dt.date:
    return START + dt.timedelta(weeks=bucket)


def receipts(*rows: tuple[str, str, int, float]) -> pl.DataFrame:
    """Rows (order_number, sku, due bucket, open quantity) of purchase orders, due on the bucket's Wednesday."""
    return pl.DataFrame(
        {
            "order_type": ["purchase"] * len(rows),
            "order_number": [r[0] for r in rows],
            "line_number": [1] * len(rows),
            "sku": [r[1] for r in rows],
            "due_date": [week(r[2]) + dt.timedelta(days=2) for r in rows],
            "open_quantity": [r[3] for r in rows],
        },
        schema_overrides={"due_date": pl.Date, "order_number": pl.String, "sku": pl.String},
    )


def messages(items, open_orders, buckets=6, policy=None, **plant):
    result = plan(
        items,
        receipts=[(r[1], r[2], r[3]) for r in open_orders],
        buckets=buckets,
        **plant,
    )
    return result, action_messages(result, receipts(*open_orders), Horizon.weekly(START, buckets), policy=policy)


def summary(actions: pl.DataFrame) -> list[tuple]:
    return actions.select("action", "order_number", "planned_order_id", "new_date", "new_quantity").rows()


def test_late_open_order_is_expedited_and_reduced_and_the_gap_order_says_so():
    # On hand 20; gross 10 (b0), 30 (b1), 20 (b2); PO-1 for 50 due in b3. Cumulative gross 10, 40, 60 against
    # 20 on hand: PO-1 is needed from b1 (40 > 20) and only 60 - 20 = 40 of it inside the horizon.
    # The engine nets PO-1 in b3, so it plans 20 (b1) and 20 (b2), released a week earlier: b0 and b1.
    result, actions = messages(
        [item("A", 5)],
        [("PO-1", "A", 3, 50.0)],
        buckets=4,
        on_hand={"A": 20},
        demand=[("A", 0, 10), ("A", 1, 30), ("A", 2, 20)],
    )
    first = result.planned_orders.filter(pl.col("release_bucket") == 0)["order_id"].item()
    assert tuple(actions.columns) == ACTION_COLUMNS
    assert summary(actions) == [
        ("new", None, first, week(1), 20.0),
        ("reduce", "PO-1", None, None, 40.0),
        ("expedite", "PO-1", None, week(1), None),
    ]
    assert actions["reason"][0] == "release now (or expedite open order PO-1)"
    assert actions.filter(pl.col("action") == "expedite")["old_date"].item() == week(3) + dt.timedelta(days=2)


def test_early_open_order_is_deferred_and_one_not_needed_is_cancelled():
    # Nothing on hand; 10 needed in b4. PO-1 (10, due b1) covers it: needed in b4 -> defer. PO-2 (5, due b2)
    # comes after PO-1 in due order and nothing is left for it -> cancel.
    _, actions = messages([item("A")], [("PO-1", "A", 1, 10.0), ("PO-2", "A", 2, 5.0)], demand=[("A", 4, 10)])
    assert summary(actions) == [("cancel", "PO-2", None, None, 0.0), ("defer", "PO-1", None, week(4), None)]


def test_planned_order_in_the_bucket_of_an_open_order_becomes_an_increase():
    # 30 needed in b2, PO-1 brings 10 in b2: lot-for-lot plans 20 in b2 (no lead time, released in b2).
    # With a three-bucket release window the planned order would be "new"; the open order absorbs it instead.
    _, actions = messages(
        [item("A")], [("PO-1", "A", 2, 10.0)], demand=[("A", 2, 30)], policy=ActionPolicy(release_buckets=3)
    )
    assert summary(actions) == [("increase", "PO-1", None, None, 30.0)]
    assert actions["old_quantity"].item() == 10.0


def test_a_past_due_planned_order_is_new_with_its_reason():
    result, actions = messages([item("A", 10)], [], demand=[("A", 1, 8)])
    assert result.planned_orders["is_past_due"].to_list() == [True]
    assert summary(actions) == [("new", None, 1, week(1), 8.0)]
    assert actions["reason"].item() == "release is past due: needed inside the lead time"


def test_planned_orders_outside_the_release_window_get_no_message():
    _, actions = messages([item("A", 5)], [], demand=[("A", 3, 8)])
    assert actions.height == 0


def test_dampeners_keep_small_changes_from_the_planner():
    # PO-1 for 100 due in b2, 95 needed from b1: one bucket early and 5 % too much.
    open_orders = [("PO-1", "A", 2, 100.0)]
    plant = {"demand": [("A", 1, 95)]}
    _, strict = messages([item("A")], open_orders, **plant)
    assert [a for a, *_ in summary(strict)] == ["reduce", "expedite"]
    _, damped = messages(
        [item("A")],
        open_orders,
        policy=ActionPolicy(reschedule_in_buckets=1, quantity_tolerance=0.05),
        **plant,
    )
    assert damped.height == 0


def test_open_orders_with_line_numbers_and_bucket_indices():
    result = plan([item("A")], receipts=[("A", 3, 5.0)], demand=[("A", 1, 5)])
    frame = pl.DataFrame(
        {"order_number": ["PO-7"], "line_number": [2], "sku": ["A"], "due_week": [3], "open_quantity": [5.0]}
    )
    actions = action_messages(result, frame, Horizon.weekly(START, 6))
    assert summary(actions) == [("expedite", "PO-7/2", None, week(1), None)]


def test_bad_open_orders_are_named():
    result = plan([item("A")], demand=[("A", 1, 5)])
    horizon = Horizon.weekly(START, 6)
    with pytest.raises(ActionInputError, match="lacks the column"):
        action_messages(result, pl.DataFrame({"sku": ["A"], "open_quantity": [1.0]}), horizon)
    with pytest.raises(ActionInputError, match=r"row 0 \(order 'PO-1'\): open_quantity .* got -3.0"):
        action_messages(result, receipts(("PO-1", "A", 1, -3.0)), horizon)
    with pytest.raises(ActionInputError, match=r"not in the plan: \['ZZ'\]"):
        action_messages(result, receipts(("PO-1", "ZZ", 1, 3.0)), horizon)
    with pytest.raises(ActionInputError, match="quantity_tolerance"):
        ActionPolicy(quantity_tolerance=1.5)


@settings(max_examples=60, deadline=None)
@given(plants())
def test_messages_are_consistent_with_their_orders_and_do_not_depend_on_row_order(plant):
    receipts_rows = [(f"PO-{k}", sku, bucket, quantity) for k, (sku, bucket, quantity) in enumerate(plant["receipts"])]
    result = plan(**plant, buckets=BUCKETS)
    horizon = Horizon.weekly(START, BUCKETS)
    actions = action_messages(result, receipts(*receipts_rows), horizon)
    for row in actions.iter_rows(named=True):
        if row["action"] in ("reduce", "cancel"):
            assert row["new_quantity"] < row["old_quantity"]
        if row["action"] in ("expedite", "defer"):
            due = horizon.bucket_of(pl.Series([row["old_date"]], dtype=pl.Date))[0]
            assert (row["need_bucket"] < due) == (row["action"] == "expedite")
        if row["action"] == "increase":
            assert row["new_quantity"] > row["old_quantity"]
    new_ids = set(actions.filter(pl.col("action") == "new")["planned_order_id"])
    assert new_ids <= set(result.planned_orders.filter(pl.col("release_bucket") < 1)["order_id"])
    again = action_messages(result, receipts(*receipts_rows).reverse(), horizon)
    assert again.equals(actions)

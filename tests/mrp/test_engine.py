"""Regenerative multi-level MRP (PL-3): worked examples, the conventions of PRODUCT §1, and properties.

Buckets are 0-based; the textbooks count periods from 1, so "period 3" in a comment is bucket 2. Lead times
are working days on a five-day week unless a test sets a calendar, so 5 days = one bucket.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrp.engine import LOT_SIZE_RULES, RECORD_COLUMNS, MrpInputError, MrpPlan, run_mrp
from mrp.horizon import Horizon
from mrp.lotsizing import lot_size
from mrp.netting import uncovered_requirements
from tests.mrp.plants import BOM_SCHEMA, BUCKETS, ITEM_SCHEMA, START, item, line, plan, plants


def row(result: MrpPlan, sku: str, column: str) -> list[float]:
    values = result.records.filter(pl.col("sku") == sku).sort("bucket")[column].to_list()
    return [round(value, 6) for value in values]


def orders(result: MrpPlan, sku: str) -> list[tuple[int, int, float, bool]]:
    frame = result.planned_orders.filter(pl.col("sku") == sku)
    return [
        (r["release_bucket"], r["receipt_bucket"], round(r["quantity"], 6), r["is_past_due"])
        for r in frame.iter_rows(named=True)
    ]


# --- Worked examples -------------------------------------------------------------------------------------


def test_issue_netting_on_hand_100_gross_60_60_30_nets_0_20_30():
    result = plan([item("A")], on_hand={"A": 100}, demand=[("A", 0, 60), ("A", 1, 60), ("A", 2, 30)], buckets=3)
    assert row(result, "A", "net_requirements") == [0, 20, 30]  # not 0, 20, 50: a shortage counts once
    assert row(result, "A", "planned_receipts") == [0, 20, 30]
    assert row(result, "A", "projected_on_hand") == [40, 0, 0]


def test_issue_scrap_0_15_per_parent_with_2_percent_scrap_needs_153_06_for_1000():
    result = plan(
        [item("FG"), item("RM")],
        bom=[line("FG", "RM", 0.15, 0.02)],
        demand=[("FG", 1, 1000)],
        buckets=2,
    )
    assert round(row(result, "RM", "gross_requirements")[1], 2) == 153.06


def test_textbook_product_z_lot_for_lot_explodes_at_each_release():
    # Problem statement as posed e.g. at tutorsglobe.com/question/mrp-planning-schedule-showing-gross-and-
    # net-requirements-557214.aspx (a classic Chase/Jacobs-style exercise): Z = 2 A + 3 B, A = 4 C + 4 D,
    # D = 2 E; lead times Z 2 weeks, A B C D 1 week, E 3 weeks; 59 Z in period 10; nothing on hand.
    # The answer below is hand-derived (periods 1-based in the comments):
    # Z released in period 8; A 118 and B 177 needed in 8, released in 7; C 472 and D 472 needed in 7,
    # released in 6; E 944 needed in 6, released in 3.
    result = plan(
        [item("Z", 10), item("A", 5), item("B", 5), item("C", 5), item("D", 5), item("E", 15)],
        bom=[line("Z", "A", 2), line("Z", "B", 3), line("A", "C", 4), line("A", "D", 4), line("D", "E", 2)],
        demand=[("Z", 9, 59)],
        buckets=10,
    )
    assert orders(result, "Z") == [(7, 9, 59, False)]
    assert orders(result, "A") == [(6, 7, 118, False)]
    assert orders(result, "B") == [(6, 7, 177, False)]
    assert orders(result, "C") == [(5, 6, 472, False)]
    assert orders(result, "D") == [(5, 6, 472, False)]
    assert orders(result, "E") == [(2, 5, 944, False)]
    assert dict(result.items.select("sku", "low_level_code").iter_rows()) == {
        "Z": 0,
        "A": 1,
        "B": 1,
        "C": 2,
        "D": 2,
        "E": 3,
    }


def test_hand_derived_three_level_record_with_safety_stock_fixed_lots_scrap_and_past_due():
    # Hand-derived, bucket by bucket (0-based):
    # FG: on hand 20, safety stock 5, LFL, 1 week. Demand 30 (b1), 40 (b3), 25 (b5).
    #   b1: net = 30 + 5 - 20 = 15, projected 5; b3: net 40; b5: net 25. Releases 15 (b0), 40 (b2), 25 (b4).
    # SUB: 2 per FG, FOQ 100, 2 weeks, on hand 10, scheduled receipt 50 in b1.
    #   gross 30 (b0), 80 (b2), 50 (b4). b0: net 30 - 10 = 20 -> one lot of 100 received in b0, released in
    #   b-2: past due. Projected 80, 130 (+50 scheduled), 50, 50, 0, 0: no further order.
    # RAW: 1 per FG, 3 per SUB with 25 % scrap (4 per SUB), LFL, 1 week, on hand 400.
    #   gross: 15 + 400 (the past-due SUB release lands in b0) = 415 (b0), 40 (b2), 25 (b4).
    #   net 15 (b0, released b-1: past due), 40 (b2, released b1), 25 (b4, released b3).
    result = plan(
        [
            item("FG", 5, safety_stock_override=5.0),
            item("SUB", 10, "FOQ", fixed_lot_qty=100.0),
            item("RAW", 5),
        ],
        bom=[line("FG", "SUB", 2), line("FG", "RAW", 1), line("SUB", "RAW", 3, 0.25)],
        on_hand={"FG": 20, "SUB": 10, "RAW": 400},
        receipts=[("SUB", 1, 50)],
        demand=[("FG", 1, 30), ("FG", 3, 40), ("FG", 5, 25)],
    )
    assert row(result, "FG", "projected_on_hand") == [20, 5, 5, 5, 5, 5]
    assert row(result, "FG", "net_requirements") == [0, 15, 0, 40, 0, 25]
    assert row(result, "FG", "planned_releases") == [15, 0, 40, 0, 25, 0]
    assert row(result, "SUB", "gross_requirements") == [30, 0, 80, 0, 50, 0]
    assert row(result, "SUB", "projected_on_hand") == [80, 130, 50, 50, 0, 0]
    assert row(result, "SUB", "net_requirements") == [20, 0, 0, 0, 0, 0]
    assert orders(result, "SUB") == [(-2, 0, 100, True)]
    assert row(result, "SUB", "planned_releases") == [100, 0, 0, 0, 0, 0]
    assert row(result, "SUB", "past_due_releases") == [100, 0, 0, 0, 0, 0]
    assert row(result, "RAW", "gross_requirements") == [415, 0, 40, 0, 25, 0]
    assert orders(result, "RAW") == [(-1, 0, 15, True), (1, 2, 40, False), (3, 4, 25, False)]


# --- Conventions -----------------------------------------------------------------------------------------


def test_explosion_uses_the_parents_release_bucket_not_its_need_bucket():
    result = plan([item("P", 10), item("C")], bom=[line("P", "C", 3)], demand=[("P", 4, 10)])
    assert row(result, "C", "gross_requirements") == [0, 0, 30, 0, 0, 0]


def test_lead_time_offset_follows_the_working_days_of_the_calendar():
    # 3 working days fit in the week before; a week without working days (collective vacation) is skipped.
    horizon = Horizon.weekly(START, 5, working_days=[5, 5, 0, 5, 5])
    result = plan([item("A", 3), item("B", 5)], demand=[("A", 4, 1), ("B", 3, 1)], horizon=horizon)
    assert orders(result, "A") == [(3, 4, 1, False)]
    assert orders(result, "B") == [(1, 3, 1, False)]


def test_horizon_from_the_factory_calendar_counts_its_working_days():
    holiday = dt.date(2026, 1, 13)
    calendar = pl.DataFrame({"calendar_date": [holiday], "is_working_day": [False]})
    horizon = Horizon.from_factory_calendar(calendar, START, 3)
    assert horizon.working_days.tolist() == [5, 4, 5]
    assert horizon.release_buckets(np.array([2]), np.array([10])).tolist() == [-1]  # 5 + 4 < 10


def test_past_due_release_is_flagged_and_kept():
    result = plan([item("A", 10), item("C")], bom=[line("A", "C")], demand=[("A", 1, 7)], buckets=3)
    assert orders(result, "A") == [(-1, 1, 7, True)]
    assert row(result, "A", "planned_releases") == [7, 0, 0]
    assert row(result, "A", "past_due_releases") == [7, 0, 0]
    assert row(result, "C", "gross_requirements") == [7, 0, 0]  # released now: the component is needed now
    assert result.planned_orders.filter(pl.col("sku") == "A")["release_date"].to_list() == [START]


def test_phantom_requirements_pass_through_to_its_components_without_a_planned_order():
    # FG (1 week) -> PH (phantom, 2 per FG, lead time ignored, 5 on hand used first) -> C (3 per PH).
    result = plan(
        [item("FG", 5), item("PH", 15, "FOQ", fixed_lot_qty=500.0, is_phantom=True), item("C")],
        bom=[line("FG", "PH", 2), line("PH", "C", 3)],
        on_hand={"PH": 5},
        demand=[("FG", 3, 10)],
    )
    assert orders(result, "PH") == []
    assert row(result, "PH", "gross_requirements") == [0, 0, 20, 0, 0, 0]
    assert row(result, "PH", "planned_releases") == [0, 0, 15, 0, 0, 0]
    assert row(result, "C", "gross_requirements") == [0, 0, 45, 0, 0, 0]
    assert orders(result, "C") == [(2, 2, 45, False)]


def test_bom_validity_dates_switch_the_component_by_the_release_bucket():
    # Engineering change: OLD applies through Sunday 18/01 (bucket 1), NEW from Monday 19/01 (bucket 2).
    result = plan(
        [item("FG"), item("OLD"), item("NEW")],
        bom=[
            line("FG", "OLD", valid_to=dt.date(2026, 1, 18)),
            line("FG", "NEW", valid_from=dt.date(2026, 1, 19)),
        ],
        demand=[("FG", b, 10) for b in range(4)],
        buckets=4,
    )
    assert row(result, "OLD", "gross_requirements") == [10, 10, 0, 0]
    assert row(result, "NEW", "gross_requirements") == [0, 0, 10, 10]


def test_lot_sizing_rule_and_modifiers_apply_and_excess_is_carried_forward():
    # WW with K = 100, h = 1 on 50, 60, 90, 70 orders 110 and 160 (issue 5); then a multiple of 25 and
    # FOQ 120 with min lot 150.
    demand = [("WW", b, q) for b, q in enumerate([50, 60, 90, 70])]
    demand += [("FOQ", b, q) for b, q in enumerate([50, 60, 90, 70])]
    result = plan(
        [
            item("WW", lot_size_rule="WW", setup_cost=100.0, holding_cost=1.0),
            item("FOQ", lot_size_rule="FOQ", fixed_lot_qty=120.0, min_lot=150.0, lot_multiple=25.0),
        ],
        demand=demand,
        buckets=4,
    )
    assert row(result, "WW", "planned_receipts") == [110, 0, 160, 0]
    assert row(result, "WW", "net_requirements") == [50, 0, 90, 0]  # bucket 1 is covered by bucket 0's lot
    assert row(result, "FOQ", "planned_receipts") == [150, 0, 150, 0]
    assert row(result, "FOQ", "projected_on_hand") == [100, 40, 100, 30]


def test_dates_map_to_buckets_overdue_counts_now_and_beyond_the_horizon_is_ignored():
    horizon = Horizon.weekly(START, 3)
    result = run_mrp(
        pl.DataFrame([item("A")], schema=ITEM_SCHEMA),
        pl.DataFrame([], schema=BOM_SCHEMA),
        pl.DataFrame({"sku": ["A"], "nettable_on_hand": [0.0]}),
        pl.DataFrame(
            {
                "sku": ["A", "A", "A"],
                "due_week": [dt.date(2025, 12, 29), dt.date(2026, 1, 14), dt.date(2026, 1, 26)],
                "open_quantity": [4.0, 6.0, 1000.0],
            }
        ),
        pl.DataFrame({"sku": ["A"], "bucket": [dt.date(2026, 1, 21)], "quantity": [20.0]}),
        horizon,
    )
    assert row(result, "A", "scheduled_receipts") == [4, 6, 0]
    assert row(result, "A", "gross_requirements") == [0, 0, 20]
    assert row(result, "A", "planned_receipts") == [0, 0, 10]


def test_safety_stock_frame_is_used_unless_the_item_overrides_it():
    items = pl.DataFrame([item("A"), item("B", safety_stock_override=3.0)], schema=ITEM_SCHEMA)
    result = run_mrp(
        items,
        pl.DataFrame([], schema=BOM_SCHEMA),
        pl.DataFrame({"sku": [], "nettable_on_hand": []}, schema={"sku": pl.String, "nettable_on_hand": pl.Float64}),
        pl.DataFrame({"sku": [], "due_week": [], "open_quantity": []}, schema=["sku", "due_week", "open_quantity"]),
        pl.DataFrame({"sku": ["A", "B"], "bucket": [1, 1], "quantity": [10.0, 10.0]}),
        Horizon.weekly(START, 2),
        safety_stock=pl.DataFrame({"sku": ["A", "B"], "safety_stock": [7.0, 7.0]}),
    )
    assert row(result, "A", "planned_receipts") == [7, 10]
    assert row(result, "B", "planned_receipts") == [3, 10]


@pytest.mark.parametrize(
    ("items", "demand", "message"),
    [
        ([item("A")], [("GHOST", 0, 1)], "demand names SKUs that are not in items: GHOST"),
        ([item("A", lot_size_rule="XYZ")], [], "item 'A': unknown lot_size_rule 'XYZ'"),
        ([item("A", lot_size_rule="FOQ")], [("A", 0, 1)], "item 'A': fixed_order_quantity needs quantity"),
        ([item("A")], [("A", 0, -1)], "demand row 0: quantity must be a finite number >= 0"),
    ],
)
def test_bad_inputs_are_refused_with_the_item_named(items, demand, message):
    with pytest.raises(MrpInputError, match=message):
        plan(items, demand=demand)


def test_record_columns_and_shape():
    result = plan([item("A"), item("B")], demand=[("A", 0, 1)], buckets=4)
    assert tuple(result.records.columns) == RECORD_COLUMNS
    assert result.records.height == 8
    assert result.records["bucket_start"].to_list()[:2] == [START, START + dt.timedelta(weeks=1)]


# --- Properties on random plants -------------------------------------------------------------------------


def matrix(result: MrpPlan, column: str) -> np.ndarray:
    return result.records.sort("sku", "bucket")[column].to_numpy().reshape(-1, BUCKETS)


@settings(max_examples=60, deadline=None)
@given(plants())
def test_balance_equation_and_safety_stock_hold_on_random_plants(plant):
    result = plan(**plant, buckets=BUCKETS)
    projected = matrix(result, "projected_on_hand")
    before = np.concatenate((result.items.sort("sku")["on_hand"].to_numpy()[:, None], projected[:, :-1]), axis=1)
    flow = (
        matrix(result, "scheduled_receipts") + matrix(result, "planned_receipts") - matrix(result, "gross_requirements")
    )
    np.testing.assert_allclose(projected, before + flow, atol=1e-6)
    # Past-due releases are kept, so the plan can always reach safety stock: it must, everywhere.
    safety = result.items.sort("sku")["safety_stock"].to_numpy()
    assert np.all(projected >= safety[:, None] - 1e-6)
    assert np.all(matrix(result, "net_requirements") >= 0)


@settings(max_examples=60, deadline=None)
@given(plants())
def test_orders_records_and_explosion_agree_on_random_plants(plant):
    result = plan(**plant, buckets=BUCKETS)
    skus = result.items.sort("sku")["sku"].to_list()
    position = {sku: k for k, sku in enumerate(skus)}
    from_orders = np.zeros((len(skus), BUCKETS))
    released = np.zeros((len(skus), BUCKETS))
    for order in result.planned_orders.iter_rows(named=True):
        from_orders[position[order["sku"]], order["receipt_bucket"]] += order["quantity"]
        released[position[order["sku"]], max(order["release_bucket"], 0)] += order["quantity"]
        assert order["is_past_due"] == (order["release_bucket"] < 0)
    phantom = result.items.sort("sku")["is_phantom"].to_numpy()
    np.testing.assert_allclose(from_orders[~phantom], matrix(result, "planned_receipts")[~phantom], atol=1e-6)
    np.testing.assert_allclose(released[~phantom], matrix(result, "planned_releases")[~phantom], atol=1e-6)
    expected = np.zeros((len(skus), BUCKETS))
    mondays = np.array([START + dt.timedelta(weeks=k) for k in range(BUCKETS)])
    for edge in plant["bom"]:
        valid = np.array([edge["valid_from"] is None or edge["valid_from"] <= d for d in mondays])
        factor = edge["qty_per"] / (1 - edge["scrap_rate"])
        parent_releases = matrix(result, "planned_releases")[position[edge["parent_sku"]]]
        expected[position[edge["component_sku"]]] += parent_releases * factor * valid
    np.testing.assert_allclose(matrix(result, "dependent_demand"), expected, atol=1e-6)


def reference_mrp(plant: dict) -> dict[str, list[tuple[int, int, float]]]:
    """A plain per-item, per-period MRP, written straight from the textbook loop, for comparison."""
    items = {row["sku"]: row for row in plant["items"]}
    children: dict[str, list[dict]] = {sku: [] for sku in items}
    depth = dict.fromkeys(items, 0)
    for _ in items:  # longest path by repeated relaxation (the plant is a DAG)
        for edge in plant["bom"]:
            depth[edge["component_sku"]] = max(depth[edge["component_sku"]], depth[edge["parent_sku"]] + 1)
    for edge in plant["bom"]:
        children[edge["parent_sku"]].append(edge)
    gross = {sku: [0.0] * BUCKETS for sku in items}
    scheduled = {sku: [0.0] * BUCKETS for sku in items}
    for sku, bucket, quantity in plant["demand"]:
        gross[sku][bucket] += quantity
    for sku, bucket, quantity in plant["receipts"]:
        scheduled[sku][bucket] += quantity
    planned: dict[str, list[tuple[int, int, float]]] = {}
    for sku in sorted(items, key=lambda s: (depth[s], s)):
        row = items[sku]
        phantom = bool(row["is_phantom"])
        safety = 0.0 if phantom else (row["safety_stock_override"] or 0.0)
        balance, net = plant["on_hand"].get(sku, 0.0), []
        for t in range(BUCKETS):
            balance += scheduled[sku][t] - gross[sku][t]
            net.append(max(0.0, safety - balance))
            balance = max(balance, safety)
        if phantom or not any(net):
            lots = [(t, q) for t, q in enumerate(net) if q > 0]
        else:
            params = {"fixed_order_quantity": {"quantity": row["fixed_lot_qty"]}}.get(
                LOT_SIZE_RULES[row["lot_size_rule"]], {}
            )
            modifiers = {"min_lot": row["min_lot"], "multiple": row["lot_multiple"], "max_lot": row["max_lot"]}
            lots = lot_size(
                net,
                LOT_SIZE_RULES[row["lot_size_rule"]],
                setup_cost=100.0 if row["setup_cost"] is None else row["setup_cost"],
                holding_cost=0.25 / 52 if row["holding_cost"] is None else row["holding_cost"],
                **params,
                **{key: value for key, value in modifiers.items() if value is not None},
            ).orders
        lead = 0 if phantom else math.ceil(row["lead_time_days"] / 5)
        planned[sku] = [(t - lead, t, q) for t, q in lots]
        for release, _, quantity in planned[sku]:
            start = START + dt.timedelta(weeks=max(release, 0))
            for edge in children[sku]:
                if edge["valid_from"] is None or edge["valid_from"] <= start:
                    factor = edge["qty_per"] / (1 - edge["scrap_rate"])
                    gross[edge["component_sku"]][max(release, 0)] += quantity * factor
    return {sku: lots for sku, lots in planned.items() if lots and not items[sku]["is_phantom"]}


@settings(max_examples=60, deadline=None)
@given(plants())
def test_engine_matches_a_plain_per_period_reference_on_random_plants(plant):
    result = plan(**plant, buckets=BUCKETS)
    engine = {}
    for order in result.planned_orders.iter_rows(named=True):
        engine.setdefault(order["sku"], []).append(
            (order["release_bucket"], order["receipt_bucket"], order["quantity"])
        )
    reference = reference_mrp(plant)
    assert engine.keys() == reference.keys()
    for sku, lots in reference.items():
        assert [(r, t) for r, t, _ in engine[sku]] == [(r, t) for r, t, _ in lots], sku
        assert [q for _, _, q in engine[sku]] == pytest.approx([q for _, _, q in lots], rel=1e-9), sku


@settings(max_examples=30, deadline=None)
@given(plants(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_row_order(plant, rnd):
    shuffled = dict(plant)
    for key in ("items", "bom", "receipts", "demand"):
        shuffled[key] = rnd.sample(list(plant[key]), len(plant[key]))
    shuffled["on_hand"] = dict(rnd.sample(list(plant["on_hand"].items()), len(plant["on_hand"])))
    first, second = plan(**plant, buckets=BUCKETS), plan(**shuffled, buckets=BUCKETS)
    assert first.records.equals(second.records)
    assert first.planned_orders.equals(second.planned_orders)


def test_uncovered_requirements_never_double_count_a_shortage():
    gross = np.array([[60.0, 60, 30, 0, 10]])
    scheduled = np.array([[0.0, 0, 0, 100, 0]])
    net = uncovered_requirements(gross, scheduled, np.array([100.0]), np.array([0.0]))
    assert net.tolist() == [[0, 20, 30, 0, 0]]

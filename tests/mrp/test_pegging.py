"""Pegging (PL-5): every supply's demands, FIFO, traced up to the finished good's independent demand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings

from mrp.horizon import Horizon
from mrp.pegging import PEG_COLUMNS, peg, trace_to_end_demand
from tests.mrp.plants import BOM_SCHEMA, BUCKETS, START, item, line, plan, plants


def run(buckets: int = 6, **plant):
    result = plan(**plant, buckets=buckets)
    pegs = peg(result, pl.DataFrame(list(plant.get("bom", [])), schema=BOM_SCHEMA), Horizon.weekly(START, buckets))
    return result, pegs


def test_product_z_raw_material_is_pegged_to_the_finished_goods_demand():
    # The hand-derived Product Z plan of test_engine: E's 944 serve the 59 Z due in period 10 (bucket 9).
    result, pegs = run(
        buckets=10,
        items=[item("Z", 10), item("A", 5), item("B", 5), item("C", 5), item("D", 5), item("E", 15)],
        bom=[line("Z", "A", 2), line("Z", "B", 3), line("A", "C", 4), line("A", "D", 4), line("D", "E", 2)],
        demand=[("Z", 9, 59)],
    )
    assert tuple(pegs.columns) == PEG_COLUMNS
    e_order = result.planned_orders.filter(pl.col("sku") == "E")["order_id"].item()
    ends = trace_to_end_demand(pegs, [e_order])
    assert ends.filter(pl.col("order_id") == e_order).select("end_sku", "end_bucket", "quantity").rows() == [
        ("Z", 9, 944.0)
    ]
    assert pegs.filter(pl.col("sku") == "E")["parent_sku"].to_list() == ["D"]


def test_fifo_pegs_on_hand_first_and_leftover_to_stock():
    # On hand 20, safety stock 5, LFL, demand 30 (b1), 40 (b3), 25 (b5): receipts 15 (b1), 40 (b3), 25 (b5).
    # FIFO: on hand 20 + 10 of the b1 order serve b1; the order's other 5 and 35 of the b3 order serve b3;
    # 5 + 20 serve b5; 5 stay as (safety) stock.
    _, pegs = run(
        items=[item("FG", 5, safety_stock_override=5.0)],
        on_hand={"FG": 20},
        demand=[("FG", 1, 30), ("FG", 3, 40), ("FG", 5, 25)],
    )
    assert pegs.select("supply_type", "supply_bucket", "demand_type", "demand_bucket", "quantity").rows() == [
        ("on_hand", -1, "independent", 1, 20.0),
        ("planned", 1, "independent", 1, 10.0),
        ("planned", 1, "independent", 3, 5.0),
        ("planned", 3, "independent", 3, 35.0),
        ("planned", 3, "independent", 5, 5.0),
        ("planned", 5, "independent", 5, 20.0),
        ("planned", 5, "stock", None, 5.0),
    ]


def test_pegging_goes_through_a_phantom():
    result, pegs = run(
        items=[item("FG", 5), item("PH", is_phantom=True), item("C", 5)],
        bom=[line("FG", "PH", 2), line("PH", "C", 3)],
        demand=[("FG", 4, 10)],
    )
    c_order = result.planned_orders.filter(pl.col("sku") == "C")["order_id"].item()
    ends = trace_to_end_demand(pegs, [c_order])
    assert ends.select("end_sku", "end_bucket", "quantity").rows() == [("FG", 4, 60.0)]
    assert pegs.filter(pl.col("sku") == "PH")["supply_type"].to_list() == ["pass_through"]


@settings(max_examples=40, deadline=None)
@given(plants())
def test_pegs_cover_every_supply_and_demand_and_never_peg_backwards(plant):
    result = plan(**plant, buckets=BUCKETS)
    pegs = peg(result, pl.DataFrame(plant["bom"], schema=BOM_SCHEMA), Horizon.weekly(START, BUCKETS))
    # every planned order is pegged in full
    pegged = pegs.filter(pl.col("supply_type") == "planned").group_by("supply_key").agg(pl.col("quantity").sum())
    orders = result.planned_orders.join(pegged, left_on="order_id", right_on="supply_key", how="left")
    np.testing.assert_allclose(orders["quantity_right"].fill_null(0).to_numpy(), orders["quantity"].to_numpy())
    # every gross requirement is served, independent and dependent alike
    served = (
        pegs.filter(pl.col("demand_type") != "stock")
        .group_by("sku", pl.col("demand_bucket").alias("bucket"))
        .agg(pl.col("quantity").sum().alias("served"))
    )
    gross = result.records.join(served, on=["sku", "bucket"], how="left")
    np.testing.assert_allclose(
        gross["served"].fill_null(0).to_numpy(), gross["gross_requirements"].to_numpy(), atol=1e-6
    )
    # a receipt never serves a demand before it arrives
    demand_pegs = pegs.filter(pl.col("demand_type") != "stock")
    assert (demand_pegs["supply_bucket"] <= demand_pegs["demand_bucket"]).all()
    # traced up, each order's quantity is split over end demands and stock without loss
    ends = trace_to_end_demand(pegs, result.planned_orders["order_id"])
    ends = ends.group_by("order_id").agg(pl.col("quantity").sum())
    traced = result.planned_orders.join(ends, on="order_id", how="left")
    assert traced["quantity_right"].to_numpy() == pytest.approx(traced["quantity"].to_numpy(), rel=1e-9, abs=1e-6)

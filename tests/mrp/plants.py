"""Random and hand-built plants for the MRP tests: frames with the marts' columns, built from short literals."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import strategies as st

from mrp.engine import LOT_SIZE_RULES, MrpPlan, run_mrp
from mrp.horizon import Horizon

START = dt.date(2026, 1, 5)  # a Monday

ITEM_SCHEMA = {
    "sku": pl.String,
    "lead_time_days": pl.Int32,
    "lot_size_rule": pl.String,
    "fixed_lot_qty": pl.Float64,
    "min_lot": pl.Float64,
    "max_lot": pl.Float64,
    "lot_multiple": pl.Float64,
    "safety_stock_override": pl.Float64,
    "is_phantom": pl.Boolean,
    "setup_cost": pl.Float64,
    "holding_cost": pl.Float64,
    "replenishment": pl.String,
}
BOM_SCHEMA = {
    "parent_sku": pl.String,
    "component_sku": pl.String,
    "qty_per": pl.Float64,
    "scrap_rate": pl.Float64,
    "valid_from": pl.Date,
    "valid_to": pl.Date,
}


def item(sku: str, lead_time_days: int = 0, lot_size_rule: str = "LFL", **values) -> dict:
    return {name: None for name in ITEM_SCHEMA} | {
        "sku": sku,
        "lead_time_days": lead_time_days,
        "lot_size_rule": lot_size_rule,
        **values,
    }


def line(parent: str, component: str, qty_per: float = 1.0, scrap_rate: float = 0.0, valid_from=None, valid_to=None):
    return {
        "parent_sku": parent,
        "component_sku": component,
        "qty_per": qty_per,
        "scrap_rate": scrap_rate,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }


def plan(
    items: list[dict],
    bom: list[dict] = (),
    on_hand: dict[str, float] | None = None,
    receipts: list[tuple[str, int, float]] = (),
    demand: list[tuple[str, int, float]] = (),
    buckets: int = 6,
    horizon: Horizon | None = None,
) -> MrpPlan:
    return run_mrp(
        pl.DataFrame(items, schema=ITEM_SCHEMA),
        pl.DataFrame(list(bom), schema=BOM_SCHEMA),
        pl.DataFrame(
            {"sku": list((on_hand or {}).keys()), "nettable_on_hand": list((on_hand or {}).values())},
            schema={"sku": pl.String, "nettable_on_hand": pl.Float64},
        ),
        pl.DataFrame(
            list(receipts), schema={"sku": pl.String, "due_week": pl.Int32, "open_quantity": pl.Float64}, orient="row"
        ),
        pl.DataFrame(list(demand), schema={"sku": pl.String, "bucket": pl.Int32, "quantity": pl.Float64}, orient="row"),
        horizon or Horizon.weekly(START, buckets),
    )


BUCKETS = 8


@st.composite
def plants(draw: st.DrawFn) -> dict:
    """A random multi-level plant with dyadic quantities (exact floating-point sums) and every lot-size rule."""
    n = draw(st.integers(1, 7))
    skus = [f"S{k}" for k in range(n)]
    items = []
    for sku in skus:
        rule = draw(st.sampled_from(sorted(LOT_SIZE_RULES)))
        multiple = draw(st.sampled_from([None, None, 5.0, 8.0]))
        items.append(
            item(
                sku,
                draw(st.sampled_from([0, 3, 5, 10, 15])),
                rule,
                fixed_lot_qty=draw(st.sampled_from([16.0, 40.0])) if rule == "FOQ" else None,
                min_lot=draw(st.sampled_from([None, None, 12.0])),
                lot_multiple=multiple,
                max_lot=draw(st.sampled_from([None, None, 64.0])),
                safety_stock_override=draw(st.sampled_from([None, 0.0, 4.0])),
                is_phantom=draw(st.booleans()) if rule == "LFL" else False,
                setup_cost=draw(st.sampled_from([None, 50.0, 200.0])),
                holding_cost=draw(st.sampled_from([None, 0.5, 1.0])),
            )
        )
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=10)) if pairs else []
    mondays = [START + dt.timedelta(weeks=k) for k in range(BUCKETS)]
    bom = [
        line(
            skus[i],
            skus[j],
            draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
            draw(st.sampled_from([0.0, 0.0, 0.5, 0.75])),
            draw(st.sampled_from([None, *mondays])),
            None,
        )
        for i, j in chosen
    ]
    quantity = st.sampled_from([0.0, 1.0, 4.0, 10.0, 25.0, 60.0])
    return {
        "items": items,
        "bom": bom,
        "on_hand": {sku: draw(quantity) for sku in skus if draw(st.booleans())},
        "receipts": draw(st.lists(st.tuples(st.sampled_from(skus), st.integers(0, BUCKETS - 1), quantity), max_size=4)),
        "demand": draw(
            st.lists(st.tuples(st.sampled_from(skus), st.integers(0, BUCKETS - 1), quantity), max_size=3 * n)
        ),
    }

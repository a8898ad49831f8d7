"""A small synthetic plant as :class:`mrp.runs.PlanInputs`: every frame the weekly plan reads, built by hand.

Two finished goods (FG1 lot-for-lot, FG2 Wagner-Whitin with a safety stock override) share a semi-finished
SA1 (POQ), which needs the bought raw material RM1 (supplier MOQ 100, multiple 10); FG2 also needs RM2 (FOQ
100) and FG1 a packaging PK1 whose max lot of 30 splits orders. Lead times of 5 to 15 working days put some
releases before bucket 0 (past due). Week 0 has a firm order for FG1 above its forecast.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from mrp.horizon import Horizon
from mrp.runs import PlanInputs

ORIGIN = dt.date(2025, 12, 29)  # a Monday: the last week of history
FIRST_WEEK = ORIGIN + dt.timedelta(weeks=1)
BUCKETS = 8


def week(k: int) -> dt.date:
    return FIRST_WEEK + dt.timedelta(weeks=k)


ITEMS = pl.DataFrame(
    [
        ("FG1", "finished", "make", 5, "LFL", None, None, None, None, None, False, 40.0, "A", 0.0),
        ("FG2", "finished", "make", 5, "WW", None, None, None, None, 5.0, False, 60.0, "B", 0.0),
        ("SA1", "semi_finished", "make", 5, "POQ", None, None, None, None, None, False, 10.0, None, 0.0),
        ("RM1", "raw_material", "buy", 10, "LFL", None, None, None, None, None, False, 1.5, None, 1.0),
        ("RM2", "raw_material", "buy", 15, "FOQ", 100.0, None, None, None, None, False, 2.0, None, 0.0),
        ("PK1", "packaging", "buy", 0, "LFL", None, None, 30.0, None, None, False, 0.1, None, 0.0),
    ],
    schema={
        "sku": pl.String,
        "item_type": pl.String,
        "replenishment": pl.String,
        "lead_time_days": pl.Int32,
        "lot_size_rule": pl.String,
        "fixed_lot_qty": pl.Float64,
        "min_lot": pl.Float64,
        "max_lot": pl.Float64,
        "lot_multiple": pl.Float64,
        "safety_stock_override": pl.Float64,
        "is_phantom": pl.Boolean,
        "standard_cost": pl.Float64,
        "abc_class": pl.String,
        "lead_time_std_days": pl.Float64,
    },
    orient="row",
)

BOM = pl.DataFrame(
    [
        ("FG1", "SA1", 2.0, 0.0),
        ("FG1", "PK1", 1.0, 0.0),
        ("FG2", "SA1", 1.0, 0.0),
        ("FG2", "RM2", 0.5, 0.0),
        ("SA1", "RM1", 3.0, 0.02),
    ],
    schema={"parent_sku": pl.String, "component_sku": pl.String, "qty_per": pl.Float64, "scrap_rate": pl.Float64},
    orient="row",
).with_columns(pl.lit(None, pl.Date).alias("valid_from"), pl.lit(None, pl.Date).alias("valid_to"))


def forecasts(fg1: float = 20.0, fg2: float = 12.0) -> pl.DataFrame:
    """Selected volume forecasts of the two finished goods, constant per week, with a spread of quantiles."""
    rows = []
    for sku, p50 in (("FG1", fg1), ("FG2", fg2)):
        for k in range(BUCKETS):
            rows.append((sku, week(k), 0.5 * p50, 0.8 * p50, p50, 1.2 * p50, 1.5 * p50))
    return pl.DataFrame(
        rows, schema=["sku", "bucket_start", "p10", "p25", "p50", "p75", "p90"], orient="row"
    ).with_columns(pl.col("bucket_start").cast(pl.Date))


def calendar() -> pl.DataFrame:
    days = pl.date_range(ORIGIN, week(BUCKETS), eager=True)
    return pl.DataFrame({"calendar_date": days, "is_working_day": days.dt.weekday() <= 5})


def capacity() -> pl.DataFrame:
    days = calendar()
    return pl.concat(
        days.select(
            pl.lit(code).alias("work_center_code"),
            "calendar_date",
            pl.when(pl.col("is_working_day")).then(pl.lit(hours)).otherwise(0.0).alias("available_hours"),
        )
        for code, hours in (("WC1", 8.0), ("WC2", 2.0))
    )


def plan_inputs(fg1: float = 20.0, fg2: float = 12.0, *, shuffle_seed: int | None = None) -> PlanInputs:
    """The plant's inputs; ``shuffle_seed`` shuffles the row order of every frame (the plan must not change)."""

    def rows(frame: pl.DataFrame) -> pl.DataFrame:
        return frame if shuffle_seed is None else frame.sample(fraction=1.0, shuffle=True, seed=shuffle_seed)

    scheduled = pl.DataFrame(
        [
            ("purchase", "PO-1", 1, "RM1", "S1", None, week(1), week(1), 40.0),
            ("production", "OP-1", 1, "SA1", None, ORIGIN, week(0), week(0), 10.0),
        ],
        schema={
            "order_type": pl.String,
            "order_number": pl.String,
            "line_number": pl.Int32,
            "sku": pl.String,
            "supplier_code": pl.String,
            "release_date": pl.Date,
            "due_date": pl.Date,
            "due_week": pl.Date,
            "open_quantity": pl.Float64,
        },
        orient="row",
    )
    return PlanInputs(
        origin=ORIGIN,
        horizon=Horizon.from_factory_calendar(calendar(), FIRST_WEEK, BUCKETS),
        items=rows(ITEMS),
        bom_edges=rows(BOM),
        inventory=rows(pl.DataFrame({"sku": ["FG1", "SA1", "RM1"], "nettable_on_hand": [10.0, 5.0, 50.0]})),
        scheduled_receipts=rows(scheduled),
        customer_orders=pl.DataFrame({"sku": ["FG1"], "due_week": [week(0)], "quantity": [30.0]}),
        forecasts=rows(forecasts(fg1, fg2)),
        demand_stats=pl.DataFrame({"sku": ["FG1", "FG2"], "demand_mean": [fg1, fg2], "demand_std": [5.0, 4.0]}),
        item_suppliers=pl.DataFrame(
            [
                ("RM1", "S1", 10.0, 8, 14, 1.5, 100.0, 10.0, True),
                ("RM1", "S2", 12.0, 10, 14, 1.2, None, None, False),
                ("RM2", "S2", 15.0, 15, 15, 2.0, None, None, True),
                ("PK1", "S1", 0.0, 0, 0, 0.1, None, None, True),
            ],
            schema={
                "sku": pl.String,
                "supplier_code": pl.String,
                "lead_time_days": pl.Float64,
                "lead_time_min_days": pl.Int32,
                "lead_time_max_days": pl.Int32,
                "unit_price": pl.Float64,
                "moq": pl.Float64,
                "order_multiple": pl.Float64,
                "is_preferred": pl.Boolean,
            },
            orient="row",
        ),
        suppliers=pl.DataFrame(
            {
                "supplier_code": ["S1", "S2"],
                "name": ["Aços Paulista Ltda", "Embalagens Sul S.A."],
                "tax_id": ["11.111.111/0001-11", "22.222.222/0001-22"],
                "payment_terms_days": [30, 45],
            }
        ),
        routings=pl.DataFrame(
            {
                "sku": ["FG1", "FG2", "SA1"],
                "sequence": [10, 10, 10],
                "work_center_code": ["WC1", "WC1", "WC2"],
                "setup_minutes": [30.0, 30.0, 60.0],
                "run_minutes_per_unit": [6.0, 9.0, 4.0],
            }
        ),
        capacity=capacity(),
        calendar=calendar(),
        forecast_accuracy=pl.DataFrame(
            {"sku": ["FG1", "FG2"], "bucket_start": [ORIGIN, ORIGIN], "actual": [30.0, 12.0], "forecast": [20.0, 12.0]}
        ),
    )

"""Reason codes of shortages (PL-5: "every shortage has a reason code").

A plan keeps projected stock at or above safety stock by planning orders, so a *shortage* is a requirement the
plan cannot cover in time:

- ``past_due_release``: a planned order whose release falls before bucket 0 (it should have been released
  already); the shortage is in its receipt bucket;
- ``late_receipt``: an open order that is due after the bucket it is needed in (an ``expedite`` action
  message, :mod:`mrp.actions`); the shortage is in its need bucket.

Each shortage gets every code that applies, and ``reason_code`` is the first of them in this order (the most
actionable cause first):

=================  =================================================================================
``LATE_RECEIPT``   an open order of the item is due after the shortage bucket and needed by then
``DEMAND_SPIKE``   the bucket's gross requirement is above ``spike_factor`` x the item's mean over the buckets
                   that have a requirement
``CAPACITY``       an operation of the order runs in a work center bucket that is not ``ok`` in CRP
``SAFETY_STOCK``   only the safety stock is short: without the bucket's planned receipts projected stock
                   would stay >= 0
``LEAD_TIME``      the requirement falls inside the lead time (every past-due release has it)
=================  =================================================================================

Supplier minimum order quantities cause excess, not shortages; :mod:`mrp.purchasing` reports that rounding.
"""

from __future__ import annotations

import polars as pl

from mrp.crp import CapacityPlan
from mrp.engine import MrpPlan

REASON_CODES: tuple[str, ...] = ("LATE_RECEIPT", "DEMAND_SPIKE", "CAPACITY", "SAFETY_STOCK", "LEAD_TIME")
SHORTAGE_COLUMNS: tuple[str, ...] = (
    "sku",
    "bucket",
    "bucket_start",
    "shortage_type",
    "planned_order_id",
    "order_number",
    "quantity",
    "reason_code",
    "reason_codes",
)
_TOLERANCE = 1e-9


class ReasonInputError(ValueError):
    """An argument the reason codes cannot use."""


def shortage_reasons(
    plan: MrpPlan,
    *,
    actions: pl.DataFrame | None = None,
    capacity: CapacityPlan | None = None,
    spike_factor: float = 2.0,
) -> pl.DataFrame:
    """Every shortage of a plan with its reason codes.

    Args:
        plan: The result of :func:`mrp.engine.run_mrp`.
        actions: The plan's action messages (:func:`mrp.actions.action_messages`): their ``expedite`` rows
            are late receipts. Without them no ``LATE_RECEIPT`` is found.
        capacity: The plan's CRP (:func:`mrp.crp.capacity_requirements`); without it no ``CAPACITY``.
        spike_factor: A bucket whose gross requirement exceeds this multiple of the item's mean (over the
            buckets with a requirement) is a spike.

    Returns:
        :data:`SHORTAGE_COLUMNS`: item, bucket, the shortage (``past_due_release`` with its
        ``planned_order_id``, or ``late_receipt`` with the open ``order_number``), its ``quantity``, the
        primary ``reason_code`` and all ``reason_codes`` (a list). Sorted by item and bucket.
    """
    if not spike_factor > 0:
        raise ReasonInputError(f"spike_factor must be > 0, got {spike_factor}")
    past_due = plan.planned_orders.filter(pl.col("is_past_due")).select(
        "sku",
        pl.col("receipt_bucket").cast(pl.Int32).alias("bucket"),
        pl.lit("past_due_release").alias("shortage_type"),
        pl.col("order_id").alias("planned_order_id"),
        pl.lit(None, pl.String).alias("order_number"),
        "quantity",
    )
    expedites = (
        actions.filter(pl.col("action") == "expedite") if actions is not None else pl.DataFrame(schema=_ACTION_SCHEMA)
    )
    late = expedites.select(
        "sku",
        pl.col("need_bucket").cast(pl.Int32).alias("bucket"),
        pl.lit("late_receipt").alias("shortage_type"),
        pl.lit(None, pl.Int64).alias("planned_order_id"),
        pl.col("order_number").cast(pl.String),
        pl.col("old_quantity").alias("quantity"),
    )
    shortages = pl.concat([past_due, late]).with_row_index("_row")
    records = plan.records.select(
        "sku",
        pl.col("bucket").cast(pl.Int32),
        "bucket_start",
        "gross_requirements",
        (pl.col("projected_on_hand") - pl.col("planned_receipts")).alias("_without_planned"),
        # the mean over buckets with a requirement: a lumpy item's single order is not a spike
        (pl.col("gross_requirements").filter(pl.col("gross_requirements") > 0).mean().over("sku") * spike_factor).alias(
            "_spike_level"
        ),
    )
    safety = plan.items.select("sku", "safety_stock")
    flags = shortages.join(records, on=["sku", "bucket"], how="left").join(safety, on="sku", how="left")
    late_cover = expedites.group_by("sku").agg(pl.col("need_bucket").min().alias("_late_from"))
    flags = flags.join(late_cover, on="sku", how="left").with_columns(
        ((pl.col("shortage_type") == "late_receipt") | (pl.col("_late_from") <= pl.col("bucket")))
        .fill_null(False)
        .alias("LATE_RECEIPT"),
        ((pl.col("gross_requirements") > pl.col("_spike_level") + _TOLERANCE) & (pl.col("gross_requirements") > 0))
        .fill_null(False)
        .alias("DEMAND_SPIKE"),
        pl.col("_row").is_in(_capacity_rows(shortages, capacity).implode()).alias("CAPACITY"),
        (
            (pl.col("shortage_type") == "past_due_release")
            & (pl.col("safety_stock") > 0)
            & (pl.col("_without_planned") >= -_TOLERANCE)
        )
        .fill_null(False)
        .alias("SAFETY_STOCK"),
        (pl.col("shortage_type") == "past_due_release").alias("LEAD_TIME"),
    )
    codes = pl.concat_list(
        [pl.when(pl.col(code)).then(pl.lit(code)).otherwise(pl.lit(None, pl.String)) for code in REASON_CODES]
    ).list.drop_nulls()
    return (
        flags.with_columns(codes.alias("reason_codes"))
        .with_columns(pl.col("reason_codes").list.first().alias("reason_code"))
        .select(SHORTAGE_COLUMNS)
        .sort("sku", "bucket", "shortage_type", "planned_order_id", "order_number", nulls_last=True)
    )


_ACTION_SCHEMA = {
    "sku": pl.String,
    "action": pl.String,
    "order_number": pl.String,
    "need_bucket": pl.Int32,
    "old_quantity": pl.Float64,
}


def _capacity_rows(shortages: pl.DataFrame, capacity: CapacityPlan | None) -> pl.Series:
    """Rows of past-due shortages whose order has an operation in a work center bucket that is not ok."""
    if capacity is None:
        return pl.Series("_row", [], pl.UInt32)
    overloaded = capacity.load.filter(pl.col("suggestion") != "ok").select("work_center_code", "bucket")
    operations = capacity.operations.filter(pl.col("source") == "planned").join(
        overloaded, on=["work_center_code", "bucket"], how="semi"
    )
    return (
        shortages.filter(pl.col("planned_order_id").is_not_null())
        .with_columns(pl.col("planned_order_id").cast(pl.String).alias("order_ref"))
        .join(operations.select("order_ref").unique(), on="order_ref", how="semi")["_row"]
    )

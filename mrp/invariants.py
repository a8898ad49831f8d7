"""The invariants a stored plan must satisfy, each as the frame of the rows that break it (empty = holds).

The weekly plan's blocking asset checks call these (a plan that breaks one must not reach the buyers), and so do
the tests. Tolerances are relative: ``1e-6 x max(1, the item's gross requirements + on hand)``, far above the
floating-point error of a 104-bucket run and far below a unit of anything.

- :func:`balance_violations`: for every item and bucket, ``projected_t = projected_{t-1} + scheduled_t +
  planned_receipts_t - gross_t`` with ``projected_{-1}`` = on hand (PRODUCT §1).
- :func:`past_release_violations`: a planned release before bucket 0 only where the order is flagged
  ``is_past_due`` (and every flagged order has one); release dates never before the plan's first day; the
  records' ``past_due_releases`` only in bucket 0 and equal to the flagged orders' quantity.
- :func:`negative_quantity_violations`: quantities of the MRP record, planned orders and proposals and the
  hours of the capacity load are never negative (planned orders and proposals strictly positive).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from mrp.engine import RECORD_COLUMNS

RELATIVE_TOLERANCE = 1e-6

#: The quantity columns of the MRP record (all but its keys ``sku``, ``bucket``, ``bucket_start``).
_RECORD_QUANTITIES: tuple[str, ...] = RECORD_COLUMNS[3:]
_LOAD_HOURS: tuple[str, ...] = ("planned_load_hours", "released_load_hours", "load_hours", "capacity_hours")


def balance_violations(records: pl.DataFrame, on_hand: pl.DataFrame) -> pl.DataFrame:
    """Item-buckets whose projected on hand does not follow from the bucket before.

    Args:
        records: The MRP record (``sku``, ``bucket``, ``gross_requirements``, ``scheduled_receipts``,
            ``planned_receipts``, ``projected_on_hand``).
        on_hand: ``sku``, ``on_hand`` at the start of bucket 0 (the plan's ``items`` frame); missing = 0.

    Returns:
        ``sku``, ``bucket``, ``expected``, ``projected_on_hand``, ``difference`` of every row that breaks it.
    """
    frame = (
        records.select(
            "sku", "bucket", "gross_requirements", "scheduled_receipts", "planned_receipts", "projected_on_hand"
        )
        .join(on_hand.select("sku", "on_hand"), on="sku", how="left")
        .with_columns(pl.col("on_hand").fill_null(0.0))
        .sort("sku", "bucket")
    )
    before = pl.col("projected_on_hand").shift(1).over("sku").fill_null(pl.col("on_hand"))
    expected = before + pl.col("scheduled_receipts") + pl.col("planned_receipts") - pl.col("gross_requirements")
    scale = pl.max_horizontal(pl.lit(1.0), pl.col("gross_requirements").sum().over("sku") + pl.col("on_hand"))
    return (
        frame.with_columns(expected.alias("expected"))
        .with_columns((pl.col("projected_on_hand") - pl.col("expected")).alias("difference"))
        .filter(pl.col("difference").abs() > RELATIVE_TOLERANCE * scale)
        .select("sku", "bucket", "expected", "projected_on_hand", "difference")
    )


def past_release_violations(planned_orders: pl.DataFrame, records: pl.DataFrame, first_day: dt.date) -> pl.DataFrame:
    """Planned orders (or record rows) whose past-due release is not what their flag says.

    Args:
        planned_orders: ``order_id``, ``sku``, ``release_bucket``, ``release_date``, ``quantity``,
            ``is_past_due``.
        records: ``sku``, ``bucket``, ``past_due_releases``.
        first_day: The first day of bucket 0.

    Returns:
        ``sku``, ``order_id`` (null for a record row), ``problem`` in words.
    """
    orders = planned_orders.select(
        "sku",
        "order_id",
        pl.when((pl.col("release_bucket") < 0) & ~pl.col("is_past_due"))
        .then(pl.lit("released before bucket 0 but not flagged past due"))
        .when((pl.col("release_bucket") >= 0) & pl.col("is_past_due"))
        .then(pl.lit("flagged past due but released inside the horizon"))
        .when(pl.col("release_date") < pl.lit(first_day))
        .then(pl.lit(f"release date before the plan's first day {first_day}"))
        .alias("problem"),
    ).filter(pl.col("problem").is_not_null())
    flagged = (
        planned_orders.filter(pl.col("is_past_due")).group_by("sku").agg(pl.col("quantity").sum().alias("flagged"))
    )
    in_records = records.group_by("sku").agg(
        pl.col("past_due_releases").filter(pl.col("bucket") == 0).sum().alias("bucket_0"),
        pl.col("past_due_releases").filter(pl.col("bucket") != 0).abs().sum().alias("later"),
    )
    mismatched = (
        in_records.join(flagged, on="sku", how="full", coalesce=True)
        .with_columns(pl.col("bucket_0", "later", "flagged").fill_null(0.0))
        .filter(
            (pl.col("later") > 0)
            | (
                (pl.col("bucket_0") - pl.col("flagged")).abs()
                > RELATIVE_TOLERANCE * pl.max_horizontal(pl.lit(1.0), pl.col("flagged"))
            )
        )
        .select(
            "sku",
            pl.lit(None, pl.Int64).alias("order_id"),
            pl.format(
                "past_due_releases {} in bucket 0 and {} later, flagged orders {}", "bucket_0", "later", "flagged"
            ).alias("problem"),
        )
    )
    return pl.concat([orders.cast({"order_id": pl.Int64}), mismatched])


def negative_quantity_violations(
    records: pl.DataFrame,
    planned_orders: pl.DataFrame,
    capacity_load: pl.DataFrame,
    proposals: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Negative quantities or hours (and planned orders or proposals that are not strictly positive).

    Returns:
        ``table``, ``key`` (item and bucket, order, work center and bucket), ``column``, ``value``.
    """
    parts = []
    for table, frame, key, columns, strict in (
        ("mrp_records", records, pl.format("{} bucket {}", "sku", "bucket"), _RECORD_QUANTITIES, False),
        ("planned_orders", planned_orders, pl.format("order {} ({})", "order_id", "sku"), ("quantity",), True),
        ("capacity_load", capacity_load, pl.format("{} bucket {}", "work_center_code", "bucket"), _LOAD_HOURS, False),
        (
            "purchase_proposals",
            proposals,
            pl.format("proposal {} ({})", "proposal_id", "sku"),
            ("quantity", "planned_quantity"),
            True,
        ),
    ):
        if frame is None:
            continue
        scale = RELATIVE_TOLERANCE
        for column in columns:
            value = pl.col(column).cast(pl.Float64)
            bad = (value <= 0) if strict else (value < -scale)
            parts.append(
                frame.filter(bad | value.is_nan() | value.is_null()).select(
                    pl.lit(table).alias("table"),
                    key.alias("key"),
                    pl.lit(column).alias("column"),
                    value.alias("value"),
                )
            )
    schema = {"table": pl.String, "key": pl.String, "column": pl.String, "value": pl.Float64}
    return pl.concat([pl.DataFrame(schema=schema), *parts])

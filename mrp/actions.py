"""Action messages (PL-6): what a planner should do with open orders and planned orders after an MRP run.

The messages are the conventional ones of MRP (Orlicky; Ptak & Smith, *Orlicky's Material Requirements
Planning*, 3rd ed., "action messages" and "rescheduling"): **new** (release a planned order), **increase**,
**reduce**, **cancel** (quantity of an open order), **expedite** (reschedule in: due later than needed) and
**defer** (reschedule out: due earlier than needed).

**Need date of an open order.** The open orders (scheduled receipts) of an item are taken in due-date order
and matched against its requirements first-in first-out: with ``R_t`` = on hand - safety stock - cumulative
gross requirements up to bucket ``t`` and ``S_k`` the open quantity of the orders before order ``k``, order
``k`` is *needed* in the first bucket where ``R_t + S_k < 0`` (the earlier orders and the stock no longer
cover the requirements), and within the horizon it is needed for ``min(q_k, -(R_end + S_k))``. This is the
order's own need, independent of where MRP planned new orders (the engine nets open orders on their due
dates, so a late open order also shows up as a planned order covering the gap; the ``new`` message for that
planned order says so).

**Messages** (tolerances in :class:`ActionPolicy`, the "dampeners" that keep small changes from reaching the
planner):

- ``cancel``: nothing of the order is needed inside the horizon.
- ``reduce``: less than ``(1 - quantity_tolerance) x q_k`` is needed; the new quantity is what is needed.
- ``expedite``: needed more than ``reschedule_in_buckets`` buckets before its due bucket; ``defer``: more than
  ``reschedule_out_buckets`` after it. The new date is the start of the need bucket. A quantity message and a
  date message may both concern one order (two rows).
- ``increase``: a planned order is received in the bucket in which an open order of the item is due and that
  open order keeps its date and quantity: add the planned quantity to it instead of placing a new order.
- ``new``: a planned order whose release bucket is before ``release_buckets`` (bucket 0 and past due by
  default) and that no ``increase`` absorbed.

Open orders due before the horizon count as due in bucket 0, as in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from mrp.engine import MrpPlan
from mrp.horizon import Horizon

ACTION_COLUMNS: tuple[str, ...] = (
    "sku",
    "action",
    "order_type",
    "order_number",
    "planned_order_id",
    "old_date",
    "new_date",
    "old_quantity",
    "new_quantity",
    "need_bucket",
    "reason",
)
ACTIONS: tuple[str, ...] = ("new", "increase", "reduce", "cancel", "expedite", "defer")
_TOLERANCE = 1e-9


class ActionInputError(ValueError):
    """An open-order frame the action messages cannot use: a missing column, an unknown SKU, a bad value."""


@dataclass(frozen=True)
class ActionPolicy:
    """Dampeners of the action messages.

    Attributes:
        reschedule_in_buckets: An order needed this many buckets (or fewer) before its due bucket is left alone.
        reschedule_out_buckets: An order needed this many buckets (or fewer) after its due bucket is left alone.
        quantity_tolerance: A needed quantity this fraction (or less) below the order's is not a ``reduce``.
        release_buckets: Planned orders released before this bucket get a ``new`` message (1: bucket 0 and
            past due).
    """

    reschedule_in_buckets: int = 0
    reschedule_out_buckets: int = 0
    quantity_tolerance: float = 0.0
    release_buckets: int = 1

    def __post_init__(self) -> None:
        if min(self.reschedule_in_buckets, self.reschedule_out_buckets) < 0 or self.release_buckets < 0:
            raise ActionInputError("reschedule tolerances and release_buckets must be >= 0")
        if not 0.0 <= self.quantity_tolerance < 1.0:
            raise ActionInputError(f"quantity_tolerance must be in [0, 1), got {self.quantity_tolerance}")


def action_messages(
    plan: MrpPlan,
    scheduled_receipts: pl.DataFrame,
    horizon: Horizon,
    *,
    policy: ActionPolicy | None = None,
) -> pl.DataFrame:
    """The action messages of a plan against the open orders it was run with.

    Args:
        plan: The result of :func:`mrp.engine.run_mrp`.
        scheduled_receipts: The open orders (mart ``scheduled_receipts``): ``order_number``, ``sku``,
            ``open_quantity`` and ``due_date`` (or ``due_week``: a date or a bucket index); optional
            ``order_type`` and ``line_number`` (a line > 1 is shown as ``number/line``).
        horizon: The horizon the plan was run with.
        policy: The dampeners.

    Returns:
        :data:`ACTION_COLUMNS`, one row per message: the ``action`` (:data:`ACTIONS`), the open order
        (``order_type``, ``order_number``) or the ``planned_order_id``, old and new date and quantity (null
        where the message does not change it), the ``need_bucket`` and a ``reason`` in words. Sorted by item,
        action and order.

    Raises:
        ActionInputError: A column is missing, a quantity is negative or an SKU is not in the plan.
    """
    rules = policy or ActionPolicy()
    opens = _open_orders(scheduled_receipts, plan, horizon)
    needs = _needs(plan, opens, horizon)
    date_of = dict(enumerate(horizon.bucket_starts))

    def bucket_date(column: str) -> pl.Expr:
        return pl.col(column).replace_strict(date_of, default=None, return_dtype=pl.Date)

    due = pl.col("due_bucket")
    need = pl.col("need_bucket")
    quantity_rows = needs.filter(pl.col("needed") <= _TOLERANCE * pl.col("scale")).select(
        "sku",
        pl.lit("cancel").alias("action"),
        "order_type",
        "order_number",
        pl.col("due_date").alias("old_date"),
        pl.lit(None, pl.Date).alias("new_date"),
        pl.col("open_quantity").alias("old_quantity"),
        pl.lit(0.0).alias("new_quantity"),
        pl.lit(None, pl.Int32).alias("need_bucket"),
        pl.lit("no requirement inside the horizon is left for this order").alias("reason"),
    )
    needed = needs.filter(pl.col("needed") > _TOLERANCE * pl.col("scale"))
    reduce = needed.filter(pl.col("needed") < pl.col("open_quantity") * (1.0 - rules.quantity_tolerance) - _TOLERANCE)
    reduce_rows = reduce.select(
        "sku",
        pl.lit("reduce").alias("action"),
        "order_type",
        "order_number",
        pl.col("due_date").alias("old_date"),
        pl.lit(None, pl.Date).alias("new_date"),
        pl.col("open_quantity").alias("old_quantity"),
        pl.col("needed").alias("new_quantity"),
        pl.col("need_bucket").cast(pl.Int32),
        pl.format(
            "only {} of {} is needed inside the horizon", pl.col("needed").round(3), pl.col("open_quantity")
        ).alias("reason"),
    )
    early = need < due - rules.reschedule_in_buckets
    late = need > due + rules.reschedule_out_buckets
    date_rows = needed.filter(early | late).select(
        "sku",
        pl.when(early).then(pl.lit("expedite")).otherwise(pl.lit("defer")).alias("action"),
        "order_type",
        "order_number",
        pl.col("due_date").alias("old_date"),
        bucket_date("need_bucket").alias("new_date"),
        pl.col("open_quantity").alias("old_quantity"),
        pl.lit(None, pl.Float64).alias("new_quantity"),
        pl.col("need_bucket").cast(pl.Int32),
        pl.format("due in bucket {} but needed in bucket {}", pl.col("due_bucket"), pl.col("need_bucket")).alias(
            "reason"
        ),
    )
    staying = needed.filter(~(early | late)).join(
        reduce.select("order_number", "order_type"), on=["order_number", "order_type"], how="anti"
    )
    planned = plan.planned_orders.select(
        "order_id", "sku", "release_bucket", "receipt_bucket", "release_date", "need_date", "quantity", "is_past_due"
    )
    # one open order per (item, due bucket) absorbs the planned orders received then: the last by number
    absorbing = (
        staying.sort("order_number")
        .group_by("sku", "due_bucket")
        .agg(pl.all().last())
        .select(
            "sku",
            pl.col("due_bucket").alias("receipt_bucket"),
            "order_type",
            "order_number",
            "due_date",
            "open_quantity",
        )
    )
    absorbed = planned.join(absorbing, on=["sku", "receipt_bucket"], how="inner")
    increase_rows = (
        absorbed.group_by("sku", "order_type", "order_number", "due_date", "open_quantity", "receipt_bucket")
        .agg(pl.col("quantity").sum().alias("extra"), pl.col("order_id").min().alias("first_id"))
        .select(
            "sku",
            pl.lit("increase").alias("action"),
            "order_type",
            "order_number",
            pl.col("due_date").alias("old_date"),
            pl.lit(None, pl.Date).alias("new_date"),
            pl.col("open_quantity").alias("old_quantity"),
            (pl.col("open_quantity") + pl.col("extra")).alias("new_quantity"),
            pl.col("receipt_bucket").cast(pl.Int32).alias("need_bucket"),
            pl.format("{} more is needed in the bucket it is due", pl.col("extra").round(3)).alias("reason"),
        )
    )
    expedited = (
        date_rows.filter(pl.col("action") == "expedite")
        .group_by("sku")
        .agg(pl.col("order_number").sort().first().alias("expedited_order"))
    )
    new_rows = (
        planned.filter(pl.col("release_bucket") < rules.release_buckets)
        .join(absorbed.select("order_id"), on="order_id", how="anti")
        .join(expedited, on="sku", how="left")
        .select(
            "sku",
            pl.lit("new").alias("action"),
            pl.lit(None, pl.String).alias("order_type"),
            pl.lit(None, pl.String).alias("order_number"),
            pl.col("order_id").alias("planned_order_id"),
            pl.lit(None, pl.Date).alias("old_date"),
            pl.col("need_date").alias("new_date"),
            pl.lit(None, pl.Float64).alias("old_quantity"),
            pl.col("quantity").alias("new_quantity"),
            pl.col("receipt_bucket").cast(pl.Int32).alias("need_bucket"),
            pl.concat_str(
                pl.when(pl.col("is_past_due"))
                .then(pl.lit("release is past due: needed inside the lead time"))
                .otherwise(pl.lit("release now")),
                pl.when(pl.col("expedited_order").is_not_null())
                .then(pl.format(" (or expedite open order {})", pl.col("expedited_order")))
                .otherwise(pl.lit("")),
            ).alias("reason"),
        )
    )
    open_rows = [
        frame.with_columns(pl.lit(None, pl.Int64).alias("planned_order_id")).select(ACTION_COLUMNS)
        for frame in (quantity_rows, reduce_rows, date_rows, increase_rows)
    ]
    rank = {action: k for k, action in enumerate(ACTIONS)}
    return (
        pl.concat([*open_rows, new_rows.select(ACTION_COLUMNS)], how="vertical_relaxed")
        .with_columns(pl.col("action").replace_strict(rank, return_dtype=pl.Int8).alias("_rank"))
        .sort("sku", "_rank", "order_number", "planned_order_id", nulls_last=True)
        .drop("_rank")
    )


def _open_orders(scheduled_receipts: pl.DataFrame, plan: MrpPlan, horizon: Horizon) -> pl.DataFrame:
    missing = [c for c in ("order_number", "sku", "open_quantity") if c not in scheduled_receipts.columns]
    date_column = next((c for c in ("due_date", "due_week") if c in scheduled_receipts.columns), None)
    if missing or date_column is None:
        raise ActionInputError(
            f"scheduled_receipts lacks the column(s) {', '.join(missing + ([] if date_column else ['due_date']))}"
        )
    frame = scheduled_receipts.with_row_index("row")
    values = frame["open_quantity"].cast(pl.Float64)
    bad = frame.filter(~(values.is_finite() & (values >= 0)).fill_null(False))
    if bad.height:
        raise ActionInputError(
            f"scheduled_receipts row {bad['row'][0]} (order {bad['order_number'][0]!r}): open_quantity must be a "
            f"finite number >= 0, got {bad['open_quantity'][0]}"
        )
    dates = frame[date_column]
    if dates.null_count():
        raise ActionInputError(
            f"scheduled_receipts row {frame.filter(dates.is_null())['row'][0]}: {date_column} is empty"
        )
    if dates.dtype.is_integer():
        buckets = dates.cast(pl.Int64).to_numpy()
        due_dates = pl.Series([horizon.bucket_starts[min(max(b, 0), horizon.size - 1)] for b in buckets], dtype=pl.Date)
    else:
        due_dates = dates.cast(pl.Date)
        buckets = horizon.bucket_of(due_dates)
    unknown = frame.join(plan.items.select("sku"), on="sku", how="anti")
    if unknown.height:
        names = unknown["sku"].unique().sort().head(10).to_list()
        raise ActionInputError(f"scheduled_receipts names SKUs that are not in the plan: {names}")
    number = pl.col("order_number").cast(pl.String)
    if "line_number" in frame.columns:
        number = (
            pl.when(pl.col("line_number").fill_null(1) > 1)
            .then(pl.format("{}/{}", number, pl.col("line_number")))
            .otherwise(number)
        )
    order_type = pl.col("order_type").cast(pl.String) if "order_type" in frame.columns else pl.lit(None, pl.String)
    return (
        frame.select(
            pl.col("sku").cast(pl.String),
            order_type.alias("order_type"),
            number.alias("order_number"),
            pl.col("open_quantity").cast(pl.Float64),
        )
        .with_columns(pl.Series("due_date", due_dates), pl.Series("due_bucket", np.maximum(buckets, 0), pl.Int64))
        .filter((pl.col("due_bucket") < horizon.size) & (pl.col("open_quantity") > 0))  # nothing open: no order
    )


def _needs(plan: MrpPlan, opens: pl.DataFrame, horizon: Horizon) -> pl.DataFrame:
    """Each open order with its need bucket (``size`` if not needed) and the quantity needed in the horizon."""
    size = horizon.size
    skus = plan.items["sku"]
    index = pl.DataFrame({"sku": skus, "item": np.arange(skus.len(), dtype=np.int64)})
    gross = (
        plan.records.sort("sku", "bucket")["gross_requirements"].to_numpy().reshape(skus.len(), size)
        if skus.len()
        else np.zeros((0, size))
    )
    base = plan.items["on_hand"].to_numpy() - plan.items["safety_stock"].to_numpy()
    shortfall = np.cumsum(gross, axis=1) - base[:, None]  # -R_t: what open orders must cover by bucket t
    ordered = opens.sort("sku", "due_bucket", "order_number").join(index, on="sku", how="left", maintain_order="left")
    quantity = ordered["open_quantity"].to_numpy()
    item = ordered["item"].to_numpy()
    before = (
        ordered.select(pl.col("open_quantity").cum_sum().over("sku") - pl.col("open_quantity")).to_series().to_numpy()
    )
    scale = np.maximum(1.0, np.abs(gross).sum(axis=1) + np.abs(base))[item] if item.size else np.zeros(0)
    uncovered = shortfall[item] > (before + _TOLERANCE * scale)[:, None]
    need = np.where(uncovered.any(axis=1), uncovered.argmax(axis=1), size)
    needed = np.clip(shortfall[item, -1] - before, 0.0, quantity) if item.size else np.zeros(0)
    return ordered.drop("item").with_columns(
        pl.Series("need_bucket", need, pl.Int64), pl.Series("needed", needed), pl.Series("scale", scale)
    )

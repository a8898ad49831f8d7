"""Pegging (PL-5): which demands every supply of an MRP plan serves, up to the finished good's demand.

**Direct pegs** (:func:`peg`). Per item, the supplies (on hand, then scheduled and planned receipts by bucket)
are matched first-in first-out to the demands in bucket order: independent demand first, then the dependent
demand of each parent order (the parent's planned order, or a phantom's pass-through, exploded in its release
bucket). Because a plan keeps projected on hand >= 0, FIFO never pegs a receipt to a demand earlier than the
receipt. Supply left over after the last demand (safety stock, lot-size excess) is pegged to ``stock``.

**End demand** (:func:`trace_to_end_demand`, for chosen orders). A component's peg to a parent order is
followed up through the parent's own pegs, in proportion to the parent quantity each of them takes, until it
reaches independent demand (the finished good, or any item sold as such) or the parent's leftover stock.

Supply keys: a planned order's key is its ``order_id``; a phantom's pass-through in a bucket (which is not an
order) gets a key above every ``order_id``; on hand and scheduled receipts have none.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from mrp.bom import index_edges, normalize_bom
from mrp.engine import MrpPlan
from mrp.horizon import Horizon

PEG_COLUMNS: tuple[str, ...] = (
    "sku",
    "supply_type",
    "supply_bucket",
    "supply_key",
    "demand_type",
    "demand_bucket",
    "parent_sku",
    "parent_key",
    "quantity",
)
_RELATIVE_TOLERANCE = 1e-9
_SUPPLY_RANK = {"on_hand": 0, "scheduled": 1, "planned": 2, "pass_through": 2}


def peg(plan: MrpPlan, bom_edges: pl.DataFrame, horizon: Horizon) -> pl.DataFrame:
    """The direct pegs of a plan: one row per piece of a supply serving a piece of a demand.

    Args:
        plan: The result of :func:`mrp.engine.run_mrp`.
        bom_edges: The BOM the plan was run with.
        horizon: The horizon the plan was run with.

    Returns:
        :data:`PEG_COLUMNS`: the item; ``supply_type`` (on_hand, scheduled, planned, pass_through),
        ``supply_bucket`` (-1 for on hand) and ``supply_key``; ``demand_type`` (independent, dependent,
        stock), ``demand_bucket``, and for dependent demand the ``parent_sku`` and ``parent_key``; the
        ``quantity`` in the item's units. Sorted by item, supply and demand.
    """
    supplies = _supplies(plan)
    demands = _demands(plan, supplies, bom_edges, horizon)
    return _allocate(supplies, demands)


def trace_to_end_demand(pegs: pl.DataFrame, order_ids: Sequence[int] | pl.Series) -> pl.DataFrame:
    """Follow the pegs of some planned orders up to independent demand.

    The trace of one order is small, but that of every order of a deep plant is not: a raw material feeds
    many finished goods in many buckets, so the full table grows with orders x end demands. Ask for the
    orders a planner looks at (an exception, a proposal); :func:`peg` is the whole plan's single-level pegging.

    Args:
        pegs: The output of :func:`peg`.
        order_ids: The planned orders to trace.

    Returns:
        One row per planned order and end demand: ``order_id``, ``sku``, ``end_sku`` and ``end_bucket``
        (the independent demand served; null for a parent's leftover stock), ``quantity`` (in the order's
        units). The quantities of an order add up to its quantity.
    """
    parent_pegs = pegs.filter(pl.col("supply_key").is_not_null()).select(
        pl.col("supply_key").alias("parent_key"),
        pl.col("demand_type").alias("next_type"),
        pl.col("demand_bucket").alias("next_bucket"),
        pl.col("parent_key").alias("next_parent"),
        pl.col("sku").alias("next_sku"),
        (pl.col("quantity") / pl.col("quantity").sum().over("supply_key")).alias("share"),
    )
    wanted = pl.Series(list(order_ids), dtype=pl.Int64)
    frontier = pegs.filter((pl.col("supply_type") == "planned") & pl.col("supply_key").is_in(wanted.implode())).select(
        pl.col("supply_key").alias("order_id"),
        "sku",
        "demand_type",
        pl.col("demand_bucket").alias("end_bucket"),
        "parent_key",
        pl.col("sku").alias("end_sku"),
        "quantity",
    )
    done = []
    while frontier.height:
        ended = frontier.filter(pl.col("demand_type") != "dependent")
        done.append(
            ended.select(
                "order_id",
                "sku",
                pl.when(pl.col("demand_type") == "independent").then(pl.col("end_sku")).alias("end_sku"),
                pl.when(pl.col("demand_type") == "independent").then(pl.col("end_bucket")).alias("end_bucket"),
                "quantity",
            )
        )
        frontier = (
            frontier.filter(pl.col("demand_type") == "dependent")
            .join(parent_pegs, on="parent_key", how="inner")
            .select(
                "order_id",
                "sku",
                pl.col("next_type").alias("demand_type"),
                pl.col("next_bucket").alias("end_bucket"),
                pl.col("next_parent").alias("parent_key"),
                pl.col("next_sku").alias("end_sku"),
                pl.col("quantity") * pl.col("share"),
            )
            .group_by("order_id", "sku", "demand_type", "end_bucket", "parent_key", "end_sku")
            .agg(pl.col("quantity").sum())  # paths that meet again travel on as one row
        )
    schema = pl.Schema(
        {
            "order_id": pl.Int64(),
            "sku": pl.String(),
            "end_sku": pl.String(),
            "end_bucket": pl.Int32(),
            "quantity": pl.Float64(),
        }
    )
    return (
        pl.concat([pl.DataFrame(schema=schema), *(frame.cast(schema) for frame in done)])
        .group_by("order_id", "sku", "end_sku", "end_bucket")
        .agg(pl.col("quantity").sum())
        .sort("order_id", "end_sku", "end_bucket", nulls_last=True)
    )


def _supplies(plan: MrpPlan) -> pl.DataFrame:
    records = plan.records
    first_pass_through = plan.planned_orders.height + 1  # order ids are 1..height
    phantoms = plan.items.filter(pl.col("is_phantom"))["sku"]
    parts = [
        plan.items.filter(pl.col("on_hand") > 0).select(
            "sku",
            pl.lit("on_hand").alias("supply_type"),
            pl.lit(-1, pl.Int32).alias("supply_bucket"),
            pl.lit(None, pl.Int64).alias("supply_key"),
            pl.lit(None, pl.Int32).alias("release_bucket"),
            pl.col("on_hand").alias("quantity"),
        ),
        records.filter(pl.col("scheduled_receipts") > 0).select(
            "sku",
            pl.lit("scheduled").alias("supply_type"),
            pl.col("bucket").alias("supply_bucket"),
            pl.lit(None, pl.Int64).alias("supply_key"),
            pl.lit(None, pl.Int32).alias("release_bucket"),
            pl.col("scheduled_receipts").alias("quantity"),
        ),
        plan.planned_orders.select(
            "sku",
            pl.lit("planned").alias("supply_type"),
            pl.col("receipt_bucket").alias("supply_bucket"),
            pl.col("order_id").alias("supply_key"),
            pl.col("release_bucket").clip(lower_bound=0),
            "quantity",
        ),
        records.filter(pl.col("sku").is_in(phantoms.implode()) & (pl.col("planned_receipts") > 0))
        .sort("sku", "bucket")
        .with_row_index("k")
        .select(
            "sku",
            pl.lit("pass_through").alias("supply_type"),
            pl.col("bucket").alias("supply_bucket"),
            (pl.col("k").cast(pl.Int64) + first_pass_through).alias("supply_key"),
            pl.col("bucket").alias("release_bucket"),
            pl.col("planned_receipts").alias("quantity"),
        ),
    ]
    return (
        pl.concat([part.cast({"supply_bucket": pl.Int32, "release_bucket": pl.Int32}) for part in parts])
        .with_columns(pl.col("supply_type").replace_strict(_SUPPLY_RANK, return_dtype=pl.Int8).alias("rank"))
        .sort("sku", "supply_bucket", "rank", "supply_key", nulls_last=False)
    )


def _demands(plan: MrpPlan, supplies: pl.DataFrame, bom_edges: pl.DataFrame, horizon: Horizon) -> pl.DataFrame:
    bom = normalize_bom(bom_edges)
    index_edges(plan.items["sku"].to_list(), bom)  # unknown items fail here with a clear message
    starts = pl.DataFrame({"release_bucket": range(horizon.size), "start": list(horizon.bucket_starts)}).cast(
        {"release_bucket": pl.Int32}
    )
    dependent = (
        supplies.filter(pl.col("supply_key").is_not_null())
        .select(
            pl.col("sku").alias("parent_sku"), pl.col("supply_key").alias("parent_key"), "release_bucket", "quantity"
        )
        .join(starts, on="release_bucket")
        .join(bom, on="parent_sku")
        .filter(
            (pl.col("valid_from").is_null() | (pl.col("valid_from") <= pl.col("start")))
            & (pl.col("valid_to").is_null() | (pl.col("start") <= pl.col("valid_to")))
        )
        .group_by(pl.col("component_sku").alias("sku"), "release_bucket", "parent_sku", "parent_key")
        .agg((pl.col("quantity") * pl.col("qty_per") / (1.0 - pl.col("scrap_rate"))).sum().alias("quantity"))
        .select(
            "sku",
            pl.lit("dependent").alias("demand_type"),
            pl.col("release_bucket").alias("demand_bucket"),
            "parent_sku",
            "parent_key",
            "quantity",
            pl.lit(1, pl.Int8).alias("rank"),
        )
    )
    independent = plan.records.filter(pl.col("independent_demand") > 0).select(
        "sku",
        pl.lit("independent").alias("demand_type"),
        pl.col("bucket").alias("demand_bucket"),
        pl.lit(None, pl.String).alias("parent_sku"),
        pl.lit(None, pl.Int64).alias("parent_key"),
        pl.col("independent_demand").alias("quantity"),
        pl.lit(0, pl.Int8).alias("rank"),
    )
    return pl.concat([independent.cast({"demand_bucket": pl.Int32}), dependent.cast({"demand_bucket": pl.Int32})]).sort(
        "sku", "demand_bucket", "rank", "parent_key", nulls_last=False
    )


def _allocate(supplies: pl.DataFrame, demands: pl.DataFrame) -> pl.DataFrame:
    """FIFO: cut both cumulative quantity lines of an item at every start and end, match the pieces."""

    def intervals(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.col("quantity").cum_sum().over("sku").alias("end")).with_columns(
            (pl.col("end") - pl.col("quantity")).alias("start")
        )

    supply, demand = intervals(supplies), intervals(demands)
    cuts = (
        pl.concat(
            [
                supply.select("sku", pl.col("start").alias("at")),
                supply.select("sku", pl.col("end").alias("at")),
                demand.select("sku", pl.col("start").alias("at")),
                demand.select("sku", pl.col("end").alias("at")),
            ]
        )
        .unique()
        .sort("sku", "at")
        .with_columns(pl.col("at").shift(-1).over("sku").alias("next"))
        .filter(pl.col("next").is_not_null())
        .with_columns((pl.col("next") - pl.col("at")).alias("quantity"))
    )
    scale = supply.group_by("sku").agg(pl.col("end").max().alias("supply_total"))
    pieces = (
        cuts.join(scale, on="sku")
        .filter(pl.col("quantity") > _RELATIVE_TOLERANCE * pl.max_horizontal(1.0, pl.col("supply_total")))
        .sort("sku", "at")
    )
    pieces = pieces.join_asof(
        supply.select("sku", pl.col("start").alias("at"), "end", "supply_type", "supply_bucket", "supply_key").sort(
            "sku", "at"
        ),
        on="at",
        by="sku",
        strategy="backward",
        check_sortedness=False,
    ).filter(pl.col("at") < pl.col("end"))
    pieces = pieces.join_asof(
        demand.select(
            "sku",
            pl.col("start").alias("at"),
            pl.col("end").alias("demand_end"),
            "demand_type",
            "demand_bucket",
            "parent_sku",
            "parent_key",
        ).sort("sku", "at"),
        on="at",
        by="sku",
        strategy="backward",
        check_sortedness=False,
    )
    beyond_demand = pl.col("demand_end").is_null() | (pl.col("at") >= pl.col("demand_end"))
    return pieces.select(
        "sku",
        "supply_type",
        "supply_bucket",
        "supply_key",
        pl.when(beyond_demand).then(pl.lit("stock")).otherwise(pl.col("demand_type")).alias("demand_type"),
        pl.when(beyond_demand).then(None).otherwise(pl.col("demand_bucket")).alias("demand_bucket"),
        pl.when(beyond_demand).then(None).otherwise(pl.col("parent_sku")).alias("parent_sku"),
        pl.when(beyond_demand).then(None).otherwise(pl.col("parent_key")).alias("parent_key"),
        "quantity",
    )

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

How it runs: supplies and demands are numpy arrays sorted by item and FIFO order (no joins); each item's
cumulative supply and demand lines are cut at every start and end, the cut points of both merged per item
with ``np.searchsorted``, and each piece finds its supply and demand by another ``searchsorted``. Items go in
chunks, so the working arrays stay a few hundred MB whatever the plan's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from mrp.bom import edge_validity, index_edges, normalize_bom
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
    supplies = _supply_lines(plan, horizon.size)
    demands = _demand_lines(plan, supplies, bom_edges, horizon)
    return _allocate_lines(plan.items["sku"], supplies, demands)


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


_SUPPLY_TYPES = ("on_hand", "scheduled", "planned", "pass_through")
_DEMAND_TYPES = ("independent", "dependent", "stock")
_POINTS_PER_CHUNK = 4_000_000  # cut points sorted at once: bounds the memory of the allocation


@dataclass(frozen=True, eq=False)
class _Lines:
    """Supplies or demands as arrays, sorted by item and then in FIFO order.

    ``kind`` indexes :data:`_SUPPLY_TYPES` or :data:`_DEMAND_TYPES`; ``key`` is a supply's key or a dependent
    demand's parent key (-1 = none), ``parent`` a dependent demand's parent item (-1 = none); ``release`` is a
    supply's release bucket (for its components' demand).
    """

    item: np.ndarray
    kind: np.ndarray
    bucket: np.ndarray
    key: np.ndarray
    parent: np.ndarray
    release: np.ndarray
    quantity: np.ndarray

    def take(self, order: np.ndarray) -> _Lines:
        return _Lines(*(getattr(self, name)[order] for name in _LINE_FIELDS))


_LINE_FIELDS = ("item", "kind", "bucket", "key", "parent", "release", "quantity")


def _lines(kind: int, **columns: np.ndarray) -> _Lines:
    size = columns["item"].size
    none = np.full(size, -1, dtype=np.int64)
    return _Lines(
        item=columns["item"].astype(np.int64),
        kind=np.full(size, kind, dtype=np.int8),
        bucket=columns["bucket"].astype(np.int64),
        key=columns.get("key", none).astype(np.int64),
        parent=columns.get("parent", none).astype(np.int64),
        release=columns.get("release", none).astype(np.int64),
        quantity=columns["quantity"].astype(float),
    )


def _concat(parts: Sequence[_Lines]) -> _Lines:
    return _Lines(*(np.concatenate([getattr(part, name) for part in parts]) for name in _LINE_FIELDS))


def _item_bucket_arrays(plan: MrpPlan, size: int, *columns: str) -> list[np.ndarray]:
    """Record columns as ``items x buckets`` arrays (the records are one row per item and bucket, in order)."""
    records, skus = plan.records, plan.items["sku"]
    if records.height != skus.len() * size or not records["sku"].gather(np.arange(0, records.height, size)).equals(
        skus
    ):
        records = skus.to_frame().join(records, on="sku", how="left", maintain_order="left")
    return [records[column].fill_null(0.0).to_numpy().reshape(skus.len(), size) for column in columns]


def _order_items(plan: MrpPlan) -> np.ndarray:
    """The item row of every planned order."""
    skus, orders = plan.items["sku"], plan.planned_orders["sku"]
    first = orders.search_sorted(skus, side="left").to_numpy()
    count = orders.search_sorted(skus, side="right").to_numpy() - first
    if count.sum() == orders.len() and np.all(np.diff(first) >= 0):
        return np.repeat(np.arange(skus.len()), count)
    lookup = skus.to_frame().with_row_index("row")
    return orders.to_frame().join(lookup, on="sku", how="left", maintain_order="left")["row"].to_numpy()


def _supply_lines(plan: MrpPlan, size: int) -> _Lines:
    """On hand, scheduled receipts, planned orders and phantom pass-throughs, by item, bucket, kind and key."""
    scheduled, passed = _item_bucket_arrays(plan, size, "scheduled_receipts", "planned_receipts")
    orders = plan.planned_orders
    on_hand = plan.items["on_hand"].to_numpy()
    stocked = np.flatnonzero(on_hand > 0)
    due_rows, due_buckets = np.nonzero(scheduled > 0)
    phantom = np.flatnonzero(plan.items["is_phantom"].to_numpy())
    pass_rows, pass_buckets = np.nonzero(passed[phantom] > 0)
    receipt = orders["receipt_bucket"].to_numpy()
    lines = _concat(
        [
            _lines(item=stocked, kind=0, bucket=np.full(stocked.size, -1), quantity=on_hand[stocked]),
            _lines(item=due_rows, kind=1, bucket=due_buckets, quantity=scheduled[due_rows, due_buckets]),
            _lines(
                item=_order_items(plan),
                kind=2,
                bucket=receipt,
                key=orders["order_id"].to_numpy(),
                release=np.maximum(orders["release_bucket"].to_numpy(), 0),
                quantity=orders["quantity"].to_numpy(),
            ),
            _lines(
                item=phantom[pass_rows],
                kind=3,
                bucket=pass_buckets,
                key=orders.height + 1 + np.arange(pass_rows.size),
                release=pass_buckets,
                quantity=passed[phantom[pass_rows], pass_buckets],
            ),
        ]
    )
    rank = np.minimum(lines.kind, 2)  # planned orders and pass-throughs (never of the same item) rank alike
    span = int(lines.key.max(initial=0)) + 2
    sort_key = ((lines.item * (size + 1) + lines.bucket + 1) * 3 + rank) * span + lines.key + 1
    # each source comes sorted by this key: the stable sort merges four runs
    return lines.take(np.argsort(sort_key, kind="stable"))


def _demand_lines(plan: MrpPlan, supplies: _Lines, bom_edges: pl.DataFrame, horizon: Horizon) -> _Lines:
    """Independent demand and each parent supply's dependent demand, by item, bucket, independent first, key."""
    skus = plan.items["sku"]
    bom = normalize_bom(bom_edges)
    parent, component = index_edges(skus.to_list(), bom)  # unknown items fail here with a clear message
    valid = edge_validity(bom, horizon.bucket_starts)
    qty_per, scrap = bom["qty_per"].to_numpy(), bom["scrap_rate"].to_numpy()
    (independent,) = _item_bucket_arrays(plan, horizon.size, "independent_demand")
    keyed = np.flatnonzero(supplies.key >= 0)
    by_item = keyed[np.argsort(supplies.item[keyed], kind="stable")]
    first = np.searchsorted(supplies.item[by_item], np.arange(skus.len() + 1))
    # lines by (rank among the component's lines, component): each rank's rows come out sorted by component,
    # release and key, so the stable sort below merges a handful of runs
    by_component = np.lexsort((parent, component))
    rank = np.arange(by_component.size) - np.searchsorted(component[by_component], component[by_component])
    lines = by_component[np.lexsort((component[by_component], rank))]
    counts = first[parent[lines] + 1] - first[parent[lines]]
    line = np.repeat(lines, counts)
    supply = by_item[np.repeat(first[parent[lines]], counts) + _ranges(counts)]
    release = supplies.release[supply]
    applies = valid[line, release]
    line, supply, release = line[applies], supply[applies], release[applies]
    quantity = supplies.quantity[supply] * qty_per[line] / (1.0 - scrap[line])
    keys = supplies.key[supply]
    span = int(keys.max(initial=0)) + 1
    sort_key = (component[line] * horizon.size + release) * span + keys
    order = np.argsort(sort_key, kind="stable")
    sort_key, line, supply, quantity = sort_key[order], line[order], supply[order], quantity[order]
    starts = np.flatnonzero(np.diff(sort_key, prepend=-1) != 0)  # a parent with two lines to one component
    dependent = _lines(
        item=component[line[starts]],
        kind=1,
        bucket=supplies.release[supply[starts]],
        key=supplies.key[supply[starts]],
        parent=supplies.item[supply[starts]],
        quantity=np.add.reduceat(quantity, starts) if starts.size < quantity.size else quantity,
    )
    rows, buckets = np.nonzero(independent > 0)
    independent_lines = _lines(item=rows, kind=0, bucket=buckets, quantity=independent[rows, buckets])
    # independent demand goes first in its bucket: merge the two sorted lists by (item, bucket)
    at = np.searchsorted(sort_key[starts], (rows * horizon.size + buckets) * span, side="left")
    position = at + np.arange(rows.size)
    merged = np.ones(rows.size + starts.size, dtype=bool)
    merged[position] = False
    order = np.empty(merged.size, dtype=np.int64)
    order[position] = np.arange(rows.size)
    order[merged] = rows.size + np.arange(starts.size)
    return _concat([independent_lines, dependent]).take(order)


def _ranges(counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(c) for c in counts])`` without the Python loop."""
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def _group_cumsum(values: np.ndarray, item: np.ndarray) -> np.ndarray:
    """Running sums restarting at each item, added left to right (as a per-group ``cum_sum``)."""
    out = values.copy()
    if not values.size:
        return out
    first = np.flatnonzero(np.diff(item, prepend=item[0] - 1) != 0)
    length = np.diff(first, append=values.size)
    order = np.argsort(-length, kind="stable")
    first, length = first[order], length[order]
    for k in range(1, int(length[0])):
        count = int(np.searchsorted(-length, -k, side="left"))
        position = first[:count] + k
        out[position] += out[position - 1]
    return out


def _allocate_lines(skus: pl.Series, supplies: _Lines, demands: _Lines) -> pl.DataFrame:
    """FIFO per item: cut both cumulative quantity lines at every start and end and match the pieces.

    The cut points of both lines are merged per item with complex numbers (item + i x position), which numpy
    orders by item first, then position, exactly; items are taken in chunks to bound the memory.
    """
    supply_end = _group_cumsum(supplies.quantity, supplies.item)
    demand_end = _group_cumsum(demands.quantity, demands.item)
    supply_start, demand_start = supply_end - supplies.quantity, demand_end - demands.quantity
    total = np.zeros(skus.len())
    np.maximum.at(total, supplies.item, supply_end)
    tolerance = _RELATIVE_TOLERANCE * np.maximum(1.0, total)
    supply_bounds = np.searchsorted(supplies.item, np.arange(skus.len() + 1))
    demand_bounds = np.searchsorted(demands.item, np.arange(skus.len() + 1))
    points = 2 * (np.diff(supply_bounds) + np.diff(demand_bounds))
    chunk_ends = np.searchsorted(
        np.cumsum(points), np.arange(1, points.sum() // _POINTS_PER_CHUNK + 2) * _POINTS_PER_CHUNK
    )
    pieces = []
    low = 0
    for high in np.unique(np.minimum(chunk_ends + 1, skus.len())):
        s, d = slice(supply_bounds[low], supply_bounds[high]), slice(demand_bounds[low], demand_bounds[high])
        pieces.append(
            _cut(
                supplies.item[s],
                supply_start[s],
                supply_end[s],
                demands.item[d],
                demand_start[d],
                demand_end[d],
                tolerance,
                supply_bounds[low],
                demand_bounds[low],
            )
        )
        low = high
    item, supply, demand, quantity = (np.concatenate([p[k] for p in pieces]) for k in range(4))
    stock = demand < 0
    # stock pieces point one past the demands, to a padding row (there may be no demand at all)
    demands = _concat([demands, _lines(item=np.zeros(1), kind=2, bucket=np.zeros(1), quantity=np.zeros(1))])
    demand = np.where(stock, demands.item.size - 1, demand)
    dependent = demands.kind[demand] == 1
    frame = pl.DataFrame(
        [
            skus.gather(item).alias("sku"),
            pl.Series(_SUPPLY_TYPES, dtype=pl.String).gather(supplies.kind[supply]).alias("supply_type"),
            pl.Series("supply_bucket", supplies.bucket[supply], pl.Int32),
            pl.Series("supply_key", supplies.key[supply], pl.Int64),
            pl.Series(_DEMAND_TYPES, dtype=pl.String).gather(demands.kind[demand]).alias("demand_type"),
            pl.Series("demand_bucket", demands.bucket[demand], pl.Int32),
            skus.gather(np.where(dependent, demands.parent[demand], 0)).alias("parent_sku"),
            pl.Series("parent_key", demands.key[demand], pl.Int64),
            pl.Series("quantity", quantity),
            pl.Series("stock", stock),
            pl.Series("dependent", dependent),
        ]
    )
    return frame.select(
        "sku",
        "supply_type",
        "supply_bucket",
        pl.when(pl.col("supply_key") >= 0).then(pl.col("supply_key")).alias("supply_key"),
        "demand_type",
        pl.when(~pl.col("stock")).then(pl.col("demand_bucket")).alias("demand_bucket"),
        pl.when(pl.col("dependent")).then(pl.col("parent_sku")).alias("parent_sku"),
        pl.when(pl.col("dependent")).then(pl.col("parent_key")).alias("parent_key"),
        "quantity",
    )


def _cut(
    supply_item: np.ndarray,
    supply_start: np.ndarray,
    supply_end: np.ndarray,
    demand_item: np.ndarray,
    demand_start: np.ndarray,
    demand_end: np.ndarray,
    tolerance: np.ndarray,
    supply_offset: int,
    demand_offset: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pieces of a chunk of items: item, supply row, demand row (-1 = stock) and quantity."""
    supply_points = _sorted_points(supply_item, supply_start, supply_end)
    demand_points = _sorted_points(demand_item, demand_start, demand_end)
    cuts = np.empty(supply_points.size + demand_points.size, dtype=complex)
    cuts[np.arange(supply_points.size) + np.searchsorted(demand_points, supply_points, side="left")] = supply_points
    cuts[np.arange(demand_points.size) + np.searchsorted(supply_points, demand_points, side="right")] = demand_points
    distinct = np.ones(cuts.size, dtype=bool)
    distinct[1:] = cuts[1:] != cuts[:-1]
    cuts = cuts[distinct]
    same_item = cuts.real[1:] == cuts.real[:-1]
    at, following = cuts[:-1][same_item], cuts.imag[1:][same_item]
    item = at.real.astype(np.int64)
    quantity = following - at.imag
    supplied = np.isin(item, supply_item)
    keep = supplied & (quantity > tolerance[item])
    at, item, quantity = at[keep], item[keep], quantity[keep]
    supply = np.searchsorted(supply_item + 1j * supply_start, at, side="right") - 1
    inside = (supply >= 0) & (at.imag < supply_end[np.maximum(supply, 0)])
    at, item, quantity, supply = at[inside], item[inside], quantity[inside], supply[inside]
    demand = np.searchsorted(demand_item + 1j * demand_start, at, side="right") - 1
    found = demand >= 0
    found[found] = (demand_item[demand[found]] == item[found]) & (at.imag[found] < demand_end[demand[found]])
    return item, supply + supply_offset, np.where(found, demand + demand_offset, -1), quantity


def _sorted_points(item: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Every start and end as ``item + i x position``, sorted (items ascending, each item's lines in order).

    Interleaved, the points are sorted but for an end and the next start, which rounding may leave an ulp
    apart in either order; ordering each such pair is enough, and a full sort covers anything else.
    """
    points = np.empty(2 * item.size)
    points[0::2], points[1::2] = start, end
    owner = np.repeat(item, 2)
    lower, upper = points[1:-1:2], points[2::2]
    swap = (owner[1:-1:2] == owner[2::2]) & (upper < lower)
    lower[swap], upper[swap] = upper[swap], lower[swap]
    ordered = (owner[1:] > owner[:-1]) | ((owner[1:] == owner[:-1]) & (points[1:] >= points[:-1]))
    keys = owner + 1j * points
    return keys if ordered.all() else np.sort(keys)

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

How it runs: supplies and demands are numpy arrays sorted by item and FIFO order (no joins), the demand lines
written item by item in compiled code; each item's cumulative supply and demand lines are cut at every end in
one compiled pass (a merge of the two lines), each piece served by the supply and owed to the demand whose
spans contain it. Lines are int32 where they can be, and the pegs are made into frames a chunk of items at a
time, so the working arrays stay a few hundred MB whatever the plan's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import polars as pl

from mrp.bom import edge_validity, index_edges, normalize_bom
from mrp.engine import MrpPlan, positions
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
        ``quantity`` in the item's units. Sorted by item, supply and demand. ``sku`` is a string (it joins
        the records and orders); ``supply_type``, ``demand_type`` and ``parent_sku`` are :class:`polars.Enum`
        (they compare with strings and write as text, at a few bytes a row: a plan of 100k items has tens of
        millions of pegs).
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
_POINTS_PER_CHUNK = 1 << 20  # demand lines built, or cut points merged, at once: small arrays, reused memory
_INDEX = np.int32  # items, buckets and keys: half the memory of int64 on tens of millions of lines


@dataclass(frozen=True, eq=False)
class _Lines:
    """Supplies or demands as arrays, sorted by item and then in FIFO order.

    ``kind`` indexes :data:`_SUPPLY_TYPES` or :data:`_DEMAND_TYPES`; ``key`` is a supply's key or a dependent
    demand's parent key (-1 = none), ``parent`` a dependent demand's parent item (-1 = none); ``release`` is a
    supply's release bucket (for its components' demand). Integers are :data:`_INDEX` (``key`` int64 when the
    keys need it), ``kind`` int8.
    """

    item: np.ndarray
    kind: np.ndarray
    bucket: np.ndarray
    key: np.ndarray
    parent: np.ndarray
    release: np.ndarray
    quantity: np.ndarray

    @classmethod
    def empty(cls, size: int, key_type: type[np.integer]) -> _Lines:
        """Lines to fill in place (no concatenation and reordering copies)."""
        return cls(
            item=np.empty(size, _INDEX),
            kind=np.empty(size, np.int8),
            bucket=np.empty(size, _INDEX),
            key=np.empty(size, key_type),
            parent=np.empty(size, _INDEX),
            release=np.empty(size, _INDEX),
            quantity=np.empty(size),
        )

    def put(self, at: np.ndarray | slice, kind: int, **columns: np.ndarray | float) -> None:
        """Write lines of one kind at ``at``; ``key``, ``parent`` and ``release`` default to -1."""
        self.kind[at] = kind
        for name in ("item", "bucket", "key", "parent", "release", "quantity"):
            getattr(self, name)[at] = columns.get(name, -1)

    def view(self, rows: slice) -> _Lines:
        return _Lines(*(getattr(self, name)[rows] for name in _LINE_FIELDS))

    def take(self, order: np.ndarray) -> _Lines:
        return _Lines(*(getattr(self, name)[order] for name in _LINE_FIELDS))


_LINE_FIELDS = ("item", "kind", "bucket", "key", "parent", "release", "quantity")


def _key_type(largest: int) -> type[np.integer]:
    return np.int32 if largest < np.iinfo(np.int32).max else np.int64


def _item_bucket_arrays(plan: MrpPlan, size: int, *columns: str) -> list[np.ndarray]:
    """Record columns as ``items x buckets`` arrays (the records are one row per item and bucket, in order)."""
    records, skus = plan.records, plan.items["sku"]
    if records.height != skus.len() * size or not records["sku"].gather(np.arange(0, records.height, size)).equals(
        skus
    ):
        records = skus.to_frame().join(records, on="sku", how="left", maintain_order="left")
    # without nulls, to_numpy shares the frame's memory (fill_null would copy 10 M rows a column at 100k items)
    return [
        (values.fill_null(0.0) if (values := records[column]).null_count() else values)
        .to_numpy()
        .reshape(skus.len(), size)
        for column in columns
    ]


def _order_items(plan: MrpPlan) -> np.ndarray:
    """The item row of every planned order."""
    skus, orders = plan.items["sku"], plan.planned_orders["sku"]
    first = orders.search_sorted(skus, side="left").to_numpy()
    count = orders.search_sorted(skus, side="right").to_numpy() - first
    if count.sum() == orders.len() and np.all(np.diff(first) >= 0):
        return np.repeat(np.arange(skus.len(), dtype=_INDEX), count)
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
    counts = np.cumsum([0, stocked.size, due_rows.size, orders.height, pass_rows.size])
    span = orders.height + pass_rows.size + 2
    lines = _Lines.empty(int(counts[-1]), _key_type(span))
    parts = [slice(counts[k], counts[k + 1]) for k in range(4)]
    lines.put(parts[0], 0, item=stocked, bucket=-1, quantity=on_hand[stocked])
    lines.put(parts[1], 1, item=due_rows, bucket=due_buckets, quantity=scheduled[due_rows, due_buckets])
    lines.put(
        parts[2],
        2,
        item=_order_items(plan),
        bucket=orders["receipt_bucket"].to_numpy(),
        key=orders["order_id"].to_numpy(),
        release=np.maximum(orders["release_bucket"].to_numpy(), 0),
        quantity=orders["quantity"].to_numpy(),
    )
    lines.put(
        parts[3],
        3,
        item=phantom[pass_rows],
        bucket=pass_buckets,
        key=orders.height + 1 + np.arange(pass_rows.size),
        release=pass_buckets,
        quantity=passed[phantom[pass_rows], pass_buckets],
    )
    del scheduled, passed
    rank = np.minimum(lines.kind, 2)  # planned orders and pass-throughs (never of the same item) rank alike
    span = int(lines.key.max(initial=0)) + 2
    sort_key = ((lines.item.astype(np.int64) * (size + 1) + lines.bucket + 1) * 3 + rank) * span + lines.key + 1
    # each source comes sorted by this key: the stable sort merges four runs
    return lines.take(np.argsort(sort_key, kind="stable"))


def _demand_lines(
    plan: MrpPlan, supplies: _Lines, bom_edges: pl.DataFrame, horizon: Horizon
) -> list[tuple[int, int, _Lines]]:
    """Independent demand and each parent supply's dependent demand, by item, bucket, independent first, key.

    The expansion of BOM lines x parent supplies is tens of millions of rows at 100k items: it is written in
    place, item by item, in compiled code (:func:`_fill_demands`), the items in two halves on two threads.

    Returns:
        Per half: its first and end item, and its items' demand lines.
    """
    skus = plan.items["sku"]
    bom = normalize_bom(bom_edges)
    parent, component = index_edges(skus.to_list(), bom)  # unknown items fail here with a clear message
    valid = edge_validity(bom, horizon.bucket_starts)
    items = skus.len()
    keyed = np.flatnonzero(supplies.key >= 0)
    by_item = keyed[np.argsort(supplies.item[keyed], kind="stable")]
    first_supply = np.searchsorted(supplies.item[by_item], np.arange(items + 1))
    by_component = np.lexsort((parent, component))  # a component's lines, by parent
    first_line = np.searchsorted(component[by_component], np.arange(items + 1))
    (independent,) = _item_bucket_arrays(plan, horizon.size, "independent_demand")
    rows, buckets = np.nonzero(independent > 0)
    first_independent = np.searchsorted(rows, np.arange(items + 1))
    expanded = np.diff(first_supply)[parent]  # per BOM line: its parent's supplies
    per_item = np.bincount(component, weights=expanded, minlength=items).astype(np.int64)
    lines = per_item + np.diff(first_independent)  # at most, per item
    middle = int(np.searchsorted(np.cumsum(lines), lines.sum() / 2))
    halves = [(0, min(middle, items)), (min(middle, items), items)]
    key_type = supplies.key.dtype.type
    keys = supplies.key.astype(np.int64)

    def fill(first: int, end: int) -> tuple[int, int, _Lines]:
        demands = _Lines.empty(int(lines[first:end].sum()), key_type)
        filled = _fill_demands(
            first,
            end,
            by_component,
            first_line,
            parent,
            bom["qty_per"].to_numpy(),
            bom["scrap_rate"].to_numpy(),
            valid,
            by_item,
            first_supply,
            supplies.item,
            supplies.release,
            keys,
            supplies.quantity,
            first_independent,
            buckets,
            quantities,
            int(per_item.max(initial=0)),
            int(supplies.key.max(initial=0)) + 1,
            demands.item,
            demands.kind,
            demands.bucket,
            demands.key,
            demands.parent,
            demands.release,
            demands.quantity,
        )
        return first, end, demands.view(slice(0, filled))

    quantities = independent[rows, buckets]
    with ThreadPoolExecutor(max_workers=2) as pool:  # the kernel runs without the GIL
        return list(pool.map(fill, *zip(*halves, strict=True)))


@numba.njit(cache=True, nogil=True)
def _fill_demands(
    first_item: int,
    end_item: int,
    by_component: np.ndarray,
    first_line: np.ndarray,
    parent: np.ndarray,
    qty_per: np.ndarray,
    scrap: np.ndarray,
    valid: np.ndarray,
    by_item: np.ndarray,
    first_supply: np.ndarray,
    supply_item: np.ndarray,
    supply_release: np.ndarray,
    supply_key: np.ndarray,
    supply_quantity: np.ndarray,
    first_independent: np.ndarray,
    independent_bucket: np.ndarray,
    independent_quantity: np.ndarray,
    most: int,
    span: int,
    item_out: np.ndarray,
    kind_out: np.ndarray,
    bucket_out: np.ndarray,
    key_out: np.ndarray,
    parent_out: np.ndarray,
    release_out: np.ndarray,
    quantity_out: np.ndarray,
) -> int:
    """Write the demand lines of items ``first_item`` to ``end_item - 1``; returns how many.

    Per item: every BOM line to it (by parent) times its parent's keyed supplies, where the line is valid in
    the supply's release bucket, at ``supply x qty_per / (1 - scrap)``; sorted by (release bucket, supply key),
    stably, lines of one parent to the same component added in that order; its independent demand goes
    first in its bucket.
    """
    sort_key = np.empty(most, dtype=np.int64)
    amount = np.empty(most)
    source = np.empty(most, dtype=np.int64)
    order = np.empty(most, dtype=np.int64)
    widest = int(np.max(np.diff(first_line))) if first_line.size > 1 else 0
    head = np.empty(widest + 1, dtype=np.int64)  # per line of the item: where its run starts, then its next entry
    filled = 0
    for item in range(first_item, end_item):
        count, runs, in_order = 0, first_line[item + 1] - first_line[item], True
        for r in range(runs):
            line = by_component[first_line[item] + r]
            owner = parent[line]
            head[r] = count
            for m in range(first_supply[owner], first_supply[owner + 1]):
                supply = by_item[m]
                release = supply_release[supply]
                if valid[line, release]:
                    sort_key[count] = release * span + supply_key[supply]
                    amount[count] = supply_quantity[supply] * qty_per[line] / (1.0 - scrap[line])
                    source[count] = supply
                    if count > head[r] and sort_key[count] < sort_key[count - 1]:
                        in_order = False
                    count += 1
        head[runs] = count
        if in_order and runs <= 8:
            # each line's run is already by (release, key): merge the runs, the first line first on a tie
            ends = head[1 : runs + 1].copy()
            for k in range(count):
                best = -1
                for r in range(runs):
                    if head[r] < ends[r] and (best < 0 or sort_key[head[r]] < sort_key[head[best]]):
                        best = r
                order[k] = head[best]
                head[best] += 1
        else:
            order[:count] = np.argsort(sort_key[:count], kind="mergesort")
        j, stop, k = first_independent[item], first_independent[item + 1], 0
        while k < count or j < stop:
            if j < stop and (k >= count or independent_bucket[j] * span <= sort_key[order[k]]):
                item_out[filled], kind_out[filled] = item, 0
                bucket_out[filled], quantity_out[filled] = independent_bucket[j], independent_quantity[j]
                key_out[filled], parent_out[filled], release_out[filled] = -1, -1, -1
                j += 1
            else:
                key, total, supply = sort_key[order[k]], amount[order[k]], source[order[k]]
                k += 1
                while k < count and sort_key[order[k]] == key:  # a parent with two lines to one component
                    total += amount[order[k]]
                    k += 1
                item_out[filled], kind_out[filled] = item, 1
                bucket_out[filled], quantity_out[filled] = supply_release[supply], total
                key_out[filled], parent_out[filled], release_out[filled] = supply_key[supply], supply_item[supply], -1
            filled += 1
    return filled


def _allocate_lines(skus: pl.Series, supplies: _Lines, parts: list[tuple[int, int, _Lines]]) -> pl.DataFrame:
    """FIFO per item: cut both cumulative quantity lines at every end and match the pieces (:func:`_cut`).

    Items are taken in chunks, each chunk's pegs made into a frame at once: the working arrays stay small and are
    reused, where arrays of tens of millions of rows would each cost fresh memory (the frame has one chunk per
    item chunk). Two chunks are worked at a time: the cut runs without the GIL, and numpy and polars release it.
    """
    supply_bounds = np.searchsorted(supplies.item, np.arange(skus.len() + 1))
    labels = _Labels.of(skus)
    tasks = []
    for first, end, demands in parts:
        demand_bounds = np.searchsorted(demands.item, np.arange(skus.len() + 1))
        points = np.diff(supply_bounds[first : end + 1]) + np.diff(demand_bounds[first : end + 1])
        ends = first + np.searchsorted(
            np.cumsum(points), np.arange(1, points.sum() // _POINTS_PER_CHUNK + 2) * _POINTS_PER_CHUNK
        )
        highs = np.unique(np.minimum(ends + 1, end))
        highs = highs[highs > first]
        if not demands.item.size:  # nothing but stock: one blank demand row to point at
            demands = _Lines.empty(1, supplies.key.dtype.type)
            demands.put(slice(None), 2, item=0, bucket=0, quantity=0.0)
        lows = np.concatenate(([first], highs[:-1]))[: highs.size]
        tasks += [(demands, demand_bounds, low, high) for low, high in zip(lows.tolist(), highs.tolist(), strict=True)]

    def chunk(demands: _Lines, demand_bounds: np.ndarray, low: int, high: int) -> pl.DataFrame:
        s, d = slice(supply_bounds[low], supply_bounds[high]), slice(demand_bounds[low], demand_bounds[high])
        item, supply, demand, quantity = _cut(
            supplies.item[s], supplies.quantity[s], demands.item[d], demands.quantity[d]
        )
        supply += supply_bounds[low]
        demand[demand >= 0] += demand_bounds[low]
        return _peg_frame(labels, supplies, demands, item, supply, demand, quantity)

    with ThreadPoolExecutor(max_workers=2) as pool:
        frames = list(pool.map(chunk, *zip(*tasks, strict=True))) if tasks else []
    return (
        pl.concat(frames, rechunk=False)
        if frames
        else _peg_frame(
            labels, supplies, _Lines.empty(1, supplies.key.dtype.type), *(np.zeros(0, _INDEX),) * 3, np.zeros(0)
        )
    )


@dataclass(frozen=True, eq=False)
class _Labels:
    """The string columns' values as :class:`polars.Enum` series, to gather from (made once per plan)."""

    skus: pl.Series
    sku_enum: pl.Series
    supply_types: pl.Series
    demand_types: pl.Series

    @classmethod
    def of(cls, skus: pl.Series) -> _Labels:
        def enum(name: str, values: Sequence[str] | pl.Series) -> pl.Series:
            categories = pl.Series(name, values, pl.String)
            return categories.cast(pl.Enum(categories))

        return cls(
            skus=skus.alias("sku"),
            sku_enum=enum("parent_sku", skus),
            supply_types=enum("supply_type", _SUPPLY_TYPES),
            demand_types=enum("demand_type", _DEMAND_TYPES),
        )


def _peg_frame(
    labels: _Labels,
    supplies: _Lines,
    demands: _Lines,
    item: np.ndarray,
    supply: np.ndarray,
    demand: np.ndarray,
    quantity: np.ndarray,
) -> pl.DataFrame:
    """The pegs of pieces (item, supply row, demand row or -1 for stock, quantity) as :data:`PEG_COLUMNS`."""
    stock = demand < 0
    demand = np.where(stock, 0, demand)  # any row: a stock piece's demand columns are null
    dependent = (demands.kind[demand] == 1) & ~stock
    keyed = supplies.key[supply]
    independent = pl.Series(~dependent)
    return pl.DataFrame(
        [
            labels.skus.gather(positions(item)),
            labels.supply_types.gather(positions(supplies.kind[supply])),
            pl.Series("supply_bucket", supplies.bucket[supply], pl.Int32),
            pl.Series("supply_key", keyed, pl.Int64).set(pl.Series(keyed < 0), None),
            labels.demand_types.gather(positions(np.where(stock, 2, demands.kind[demand]))),
            pl.Series("demand_bucket", demands.bucket[demand], pl.Int32).set(pl.Series(stock), None),
            labels.sku_enum.gather(positions(np.maximum(demands.parent[demand], 0))).set(independent, None),
            pl.Series("parent_key", demands.key[demand], pl.Int64).set(independent, None),
            pl.Series("quantity", quantity),
        ]
    )


@numba.njit(cache=True, nogil=True)
def _cut(
    supply_item: np.ndarray, supply_quantity: np.ndarray, demand_item: np.ndarray, demand_quantity: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pieces of a chunk of items: item, supply row, demand row (-1 = stock) and quantity (rows in the chunk).

    Per item, its supplies and demands (each sorted FIFO) are laid end to end on one quantity axis, their ends
    the running sums of their quantities. The cut points are 0 and every supply and demand end; a piece runs
    from one cut point to the next, served by the supply and owed to the demand whose spans contain it (stock
    past the last demand). Pieces past the item's last supply are dropped, and so are pieces within
    ``1e-9 x max(1, the item's supply)`` of nothing.
    """
    pieces = supply_item.size + demand_item.size
    out_item = np.empty(pieces, dtype=np.int32)
    out_supply = np.empty(pieces, dtype=np.int32)
    out_demand = np.empty(pieces, dtype=np.int32)
    out_quantity = np.empty(pieces)
    supply_end = np.empty(supply_item.size)
    demand_end = np.empty(demand_item.size)
    made, s, d = 0, 0, 0
    while s < supply_item.size:
        item = supply_item[s]
        first_supply, running = s, 0.0
        while s < supply_item.size and supply_item[s] == item:
            running += supply_quantity[s]
            supply_end[s] = running
            s += 1
        tolerance = _RELATIVE_TOLERANCE * max(1.0, running)
        while d < demand_item.size and demand_item[d] < item:
            d += 1
        first_demand, running = d, 0.0
        while d < demand_item.size and demand_item[d] == item:
            running += demand_quantity[d]
            demand_end[d] = running
            d += 1
        a, b, point = first_supply, first_demand, 0.0
        while True:
            while a < s and supply_end[a] <= point:
                a += 1
            while b < d and demand_end[b] <= point:
                b += 1
            if a == s:
                break
            following = supply_end[a]
            if b < d and demand_end[b] < following:
                following = demand_end[b]
            if following - point > tolerance:
                out_item[made], out_supply[made] = item, a
                out_demand[made] = b if b < d else -1
                out_quantity[made] = following - point
                made += 1
            point = following
    return out_item[:made], out_supply[:made], out_demand[:made], out_quantity[:made]

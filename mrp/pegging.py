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
cumulative supply and demand lines are cut at every end, the ends of both merged per item with
``np.searchsorted``, and each piece's supply and demand are the number of supply and demand ends before it,
counted along the merge. Items go in chunks, and lines are int32 filled in place and freed as soon as used, so
the working arrays stay a few hundred MB whatever the plan's size.
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
    return [records[column].fill_null(0.0).to_numpy().reshape(skus.len(), size) for column in columns]


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


def _demand_lines(plan: MrpPlan, supplies: _Lines, bom_edges: pl.DataFrame, horizon: Horizon) -> _Lines:
    """Independent demand and each parent supply's dependent demand, by item, bucket, independent first, key.

    Items go in chunks of about :data:`_POINTS_PER_CHUNK` demand lines, written in place into one array per
    field: the expansion of BOM lines x parent supplies is tens of millions of rows at 100k items, and done
    whole, each of its steps would cost fresh memory.
    """
    skus = plan.items["sku"]
    bom = normalize_bom(bom_edges)
    parent, component = index_edges(skus.to_list(), bom)  # unknown items fail here with a clear message
    valid = edge_validity(bom, horizon.bucket_starts)
    qty_per, scrap = bom["qty_per"].to_numpy(), bom["scrap_rate"].to_numpy()
    keyed = np.flatnonzero(supplies.key >= 0).astype(_INDEX)
    by_item = keyed[np.argsort(supplies.item[keyed], kind="stable")]
    first = np.searchsorted(supplies.item[by_item], np.arange(skus.len() + 1))
    counts = first[parent + 1] - first[parent]  # per BOM line: its parent's supplies
    by_component = np.lexsort((parent, component))
    rank = np.arange(by_component.size) - np.searchsorted(component[by_component], component[by_component])
    (independent,) = _item_bucket_arrays(plan, horizon.size, "independent_demand")
    rows, buckets = np.nonzero(independent > 0)
    per_item = np.bincount(component, weights=counts, minlength=skus.len()) + np.bincount(rows, minlength=skus.len())
    cumulative = np.cumsum(per_item)
    cuts = np.searchsorted(
        cumulative, np.arange(_POINTS_PER_CHUNK, cumulative[-1] if cumulative.size else 0, _POINTS_PER_CHUNK)
    )
    item_bounds = np.unique(np.concatenate(([0], np.minimum(cuts + 1, skus.len()), [skus.len()])))
    line_bounds = np.searchsorted(component[by_component], item_bounds)
    row_bounds = np.searchsorted(rows, item_bounds)
    span = int(supplies.key.max(initial=0)) + 1
    demands = _Lines.empty(rows.size + int(counts.sum()), supplies.key.dtype.type)
    filled = 0
    for k in range(item_bounds.size - 1):
        chunk = by_component[line_bounds[k] : line_bounds[k + 1]]
        # lines by (rank among the component's lines, component): each rank's rows come out sorted by component,
        # release and key, so the stable sort below merges a handful of runs
        lines = chunk[np.lexsort((component[chunk], rank[line_bounds[k] : line_bounds[k + 1]]))]
        line = np.repeat(lines, counts[lines])
        supply = by_item[np.repeat(first[parent[lines]], counts[lines]) + _ranges(counts[lines])]
        release = supplies.release[supply]
        applies = valid[line, release]
        if not applies.all():
            line, supply, release = line[applies], supply[applies], release[applies]
        sort_key = (component[line].astype(np.int64) * horizon.size + release) * span + supplies.key[supply]
        order = np.argsort(sort_key, kind="stable")
        sort_key, line, supply = sort_key[order], line[order], supply[order]
        starts = np.flatnonzero(np.diff(sort_key, prepend=-1) != 0)  # a parent with two lines to one component
        sort_key = sort_key[starts]
        quantity = supplies.quantity[supply] * qty_per[line] / (1.0 - scrap[line])
        if starts.size < quantity.size:
            quantity = np.add.reduceat(quantity, starts)
        line, supply = line[starts], supply[starts]
        own = slice(row_bounds[k], row_bounds[k + 1])
        # independent demand goes first in its bucket: merge the two sorted lists by (item, bucket)
        position = np.searchsorted(sort_key, (rows[own] * horizon.size + buckets[own]) * span, side="left")
        position += np.arange(position.size)
        dependent = np.ones(position.size + starts.size, dtype=bool)
        dependent[position] = False
        part = demands.view(slice(filled, filled + dependent.size))
        filled += dependent.size
        part.put(position, 0, item=rows[own], bucket=buckets[own], quantity=independent[rows[own], buckets[own]])
        part.put(
            dependent,
            1,
            item=component[line],
            bucket=supplies.release[supply],
            key=supplies.key[supply],
            parent=supplies.item[supply],
            quantity=quantity,
        )
    return demands.view(slice(0, filled))


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
    """FIFO per item: cut both cumulative quantity lines at every end and match the pieces.

    Each line of an item starts where the one before it ends (its cumulative sum), so the ends alone cut the
    item's quantity axis. The ends of both lines are merged per item with complex numbers (item + i x position),
    which numpy orders by item first, then position, exactly. Items are taken in chunks, each chunk's pegs made
    into a frame at once: the working arrays stay small and are reused, where arrays of tens of millions of rows
    would each cost fresh memory (the frame has one chunk per item chunk).
    """
    total = np.zeros(skus.len())  # per item, its supply: the scale of its tolerance
    supply_bounds = np.searchsorted(supplies.item, np.arange(skus.len() + 1))
    demand_bounds = np.searchsorted(demands.item, np.arange(skus.len() + 1))
    points = np.diff(supply_bounds) + np.diff(demand_bounds)
    chunk_ends = np.searchsorted(
        np.cumsum(points), np.arange(1, points.sum() // _POINTS_PER_CHUNK + 2) * _POINTS_PER_CHUNK
    )
    if not demands.item.size:  # nothing but stock: one blank demand row to point at
        demands = _Lines.empty(1, supplies.key.dtype.type)
        demands.put(slice(None), 2, item=0, bucket=0, quantity=0.0)
    labels = _Labels.of(skus)
    frames = []
    low = 0
    for high in np.unique(np.minimum(chunk_ends + 1, skus.len())):
        s, d = slice(supply_bounds[low], supply_bounds[high]), slice(demand_bounds[low], demand_bounds[high])
        supply_end = _group_cumsum(supplies.quantity[s], supplies.item[s])
        demand_end = _group_cumsum(demands.quantity[d], demands.item[d])
        np.maximum.at(total, supplies.item[s], supply_end)
        tolerance = _RELATIVE_TOLERANCE * np.maximum(1.0, total)
        item, supply, demand, quantity = _cut(supplies.item[s], supply_end, demands.item[d], demand_end, tolerance)
        supply += supply_bounds[low]
        demand[demand >= 0] += demand_bounds[low]
        frames.append(_peg_frame(labels, supplies, demands, item, supply, demand, quantity))
        low = high
    return pl.concat(frames, rechunk=False)


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
            labels.skus.gather(item),
            labels.supply_types.gather(supplies.kind[supply]),
            pl.Series("supply_bucket", supplies.bucket[supply], pl.Int32),
            pl.Series("supply_key", keyed, pl.Int64).set(pl.Series(keyed < 0), None),
            labels.demand_types.gather(np.where(stock, 2, demands.kind[demand])),
            pl.Series("demand_bucket", demands.bucket[demand], pl.Int32).set(pl.Series(stock), None),
            labels.sku_enum.gather(np.maximum(demands.parent[demand], 0)).set(independent, None),
            pl.Series("parent_key", demands.key[demand], pl.Int64).set(independent, None),
            pl.Series("quantity", quantity),
        ]
    )


def _cut(
    supply_item: np.ndarray,
    supply_end: np.ndarray,
    demand_item: np.ndarray,
    demand_end: np.ndarray,
    tolerance: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pieces of a chunk of items: item, supply row, demand row (-1 = stock) and quantity (rows in the chunk).

    The cut points are every supply and demand end, and a 0 where each item's supply starts. A piece runs from
    one cut point to the next of its item; its supply (demand) row is the number of supply (demand) ends at or
    before its start, counted along the merged points, when that row is one of the item's (else the piece lies
    past the item's supply, or is stock).
    """
    empty = np.zeros(0, _INDEX)
    if not supply_item.size:
        return empty, empty, empty, np.zeros(0)
    first = np.diff(supply_item, prepend=supply_item[0] - 1) != 0
    shift = np.cumsum(first)
    end_at = np.arange(supply_item.size) + shift
    position = np.zeros(supply_item.size + int(shift[-1]))
    position[end_at] = supply_end
    owner = np.empty(position.size, _INDEX)
    owner[end_at] = supply_item
    owner[end_at[first] - 1] = supply_item[first]
    supply_points = owner + 1j * position
    del position, owner
    demand_points = demand_item + 1j * demand_end
    cuts = np.empty(supply_points.size + demand_points.size, dtype=complex)
    at_supply = np.arange(supply_points.size) + np.searchsorted(demand_points, supply_points, side="left")
    at_demand = np.arange(demand_points.size) + np.searchsorted(supply_points, demand_points, side="right")
    cuts[at_supply], cuts[at_demand] = supply_points, demand_points
    supply_ends = np.zeros(cuts.size, dtype=_INDEX)
    supply_ends[at_supply[end_at]] = 1
    demand_ends = np.zeros(cuts.size, dtype=_INDEX)
    demand_ends[at_demand] = 1
    del at_supply, at_demand, supply_points, demand_points
    last = np.flatnonzero(np.append(cuts[1:] != cuts[:-1], True))  # the last of equal points counts them all
    cuts = cuts[last]
    supply_count = np.cumsum(supply_ends, dtype=_INDEX)[last[:-1]]
    demand_count = np.cumsum(demand_ends, dtype=_INDEX)[last[:-1]]
    del supply_ends, demand_ends, last
    same_item = cuts.real[1:] == cuts.real[:-1]
    item = cuts.real[:-1][same_item].astype(_INDEX)
    quantity = cuts.imag[1:][same_item] - cuts.imag[:-1][same_item]
    supply, demand = supply_count[same_item], demand_count[same_item]
    del cuts
    supply_inside = supply < supply_item.size
    supply_inside[supply_inside] = supply_item[supply[supply_inside]] == item[supply_inside]
    keep = supply_inside & (quantity > tolerance[item])
    item, supply, demand, quantity = item[keep], supply[keep], demand[keep], quantity[keep]
    found = demand < demand_item.size
    found[found] = demand_item[demand[found]] == item[found]
    return item, supply, np.where(found, demand, -1).astype(_INDEX), quantity

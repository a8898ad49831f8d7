"""Regenerative multi-level MRP (PL-3): items, BOM, stock, open orders and demand in; the MRP record out.

Inputs are polars frames with the column names of the marts the planning reads:

- ``items`` (mart ``items``): ``sku``, ``lead_time_days`` (working days), ``lot_size_rule`` (LFL, FOQ, EOQ, POQ,
  SM, LUC, PPB, WW; null = LFL); optional ``replenishment``, ``fixed_lot_qty`` (FOQ's lot), ``min_lot``,
  ``max_lot``, ``lot_multiple``, ``moq``, ``safety_stock_override``, ``is_phantom``, ``standard_cost``,
  ``setup_cost`` (per order) and ``holding_cost`` (per unit per bucket). Every row is planned: leave
  inactive items out before calling.
- ``bom_edges`` (mart ``bom_edges``): see :mod:`mrp.bom`.
- ``inventory`` (mart ``inventory_position_by_sku``): ``sku``, ``nettable_on_hand``.
- ``scheduled_receipts`` (mart ``scheduled_receipts``): ``sku``, ``due_week``, ``open_quantity``.
- ``demand``: independent demand (the MPS), ``sku``, ``bucket``, ``quantity``.

A ``bucket`` or ``due_week`` column is either a bucket index (integer) or a date (mapped to the bucket that
contains it, :class:`mrp.horizon.Horizon`). Demand and receipts dated before bucket 0 are overdue and count in
bucket 0; those after the horizon are outside the plan and ignored.

How the run works (PRODUCT §1). Items are planned level by level in low-level-code order, every item of a
level at once on ``items x buckets`` numpy arrays, the per-item loops in compiled code (numba). For each
level: gross requirements = independent demand + the dependent demand the levels above exploded into it;
gross-to-net (:mod:`mrp.netting`); lot sizing with the item's rule and order modifiers, every item of the level
at once (:func:`mrp.lotsizing_batch.lot_size_batch` gives the plans of :func:`mrp.lotsizing.lot_size` to the
bit); each order's release bucket from its lead time on the calendar; then explosion: each component's gross
requirement in the parent's *release* bucket grows by release x ``qty_per`` / (1 - scrap), for the BOM lines
valid in that bucket.

- **Safety stock**: ``safety_stock_override`` when set, else the ``safety_stock`` frame's value, else 0.
- **Past due**: a release that falls before bucket 0 is kept, flagged ``is_past_due`` in the planned orders
  and counted in bucket 0's ``planned_releases`` (and ``past_due_releases``): it has to be released now, so
  its components' requirements also land in bucket 0.
- **Phantoms** (APICS Dictionary, "phantom bill of material"): a phantom's gross requirements are netted
  against its own on hand and scheduled receipts (no safety stock, no lot sizing), and what is left passes
  straight through to its components in the same bucket. Its record shows that pass-through as planned
  receipts and releases, so the balance holds, but it creates no planned order.
- **Costs** of the cost-based rules: the item's ``setup_cost`` / ``holding_cost`` when given, else
  :class:`CostDefaults`: a setup cost per order and a holding cost of ``carrying_rate x standard_cost`` per year
  spread over the buckets of a year.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import polars as pl

from mrp.bom import _low_level_codes, index_bom
from mrp.horizon import Horizon
from mrp.lotsizing_batch import ItemLotSizingError, lot_size_batch
from mrp.netting import mrp_record, uncovered_requirements

LOT_SIZE_RULES: dict[str, str] = {
    "LFL": "lot_for_lot",
    "FOQ": "fixed_order_quantity",
    "EOQ": "eoq",
    "POQ": "periodic_order_quantity",
    "SM": "silver_meal",
    "LUC": "least_unit_cost",
    "PPB": "part_period_balancing",
    "WW": "wagner_whitin",
}

RECORD_COLUMNS: tuple[str, ...] = (
    "sku",
    "bucket",
    "bucket_start",
    "independent_demand",
    "dependent_demand",
    "gross_requirements",
    "scheduled_receipts",
    "projected_on_hand",
    "net_requirements",
    "planned_receipts",
    "planned_releases",
    "past_due_releases",
)

_OPTIONAL_ITEM_COLUMNS: dict[str, pl.DataType] = {
    "replenishment": pl.String(),
    "fixed_lot_qty": pl.Float64(),
    "min_lot": pl.Float64(),
    "max_lot": pl.Float64(),
    "lot_multiple": pl.Float64(),
    "moq": pl.Float64(),
    "safety_stock_override": pl.Float64(),
    "is_phantom": pl.Boolean(),
    "standard_cost": pl.Float64(),
    "setup_cost": pl.Float64(),
    "holding_cost": pl.Float64(),
}


class MrpInputError(ValueError):
    """An input frame the MRP run cannot use: a missing column, an unknown SKU, a value out of range."""


@dataclass(frozen=True)
class CostDefaults:
    """Costs for items whose master data has no ``setup_cost`` / ``holding_cost``.

    Attributes:
        setup_cost: Cost of placing one order (purchase or production), in the installation's currency.
        carrying_rate: Yearly holding cost as a fraction of the standard cost (0.25 = 25 % a year).
        buckets_per_year: Buckets in a year (52 weekly buckets).
        unit_cost: The standard cost assumed where the item has none (null or <= 0).
    """

    setup_cost: float = 100.0
    carrying_rate: float = 0.25
    buckets_per_year: float = 52.0
    unit_cost: float = 1.0


@dataclass(frozen=True, eq=False)
class MrpPlan:
    """The result of a regenerative MRP run.

    Attributes:
        records: The MRP record, one row per item and bucket (:data:`RECORD_COLUMNS`), sorted by SKU and bucket.
        planned_orders: One row per planned order: ``order_id``, ``sku``, ``replenishment``,
            ``release_bucket`` (negative when past due), ``receipt_bucket``, ``release_date`` (the start of
            the release bucket, or of bucket 0 when past due), ``need_date``, ``quantity``, ``is_past_due``.
        items: One row per item with what the run used: ``sku``, ``low_level_code``, ``is_phantom``,
            ``lot_size_method``, ``lead_time_days``, ``on_hand``, ``safety_stock``, ``setup_cost``,
            ``holding_cost``.
    """

    records: pl.DataFrame
    planned_orders: pl.DataFrame
    items: pl.DataFrame


@dataclass(frozen=True, eq=False)
class _Items:
    frame: pl.DataFrame  # sorted by sku, the columns the run uses
    skus: list[str]
    lead_time: np.ndarray
    method: np.ndarray  # canonical lot_size method names
    phantom: np.ndarray
    safety_stock: np.ndarray
    setup: np.ndarray
    holding: np.ndarray
    identity: np.ndarray  # no order modifier set
    min_lot: np.ndarray  # NaN = none, as moq, multiple, max_lot and fixed_lot
    moq: np.ndarray
    multiple: np.ndarray
    max_lot: np.ndarray
    fixed_lot: np.ndarray


def run_mrp(
    items: pl.DataFrame,
    bom_edges: pl.DataFrame,
    inventory: pl.DataFrame,
    scheduled_receipts: pl.DataFrame,
    demand: pl.DataFrame,
    horizon: Horizon,
    *,
    safety_stock: pl.DataFrame | None = None,
    costs: CostDefaults | None = None,
) -> MrpPlan:
    """Plan every item over the horizon: the full MRP record and the planned orders.

    Args:
        items: The item master (see the module docstring for the columns).
        bom_edges: The BOM lines (:mod:`mrp.bom`).
        inventory: ``sku``, ``nettable_on_hand`` (>= 0); items without a row have no stock.
        scheduled_receipts: ``sku``, ``due_week`` (bucket index or date), ``open_quantity`` (>= 0).
        demand: Independent demand: ``sku``, ``bucket`` (bucket index or date), ``quantity`` (>= 0).
        horizon: The buckets and their working days.
        safety_stock: Optional ``sku``, ``safety_stock`` (e.g. from the inventory policy); the item's
            ``safety_stock_override`` wins.
        costs: Defaults for items without setup or holding costs.

    Returns:
        The MRP record, the planned orders and the per-item parameters used.

    Raises:
        MrpInputError: A frame lacks a column, names an unknown SKU, or has a value out of range.
        mrp.bom.BomError: The BOM has a cycle or a bad line.
    """
    table = _prepare_items(items, safety_stock, costs or CostDefaults())
    n, size = len(table.skus), horizon.size
    bom = index_bom(table.skus, bom_edges, horizon.bucket_starts)
    levels = _low_level_codes(n, bom.parent, bom.component, table.skus)
    on_hand = _per_item(table.skus, inventory, "nettable_on_hand", "inventory")
    scheduled = _per_item_bucket(table.skus, scheduled_receipts, "due_week", "open_quantity", horizon)
    independent = _per_item_bucket(table.skus, demand, "bucket", "quantity", horizon)

    dependent = np.zeros((n, size))
    receipts = np.zeros((n, size))
    releases = np.zeros((n, size))
    past_due = np.zeros(n)
    orders: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    edge_levels = levels[bom.parent]
    edge_order = np.lexsort((bom.component, edge_levels))  # by the parent's level, then component, then as given
    edge_bounds = np.searchsorted(edge_levels[edge_order], np.arange(int(levels.max(initial=-1)) + 2))
    for level in range(int(levels.max(initial=-1)) + 1):
        rows = np.flatnonzero(levels == level)
        safety = np.where(table.phantom[rows], 0.0, table.safety_stock[rows])
        net = uncovered_requirements(independent[rows] + dependent[rows], scheduled[rows], on_hand[rows], safety)
        level_receipts, order_rows, order_buckets, quantities = _lot_size_level(table, rows, net)
        receipts[rows] = level_receipts
        lead = np.where(table.phantom[order_rows], 0.0, table.lead_time[order_rows])
        release = horizon.release_buckets(order_buckets, lead)
        _add_at(releases, order_rows, np.maximum(release, 0), quantities)
        np.add.at(past_due, order_rows[release < 0], quantities[release < 0])
        orders.append((order_rows, order_buckets, release, quantities))
        _explode(
            edge_order[edge_bounds[level] : edge_bounds[level + 1]],
            bom.parent,
            bom.component,
            bom.factor,
            bom.valid,
            releases,
            dependent,
        )

    safety = np.where(table.phantom, 0.0, table.safety_stock)

    def records() -> pl.DataFrame:
        gross = independent + dependent
        record = mrp_record(gross, scheduled, on_hand, safety, receipts)
        arrays = {
            "independent_demand": independent,
            "dependent_demand": dependent,
            "gross_requirements": gross,
            "scheduled_receipts": scheduled,
            "projected_on_hand": record.projected_on_hand,
            "net_requirements": record.net_requirements,
            "planned_receipts": receipts,
            "planned_releases": releases,
        }
        return _records_frame(table.skus, horizon, arrays, past_due)

    with ThreadPoolExecutor(max_workers=2) as pool:  # numpy, numba and polars release the GIL in both
        record_frame = pool.submit(records)
        orders_frame = pool.submit(_orders_frame, table, horizon, orders)
        record_frame.result(), orders_frame.result()
    return MrpPlan(
        records=record_frame.result(),
        planned_orders=orders_frame.result(),
        items=table.frame.select("sku").with_columns(
            pl.Series("low_level_code", levels, pl.Int32),
            pl.Series("is_phantom", table.phantom),
            pl.Series("lot_size_method", table.method.tolist(), pl.String),
            pl.Series("lead_time_days", table.lead_time),
            pl.Series("on_hand", on_hand),
            pl.Series("safety_stock", safety),
            pl.Series("setup_cost", table.setup),
            pl.Series("holding_cost", table.holding),
        ),
    )


def _lot_size_level(
    table: _Items, rows: np.ndarray, net: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Receipts of a level's items and their orders (item row, receipt bucket, quantity).

    Phantoms and lot-for-lot without modifiers receive their net requirement; every other item goes through
    :func:`lot_size_batch`, which plans exactly what :func:`mrp.lotsizing.lot_size` would.
    """
    receipts = np.zeros_like(net)
    active = net.any(axis=1)
    method, phantom, identity = table.method[rows], table.phantom[rows], table.identity[rows]
    plain = active & (phantom | ((method == "lot_for_lot") & identity))
    receipts[plain] = net[plain]
    item_rows, buckets = np.nonzero(receipts * plain[:, None])
    parts = [(rows[item_rows], buckets, receipts[item_rows, buckets])]
    others = np.flatnonzero(active & ~plain)
    if others.size:
        members = rows[others]
        try:
            lots = lot_size_batch(
                net[others],
                table.method[members],
                setup_cost=table.setup[members],
                holding_cost=table.holding[members],
                quantity=table.fixed_lot[members],
                min_lot=table.min_lot[members],
                moq=table.moq[members],
                multiple=table.multiple[members],
                max_lot=table.max_lot[members],
            )
        except ItemLotSizingError as error:
            raise MrpInputError(f"item {table.skus[members[error.row]]!r}: {error.error}") from error.error
        receipts[others] = lots.quantities
        parts.append((members[lots.order_item], lots.order_period, lots.order_quantity))
    return (
        receipts,
        np.concatenate([p[0] for p in parts]).astype(np.int64),
        np.concatenate([p[1] for p in parts]).astype(np.int64),
        np.concatenate([p[2] for p in parts]).astype(float),
    )


@numba.njit(cache=True, nogil=True)
def _explode(
    edges: np.ndarray,
    parent: np.ndarray,
    component: np.ndarray,
    factor: np.ndarray,
    valid: np.ndarray,
    releases: np.ndarray,
    dependent: np.ndarray,
) -> None:
    """Add the components' requirements of BOM lines sorted by component, in the parents' release buckets.

    Per component, the contributions of its lines (release x factor where the line is valid) are summed in the
    lines' order, then added to what the component already needs.
    """
    size = releases.shape[1]
    total = np.empty(size)
    k = 0
    while k < edges.size:
        item = component[edges[k]]
        total[:] = 0.0
        first = True
        while k < edges.size and component[edges[k]] == item:
            edge = edges[k]
            for t in range(size):
                contribution = releases[parent[edge], t] * factor[edge] * (1.0 if valid[edge, t] else 0.0)
                total[t] = contribution if first else total[t] + contribution
            first = False
            k += 1
        for t in range(size):
            dependent[item, t] += total[t]


@numba.njit(cache=True, nogil=True)
def _add_at(target: np.ndarray, rows: np.ndarray, columns: np.ndarray, values: np.ndarray) -> None:
    """``np.add.at(target, (rows, columns), values)``: the same sums in the same order, compiled."""
    for k in range(rows.size):
        target[rows[k], columns[k]] += values[k]


@numba.njit(cache=True, nogil=True)
def _orders_by_item(
    rows: np.ndarray, receipt: np.ndarray, release: np.ndarray, quantity: np.ndarray, phantom: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The orders of non-phantom items, stably grouped by item (a counting sort on the item row).

    Each item's orders come from one level's lot sizing, already by receipt bucket and then as planned, so
    grouping by item alone sorts them by item, receipt and planning order.
    """
    items = phantom.size
    starts = np.zeros(items + 1, dtype=np.int64)
    for k in range(rows.size):
        if not phantom[rows[k]]:
            starts[rows[k] + 1] += 1
    for i in range(items):
        starts[i + 1] += starts[i]
    count = starts[items]
    out_rows = np.empty(count, dtype=np.int64)
    out_receipt = np.empty(count, dtype=np.int32)
    out_release = np.empty(count, dtype=np.int32)
    out_quantity = np.empty(count)
    for k in range(rows.size):
        item = rows[k]
        if not phantom[item]:
            at = starts[item]
            out_rows[at], out_receipt[at], out_release[at], out_quantity[at] = item, receipt[k], release[k], quantity[k]
            starts[item] = at + 1
    return out_rows, out_receipt, out_release, out_quantity


def _prepare_items(items: pl.DataFrame, safety_stock: pl.DataFrame | None, costs: CostDefaults) -> _Items:
    missing = [name for name in ("sku", "lead_time_days", "lot_size_rule") if name not in items.columns]
    if missing:
        raise MrpInputError(f"items lacks the column(s) {', '.join(missing)}")
    frame = items.with_columns(
        [pl.lit(None, dtype).alias(name) for name, dtype in _OPTIONAL_ITEM_COLUMNS.items() if name not in items.columns]
    ).select(
        pl.col("sku").cast(pl.String),
        pl.col("lead_time_days").cast(pl.Float64).fill_null(0.0),
        pl.col("lot_size_rule").cast(pl.String).fill_null("LFL").str.strip_chars().str.to_uppercase(),
        *[pl.col(name).cast(dtype) for name, dtype in _OPTIONAL_ITEM_COLUMNS.items()],
    )
    frame = frame.with_columns(pl.col("is_phantom").fill_null(False)).sort("sku")
    if safety_stock is not None:
        computed = safety_stock.select(pl.col("sku").cast(pl.String), pl.col("safety_stock").cast(pl.Float64))
        frame = frame.join(computed, on="sku", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias("safety_stock"))
    checked = ("lead_time_days", "safety_stock_override", "setup_cost", "holding_cost")
    derived = frame.select(  # every check and derived column in one query: polars' per-query cost adds up
        pl.col("sku").is_duplicated().alias("duplicated"),
        ~pl.col("lot_size_rule").is_in(list(LOT_SIZE_RULES)).alias("unknown_rule"),
        *[
            (~(pl.col(c) >= 0).fill_null(True) | ~pl.col(c).is_finite().fill_null(True)).alias(f"bad_{c}")
            for c in checked
        ],
        pl.col("lot_size_rule").replace_strict(LOT_SIZE_RULES, default=None, return_dtype=pl.String).alias("method"),
        pl.coalesce("safety_stock_override", "safety_stock", 0.0).clip(lower_bound=0.0).alias("safety"),
        pl.any_horizontal(pl.col("min_lot", "moq", "lot_multiple", "max_lot").is_not_null()).alias("modified"),
    )
    if derived["duplicated"].any() or frame["sku"].null_count():
        repeated = frame.filter(derived["duplicated"])["sku"].unique().sort()
        raise MrpInputError(f"items must have one row per non-null sku; repeated: {repeated.head(10).to_list()}")
    if derived["unknown_rule"].any():
        row = frame.filter(derived["unknown_rule"]).row(0, named=True)
        raise MrpInputError(
            f"item {row['sku']!r}: unknown lot_size_rule {row['lot_size_rule']!r}; expected one of "
            f"{', '.join(LOT_SIZE_RULES)}"
        )
    for column in checked:
        if derived[f"bad_{column}"].any():
            bad = frame.filter(derived[f"bad_{column}"])
            raise MrpInputError(f"item {bad['sku'][0]!r}: {column} must be a finite number >= 0, got {bad[column][0]}")
    values = {name: frame[name].to_numpy() for name in ("standard_cost", "setup_cost", "holding_cost")}  # null: NaN
    unit_cost = np.nan_to_num(values["standard_cost"])
    unit_cost = np.where(unit_cost > 0, unit_cost, costs.unit_cost)
    default_holding = costs.carrying_rate * unit_cost / costs.buckets_per_year
    return _Items(
        frame=frame,
        skus=frame["sku"].to_list(),
        lead_time=frame["lead_time_days"].to_numpy(),
        method=derived["method"].to_numpy().astype(object),
        phantom=frame["is_phantom"].to_numpy(),
        safety_stock=derived["safety"].to_numpy(),
        setup=np.where(np.isnan(values["setup_cost"]), costs.setup_cost, values["setup_cost"]),
        holding=np.where(np.isnan(values["holding_cost"]), default_holding, values["holding_cost"]),
        identity=~derived["modified"].to_numpy(),
        min_lot=frame["min_lot"].to_numpy(),  # null: NaN, which the lot sizing reads as "none"
        moq=frame["moq"].to_numpy(),
        multiple=frame["lot_multiple"].to_numpy(),
        max_lot=frame["max_lot"].to_numpy(),
        fixed_lot=frame["fixed_lot_qty"].to_numpy(),
    )


def _sku_positions(skus: list[str], frame: pl.DataFrame, name: str) -> np.ndarray:
    lookup = pl.DataFrame({"sku": skus, "position": np.arange(len(skus), dtype=np.int64)})
    joined = frame.select(pl.col("sku").cast(pl.String)).join(lookup, on="sku", how="left", maintain_order="left")
    unknown = joined.filter(pl.col("position").is_null())["sku"].unique().sort()
    if unknown.len():
        raise MrpInputError(f"{name} names SKUs that are not in items: {', '.join(map(str, unknown.head(10)))}")
    return joined["position"].to_numpy()


def _checked_values(frame: pl.DataFrame, column: str, name: str) -> np.ndarray:
    if column not in frame.columns:
        raise MrpInputError(f"{name} lacks the column {column!r}")
    values = frame[column].cast(pl.Float64).fill_null(0.0).to_numpy()
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        raise MrpInputError(f"{name} row {bad[0]}: {column} must be a finite number >= 0, got {values[bad[0]]}")
    return values


def _per_item(skus: list[str], frame: pl.DataFrame, column: str, name: str) -> np.ndarray:
    values = _checked_values(frame, column, name)
    positions = _sku_positions(skus, frame, name)
    order = np.lexsort((values, positions))  # a fixed summation order: results do not depend on row order
    totals = np.zeros(len(skus))
    np.add.at(totals, positions[order], values[order])
    return totals


def _per_item_bucket(
    skus: list[str], frame: pl.DataFrame, bucket_column: str, column: str, horizon: Horizon
) -> np.ndarray:
    name = "demand" if column == "quantity" else "scheduled_receipts"
    values = _checked_values(frame, column, name)
    if bucket_column not in frame.columns:
        raise MrpInputError(f"{name} lacks the column {bucket_column!r}")
    series = frame[bucket_column]
    if series.null_count():
        raise MrpInputError(
            f"{name}.{bucket_column} is empty on {series.null_count()} row(s): every row needs a bucket"
        )
    if series.dtype.is_integer() or series.dtype == pl.Null:
        buckets = series.to_numpy().astype(np.int64)
    elif series.dtype in (pl.Date, pl.Datetime):
        buckets = horizon.bucket_of(series)
    else:
        raise MrpInputError(f"{name}.{bucket_column} must be a bucket index or a date, got {series.dtype}")
    positions = _sku_positions(skus, frame, name)
    inside = buckets < horizon.size
    buckets = np.maximum(buckets, 0)  # overdue: due now
    order = np.lexsort((values, buckets, positions))
    order = order[inside[order]]
    totals = np.zeros((len(skus), horizon.size))
    np.add.at(totals, (positions[order], buckets[order]), values[order])
    return totals


def _records_frame(
    skus: list[str], horizon: Horizon, arrays: dict[str, np.ndarray], past_due: np.ndarray
) -> pl.DataFrame:
    n, size = len(skus), horizon.size
    past_due_column = np.zeros((n, size))
    past_due_column[:, 0] = past_due
    sku = pl.Series("sku", skus, pl.String)
    buckets = np.tile(np.arange(size, dtype=np.int32), n)
    return pl.DataFrame(
        [
            sku.gather(positions(np.repeat(np.arange(n, dtype=np.uint32), size))),
            pl.Series("bucket", buckets),
            pl.Series("bucket_start", list(horizon.bucket_starts), pl.Date).gather(positions(buckets)),
            *[pl.Series(name, values.ravel()) for name, values in arrays.items()],
            pl.Series("past_due_releases", past_due_column.ravel()),
        ]
    )


def _orders_frame(
    table: _Items, horizon: Horizon, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
) -> pl.DataFrame:
    rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    receipt = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    release = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    quantity = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0)
    rows, receipt, release, quantity = _orders_by_item(rows, receipt, release, quantity, table.phantom)
    starts = pl.Series(list(horizon.bucket_starts), dtype=pl.Date)
    items = positions(rows)
    return pl.DataFrame(
        [
            pl.Series("order_id", np.arange(1, rows.size + 1, dtype=np.int64)),
            pl.Series("sku", table.skus, pl.String).gather(items),
            table.frame["replenishment"].gather(items),
            pl.Series("release_bucket", release),
            pl.Series("receipt_bucket", receipt),
            starts.gather(positions(np.maximum(release, 0))).alias("release_date"),
            starts.gather(positions(receipt)).alias("need_date"),
            pl.Series("quantity", quantity),
            pl.Series("is_past_due", release < 0),
        ]
    )


def positions(values: np.ndarray) -> pl.Series:
    """Row numbers (>= 0) as a ``UInt32`` series: polars gathers with it several times faster than with numpy."""
    return pl.Series(values.astype(np.uint32, copy=False))

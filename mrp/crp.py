"""Capacity requirements planning (PL-7): load per work center per bucket against the capacity available.

**Load.** Every production order is loaded through its item's routing (mart ``routings``: ``sku``,
``sequence``, ``work_center_code``, ``setup_minutes``, ``run_minutes_per_unit``): an operation's load is
``(setup_minutes + quantity x run_minutes_per_unit) / 60`` standard hours, the setup counted once per order
and operation. Two kinds of orders are loaded:

- *planned* orders of the MRP plan (:class:`mrp.engine.MrpPlan` ``planned_orders``); bought items
  (``replenishment == "buy"``) are skipped; an order that is not bought and whose item has no routing is
  listed in :attr:`CapacityPlan.unrouted` (its load is unknown, a planner must see that);
- *released* production orders (mart ``scheduled_receipts`` rows with ``order_type == "production"``), loaded
  with their ``open_quantity`` (ordered - completed), as QAD's CRP does ("Setup Time + Run Hours/Unit x
  Quantity Open"). Operation progress is not in the marts, so every remaining operation keeps its setup.

**Timing (back-scheduling).** CRP places each operation in the bucket in which it is planned to run, found by
scheduling the routing backward from the order's due date over its lead time (Vollmann, Berry, Whybark &
Jacobs, *Manufacturing Planning and Control for Supply Chain Management*, capacity requirements planning:
"open and planned orders ... are back-scheduled from their due dates through the routing"; APICS Dictionary,
"back scheduling"). The marts give no queue, move or wait time per operation, so the order's lead time is
shared equally among its operations: an order released in bucket ``r`` and due (received) in bucket ``d``
has a span of ``d - r`` buckets, and its ``j``-th operation of ``k`` (0-based, by ``sequence``) runs in bucket
``r + floor(j x (d - r) / k)``. The last operation ends before the due bucket begins; with a zero lead time
(``d == r``) every operation runs in the due bucket; a one-bucket lead time puts every operation in the
release bucket. Load that falls before bucket 0 (a past-due release, a late released order) is work to do
now and is loaded in bucket 0; operations after the horizon are left out.

**Capacity** comes from the mart ``work_center_capacity`` (``work_center_code``, ``calendar_date``,
``available_hours``), in which dbt has already folded shifts, the factory calendar, machines, efficiency and
planned stops into standard hours per day; the days of a bucket are summed. :func:`available_hours` computes
the same columns from shifts and a calendar for callers without the mart.

**Suggestion** by utilisation ``u = load / capacity`` (PRODUCT PL-7, thresholds in :class:`CapacityThresholds`):
``ok`` (u <= 100 %), ``overtime`` (<= 110 %), ``pull_forward`` (<= 130 %), ``subcontract`` (above);
``no_capacity`` when there is load but no capacity at all (utilisation null, never a division by zero).
``spare_hours_earlier`` is the unused capacity of the same work center in the buckets before, what pulling
work forward could use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from mrp.horizon import Horizon

LOAD_COLUMNS: tuple[str, ...] = (
    "work_center_code",
    "bucket",
    "bucket_start",
    "planned_load_hours",
    "released_load_hours",
    "load_hours",
    "capacity_hours",
    "utilisation",
    "overload_hours",
    "spare_hours_earlier",
    "suggestion",
)
OPERATION_COLUMNS: tuple[str, ...] = (
    "source",
    "order_ref",
    "sku",
    "sequence",
    "work_center_code",
    "bucket",
    "quantity",
    "setup_hours",
    "run_hours",
    "load_hours",
)
SUGGESTIONS: tuple[str, ...] = ("ok", "overtime", "pull_forward", "subcontract", "no_capacity")
_RELATIVE_TOLERANCE = 1e-9


class CapacityInputError(ValueError):
    """A routing, order or capacity frame CRP cannot use: a missing column, a bad value, a duplicate."""


@dataclass(frozen=True)
class CapacityThresholds:
    """Utilisation bands of the suggestion (fractions: 1.10 = 110 %).

    Attributes:
        overtime: Up to this utilisation overtime covers the overload.
        pull_forward: Up to this one, pull work into earlier buckets; above it, subcontract.
    """

    overtime: float = 1.10
    pull_forward: float = 1.30

    def __post_init__(self) -> None:
        if not (1.0 <= self.overtime <= self.pull_forward) or not math.isfinite(self.pull_forward):
            raise CapacityInputError(
                f"thresholds must satisfy 1 <= overtime <= pull_forward < inf, got {self.overtime}, {self.pull_forward}"
            )


@dataclass(frozen=True, eq=False)
class CapacityPlan:
    """The result of :func:`capacity_requirements`.

    Attributes:
        load: One row per work center and bucket (:data:`LOAD_COLUMNS`), every work center with capacity or
            load, every bucket; sorted by work center and bucket.
        operations: One row per order operation loaded inside the horizon (:data:`OPERATION_COLUMNS`):
            ``source`` (planned / released), ``order_ref`` (the planned ``order_id`` or the released
            ``order_number`` as text), the bucket it runs in and its hours. The drill-down of an overload.
        unrouted: Orders that are not bought and have no routing: ``source``, ``order_ref``, ``sku``,
            ``quantity``.
    """

    load: pl.DataFrame
    operations: pl.DataFrame
    unrouted: pl.DataFrame


def capacity_requirements(
    planned_orders: pl.DataFrame,
    routings: pl.DataFrame,
    capacity: pl.DataFrame,
    horizon: Horizon,
    *,
    released_orders: pl.DataFrame | None = None,
    thresholds: CapacityThresholds | None = None,
) -> CapacityPlan:
    """Load, capacity, utilisation and a suggestion per work center and bucket.

    Args:
        planned_orders: ``sku``, ``release_bucket`` (may be negative: past due), ``receipt_bucket``,
            ``quantity``; optional ``order_id`` (else the row number) and ``replenishment``.
        routings: The ``routings`` mart: ``sku``, ``sequence``, ``work_center_code``, ``setup_minutes``,
            ``run_minutes_per_unit``; one row per item and sequence.
        capacity: ``work_center_code``, ``available_hours`` and ``calendar_date`` (summed per bucket; days
            outside the horizon ignored) or ``bucket`` (an index).
        horizon: The planning buckets.
        released_orders: Optional ``scheduled_receipts`` rows: ``order_number``, ``sku``, ``release_date``
            (null: already on the floor, bucket 0), ``due_date``, ``open_quantity``; when ``order_type`` is
            present only ``production`` rows are used.
        thresholds: The utilisation bands of the suggestion.

    Returns:
        The load table, the operations behind it and the orders that could not be loaded.

    Raises:
        CapacityInputError: A frame lacks a column, or has a duplicate operation or a value out of range.

    Example:
        One 08:00-16:00 shift Monday to Friday is 40 h a week; 100 units x 25.2 min = 42 h of load is 105 %,
        ``overtime`` (tests/mrp/test_crp.py).
    """
    bands = thresholds or CapacityThresholds()
    route = _normalized_routings(routings)
    orders = [_planned(planned_orders)]
    if released_orders is not None:
        orders.append(_released(released_orders, horizon))
    everything = pl.concat(orders)
    routed_skus = route.select("sku").unique()
    unrouted = (
        everything.filter(pl.col("replenishment").fill_null("") != "buy")
        .join(routed_skus, on="sku", how="anti")
        .select("source", "order_ref", "sku", "quantity")
        .sort("source", "sku", "order_ref")
    )
    operations = _operations(everything.filter(pl.col("replenishment").fill_null("") != "buy"), route, horizon)
    return CapacityPlan(
        load=_load_table(operations, _capacity_per_bucket(capacity, horizon), horizon, bands),
        operations=operations,
        unrouted=unrouted,
    )


def available_hours(
    work_centers: pl.DataFrame,
    shifts: pl.DataFrame,
    calendar: pl.DataFrame,
    *,
    planned_stops: pl.DataFrame | None = None,
    utilization: float = 1.0,
) -> pl.DataFrame:
    """Available standard hours per work center and day, for callers without the ``work_center_capacity`` mart.

    ``available = max(0, shift hours - planned stop hours) x machines x efficiency x utilization`` on the
    calendar's working days, 0 on the others: the rated capacity of Arnold, Chapman & Clive (*Introduction
    to Materials Management*, capacity management: "rated capacity = available time x utilization x
    efficiency"). The mart does the same in SQL with stops cut to the shift times; here a stop's hours are
    given per day.

    Args:
        work_centers: ``work_center_code``, ``machines`` (null = 1), ``efficiency`` (fraction, null = 1).
        shifts: ``work_center_code``, ``weekday`` (ISO, 1 = Monday), ``shift_hours``; several shifts add up.
        calendar: ``calendar_date``, ``is_working_day``.
        planned_stops: Optional ``work_center_code``, ``calendar_date``, ``stop_hours``.
        utilization: Fraction of the scheduled time the work center is expected to work (1 = all of it).

    Returns:
        ``work_center_code``, ``calendar_date``, ``available_hours``: the columns :func:`capacity_requirements`
        reads.
    """
    if not (0.0 < utilization <= 1.0):
        raise CapacityInputError(f"utilization must be in (0, 1], got {utilization}")
    _require(work_centers, ("work_center_code",), "work_centers")
    _require(shifts, ("work_center_code", "weekday", "shift_hours"), "shifts")
    _require(calendar, ("calendar_date", "is_working_day"), "calendar")
    centers = work_centers.select(
        pl.col("work_center_code").cast(pl.String),
        (pl.col("machines") if "machines" in work_centers.columns else pl.lit(None))
        .cast(pl.Float64)
        .fill_null(1.0)
        .alias("machines"),
        (pl.col("efficiency") if "efficiency" in work_centers.columns else pl.lit(None))
        .cast(pl.Float64)
        .fill_null(1.0)
        .alias("efficiency"),
    )
    _check_non_negative(centers, ("machines", "efficiency"), "work_centers", "work_center_code")
    hours = shifts.select(
        pl.col("work_center_code").cast(pl.String),
        pl.col("weekday").cast(pl.Int8),
        pl.col("shift_hours").cast(pl.Float64),
    )
    _check_non_negative(hours, ("shift_hours",), "shifts", "work_center_code")
    bad_day = hours.filter(~pl.col("weekday").is_between(1, 7))
    if bad_day.height:
        raise CapacityInputError(
            f"shifts: work center {bad_day['work_center_code'][0]!r} has weekday {bad_day['weekday'][0]}; "
            "expected 1 (Monday) to 7 (Sunday)"
        )
    per_weekday = hours.group_by("work_center_code", "weekday").agg(pl.col("shift_hours").sum())
    days = calendar.select(pl.col("calendar_date").cast(pl.Date), pl.col("is_working_day").cast(pl.Boolean))
    grid = (
        centers.join(days, how="cross")
        .with_columns(pl.col("calendar_date").dt.weekday().cast(pl.Int8).alias("weekday"))
        .join(per_weekday, on=["work_center_code", "weekday"], how="left")
    )
    if planned_stops is not None:
        _require(planned_stops, ("work_center_code", "calendar_date", "stop_hours"), "planned_stops")
        stops = (
            planned_stops.select(
                pl.col("work_center_code").cast(pl.String),
                pl.col("calendar_date").cast(pl.Date),
                pl.col("stop_hours").cast(pl.Float64),
            )
            .group_by("work_center_code", "calendar_date")
            .agg(pl.col("stop_hours").sum())
        )
        _check_non_negative(stops, ("stop_hours",), "planned_stops", "work_center_code")
        grid = grid.join(stops, on=["work_center_code", "calendar_date"], how="left")
    else:
        grid = grid.with_columns(pl.lit(None, pl.Float64).alias("stop_hours"))
    return grid.select(
        "work_center_code",
        "calendar_date",
        pl.when(pl.col("is_working_day").fill_null(False))
        .then(
            (pl.col("shift_hours").fill_null(0.0) - pl.col("stop_hours").fill_null(0.0)).clip(lower_bound=0.0)
            * pl.col("machines")
            * pl.col("efficiency")
            * utilization
        )
        .otherwise(0.0)
        .alias("available_hours"),
    ).sort("work_center_code", "calendar_date")


def _require(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise CapacityInputError(f"{name} lacks the column(s) {', '.join(missing)}")


def _check_non_negative(frame: pl.DataFrame, columns: tuple[str, ...], name: str, key: str) -> None:
    for column in columns:
        bad = frame.with_row_index("row").filter(~(pl.col(column).is_finite() & (pl.col(column) >= 0)).fill_null(True))
        if bad.height:
            first = bad.row(0, named=True)
            raise CapacityInputError(
                f"{name} row {first['row']} ({key} {first[key]!r}): {column} must be a finite number >= 0, "
                f"got {first[column]}"
            )


def _normalized_routings(routings: pl.DataFrame) -> pl.DataFrame:
    """One row per item operation with its 0-based position and the item's operation count."""
    columns = ("sku", "sequence", "work_center_code", "setup_minutes", "run_minutes_per_unit")
    _require(routings, columns, "routings")
    frame = routings.select(
        pl.col("sku").cast(pl.String),
        pl.col("sequence").cast(pl.Int64),
        pl.col("work_center_code").cast(pl.String),
        pl.col("setup_minutes").cast(pl.Float64).fill_null(0.0),
        pl.col("run_minutes_per_unit").cast(pl.Float64).fill_null(0.0),
    )
    required = pl.any_horizontal(pl.col("sku", "sequence", "work_center_code").is_null())
    empty = frame.with_row_index("row").filter(required)
    if empty.height:
        raise CapacityInputError(
            f"routings row {empty['row'][0]}: sku, sequence and work_center_code are required, got "
            f"{empty.select('sku', 'sequence', 'work_center_code').row(0)}"
        )
    _check_non_negative(frame, ("setup_minutes", "run_minutes_per_unit"), "routings", "sku")
    repeated = frame.filter(pl.struct("sku", "sequence").is_duplicated())
    if repeated.height:
        raise CapacityInputError(
            f"routings: item {repeated['sku'][0]!r} has operation {repeated['sequence'][0]} more than once"
        )
    return frame.sort("sku", "sequence").with_columns(
        pl.int_range(pl.len()).over("sku").alias("operation_index"),
        pl.len().over("sku").alias("operation_count"),
    )


def _planned(planned_orders: pl.DataFrame) -> pl.DataFrame:
    _require(planned_orders, ("sku", "release_bucket", "receipt_bucket", "quantity"), "planned_orders")
    frame = planned_orders.with_row_index("row")
    reference = pl.col("order_id") if "order_id" in planned_orders.columns else pl.col("row") + 1
    replenishment = pl.col("replenishment") if "replenishment" in planned_orders.columns else pl.lit(None)
    result = frame.select(
        pl.lit("planned").alias("source"),
        reference.cast(pl.String).alias("order_ref"),
        pl.col("sku").cast(pl.String),
        replenishment.cast(pl.String).str.to_lowercase().alias("replenishment"),
        pl.col("release_bucket").cast(pl.Int64),
        pl.col("receipt_bucket").cast(pl.Int64).alias("due_bucket"),
        pl.col("quantity").cast(pl.Float64),
        pl.col("row"),
    )
    _check_orders(result, "planned_orders")
    return result.drop("row")


def _released(released_orders: pl.DataFrame, horizon: Horizon) -> pl.DataFrame:
    _require(released_orders, ("order_number", "sku", "release_date", "due_date", "open_quantity"), "released_orders")
    frame = released_orders.with_row_index("row")
    if "order_type" in frame.columns:
        frame = frame.filter(pl.col("order_type") == "production")
    if frame["due_date"].null_count():
        bad = frame.filter(pl.col("due_date").is_null())
        raise CapacityInputError(f"released_orders: order {bad['order_number'][0]!r} has no due_date")
    release = frame["release_date"].cast(pl.Date)
    release_bucket = np.where(release.is_null().to_numpy(), 0, horizon.bucket_of(release.fill_null(horizon.end)))
    result = frame.select(
        pl.lit("released").alias("source"),
        pl.col("order_number").cast(pl.String).alias("order_ref"),
        pl.col("sku").cast(pl.String),
        pl.lit("make").alias("replenishment"),
        pl.Series("release_bucket", release_bucket, pl.Int64),
        pl.Series("due_bucket", horizon.bucket_of(frame["due_date"].cast(pl.Date)), pl.Int64),
        pl.col("open_quantity").cast(pl.Float64).alias("quantity"),
        pl.col("row"),
    )
    _check_orders(result, "released_orders")
    return result.drop("row")


def _check_orders(frame: pl.DataFrame, name: str) -> None:
    bad = frame.filter(~(pl.col("quantity").is_finite() & (pl.col("quantity") >= 0)).fill_null(True))
    if bad.height:
        first = bad.row(0, named=True)
        raise CapacityInputError(
            f"{name} row {first['row']} (order {first['order_ref']}, item {first['sku']!r}): quantity must be a "
            f"finite number >= 0, got {first['quantity']}"
        )
    missing = frame.filter(pl.any_horizontal(pl.col("sku", "release_bucket", "due_bucket").is_null()))
    if missing.height:
        raise CapacityInputError(f"{name} row {missing['row'][0]}: sku and the buckets are required")


def _operations(orders: pl.DataFrame, route: pl.DataFrame, horizon: Horizon) -> pl.DataFrame:
    joined = orders.join(route, on="sku", how="inner")
    release = joined["release_bucket"].to_numpy()
    due = joined["due_bucket"].to_numpy()
    span = np.maximum(due - release, 0)
    # floor(j * span / k): the routing's operations share the order's lead time equally (module docstring)
    bucket = release + (joined["operation_index"].to_numpy() * span) // joined["operation_count"].to_numpy()
    bucket = np.maximum(bucket, 0)  # past-due work is done now
    quantity = joined["quantity"].to_numpy()
    setup = joined["setup_minutes"].to_numpy() / 60.0
    run = quantity * joined["run_minutes_per_unit"].to_numpy() / 60.0
    inside = bucket < horizon.size
    return (
        joined.select("source", "order_ref", "sku", "sequence", "work_center_code")
        .with_columns(
            pl.Series("bucket", bucket, pl.Int32),
            pl.Series("quantity", quantity),
            pl.Series("setup_hours", setup),
            pl.Series("run_hours", run),
            pl.Series("load_hours", setup + run),
        )
        .filter(pl.Series(inside))
    )


def _capacity_per_bucket(capacity: pl.DataFrame, horizon: Horizon) -> pl.DataFrame:
    _require(capacity, ("work_center_code", "available_hours"), "capacity")
    if "calendar_date" in capacity.columns:
        buckets = horizon.bucket_of(capacity["calendar_date"].cast(pl.Date))
    elif "bucket" in capacity.columns:
        buckets = capacity["bucket"].cast(pl.Int64).to_numpy()
    else:
        raise CapacityInputError("capacity needs a calendar_date or a bucket column")
    frame = capacity.select(
        pl.col("work_center_code").cast(pl.String), pl.col("available_hours").cast(pl.Float64)
    ).with_columns(pl.Series("bucket", buckets, pl.Int64))
    _check_non_negative(frame, ("available_hours",), "capacity", "work_center_code")
    return (
        frame.filter((pl.col("bucket") >= 0) & (pl.col("bucket") < horizon.size))
        .group_by("work_center_code", "bucket")
        .agg(pl.col("available_hours").sum().alias("capacity_hours"))
    )


def _load_table(
    operations: pl.DataFrame, capacity: pl.DataFrame, horizon: Horizon, bands: CapacityThresholds
) -> pl.DataFrame:
    size = horizon.size
    centers = pl.concat([operations["work_center_code"], capacity["work_center_code"]]).unique().sort()
    index = pl.DataFrame({"work_center_code": centers, "wc": np.arange(centers.len(), dtype=np.int64)})
    cells = centers.len() * size

    def grid(frame: pl.DataFrame, column: str, mask: pl.Expr | None = None) -> np.ndarray:
        if mask is not None:
            frame = frame.filter(mask)
        positions = frame.select("work_center_code", "bucket", column).join(
            index, on="work_center_code", how="left", maintain_order="left"
        )
        flat = positions["wc"].to_numpy() * size + positions["bucket"].cast(pl.Int64).to_numpy()
        return np.bincount(flat, weights=positions[column].to_numpy(), minlength=cells).reshape(-1, size)

    planned = grid(operations, "load_hours", pl.col("source") == "planned")
    released = grid(operations, "load_hours", pl.col("source") == "released")
    available = grid(capacity, "capacity_hours")
    load = planned + released
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(available > 0, load / np.where(available > 0, available, 1.0), np.nan)
    slack = 1.0 + _RELATIVE_TOLERANCE
    band = np.select(
        [
            available <= 0,
            utilisation <= slack,
            utilisation <= bands.overtime * slack,
            utilisation <= bands.pull_forward * slack,
        ],
        [np.where(load > 0, 4, 0), 0, 1, 2],
        default=3,
    )
    spare = np.maximum(available - load, 0.0)
    spare_earlier = np.cumsum(spare, axis=1) - spare
    starts = pl.Series(list(horizon.bucket_starts), dtype=pl.Date)
    return pl.DataFrame(
        [
            centers.gather(np.repeat(np.arange(centers.len()), size)),
            pl.Series("bucket", np.tile(np.arange(size, dtype=np.int32), centers.len())),
            starts.gather(np.tile(np.arange(size), centers.len())).alias("bucket_start"),
            pl.Series("planned_load_hours", planned.ravel()),
            pl.Series("released_load_hours", released.ravel()),
            pl.Series("load_hours", load.ravel()),
            pl.Series("capacity_hours", available.ravel()),
            pl.Series("utilisation", utilisation.ravel(), nan_to_null=True),
            pl.Series("overload_hours", np.maximum(load - available, 0.0).ravel()),
            pl.Series("spare_hours_earlier", spare_earlier.ravel()),
            pl.Series("suggestion", np.asarray(SUGGESTIONS, dtype=object)[band.ravel()].tolist(), pl.String),
        ]
    )
